// Sync-back (§5.8): after a commit, the user's context objects are brought up to date, layer by
// layer (`domain`/`domain_ctx` <-> domain, `global_ctx`/`global` <-> global):
//   * pydantic layers are re-validated from the committed value;
//   * dataclass layers get the written fields replaced (in place on the user's object);
//   * other layers (dicts) are replaced by a detached copy the first time, and from then on the
//     copy the engine owns is patched at the written paths only.
// Only paths written since the last sync are visited (the core keeps the recent write sets), so
// the cost follows what changed, not the size of the state. A failing layer emits a RuntimeWarning.
#include "process_run.hpp"

namespace theus::py {

pyb::object make_state(const SnapshotPtr& snap, const std::shared_ptr<MetaLog>& meta,
                       pyb::object hub);
pyb::object engine_hub(PyEngine& e);

namespace {

struct Layer {
  const char* key;
  const char* attrs[2];
};
constexpr Layer kLayers[] = {{"domain", {"domain", "domain_ctx"}},
                             {"global", {"global_ctx", "global"}}};

// The plain, detached copy of a committed layer (top-level `_` keys dropped).
pyb::object clean_copy(const Value& v) {
  pyb::object out = pyb::reinterpret_steal<pyb::object>(to_python(v, true));
  if (!out) throw pyb::error_already_set();
  if (PyDict_Check(out.ptr())) {
    pyb::list drop;
    for (auto item : out.cast<pyb::dict>())
      if (PyUnicode_Check(item.first.ptr()) && PyUnicode_READ_CHAR(item.first.ptr(), 0) == '_' &&
          PyUnicode_GET_LENGTH(item.first.ptr()) > 0)
        drop.append(item.first);
    for (auto k : drop) PyDict_DelItem(out.ptr(), k.ptr());
  }
  return out;
}

// Attribute lookups on the type through the type cache (no exception when absent). `name` is an
// interned string created once.
bool type_has(const pyb::handle& obj, PyObject* name) {
  return name && _PyType_Lookup(Py_TYPE(obj.ptr()), name) != nullptr;
}

PyObject* interned(const char* s) { return PyUnicode_InternFromString(s); }  // kept for the process

bool is_model(const pyb::handle& obj) {
  static PyObject* model_validate = interned("model_validate");
  static PyObject* parse_obj = interned("parse_obj");
  return type_has(obj, model_validate) || type_has(obj, parse_obj);
}

bool is_dataclass_instance(const pyb::handle& obj) {
  static PyObject* fields = interned("__dataclass_fields__");
  return type_has(obj, fields);
}

// The child of a committed container for one path segment (nullptr when absent).
const Value* child_of(const Value& node, const Value& seg) {
  if (node.is_map()) return node.as_map().find(seg);
  if (node.is_list() && seg.is_int()) {
    int64_t i = seg.as_int();
    const List& l = node.as_list();
    if (i < 0) i += static_cast<int64_t>(l.size());
    return i >= 0 ? l.get(static_cast<size_t>(i)) : nullptr;
  }
  return nullptr;
}

// Sets `path` (below the layer) inside an engine-owned plain copy from the current head value.
// False when the structure does not match (the caller replaces the whole layer).
// An owned list that mirrors a prefix of `committed` gets the missing tail (list appends).
bool extend_list(PyObject* list, const Value& committed) {
  if (!PyList_Check(list) || !committed.is_list()) return false;
  const List& l = committed.as_list();
  auto have = static_cast<size_t>(PyList_GET_SIZE(list));
  if (have > l.size()) return false;
  for (size_t i = have; i < l.size(); ++i) {
    PyObject* x = to_python(l[i], true);
    if (!x || PyList_Append(list, x) != 0) {
      Py_XDECREF(x);
      return false;
    }
    Py_DECREF(x);
  }
  return true;
}

// `root` mirrors `head` (the committed value at path[0..start)); `appended` marks a list append at
// `path`, patched by extending the mirrored list rather than copying it.
bool patch(PyObject* root, const Value& head, const Path& path, size_t start = 1,
           bool appended = false) {
  if (appended && path.size() == start) return extend_list(root, head);
  PyObject* cur = root;
  const Value* hv = &head;
  for (size_t i = start; i + 1 < path.size(); ++i) {
    pyb::object key = pyb::reinterpret_steal<pyb::object>(key_to_python(path[i]));
    PyObject* child = nullptr;
    if (PyDict_Check(cur)) {
      child = PyDict_GetItemWithError(cur, key.ptr());
    } else if (PyList_Check(cur) && path[i].is_int()) {
      Py_ssize_t idx = static_cast<Py_ssize_t>(path[i].as_int());
      if (idx < 0) idx += PyList_GET_SIZE(cur);
      if (idx >= 0 && idx < PyList_GET_SIZE(cur)) child = PyList_GET_ITEM(cur, idx);
    }
    const Value* next = child_of(*hv, path[i]);
    if (!child || !next) {
      PyErr_Clear();
      return false;
    }
    hv = next;
    cur = child;
  }
  pyb::object key = pyb::reinterpret_steal<pyb::object>(key_to_python(path.back()));
  const Value* leaf = child_of(*hv, path.back());
  if (PyDict_Check(cur)) {
    if (!leaf) {
      if (PyDict_DelItem(cur, key.ptr()) != 0) PyErr_Clear();
      return true;
    }
    if (appended) {
      PyObject* existing = PyDict_GetItemWithError(cur, key.ptr());
      if (existing && extend_list(existing, *leaf)) return true;
      PyErr_Clear();
    }
    pyb::object v = pyb::reinterpret_steal<pyb::object>(to_python(*leaf, true));
    return v && PyDict_SetItem(cur, key.ptr(), v.ptr()) == 0;
  }
  if (PyList_Check(cur) && path.back().is_int() && leaf) {
    Py_ssize_t idx = static_cast<Py_ssize_t>(path.back().as_int());
    if (idx < 0) idx += PyList_GET_SIZE(cur);
    if (idx < 0 || idx >= PyList_GET_SIZE(cur)) return false;
    PyObject* v = to_python(*leaf, true);
    return v && PyList_SetItem(cur, idx, v) == 0;  // steals v
  }
  return false;
}

// Dataclass layers are updated in place, field by field. A field value the sync created itself is
// owned by the engine and patched at the written paths; any other is replaced by a fresh copy
// (which the engine then owns): the user's own objects are never mutated.
void sync_dataclass(PyEngine& e, size_t li, PyObject* obj, const Value& committed,
                    const std::vector<const WriteRecord*>& paths, bool full) {
  pyb::object fields = pyb::type::of(pyb::handle(obj)).attr("__dataclass_fields__");
  if (!e.owned_fields[li]) e.owned_fields[li] = pyb::dict();
  pyb::dict owned = pyb::reinterpret_borrow<pyb::dict>(e.owned_fields[li]);
  // Field -> the paths below it (an empty list: the field itself, or everything, is rewritten).
  std::vector<std::pair<std::string, std::vector<const WriteRecord*>>> work;
  auto slot = [&](const std::string& n) -> std::vector<const WriteRecord*>& {
    for (auto& [name, ps] : work)
      if (name == n) return ps;
    work.emplace_back(n, std::vector<const WriteRecord*>{});
    return work.back().second;
  };
  if (full) {
    for (auto item : fields.cast<pyb::dict>()) slot(item.first.cast<std::string>());
  } else {
    for (const WriteRecord* w : paths)
      if (w->path.size() >= 2 && w->path[1].is_string())
        slot(std::string(w->path[1].as_string())).push_back(w);
  }
  for (auto& [n, field_paths] : work) {
    pyb::str name(n);
    if (!PyDict_Contains(fields.ptr(), name.ptr())) continue;
    const Value* v = committed.as_map().find(std::string_view(n));
    PyObject* current = PyObject_GenericGetAttr(obj, name.ptr());
    if (!current) PyErr_Clear();
    pyb::object cur = pyb::reinterpret_steal<pyb::object>(current);
    bool patched = v && cur && !full && !field_paths.empty() && owned.contains(name) &&
                   PyDict_GetItemWithError(owned.ptr(), name.ptr()) == cur.ptr();
    for (const WriteRecord* w : field_paths) {
      if (!patched) break;
      if (w->path.size() < 2 || !patch(cur.ptr(), *v, w->path, 2, w->appended)) patched = false;
    }
    if (patched) continue;
    pyb::object value = v ? pyb::reinterpret_steal<pyb::object>(to_python(*v, true)) : pyb::none();
    if (!value) throw pyb::error_already_set();
    if (PyObject_GenericSetAttr(obj, name.ptr(), value.ptr()) != 0) throw pyb::error_already_set();
    if (PyDict_Check(value.ptr()) || PyList_Check(value.ptr())) {
      owned[name] = value;
    } else if (owned.contains(name)) {
      PyDict_DelItem(owned.ptr(), name.ptr());
    }
  }
}

void sync_layer(PyEngine& e, size_t li, const Value& committed,
                const std::vector<const WriteRecord*>& paths, bool full) {
  pyb::handle ctx = e.sync_target;
  pyb::object dict =
      pyb::reinterpret_steal<pyb::object>(PyObject_GenericGetDict(ctx.ptr(), nullptr));
  if (!dict) {
    PyErr_Clear();
    return;
  }
  for (const char* attr : kLayers[li].attrs) {
    static PyObject* names[2][2] = {{interned(kLayers[0].attrs[0]), interned(kLayers[0].attrs[1])},
                                    {interned(kLayers[1].attrs[0]), interned(kLayers[1].attrs[1])}};
    PyObject* key = names[li][attr == kLayers[li].attrs[0] ? 0 : 1];
    PyObject* obj = key ? PyDict_GetItemWithError(dict.ptr(), key) : nullptr;  // borrowed
    if (!obj) PyErr_Clear();
    if (!obj || obj == Py_None) continue;
    pyb::handle current(obj);
    try {
      if (is_model(current)) {
        pyb::object cls = pyb::type::of(current);
        pyb::object fresh = pyb::hasattr(cls, "model_validate")
                                ? cls.attr("model_validate")(clean_copy(committed))
                                : cls.attr("parse_obj")(clean_copy(committed));
        if (PyObject_GenericSetAttr(ctx.ptr(), pyb::str(attr).ptr(), fresh.ptr()) != 0)
          throw pyb::error_already_set();
      } else if (is_dataclass_instance(current) && committed.is_map()) {
        sync_dataclass(e, li, obj, committed, paths, full);
      } else {
        bool patched = !full && e.owned_layers[li].ptr() == obj;
        for (const WriteRecord* w : paths) {
          if (!patched) break;
          if (w->path.size() < 2 || !patch(obj, committed, w->path, 1, w->appended))
            patched = false;
        }
        if (!patched) {
          pyb::object fresh = clean_copy(committed);
          if (PyObject_GenericSetAttr(ctx.ptr(), pyb::str(attr).ptr(), fresh.ptr()) != 0)
            throw pyb::error_already_set();
          e.owned_layers[li] = fresh;
        }
      }
    } catch (pyb::error_already_set& err) {
      std::string msg = "Context sync-back of layer '" + std::string(attr) +
                        "' failed: " + pyb::repr(err.value()).cast<std::string>();
      PyErr_WarnEx(PyExc_RuntimeWarning, msg.c_str(), 1);
    }
  }
}

}  // namespace

void sync_back(PyEngine& e) {
  if (!e.sync_target || e.sync_target.is_none()) return;
  SnapshotPtr head = e.engine.snapshot();
  if (head->version == e.synced_version) return;
  uint64_t up_to = head->version;
  // The write sets are read inside the visitor: keep copies of the records that matter.
  std::vector<WriteRecord> kept[2];
  bool full[2] = {false, false};
  bool incremental = e.engine.for_each_write_since(
      e.synced_version,
      [&](const WriteRecord& w) {
        for (size_t li = 0; li < 2; ++li) {
          if (w.path.empty()) {
            full[li] = true;
          } else if (w.path.root() == kLayers[li].key) {
            if (w.path.size() == 1) full[li] = true;
            kept[li].push_back(w);
          }
        }
      },
      &up_to);
  for (size_t li = 0; li < 2; ++li) {
    const Value* committed = head->data.find(kLayers[li].key);
    if (!committed) continue;
    if (!incremental) full[li] = true;
    if (!full[li] && kept[li].empty()) continue;  // this layer was not written
    std::vector<const WriteRecord*> paths;
    for (const WriteRecord& w : kept[li]) paths.push_back(&w);
    sync_layer(e, li, *committed, paths, full[li]);
  }
  if (!e.namespace_sync.is_none()) e.namespace_sync(make_state(head, e.meta, engine_hub(e)));
  if (e.sync_state_attr) {
    pyb::object st = make_state(head, e.meta, engine_hub(e));
    if (PyObject_GenericSetAttr(e.sync_target.ptr(), pyb::str("_state").ptr(), st.ptr()) != 0)
      PyErr_Clear();
  }
  e.synced_version = incremental ? up_to : head->version;
}

}  // namespace theus::py

// SupervisorProxy: a live view of one path. Three sources:
//  * transaction (engine-made): reads resolve the path in the transaction's working tree (cached
//    per write generation, so repeated reads cost one check), every mutator is recorded as a core
//    delta after the contract / capability checks, children are created lazily on access;
//  * fixed (State.domain, snapshots): a read-only view of an immutable value;
//  * Python target (legacy constructor): wraps a Python object, mutations are applied to it and
//    logged on the given transaction with log_delta(path, old, new).
#include <new>

#include "frozen.hpp"
#include "proxy_impl.hpp"

namespace theus::py {

namespace {

constexpr uint64_t kNoGen = ~uint64_t{0};

ProxyObject* as_proxy(PyObject* o) { return reinterpret_cast<ProxyObject*>(o); }

PyObject* permission_error(const std::string& msg) {
  PyErr_SetString(PyExc_PermissionError, msg.c_str());
  return nullptr;
}

ProxyObject* alloc_proxy(Source source) {
  PyObject* o = ProxyType.tp_alloc(&ProxyType, 0);
  if (!o) return nullptr;
  ProxyObject* p = as_proxy(o);
  p->source = source;
  p->read_only = false;
  p->is_shadow = false;
  p->item_syntax = false;
  p->caps = cap::kAllData;
  p->access = kAccessCovered;
  p->zone = -1;
  p->virtual_root = false;
  p->rnode = nullptr;
  p->parent = nullptr;
  p->key = nullptr;
  p->scope = nullptr;
  new (&p->node) Value();
  p->gen = kNoGen;
  p->path = nullptr;
  p->target = nullptr;
  p->txobj = nullptr;
  return p;
}

void proxy_dealloc(PyObject* o) {
  ProxyObject* p = as_proxy(o);
  Py_XDECREF(reinterpret_cast<PyObject*>(p->parent));
  Py_XDECREF(p->key);
  if (p->scope) p->scope->release();
  p->node.~Value();
  delete p->path;
  Py_XDECREF(p->target);
  Py_XDECREF(p->txobj);
  Py_TYPE(o)->tp_free(o);
}

}  // namespace

// ---- paths, zones and capabilities --------------------------------------------------------------

const Path& proxy_path(ProxyObject* p) {
  if (p->path) return *p->path;
  if (!p->parent) {
    Value root;
    if (!p->key || !key_to_value(p->key, &root)) root = Value("");
    p->path = new Path{root};
  } else {
    Value seg;
    if (!key_to_value(p->key, &seg)) seg = Value("?");
    p->path = new Path(proxy_path(p->parent).child(seg, p->item_syntax));
  }
  return *p->path;
}

// Zone decided by the first matching segment: inherited, or decided by this child's key.
int8_t child_zone(const ProxyObject* parent, PyObject* key) {
  if (parent->zone >= 0) return parent->zone;
  if (!PyUnicode_Check(key)) return -1;
  Py_ssize_t n = 0;
  const char* c = PyUnicode_AsUTF8AndSize(key, &n);
  if (!c) {
    PyErr_Clear();
    return -1;
  }
  auto z = zone_of_segment(std::string_view(c, static_cast<size_t>(n)));
  return z ? static_cast<int8_t>(*z) : -1;
}

const PhysicsOverrides* engine_overrides(const ProxyObject* p) {
  return p->scope && p->scope->policy ? p->scope->policy->options().overrides : nullptr;
}

bool overrides_active(const ProxyObject* p) {
  if (!PhysicsOverrides::global().empty()) return true;
  const PhysicsOverrides* eng = engine_overrides(p);
  return eng && !eng->empty();
}

// Capabilities of child `key`: the parent's, masked by the child's zone (or, when overrides
// exist, by the full physics lookup of the child path).
uint8_t child_caps(ProxyObject* parent, PyObject* key, int8_t zone) {
  if (overrides_active(parent)) {
    Value seg;
    key_to_value(key, &seg);
    return parent->caps & physics(proxy_path(parent).child(seg), engine_overrides(parent));
  }
  uint8_t zc = zone < 0 ? cap::kAllData : zone_capabilities(static_cast<Zone>(zone));
  return parent->caps & zc;
}

bool scope_admin(const ProxyObject* p) { return p->scope && p->scope->admin(); }

// Capabilities in force for an operation on `path` (the admin flag lifts all but CONSTANT).
uint8_t effective_caps(ProxyObject* p, uint8_t caps, const Path& path) {
  if (!scope_admin(p)) return caps;
  if (has_constant_segment(path) &&
      !p->scope->policy->check_constant(path, WriteMode::kWrite).is_ok())
    return cap::kRead;
  return cap::kAll;
}

// ---- resolution -----------------------------------------------------------------------------

bool tx_active(const ProxyObject* p) {
  return p->source == Source::kTx && p->scope->tx->core && p->scope->tx->core->is_open();
}

namespace {

// Child `key` of `node`: returns false when absent (no error) or with an error set.
bool lookup_child(const Value& node, PyObject* key, Value* out) {
  if (node.is_map()) {
    const Map& m = node.as_map();
    if (PyUnicode_Check(key)) {
      Py_ssize_t n = 0;
      const char* c = PyUnicode_AsUTF8AndSize(key, &n);
      if (!c) return false;
      const Value* v = m.find(std::string_view(c, static_cast<size_t>(n)));
      if (!v) return false;
      *out = *v;
      return true;
    }
    Value k;
    if (!key_to_value(key, &k)) return false;
    const Value* v = m.find(k);
    if (!v) return false;
    *out = *v;
    return true;
  }
  if (node.is_list() && PyLong_Check(key)) {
    const List& l = node.as_list();
    Py_ssize_t i = PyLong_AsSsize_t(key);
    if (i == -1 && PyErr_Occurred()) {
      PyErr_Clear();
      return false;
    }
    if (i < 0) i += static_cast<Py_ssize_t>(l.size());
    if (i < 0 || static_cast<size_t>(i) >= l.size()) return false;
    *out = l[static_cast<size_t>(i)];
    return true;
  }
  return false;
}

}  // namespace

const Value* resolve(ProxyObject* p) {
  if (p->source != Source::kTx) return &p->node;
  Transaction& tx = p->scope->tx->tx();
  uint64_t g = tx.generation();
  if (p->gen == g) return &p->node;
  bool found = false;
  Value v;
  if (!p->parent) {
    if (PyUnicode_Check(p->key) && PyUnicode_CompareWithASCIIString(p->key, "heavy") == 0) {
      v = tx.heavy();
      found = true;
    } else {
      found = lookup_child(tx.data(), p->key, &v);
      if (!found && !PyErr_Occurred() && p->virtual_root) {
        v = Value(Map());  // writes below it create the root
        found = true;
      }
    }
  } else {
    const Value* pn = resolve(p->parent);
    if (!pn) return nullptr;
    found = lookup_child(*pn, p->key, &v);
  }
  if (!found) {
    if (!PyErr_Occurred())
      PyErr_Format(PyExc_KeyError, "Path '%s' no longer exists in this transaction",
                   proxy_path(p).to_string().c_str());
    return nullptr;
  }
  p->node = std::move(v);
  p->gen = g;
  return &p->node;
}

// ---- wrapping of children -----------------------------------------------------------------

// An object the proxies wrap as a child proxy: one with instance attributes, not a type, a
// callable or a module (those are returned as they are).
bool wraps_object(PyObject* v) {
  if (PyType_Check(v) || PyCallable_Check(v) || PyModule_Check(v) || is_numpy_scalar(v))
    return false;
  if (PyObject_HasAttrString(v, "dtype")) return false;  // numpy arrays stay raw working copies
  return PyObject_HasAttrString(v, "__dict__") != 0;
}

PyObject* wrap_child(ProxyObject* self, PyObject* key, bool item_syntax, const Value& v,
                     int8_t access) {
  int8_t zone = child_zone(self, key);
  if (zone == static_cast<int8_t>(Zone::kPrivate) && !scope_admin(self)) Py_RETURN_NONE;
  uint8_t caps = child_caps(self, key, zone);
  if (!scope_admin(self) && !(caps & cap::kRead)) Py_RETURN_NONE;
  if (v.is_container()) {
    ProxyObject* c = alloc_proxy(self->source);
    if (!c) return nullptr;
    c->read_only = self->read_only;
    c->is_shadow = self->is_shadow;
    c->item_syntax = item_syntax;
    c->caps = caps;
    c->access = access;
    c->zone = zone;
    Py_INCREF(self);
    c->parent = self;
    Py_INCREF(key);
    c->key = key;
    if (self->scope) {
      self->scope->retain();
      c->scope = self->scope;
    }
    if (self->source == Source::kFixed) {
      c->node = v;
    } else {
      c->node = v;
      c->gen = self->scope->tx->tx().generation();
    }
    return reinterpret_cast<PyObject*>(c);
  }
  if (v.is_foreign()) {
    if (self->source == Source::kTx) {
      Value seg;
      key_to_value(key, &seg);
      Path cp = proxy_path(self).child(seg, item_syntax);
      // Heavy-zone objects are shared by reference; others are private working copies.
      if (resolve_zone(cp) == Zone::kHeavy) return to_python(v, false);
      PyObject* copy = self->scope->tx->working_copy(cp, v);
      if (!copy || !wraps_object(copy)) return copy;
      // Objects with attributes are child proxies over the working copy (changes are logged).
      PyObject* path = PyUnicode_FromString(cp.to_string().c_str());
      PyObject* proxy =
          make_python_proxy(copy, path, self->read_only, self->scope->txobj.ptr(), false, caps);
      Py_XDECREF(path);
      Py_DECREF(copy);
      if (proxy && self->scope->checked()) attach_scope(proxy, self->scope, cp);
      return proxy;
    }
    return make_frozen(v);
  }
  if (v.is_buffer()) return buffer_to_python(v);
  return scalar_to_python(v);
}

// Read check of child `key` (transaction proxies of a checked scope). Returns the child's access
// level, or -1 with PermissionError set.
// The read-trie child of `node` for a segment object (str key or int index), or nullptr.
const ReadNode* trie_child(const ReadNode* node, PyObject* key) {
  if (PyUnicode_Check(key)) {
    Py_ssize_t n = 0;
    const char* c = PyUnicode_AsUTF8AndSize(key, &n);
    if (!c) {
      PyErr_Clear();
      return nullptr;
    }
    return node->child(std::string_view(c, static_cast<size_t>(n)));
  }
  Value seg;
  if (!key_to_value(key, &seg)) return nullptr;
  return node->child(segment_text(seg));
}

int8_t check_child_read(ProxyObject* self, PyObject* key, bool item_syntax, const Value& v,
                        const ReadNode** child_node) {
  *child_node = nullptr;
  if (self->source != Source::kTx || !self->scope->checked() || self->access == kAccessCovered ||
      scope_admin(self))
    return kAccessCovered;
  if (self->rnode) {  // fast path: one trie step, no path to build
    const ReadNode* child = trie_child(self->rnode, key);
    if (child && child->terminal) return kAccessCovered;
    if (child && v.is_container()) {
      *child_node = child;
      return kAccessNavigate;
    }
    if (child_zone(self, key) == static_cast<int8_t>(Zone::kPrivate)) return kAccessCovered;
  }
  Value seg;
  key_to_value(key, &seg);
  Path cp = proxy_path(self).child(seg, item_syntax);
  if (resolve_zone(cp) == Zone::kPrivate) return kAccessCovered;  // reads as None anyway
  ReadAccess ra = self->scope->policy->read_access(cp);
  if (ra == ReadAccess::kAllowed) return kAccessCovered;
  if (ra == ReadAccess::kNavigate && v.is_container()) return kAccessNavigate;
  permission_error("Illegal Read: Path '" + cp.to_string() +
                   "' is restricted by Process Contract.");
  return -1;
}

// The first undeclared path under a navigation-only node (for whole-value reads), or OK.
bool check_whole_read(ProxyObject* self) {
  if (self->source != Source::kTx || self->access == kAccessCovered || scope_admin(self))
    return true;
  const Value* node = resolve(self);
  if (!node) return false;
  const Path& base = proxy_path(self);
  if (node->is_map()) {
    for (auto item : node->as_map()) {
      Path cp = base.child(item.key);
      if (self->scope->policy->read_access(cp) != ReadAccess::kAllowed) {
        permission_error("Illegal Read: Path '" + cp.to_string() +
                         "' is restricted by Process Contract.");
        return false;
      }
    }
    return true;
  }
  permission_error("Illegal Read: Path '" + base.to_string() +
                   "' is restricted by Process Contract.");
  return false;
}

PyObject* get_child(ProxyObject* self, PyObject* key, bool item_syntax) {
  if (self->source == Source::kPython) return legacy_get(self, key, item_syntax);
  const Value* node = resolve(self);
  if (!node) return nullptr;
  if (!scope_admin(self) && !(self->caps & cap::kRead)) Py_RETURN_NONE;
  Value child;
  if (!lookup_child(*node, key, &child)) {
    if (PyErr_Occurred()) return nullptr;
    // A missing key under a PRIVATE segment still reads as None (never reveals existence).
    if (child_zone(self, key) == static_cast<int8_t>(Zone::kPrivate) && !scope_admin(self))
      Py_RETURN_NONE;
    if (item_syntax) {
      if (node->is_list()) {
        PyErr_SetString(PyExc_IndexError, "list index out of range");
      } else {
        PyErr_SetObject(PyExc_KeyError, key);
      }
      return nullptr;
    }
    const char* type = node->is_map() ? "dict" : node->is_list() ? "list" : "object";
    if (node->is_map()) {
      PyErr_Format(PyExc_AttributeError,
                   "'SupervisorProxy[dict]' object has no attribute '%U'. (Hint: Key '%U' missing "
                   "in wrapped dict at path '%s')",
                   key, key, proxy_path(self).to_string().c_str());
    } else {
      PyErr_Format(PyExc_AttributeError,
                   "'SupervisorProxy[%s]' object has no attribute '%U'. (Path: '%s')", type, key,
                   proxy_path(self).to_string().c_str());
    }
    return nullptr;
  }
  const ReadNode* child_node = nullptr;
  int8_t access = check_child_read(self, key, item_syntax, child, &child_node);
  if (access < 0) return nullptr;
  PyObject* out = wrap_child(self, key, item_syntax, child, access);
  if (out && child_node && Py_TYPE(out) == &ProxyType) proxy_cast(out)->rnode = child_node;
  return out;
}

// ---- mutation -----------------------------------------------------------------------------

bool check_mutation(ProxyObject* self, const Path& target, uint8_t capability, WriteMode mode,
                    bool capability_first) {
  if (self->source == Source::kTx && self->scope->checked()) {
    Status st = self->scope->policy->check_constant(target, mode);
    if (!st.is_ok()) {
      set_error(st);
      return false;
    }
  }
  auto check_read_only = [&] {
    if ((self->read_only && !scope_admin(self)) || self->source == Source::kFixed) {
      permission_error("PURE process cannot write to '" + target.to_string() + "'");
      return false;
    }
    return true;
  };
  auto check_cap = [&] {
    uint8_t caps =
        effective_caps(self, self->caps & physics(target, engine_overrides(self)), target);
    if ((caps & capability) != capability) {
      permission_error("Permission Denied: " + std::string(capability_name(capability)) +
                       " capability required for '" + target.to_string() +
                       "'. (Current Lens: " + capability_lens(caps) + ")");
      return false;
    }
    return true;
  };
  if (capability_first) {
    if (!check_cap() || !check_read_only()) return false;
  } else {
    if (!check_read_only() || !check_cap()) return false;
  }
  if (self->source == Source::kTx && !tx_active(self)) {
    permission_error("Supervisor blocked mutation to '" + target.to_string() +
                     "': No active transaction found.");
    return false;
  }
  return true;
}

void note_write(ProxyObject* self, const Path& path) {
  if (self->scope && self->scope->checked()) self->scope->guarded_writes.push_back(path);
}

CopyMode copy_mode_for(const Path& path) {
  return resolve_zone(path) == Zone::kHeavy ? CopyMode::kHeavy : CopyMode::kCopy;
}

int set_child(ProxyObject* self, PyObject* key, bool item_syntax, PyObject* value) {
  if (self->source == Source::kPython) return legacy_set(self, key, item_syntax, value);
  Value seg;
  if (!key_to_value(key, &seg)) {
    PyErr_Format(PyExc_TypeError, "unsupported key type '%s'", Py_TYPE(key)->tp_name);
    return -1;
  }
  if (self->source == Source::kTx && !resolve(self)) return -1;
  Path cp = proxy_path(self).child(seg, item_syntax);
  bool del = value == nullptr;
  if (!check_mutation(self, cp, del ? cap::kDelete : cap::kUpdate,
                      del ? WriteMode::kDelete : WriteMode::kWrite, false))
    return -1;
  Transaction& tx = self->scope->tx->tx();
  Status st;
  if (del) {
    const Value* node = resolve(self);
    Value existing;
    if (!node || !lookup_child(*node, key, &existing)) {
      if (!PyErr_Occurred())
        PyErr_SetObject(item_syntax ? PyExc_KeyError : PyExc_AttributeError, key);
      return -1;
    }
    st = tx.erase(cp);
  } else {
    Value v;
    try {
      v = to_value(value, copy_mode_for(cp), cp.to_string().c_str());
    } catch (pyb::error_already_set& e) {
      e.restore();
      return -1;
    }
    st = tx.set(cp, std::move(v));
  }
  if (!st.is_ok()) {
    set_error(st);
    return -1;
  }
  note_write(self, cp);
  return 0;
}

// ---- the type -------------------------------------------------------------------------------

PyObject* proxy_getattro(PyObject* o, PyObject* name) {
  ProxyObject* self = as_proxy(o);
  // Methods and properties of the proxy itself come first (so keys named like them need [..]).
  if (_PyType_Lookup(Py_TYPE(o), name)) return PyObject_GenericGetAttr(o, name);
  Py_ssize_t n = 0;
  const char* c = PyUnicode_AsUTF8AndSize(name, &n);
  if (!c) return nullptr;
  if (n > 0 && c[0] == '_') {
    PyErr_Format(PyExc_AttributeError, "'SupervisorProxy' object has no attribute '%U'", name);
    return nullptr;
  }
  if (self->source == Source::kPython) return legacy_get(self, name, false);
  const Value* node = resolve(self);
  if (!node) return nullptr;
  // Real attributes of the wrapped dict/list win over keys (a key named `copy` needs p["copy"]);
  // those the proxy does not implement (copy, count, index, fromkeys) act on a detached copy.
  if (PyObject* attr = detached_attribute(self, *node, name)) return attr;
  if (PyErr_Occurred()) return nullptr;
  return get_child(self, name, false);
}

int proxy_setattro(PyObject* o, PyObject* name, PyObject* value) {
  Py_ssize_t n = 0;
  const char* c = PyUnicode_AsUTF8AndSize(name, &n);
  if (!c) return -1;
  if (n > 0 && c[0] == '_') {
    PyErr_Format(PyExc_AttributeError, "cannot set private attribute '%U' on a SupervisorProxy",
                 name);
    return -1;
  }
  if (PyObject* attr = _PyType_Lookup(Py_TYPE(o), name)) {
    if (Py_TYPE(attr)->tp_descr_set) return PyObject_GenericSetAttr(o, name, value);
  }
  return set_child(as_proxy(o), name, false, value);
}

PyObject* proxy_subscript(PyObject* o, PyObject* key) {
  ProxyObject* self = as_proxy(o);
  if (PySlice_Check(key)) return list_slice(self, key);
  return get_child(self, key, true);
}

int proxy_ass_subscript(PyObject* o, PyObject* key, PyObject* value) {
  return set_child(as_proxy(o), key, true, value);
}

Py_ssize_t proxy_len(PyObject* o) {
  ProxyObject* self = as_proxy(o);
  if (self->source == Source::kPython) return PyObject_Size(self->target);
  const Value* node = resolve(self);
  if (!node) return -1;
  if (node->is_map()) return static_cast<Py_ssize_t>(node->as_map().size());
  if (node->is_list()) return static_cast<Py_ssize_t>(node->as_list().size());
  PyErr_SetString(PyExc_TypeError, "object has no len()");
  return -1;
}

int proxy_contains(PyObject* o, PyObject* x) {
  ProxyObject* self = as_proxy(o);
  if (self->source == Source::kPython) return PySequence_Contains(self->target, x);
  const Value* node = resolve(self);
  if (!node) return -1;
  if (node->is_map()) {
    Value k;
    return key_to_value(x, &k) && node->as_map().contains(k) ? 1 : 0;
  }
  if (!check_whole_read(self)) return -1;
  Value v;
  try {
    v = to_value(x, CopyMode::kReference);
  } catch (pyb::error_already_set& e) {
    e.restore();
    return -1;
  }
  for (const Value& item : node->as_list())
    if (item == v) return 1;
  return 0;
}

PyObject* proxy_iter(PyObject* o) {
  ProxyObject* self = as_proxy(o);
  if (self->source == Source::kPython) return PyObject_GetIter(self->target);
  const Value* node = resolve(self);
  if (!node) return nullptr;
  PyObject* out = PyList_New(0);
  if (!out) return nullptr;
  if (node->is_map()) {
    for (auto item : node->as_map()) {  // keys: a structure-only read
      PyObject* k = key_to_python(item.key);
      if (!k || PyList_Append(out, k) != 0) {
        Py_XDECREF(k);
        Py_DECREF(out);
        return nullptr;
      }
      Py_DECREF(k);
    }
  } else if (node->is_list()) {
    Value list = *node;  // keep the elements alive while children are created
    size_t n = list.as_list().size();
    for (size_t i = 0; i < n; ++i) {
      PyObject* idx = PyLong_FromSize_t(i);
      PyObject* child = idx ? get_child(self, idx, true) : nullptr;
      Py_XDECREF(idx);
      if (!child || PyList_Append(out, child) != 0) {
        Py_XDECREF(child);
        Py_DECREF(out);
        return nullptr;
      }
      Py_DECREF(child);
    }
  }
  PyObject* it = PyObject_GetIter(out);
  Py_DECREF(out);
  return it;
}

PyObject* proxy_richcompare(PyObject* o, PyObject* other, int op) {
  if (op != Py_EQ && op != Py_NE) Py_RETURN_NOTIMPLEMENTED;
  ProxyObject* self = as_proxy(o);
  if (self->source == Source::kPython) return PyObject_RichCompare(self->target, other, op);
  if (!check_whole_read(self)) return nullptr;
  const Value* node = resolve(self);
  if (!node) return nullptr;
  Value theirs;
  try {
    theirs = to_value(other, CopyMode::kReference);
  } catch (pyb::error_already_set& e) {
    e.restore();
    return nullptr;
  }
  return PyBool_FromLong((*node == theirs) == (op == Py_EQ));
}

PyObject* proxy_repr(PyObject* o) {
  ProxyObject* self = as_proxy(o);
  const char* type = "object";
  if (self->source == Source::kPython) {
    type = Py_TYPE(self->target)->tp_name;
  } else if (const Value* node = resolve(self)) {
    type = node->is_map() ? "dict" : node->is_list() ? "list" : "object";
  } else {
    PyErr_Clear();
  }
  std::string path = proxy_path(self).to_string();
  return PyUnicode_FromFormat("<SupervisorProxy[%s] at path='%s' cap=%s>", type, path.c_str(),
                              capability_lens(self->caps).c_str());
}

PyObject* proxy_new(PyTypeObject*, PyObject* args, PyObject* kwds) {
  PyObject *target = nullptr, *path = nullptr, *tx = Py_None;
  int read_only = 0, is_shadow = 0, caps = cap::kAllData;
  static const char* kwlist[] = {"target",    "path",         "read_only", "transaction",
                                 "is_shadow", "capabilities", nullptr};
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OpOpi:SupervisorProxy",
                                   const_cast<char**>(kwlist), &target, &path, &read_only, &tx,
                                   &is_shadow, &caps))
    return nullptr;
  return make_python_proxy(target, path, read_only != 0, tx, is_shadow != 0,
                           static_cast<uint8_t>(caps));
}

PyObject* get_capabilities(PyObject* o, void*) {
  ProxyObject* p = as_proxy(o);
  // Under AdminTransaction the effective capabilities are reported (all but CONSTANT).
  return PyLong_FromLong(scope_admin(p) ? effective_caps(p, p->caps, proxy_path(p)) : p->caps);
}
int set_capabilities(PyObject* o, PyObject* v, void*) {
  long c = PyLong_AsLong(v);
  if (c == -1 && PyErr_Occurred()) return -1;
  as_proxy(o)->caps = static_cast<uint8_t>(c & cap::kAll);
  return 0;
}
PyObject* get_read_only(PyObject* o, void*) { return PyBool_FromLong(as_proxy(o)->read_only); }
PyObject* get_instance_dict(PyObject*, void*) { return PyDict_New(); }

PyGetSetDef proxy_getset[] = {
    {"capabilities", get_capabilities, set_capabilities,
     "Capability bits (READ=1 APPEND=2 UPDATE=4 DELETE=8).", nullptr},
    {"read_only", get_read_only, nullptr, "True when the proxy cannot write.", nullptr},
    {"supervisor_target", supervisor_target, nullptr,
     "The working copy behind the proxy (changes are detected at commit).", nullptr},
    {"__dict__", get_instance_dict, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyMappingMethods proxy_as_mapping = {proxy_len, proxy_subscript, proxy_ass_subscript};
PySequenceMethods proxy_as_sequence = {proxy_len, nullptr, nullptr,        nullptr, nullptr,
                                       nullptr,   nullptr, proxy_contains, nullptr, nullptr};

}  // namespace theus::py

namespace theus::py {

PyTypeObject ProxyType = {PyVarObject_HEAD_INIT(nullptr, 0)};

bool is_proxy(PyObject* obj) { return Py_TYPE(obj) == &ProxyType; }

bool view_value(PyObject* obj, Value* out) {
  if (Py_TYPE(obj) == &ProxyType) {
    ProxyObject* p = as_proxy(obj);
    if (p->source == Source::kPython) {
      *out = to_value(p->target, CopyMode::kCopy);
      return true;
    }
    const Value* node = resolve(p);
    if (!node) throw pyb::error_already_set();
    *out = *node;
    return true;
  }
  return frozen_view_value(obj, out);
}

PyObject* make_fixed_proxy(const Value& node, const Path& path, uint8_t caps) {
  ProxyObject* p = alloc_proxy(Source::kFixed);
  if (!p) return nullptr;
  p->node = node;
  p->read_only = true;
  p->caps = caps;
  p->path = new Path(path);
  return reinterpret_cast<PyObject*>(p);
}

PyObject* make_root_proxy(Scope* scope, PyObject* root_name, bool read_only, uint8_t caps) {
  ProxyObject* p = alloc_proxy(Source::kTx);
  if (!p) return nullptr;
  scope->retain();
  p->scope = scope;
  Py_INCREF(root_name);
  p->key = root_name;
  p->read_only = read_only;
  p->caps = caps;
  p->zone = child_zone(p, root_name);
  p->access = kAccessUnknown;
  p->virtual_root = true;
  std::string_view root;
  Py_ssize_t n = 0;
  if (const char* c = PyUnicode_AsUTF8AndSize(root_name, &n))
    root = std::string_view(c, static_cast<size_t>(n));
  if (!scope->checked() || !scope->policy->key_checked(root)) {
    p->access = kAccessCovered;
  } else if (const ReadNode* trie = scope->contract->read_trie()) {
    static const ReadNode kEmpty;
    const ReadNode* node = trie->child(root);
    p->access = node && node->terminal ? kAccessCovered : kAccessNavigate;
    p->rnode = node ? node : &kEmpty;
  } else {
    ReadAccess ra = scope->policy->read_access(proxy_path(p));
    p->access = ra == ReadAccess::kAllowed ? kAccessCovered : kAccessNavigate;
  }
  if (!resolve(p)) {
    Py_DECREF(p);
    return nullptr;
  }
  return reinterpret_cast<PyObject*>(p);
}

void init_proxy_type(pyb::module_& m) {
  ProxyType.tp_name = "theus_core.SupervisorProxy";
  ProxyType.tp_basicsize = sizeof(ProxyObject);
  ProxyType.tp_flags = Py_TPFLAGS_DEFAULT;  // not subclassable
  ProxyType.tp_doc =
      "SupervisorProxy(target, path='', read_only=False, transaction=None, is_shadow=False, "
      "capabilities=15)\n\nA view of one path of the state. Inside a process every mutation "
      "(attribute/item set, del, dict and list methods) is checked against the contract and the "
      "zone capabilities and recorded as a path-level delta of the running transaction.";
  ProxyType.tp_new = proxy_new;
  ProxyType.tp_dealloc = proxy_dealloc;
  ProxyType.tp_getattro = proxy_getattro;
  ProxyType.tp_setattro = proxy_setattro;
  ProxyType.tp_as_mapping = &proxy_as_mapping;
  ProxyType.tp_as_sequence = &proxy_as_sequence;
  ProxyType.tp_iter = proxy_iter;
  ProxyType.tp_richcompare = proxy_richcompare;
  ProxyType.tp_repr = proxy_repr;
  ProxyType.tp_str = proxy_repr;
  ProxyType.tp_hash = PyObject_HashNotImplemented;
  ProxyType.tp_methods = proxy_methods();
  ProxyType.tp_getset = proxy_getset;
  if (PyType_Ready(&ProxyType) < 0) throw pyb::error_already_set();
  m.add_object("SupervisorProxy", reinterpret_cast<PyObject*>(&ProxyType));
}

}  // namespace theus::py

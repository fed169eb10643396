// SupervisorProxy methods: the dict and list API (each mutator is one or more core deltas),
// conversions, pickling, and the legacy proxies over plain Python objects.
#include <algorithm>

#include "proxy_impl.hpp"

namespace theus::py {

namespace {

// The node of a transaction/fixed proxy that must be a map (or a list), with a TypeError naming
// the method otherwise.
const Value* node_of_kind(ProxyObject* self, Kind kind, const char* method) {
  const Value* node = resolve(self);
  if (!node) return nullptr;
  if (node->kind() != kind) {
    PyErr_Format(PyExc_AttributeError, "'SupervisorProxy[%s]' object has no attribute '%s'",
                 node->is_map()    ? "dict"
                 : node->is_list() ? "list"
                                   : "object",
                 method);
    return nullptr;
  }
  return node;
}

PyObject* raise_status(const Status& st) { return set_error(st); }

// Runs `op` on this proxy's own path after the mutation checks; records the guarded write.
template <class Op>
PyObject* mutate_self_op(ProxyObject* self, uint8_t capability, WriteMode mode,
                         bool capability_first, Op op) {
  if (!resolve(self)) return nullptr;
  const Path& path = proxy_path(self);
  if (!check_mutation(self, path, capability, mode, capability_first)) return nullptr;
  Status st = op(self->scope->tx->tx(), path);
  if (!st.is_ok()) return set_error(st);
  note_write(self, path);
  Py_RETURN_NONE;
}

Value convert(PyObject* obj, const Path& at) {
  return to_value(obj, copy_mode_for(at), at.to_string().c_str());
}

// ---- legacy (Python target) helpers -------------------------------------------------------

PyObject*& current_tx_var() {
  static PyObject* var = nullptr;
  return var;
}

// The transaction a legacy proxy logs to: its own, else the running process's (contextvar).
PyObject* legacy_tx(ProxyObject* self) {
  if (self->txobj) return self->txobj;
  if (!current_tx_var()) return nullptr;
  PyObject* v = nullptr;
  if (PyContextVar_Get(current_tx_var(), nullptr, &v) < 0) {
    PyErr_Clear();
    return nullptr;
  }
  if (v == Py_None) {
    Py_DECREF(v);
    return nullptr;
  }
  Py_DECREF(v);  // the context keeps it alive for the duration of the call
  return v;
}

// Records the new value of `path` on the legacy proxy's transaction.
bool legacy_log(ProxyObject* self, const Path& path, PyObject* old_value, PyObject* new_value) {
  PyObject* tx = legacy_tx(self);
  if (!tx) return true;
  pyb::handle h(tx);
  try {
    if (pyb::isinstance<PyTx>(h)) {
      PyTx& ptx = h.cast<PyTx&>();
      Status st = new_value ? ptx.tx().set(path, to_value(new_value, copy_mode_for(path)))
                            : ptx.tx().apply({DeltaOp::kErase, path, Value(), 0});
      if (!st.is_ok()) {
        set_error(st);
        return false;
      }
      return true;
    }
  } catch (pyb::error_already_set& e) {
    e.restore();
    return false;
  }
  PyObject* r =
      PyObject_CallMethod(tx, "log_delta", "(sOO)", path.to_string().c_str(),
                          old_value ? old_value : Py_None, new_value ? new_value : Py_None);
  Py_XDECREF(r);
  return r != nullptr;
}

// `item_form`: the message names the proxy's own path (`p[k] = v`), else the child's (`p.k = v`).
bool legacy_check(ProxyObject* self, const Path& target, uint8_t capability, bool capability_first,
                  bool item_form = true) {
  if (!check_mutation(self, target, capability, WriteMode::kWrite, capability_first)) return false;
  if (!legacy_tx(self)) {
    if (item_form) {
      PyErr_Format(PyExc_PermissionError,
                   "Supervisor blocked mutation to path '%s': No active transaction found.",
                   proxy_path(self).to_string().c_str());
    } else {
      PyErr_Format(PyExc_PermissionError,
                   "Supervisor blocked mutation to '%s': No active transaction found.",
                   target.to_string().c_str());
    }
    return false;
  }
  return true;
}

bool wraps_as_proxy(PyObject* v) {
  if (PyDict_Check(v) || PyList_Check(v)) return true;
  if (PyType_Check(v) || PyCallable_Check(v) || PyModule_Check(v)) return false;
  return PyObject_HasAttrString(v, "__dict__") != 0;
}

PyObject* legacy_child(ProxyObject* self, PyObject* key, bool item_syntax, PyObject* v) {
  Value seg;
  if (!key_to_value(key, &seg)) seg = Value("?");
  Path cp = proxy_path(self).child(seg, item_syntax);
  int8_t access = kAccessCovered;
  if (self->scope && self->scope->checked() && self->access != kAccessCovered &&
      !self->scope->admin()) {
    ReadAccess ra = self->scope->policy->read_access(cp);
    bool container = PyDict_Check(v) || PyList_Check(v) || wraps_as_proxy(v);
    if (ra == ReadAccess::kDenied || (ra == ReadAccess::kNavigate && !container)) {
      Py_DECREF(v);
      PyErr_Format(PyExc_PermissionError,
                   "Illegal Read: Path '%s' is restricted by Process Contract.",
                   cp.to_string().c_str());
      return nullptr;
    }
    access = ra == ReadAccess::kAllowed ? kAccessCovered : kAccessNavigate;
  }
  uint8_t caps = self->caps & physics(cp, nullptr);
  if (!(caps & cap::kRead)) {
    Py_DECREF(v);
    Py_RETURN_NONE;
  }
  if (!wraps_as_proxy(v)) return v;
  PyObject* c = make_python_proxy(v, nullptr, self->read_only, self->txobj ? self->txobj : Py_None,
                                  self->is_shadow, caps);
  Py_DECREF(v);
  if (c) {
    delete proxy_cast(c)->path;
    proxy_cast(c)->path = new Path(cp);
    if (self->scope) {
      self->scope->retain();
      proxy_cast(c)->scope = self->scope;
      proxy_cast(c)->access = access;
    }
  }
  return c;
}

// A method call on the legacy target followed by a whole-node log of the result.
PyObject* legacy_call(ProxyObject* self, const char* method, PyObject* args, PyObject* kwargs,
                      uint8_t capability, bool capability_first) {
  const Path& path = proxy_path(self);
  if (!legacy_check(self, path, capability, capability_first)) return nullptr;
  PyObject* fn = PyObject_GetAttrString(self->target, method);
  if (!fn) return nullptr;
  PyObject* r = PyObject_Call(fn, args, kwargs);
  Py_DECREF(fn);
  if (!r) return nullptr;
  if (!legacy_log(self, path, nullptr, self->target)) {
    Py_DECREF(r);
    return nullptr;
  }
  return r;
}

// ---- dict methods -------------------------------------------------------------------------

PyObject* m_get(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  ProxyObject* self = proxy_cast(o);
  if (nargs < 1 || nargs > 2) {
    PyErr_SetString(PyExc_TypeError, "get(key, default=None)");
    return nullptr;
  }
  PyObject* dflt = nargs == 2 ? args[1] : Py_None;
  if (self->source == Source::kPython) {
    PyObject* v = PyObject_CallMethod(self->target, "get", "(OO)", args[0], dflt);
    return v ? legacy_child(self, args[0], true, v) : nullptr;
  }
  if (!node_of_kind(self, Kind::kMap, "get")) return nullptr;
  PyObject* r = get_child(self, args[0], true);
  if (r || !PyErr_ExceptionMatches(PyExc_KeyError)) return r;
  PyErr_Clear();
  if (self->access != kAccessCovered && self->scope && self->scope->checked() &&
      !self->scope->admin()) {
    Value seg;
    key_to_value(args[0], &seg);
    Path cp = proxy_path(self).child(seg, true);
    if (self->scope->policy->read_access(cp) == ReadAccess::kDenied) {
      PyErr_Format(PyExc_PermissionError,
                   "Illegal Read: Path '%s' is restricted by Process Contract.",
                   cp.to_string().c_str());
      return nullptr;
    }
  }
  Py_INCREF(dflt);
  return dflt;
}

PyObject* m_keys(PyObject* o, PyObject*) {
  ProxyObject* self = proxy_cast(o);
  if (self->source == Source::kPython) {
    PyObject* keys = PyMapping_Keys(self->target);
    return keys;
  }
  const Value* node = node_of_kind(self, Kind::kMap, "keys");
  if (!node) return nullptr;
  PyObject* out = PyList_New(0);
  for (auto item : node->as_map()) {
    PyObject* k = key_to_python(item.key);
    if (!k || PyList_Append(out, k) != 0) {
      Py_XDECREF(k);
      Py_DECREF(out);
      return nullptr;
    }
    Py_DECREF(k);
  }
  return out;
}

PyObject* values_or_items(PyObject* o, bool items) {
  ProxyObject* self = proxy_cast(o);
  PyObject* keys = m_keys(o, nullptr);
  if (!keys) return nullptr;
  if (self->source != Source::kPython && !check_whole_read(self)) {
    Py_DECREF(keys);
    return nullptr;
  }
  PyObject* out = PyList_New(0);
  for (Py_ssize_t i = 0; out && i < PyList_GET_SIZE(keys); ++i) {
    PyObject* k = PyList_GET_ITEM(keys, i);
    PyObject* v =
        self->source == Source::kPython ? legacy_get(self, k, true) : get_child(self, k, true);
    PyObject* x = v && items ? PyTuple_Pack(2, k, v) : v;
    if (items) Py_XDECREF(v);
    if (!x || PyList_Append(out, x) != 0) {
      Py_XDECREF(x);
      Py_CLEAR(out);
      break;
    }
    Py_DECREF(x);
  }
  Py_DECREF(keys);
  return out;
}

PyObject* m_values(PyObject* o, PyObject*) { return values_or_items(o, false); }
PyObject* m_items(PyObject* o, PyObject*) { return values_or_items(o, true); }

// Pairs (key, value) from update()'s mapping-or-iterable argument, appended to `out`.
bool collect_pairs(PyObject* src, std::vector<std::pair<pyb::object, pyb::object>>* out) {
  if (!src || src == Py_None) return true;
  if (PyDict_Check(src)) {
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(src, &pos, &k, &v))
      out->emplace_back(pyb::reinterpret_borrow<pyb::object>(k),
                        pyb::reinterpret_borrow<pyb::object>(v));
    return true;
  }
  if (PyObject_HasAttrString(src, "keys")) {
    PyObject* keys = PyMapping_Keys(src);
    if (!keys) return false;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys); ++i) {
      PyObject* k = PyList_GET_ITEM(keys, i);
      PyObject* v = PyObject_GetItem(src, k);
      if (!v) {
        Py_DECREF(keys);
        return false;
      }
      out->emplace_back(pyb::reinterpret_borrow<pyb::object>(k),
                        pyb::reinterpret_steal<pyb::object>(v));
    }
    Py_DECREF(keys);
    return true;
  }
  PyObject* it = PyObject_GetIter(src);
  if (!it) return false;
  while (PyObject* pair = PyIter_Next(it)) {
    PyObject* seq = PySequence_Fast(pair, "update() pairs must be 2-item sequences");
    Py_DECREF(pair);
    if (!seq || PySequence_Fast_GET_SIZE(seq) != 2) {
      Py_XDECREF(seq);
      Py_DECREF(it);
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "update() pairs must have length 2");
      return false;
    }
    out->emplace_back(pyb::reinterpret_borrow<pyb::object>(PySequence_Fast_GET_ITEM(seq, 0)),
                      pyb::reinterpret_borrow<pyb::object>(PySequence_Fast_GET_ITEM(seq, 1)));
    Py_DECREF(seq);
  }
  Py_DECREF(it);
  return !PyErr_Occurred();
}

PyObject* m_update(PyObject* o, PyObject* args, PyObject* kwds) {
  ProxyObject* self = proxy_cast(o);
  PyObject *other = nullptr, *kwargs = nullptr;
  if (!PyArg_UnpackTuple(args, "update", 0, 2, &other, &kwargs)) return nullptr;
  std::vector<std::pair<pyb::object, pyb::object>> pairs;
  if (!collect_pairs(other, &pairs) || !collect_pairs(kwargs, &pairs) ||
      !collect_pairs(kwds, &pairs))
    return nullptr;
  if (self->source == Source::kPython) {
    PyObject* d = PyDict_New();
    for (auto& [k, v] : pairs) PyDict_SetItem(d, k.ptr(), v.ptr());
    PyObject* a = PyTuple_Pack(1, d);
    Py_DECREF(d);
    PyObject* r = legacy_call(self, "update", a, nullptr, cap::kUpdate, false);
    Py_DECREF(a);
    return r;
  }
  if (!node_of_kind(self, Kind::kMap, "update")) return nullptr;
  if (!check_mutation(self, proxy_path(self), cap::kUpdate, WriteMode::kWrite, false))
    return nullptr;
  for (auto& [k, v] : pairs)
    if (set_child(self, k.ptr(), true, v.ptr()) < 0) return nullptr;
  Py_RETURN_NONE;
}

PyObject* m_pop(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  ProxyObject* self = proxy_cast(o);
  if (nargs > 2) {
    PyErr_SetString(PyExc_TypeError, "pop(key_or_index=None, default=<missing>)");
    return nullptr;
  }
  if (self->source == Source::kPython) {
    PyObject* a = PyTuple_New(nargs);
    for (Py_ssize_t i = 0; i < nargs; ++i) {
      Py_INCREF(args[i]);
      PyTuple_SET_ITEM(a, i, args[i]);
    }
    PyObject* r = legacy_call(self, "pop", a, nullptr, cap::kDelete, false);
    Py_DECREF(a);
    return r;
  }
  const Value* node = resolve(self);
  if (!node) return nullptr;
  const Path& path = proxy_path(self);
  if (node->is_list()) {
    Py_ssize_t index = -1;
    if (nargs >= 1 && args[0] != Py_None) {
      index = PyNumber_AsSsize_t(args[0], PyExc_IndexError);
      if (index == -1 && PyErr_Occurred()) return nullptr;
    }
    if (!check_mutation(self, path, cap::kDelete, WriteMode::kDelete, false)) return nullptr;
    Result<Value> removed = self->scope->tx->tx().list_pop(path, index);
    if (!removed.is_ok()) {
      if (removed.code() == ErrorCode::kNotFound) {
        PyErr_SetString(PyExc_IndexError, removed.status().message().c_str());
        return nullptr;
      }
      return raise_status(removed.status());
    }
    note_write(self, path);
    return to_python(*removed, true);
  }
  if (!node->is_map()) {
    node_of_kind(self, Kind::kMap, "pop");
    return nullptr;
  }
  if (nargs == 0 || args[0] == Py_None) {
    PyErr_SetString(PyExc_TypeError, "pop expected at least 1 argument (the key), got 0");
    return nullptr;
  }
  Value key;
  const Value* existing = key_to_value(args[0], &key) ? node->as_map().find(key) : nullptr;
  if (!existing) {
    if (nargs == 2) {
      Py_INCREF(args[1]);
      return args[1];
    }
    PyErr_SetObject(PyExc_KeyError, args[0]);
    return nullptr;
  }
  PyObject* value = to_python(*existing, true);
  if (!value) return nullptr;
  if (set_child(self, args[0], true, nullptr) < 0) {
    Py_DECREF(value);
    return nullptr;
  }
  return value;
}

PyObject* m_popitem(PyObject* o, PyObject*) {
  ProxyObject* self = proxy_cast(o);
  if (self->source == Source::kPython) {
    PyObject* a = PyTuple_New(0);
    PyObject* r = legacy_call(self, "popitem", a, nullptr, cap::kDelete, false);
    Py_DECREF(a);
    return r;
  }
  const Value* node = node_of_kind(self, Kind::kMap, "popitem");
  if (!node) return nullptr;
  if (node->as_map().empty()) {
    PyErr_SetString(PyExc_KeyError, "popitem(): dictionary is empty");
    return nullptr;
  }
  Value last_key, last_value;
  for (auto item : node->as_map()) {
    last_key = item.key;
    last_value = item.value;
  }
  PyObject* k = key_to_python(last_key);
  PyObject* v = k ? to_python(last_value, true) : nullptr;
  if (!v || set_child(self, k, true, nullptr) < 0) {
    Py_XDECREF(k);
    Py_XDECREF(v);
    return nullptr;
  }
  PyObject* r = PyTuple_Pack(2, k, v);
  Py_DECREF(k);
  Py_DECREF(v);
  return r;
}

PyObject* m_setdefault(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  ProxyObject* self = proxy_cast(o);
  if (nargs < 1 || nargs > 2) {
    PyErr_SetString(PyExc_TypeError, "setdefault(key, default=None)");
    return nullptr;
  }
  PyObject* dflt = nargs == 2 ? args[1] : Py_None;
  if (self->source == Source::kPython) {
    PyObject* a = PyTuple_Pack(2, args[0], dflt);
    PyObject* r = legacy_call(self, "setdefault", a, nullptr, cap::kUpdate, false);
    Py_DECREF(a);
    return r ? legacy_child(self, args[0], true, r) : nullptr;
  }
  const Value* node = node_of_kind(self, Kind::kMap, "setdefault");
  if (!node) return nullptr;
  Value key;
  if (!key_to_value(args[0], &key) || !node->as_map().contains(key)) {
    if (set_child(self, args[0], true, dflt) < 0) return nullptr;
  }
  return get_child(self, args[0], true);
}

PyObject* m_clear(PyObject* o, PyObject*) {
  ProxyObject* self = proxy_cast(o);
  if (self->source == Source::kPython) {
    PyObject* a = PyTuple_New(0);
    PyObject* r = legacy_call(self, "clear", a, nullptr, cap::kDelete, false);
    Py_DECREF(a);
    return r;
  }
  const Value* node = resolve(self);
  if (!node) return nullptr;
  bool is_list = node->is_list();
  return mutate_self_op(
      self, cap::kDelete, WriteMode::kDelete, false,
      [&](Transaction& tx, const Path& p) { return is_list ? tx.list_clear(p) : tx.clear(p); });
}

// ---- list methods -------------------------------------------------------------------------

PyObject* legacy_list_call(ProxyObject* self, const char* method, PyObject* const* args,
                           Py_ssize_t nargs, PyObject* kwnames, uint8_t capability) {
  PyObject* a = PyTuple_New(nargs);
  for (Py_ssize_t i = 0; i < nargs; ++i) {
    Py_INCREF(args[i]);
    PyTuple_SET_ITEM(a, i, args[i]);
  }
  PyObject* kw = nullptr;
  if (kwnames) {
    kw = PyDict_New();
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); ++i)
      PyDict_SetItem(kw, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]);
  }
  PyObject* r = legacy_call(self, method, a, kw, capability, true);
  Py_DECREF(a);
  Py_XDECREF(kw);
  return r;
}

PyObject* m_append(PyObject* o, PyObject* x) {
  ProxyObject* self = proxy_cast(o);
  if (self->source == Source::kPython)
    return legacy_list_call(self, "append", &x, 1, nullptr, cap::kAppend);
  if (!node_of_kind(self, Kind::kList, "append")) return nullptr;
  return mutate_self_op(
      self, cap::kAppend, WriteMode::kAppend, true,
      [&](Transaction& tx, const Path& p) { return tx.list_append(p, convert(x, p)); });
}

PyObject* m_extend(PyObject* o, PyObject* iterable) {
  ProxyObject* self = proxy_cast(o);
  if (self->source == Source::kPython)
    return legacy_list_call(self, "extend", &iterable, 1, nullptr, cap::kAppend);
  if (!node_of_kind(self, Kind::kList, "extend")) return nullptr;
  PyObject* seq = PySequence_List(iterable);  // materialise first (the iterable may be this list)
  if (!seq) return nullptr;
  PyObject* r = mutate_self_op(
      self, cap::kAppend, WriteMode::kAppend, true, [&](Transaction& tx, const Path& p) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(seq); ++i) {
          Status st = tx.list_append(p, convert(PyList_GET_ITEM(seq, i), p));
          if (!st.is_ok()) return st;
        }
        return Status::ok();
      });
  Py_DECREF(seq);
  return r;
}

PyObject* m_insert(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  ProxyObject* self = proxy_cast(o);
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "insert(index, item)");
    return nullptr;
  }
  if (self->source == Source::kPython)
    return legacy_list_call(self, "insert", args, 2, nullptr, cap::kAppend);
  if (!node_of_kind(self, Kind::kList, "insert")) return nullptr;
  Py_ssize_t index = PyNumber_AsSsize_t(args[0], PyExc_IndexError);
  if (index == -1 && PyErr_Occurred()) return nullptr;
  return mutate_self_op(self, cap::kAppend, WriteMode::kAppend, true,
                        [&](Transaction& tx, const Path& p) {
                          return tx.list_insert(p, index, convert(args[1], p));
                        });
}

PyObject* m_remove(PyObject* o, PyObject* x) {
  ProxyObject* self = proxy_cast(o);
  if (self->source == Source::kPython)
    return legacy_list_call(self, "remove", &x, 1, nullptr, cap::kDelete);
  const Value* node = node_of_kind(self, Kind::kList, "remove");
  if (!node) return nullptr;
  Value v;
  try {
    v = to_value(x, CopyMode::kReference);
  } catch (pyb::error_already_set& e) {
    e.restore();
    return nullptr;
  }
  int64_t index = -1, i = 0;
  for (const Value& item : node->as_list()) {
    if (item == v) {
      index = i;
      break;
    }
    ++i;
  }
  if (!check_mutation(self, proxy_path(self), cap::kDelete, WriteMode::kDelete, true))
    return nullptr;
  if (index < 0) {
    PyErr_SetString(PyExc_ValueError, "list.remove(x): x not in list");
    return nullptr;
  }
  return mutate_self_op(
      self, cap::kDelete, WriteMode::kDelete, true,
      [&](Transaction& tx, const Path& p) { return tx.list_pop(p, index).status(); });
}

PyObject* m_sort(PyObject* o, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  ProxyObject* self = proxy_cast(o);
  if (self->source == Source::kPython)
    return legacy_list_call(self, "sort", args, nargs, kwnames, cap::kUpdate);
  const Value* node = node_of_kind(self, Kind::kList, "sort");
  if (!node) return nullptr;
  // Keyword forms sort(key=f, reverse=True) and the legacy positional mapping sort({"key": f}).
  PyObject* kw = PyDict_New();
  if (nargs == 1 && PyDict_Check(args[0])) PyDict_Update(kw, args[0]);
  if (kwnames)
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); ++i)
      PyDict_SetItem(kw, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]);
  PyObject* plain = to_python(*node, false);
  PyObject* r = nullptr;
  if (plain) {
    if (!check_mutation(self, proxy_path(self), cap::kUpdate, WriteMode::kWrite, true)) {
      Py_DECREF(plain);
      Py_DECREF(kw);
      return nullptr;
    }
    PyObject* fn = PyObject_GetAttrString(plain, "sort");
    PyObject* empty = PyTuple_New(0);
    PyObject* done = fn ? PyObject_Call(fn, empty, kw) : nullptr;
    Py_XDECREF(fn);
    Py_DECREF(empty);
    if (done) {
      Py_DECREF(done);
      r = mutate_self_op(self, cap::kUpdate, WriteMode::kWrite, true,
                         [&](Transaction& tx, const Path& p) {
                           Value sorted = to_value(plain, CopyMode::kReference);
                           return tx.list_replace(p, sorted.as_list());
                         });
    }
    Py_DECREF(plain);
  }
  Py_DECREF(kw);
  return r;
}

PyObject* m_reverse(PyObject* o, PyObject*) {
  ProxyObject* self = proxy_cast(o);
  if (self->source == Source::kPython)
    return legacy_list_call(self, "reverse", nullptr, 0, nullptr, cap::kUpdate);
  const Value* node = node_of_kind(self, Kind::kList, "reverse");
  if (!node) return nullptr;
  std::vector<Value> items = node->as_list().to_vector();
  std::reverse(items.begin(), items.end());
  List reversed = List::from_vector(std::move(items));
  return mutate_self_op(
      self, cap::kUpdate, WriteMode::kWrite, true,
      [&](Transaction& tx, const Path& p) { return tx.list_replace(p, reversed); });
}

// ---- conversions and misc -----------------------------------------------------------------

PyObject* m_to_dict(PyObject* o, PyObject*) {
  ProxyObject* self = proxy_cast(o);
  if (self->source == Source::kPython) {
    for (const char* m : {"model_dump", "to_dict"}) {
      if (PyObject_HasAttrString(self->target, m))
        return PyObject_CallMethod(self->target, m, nullptr);
    }
    if (PyDict_Check(self->target)) return PyDict_Copy(self->target);
    PyErr_SetString(PyExc_AttributeError, "Wrapped object has no to_dict/model_dump");
    return nullptr;
  }
  if (!check_whole_read(self)) return nullptr;
  const Value* node = resolve(self);
  if (!node) return nullptr;
  if (!node->is_map()) {
    PyErr_SetString(PyExc_AttributeError, "Wrapped object has no to_dict/model_dump");
    return nullptr;
  }
  return to_python(*node, true);
}

PyObject* m_path(PyObject* o, PyObject*) {
  std::string p = proxy_path(proxy_cast(o)).to_string();
  return PyUnicode_FromStringAndSize(p.data(), static_cast<Py_ssize_t>(p.size()));
}

PyObject* m_is_proxy(PyObject*, PyObject*) { Py_RETURN_TRUE; }

PyObject* m_set_capabilities(PyObject* o, PyObject* caps) {
  long c = PyLong_AsLong(caps);
  if (c == -1 && PyErr_Occurred()) return nullptr;
  proxy_cast(o)->caps = static_cast<uint8_t>(c & cap::kAll);
  Py_RETURN_NONE;
}

PyObject* m_wrap_result(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  ProxyObject* self = proxy_cast(o);
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "wrap_result(key_or_path, val)");
    return nullptr;
  }
  PyObject* val = args[1];
  if (!PyDict_Check(val) && !PyList_Check(val)) {
    Py_INCREF(val);
    return val;
  }
  PyObject* c = make_python_proxy(val, nullptr, self->read_only,
                                  self->txobj ? self->txobj : Py_None, self->is_shadow, self->caps);
  if (!c) return nullptr;
  Value seg;
  if (!key_to_value(args[0], &seg)) seg = Value("?");
  Path child = proxy_path(self).child(seg);
  delete proxy_cast(c)->path;
  proxy_cast(c)->path = new Path(std::move(child));
  return c;
}

PyObject* m_reduce(PyObject* o, PyObject*) {
  ProxyObject* self = proxy_cast(o);
  PyObject* target;
  if (self->source == Source::kPython) {
    target = self->target;
    Py_INCREF(target);
  } else {
    if (!check_whole_read(self)) return nullptr;
    const Value* node = resolve(self);
    if (!node) return nullptr;
    target = to_python(*node, true);  // a detached copy: unpickled proxies have no transaction
    if (!target) return nullptr;
  }
  std::string path = proxy_path(self).to_string();
  return Py_BuildValue("(O(Ns#OOOi))", reinterpret_cast<PyObject*>(&ProxyType), target, path.data(),
                       static_cast<Py_ssize_t>(path.size()), self->read_only ? Py_True : Py_False,
                       Py_None, self->is_shadow ? Py_True : Py_False, static_cast<int>(self->caps));
}

#define THEUS_FAST(fn) reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fn))
PyMethodDef kMethods[] = {
    {"get", THEUS_FAST(m_get), METH_FASTCALL, "get(key, default=None)"},
    {"keys", m_keys, METH_NOARGS, "keys(): list of keys"},
    {"values", m_values, METH_NOARGS, "values(): list of values (proxies for containers)"},
    {"items", m_items, METH_NOARGS, "items(): list of (key, value)"},
    {"update", THEUS_FAST(m_update), METH_VARARGS | METH_KEYWORDS,
     "update(other=None, kwargs=None, **kw): one SET per key"},
    {"pop", THEUS_FAST(m_pop), METH_FASTCALL, "dict: pop(key[, default]); list: pop(index=-1)"},
    {"popitem", m_popitem, METH_NOARGS, "popitem(): remove and return the last (key, value)"},
    {"setdefault", THEUS_FAST(m_setdefault), METH_FASTCALL, "setdefault(key, default=None)"},
    {"clear", m_clear, METH_NOARGS, "clear(): empty the dict or list"},
    {"append", m_append, METH_O, "append(item)"},
    {"extend", m_extend, METH_O, "extend(iterable)"},
    {"insert", THEUS_FAST(m_insert), METH_FASTCALL, "insert(index, item)"},
    {"remove", m_remove, METH_O, "remove(value): remove the first equal element"},
    {"sort", THEUS_FAST(m_sort), METH_FASTCALL | METH_KEYWORDS, "sort(key=None, reverse=False)"},
    {"reverse", m_reverse, METH_NOARGS, "reverse()"},
    {"to_dict", m_to_dict, METH_NOARGS, "to_dict(): a detached plain copy"},
    {"path", m_path, METH_NOARGS, "path(): the path this proxy views"},
    {"is_proxy", m_is_proxy, METH_NOARGS, "is_proxy(): True"},
    {"_set_capabilities", m_set_capabilities, METH_O, nullptr},
    {"wrap_result", THEUS_FAST(m_wrap_result), METH_FASTCALL, "wrap_result(key_or_path, val)"},
    {"__reduce__", m_reduce, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr}};
#undef THEUS_FAST

}  // namespace

PyMethodDef* proxy_methods() { return kMethods; }

void set_current_tx_var(PyObject* var) {
  Py_XINCREF(var);
  Py_XDECREF(current_tx_var());
  current_tx_var() = var;
}

PyObject* detached_attribute(ProxyObject* self, const Value& node, PyObject* name) {
  static const char* kDict[] = {"copy", "fromkeys", nullptr};
  static const char* kList[] = {"copy", "count", "index", nullptr};
  const char** names = node.is_map() ? kDict : node.is_list() ? kList : nullptr;
  if (!names) return nullptr;
  for (const char** n = names; *n; ++n) {
    if (PyUnicode_CompareWithASCIIString(name, *n) == 0) {
      if (!check_whole_read(self)) return nullptr;
      PyObject* plain = to_python(node, true);
      if (!plain) return nullptr;
      PyObject* attr = PyObject_GetAttr(plain, name);
      Py_DECREF(plain);
      return attr;
    }
  }
  return nullptr;
}

PyObject* list_slice(ProxyObject* self, PyObject* slice) {
  if (self->source == Source::kPython) return PyObject_GetItem(self->target, slice);
  const Value* node = node_of_kind(self, Kind::kList, "__getitem__");
  if (!node || !check_whole_read(self)) return nullptr;
  PyObject* plain = to_python(*node, true);
  if (!plain) return nullptr;
  PyObject* r = PyObject_GetItem(plain, slice);  // slices are detached plain lists
  Py_DECREF(plain);
  return r;
}

PyObject* supervisor_target(PyObject* o, void*) {
  ProxyObject* self = proxy_cast(o);
  if (self->source == Source::kPython) {
    Py_INCREF(self->target);
    return self->target;
  }
  if (!check_whole_read(self)) return nullptr;
  const Value* node = resolve(self);
  if (!node) return nullptr;
  if (self->source == Source::kTx) return self->scope->tx->working_copy(proxy_path(self), *node);
  return to_python(*node, true);
}

PyObject* make_python_proxy(PyObject* target, PyObject* path, bool read_only, PyObject* tx,
                            bool is_shadow, uint8_t caps) {
  PyObject* o = ProxyType.tp_alloc(&ProxyType, 0);
  if (!o) return nullptr;
  ProxyObject* p = proxy_cast(o);
  p->source = Source::kPython;
  p->read_only = read_only;
  p->is_shadow = is_shadow;
  p->item_syntax = false;
  p->caps = caps;
  p->access = kAccessCovered;
  p->zone = -1;
  p->virtual_root = false;
  p->parent = nullptr;
  p->key = nullptr;
  p->scope = nullptr;
  new (&p->node) Value();
  p->gen = 0;
  p->path = nullptr;
  Py_INCREF(target);
  p->target = target;
  p->txobj = nullptr;
  if (tx && tx != Py_None) {
    Py_INCREF(tx);
    p->txobj = tx;
  }
  if (path && path != Py_None) {
    if (!PyUnicode_Check(path)) {
      Py_DECREF(o);
      PyErr_SetString(PyExc_TypeError, "path must be a string");
      return nullptr;
    }
    Py_ssize_t n = 0;
    const char* c = PyUnicode_AsUTF8AndSize(path, &n);
    std::string_view text(c, static_cast<size_t>(n));
    if (!text.empty()) {
      auto parsed = Path::parse(text);
      p->path = parsed.is_ok() ? new Path(std::move(parsed).value()) : new Path{Value(text)};
    }
  }
  if (!p->path) p->path = new Path();
  return o;
}

PyObject* legacy_get(ProxyObject* self, PyObject* key, bool item_syntax) {
  PyObject* t = self->target;
  PyObject* v = nullptr;
  if (PyDict_Check(t) || PyList_Check(t) || (item_syntax && PyMapping_Check(t))) {
    v = PyObject_GetItem(t, key);
    if (!v && !item_syntax && PyErr_ExceptionMatches(PyExc_KeyError)) {
      PyErr_Clear();
      PyErr_Format(
          PyExc_AttributeError,
          "'SupervisorProxy[dict]' object has no attribute '%U'. (Hint: Key '%U' missing in "
          "wrapped dict at path '%s')",
          key, key, proxy_path(self).to_string().c_str());
    }
  } else {
    v = PyObject_GetAttr(t, key);
    if (!v && PyErr_ExceptionMatches(PyExc_AttributeError)) {
      PyErr_Clear();
      PyErr_Format(PyExc_AttributeError,
                   "'SupervisorProxy[%s]' object has no attribute '%U'. (Path: '%s')",
                   Py_TYPE(t)->tp_name, key, proxy_path(self).to_string().c_str());
    }
  }
  if (!v) return nullptr;
  return legacy_child(self, key, item_syntax, v);
}

void attach_scope(PyObject* proxy, Scope* scope, const Path& path) {
  ProxyObject* p = proxy_cast(proxy);
  scope->retain();
  if (p->scope) p->scope->release();
  p->scope = scope;
  p->access =
      scope->policy->read_access(path) == ReadAccess::kAllowed ? kAccessCovered : kAccessNavigate;
}

int legacy_set(ProxyObject* self, PyObject* key, bool item_syntax, PyObject* value) {
  Value seg;
  if (!key_to_value(key, &seg)) seg = Value("?");
  Path cp = proxy_path(self).child(seg, item_syntax);
  bool del = value == nullptr;
  if (!legacy_check(self, cp, del ? cap::kDelete : cap::kUpdate, false, item_syntax)) return -1;
  PyObject* t = self->target;
  bool mapping = PyDict_Check(t) || PyList_Check(t) || (item_syntax && PyMapping_Check(t));
  PyObject* old = mapping ? PyObject_GetItem(t, key) : PyObject_GetAttr(t, key);
  if (!old) PyErr_Clear();
  int rc = mapping ? (del ? PyObject_DelItem(t, key) : PyObject_SetItem(t, key, value))
                   : PyObject_SetAttr(t, key, value);
  if (rc == 0 && !legacy_log(self, cp, old, value)) rc = -1;
  Py_XDECREF(old);
  return rc;
}

}  // namespace theus::py

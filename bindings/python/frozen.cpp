// FrozenDict and FrozenList: read-only views of committed state (D7). An engine-produced view
// wraps an immutable Value (nested reads produce further views, opaque objects fresh copies); a
// FrozenDict constructed from Python wraps the given dict without copying.
#include "frozen.hpp"

#include <new>

namespace theus::py {

namespace {

constexpr const char* kImmutable = "Context is Immutable. Use .update()";

struct FrozenObject {
  PyObject_HEAD Value node;  // engine-produced view
  PyObject* pydict;          // FrozenDict(dict) constructed from Python (owned), else nullptr
  bool by_reference;         // heavy-zone view: foreign values are returned as stored, not copied
};

FrozenObject* as_frozen(PyObject* o) { return reinterpret_cast<FrozenObject*>(o); }

PyObject* immutable_error() {
  PyErr_SetString(exceptions().context_error, kImmutable);
  return nullptr;
}

PyObject* frozen_alloc(PyTypeObject* type, const Value& node, PyObject* pydict) {
  PyObject* o = type->tp_alloc(type, 0);
  if (!o) return nullptr;
  FrozenObject* f = as_frozen(o);
  new (&f->node) Value(node);
  f->by_reference = false;
  f->pydict = pydict;
  Py_XINCREF(pydict);
  return o;
}

void frozen_dealloc(PyObject* o) {
  FrozenObject* f = as_frozen(o);
  f->node.~Value();
  Py_XDECREF(f->pydict);
  Py_TYPE(o)->tp_free(o);
}

// A nested value of a Python-constructed FrozenDict: dicts stay frozen, the rest is returned as is.
PyObject* wrap_python_value(PyObject* v) {
  if (PyDict_Check(v)) return frozen_alloc(&FrozenDictType, Value(), v);
  Py_INCREF(v);
  return v;
}

// Value of `key` (new reference) or nullptr without an error set when missing.
PyObject* fd_lookup(FrozenObject* f, PyObject* key) {
  if (f->pydict) {
    PyObject* v = PyDict_GetItemWithError(f->pydict, key);
    return v ? wrap_python_value(v) : nullptr;
  }
  Value k;
  if (!key_to_value(key, &k) || !f->node.is_map()) return nullptr;
  const Value* v = f->node.as_map().find(k);
  if (!v) return nullptr;
  return f->by_reference && v->is_foreign() ? to_python(*v, false) : make_frozen(*v);
}

// ---- FrozenDict ---------------------------------------------------------------------------------

PyObject* fd_new(PyTypeObject* type, PyObject* args, PyObject* kwds) {
  PyObject* data = nullptr;
  static const char* kwlist[] = {"data", nullptr};
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:FrozenDict", const_cast<char**>(kwlist), &data))
    return nullptr;
  if (!PyDict_Check(data)) {
    PyErr_Format(PyExc_TypeError, "FrozenDict expects a dict, got %s", Py_TYPE(data)->tp_name);
    return nullptr;
  }
  return frozen_alloc(type, Value(), data);
}

Py_ssize_t fd_len(PyObject* o) {
  FrozenObject* f = as_frozen(o);
  if (f->pydict) return PyDict_GET_SIZE(f->pydict);
  return f->node.is_map() ? static_cast<Py_ssize_t>(f->node.as_map().size()) : 0;
}

PyObject* fd_getitem(PyObject* o, PyObject* key) {
  PyObject* v = fd_lookup(as_frozen(o), key);
  if (!v && !PyErr_Occurred()) PyErr_SetString(PyExc_KeyError, "Key not found");
  return v;
}

int fd_setitem(PyObject*, PyObject*, PyObject*) {
  immutable_error();
  return -1;
}

PyObject* fd_getattro(PyObject* o, PyObject* name) {
  PyObject* r = PyObject_GenericGetAttr(o, name);
  if (r || !PyErr_ExceptionMatches(PyExc_AttributeError)) return r;
  PyErr_Clear();
  PyObject* v = fd_lookup(as_frozen(o), name);
  if (!v && !PyErr_Occurred()) PyErr_SetString(PyExc_AttributeError, "Attribute not found");
  return v;
}

int fd_setattro(PyObject* o, PyObject* name, PyObject* value) {
  // Subclasses may keep their own attributes; the mapping itself stays immutable.
  if (Py_TYPE(o) != &FrozenDictType) return PyObject_GenericSetAttr(o, name, value);
  immutable_error();
  return -1;
}

int fd_contains(PyObject* o, PyObject* key) {
  FrozenObject* f = as_frozen(o);
  if (f->pydict) return PyDict_Contains(f->pydict, key);
  Value k;
  if (!key_to_value(key, &k) || !f->node.is_map()) return 0;
  return f->node.as_map().contains(k) ? 1 : 0;
}

PyObject* fd_keys(PyObject* o, PyObject*) {
  FrozenObject* f = as_frozen(o);
  if (f->pydict) return PyDict_Keys(f->pydict);
  PyObject* out = PyList_New(0);
  if (!out || !f->node.is_map()) return out;
  for (auto item : f->node.as_map()) {
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

PyObject* fd_iter(PyObject* o) {
  PyObject* keys = fd_keys(o, nullptr);
  if (!keys) return nullptr;
  PyObject* it = PyObject_GetIter(keys);
  Py_DECREF(keys);
  return it;
}

PyObject* fd_values_or_items(PyObject* o, bool items) {
  FrozenObject* f = as_frozen(o);
  PyObject* out = PyList_New(0);
  if (!out) return nullptr;
  auto push = [&](PyObject* k, PyObject* v) {
    PyObject* x = v;
    if (items && v) x = PyTuple_Pack(2, k, v);
    bool ok = x && PyList_Append(out, x) == 0;
    if (items) Py_XDECREF(x);
    Py_XDECREF(v);
    return ok;
  };
  if (f->pydict) {
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(f->pydict, &pos, &k, &v)) {
      if (!push(k, wrap_python_value(v))) {
        Py_DECREF(out);
        return nullptr;
      }
    }
    return out;
  }
  if (!f->node.is_map()) return out;
  for (auto item : f->node.as_map()) {
    PyObject* k = key_to_python(item.key);
    PyObject* v = k ? (f->by_reference && item.value.is_foreign() ? to_python(item.value, false)
                                                                  : make_frozen(item.value))
                    : nullptr;
    bool ok = k && push(k, v);
    Py_XDECREF(k);
    if (!ok) {
      Py_DECREF(out);
      return nullptr;
    }
  }
  return out;
}

PyObject* fd_values(PyObject* o, PyObject*) { return fd_values_or_items(o, false); }
PyObject* fd_items(PyObject* o, PyObject*) { return fd_values_or_items(o, true); }

PyObject* fd_get(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 2) {
    PyErr_SetString(PyExc_TypeError, "get(key, default=None)");
    return nullptr;
  }
  PyObject* v = fd_lookup(as_frozen(o), args[0]);
  if (v || PyErr_Occurred()) return v;
  PyObject* dflt = nargs == 2 ? args[1] : Py_None;
  Py_INCREF(dflt);
  return dflt;
}

PyObject* fd_to_dict(PyObject* o, PyObject*) {
  FrozenObject* f = as_frozen(o);
  if (f->pydict) {
    Py_INCREF(f->pydict);
    return f->pydict;
  }
  return to_python(f->node.is_map() ? f->node : Value(Map()), /*copy_foreign=*/true);
}

PyObject* fd_deepcopy(PyObject* o, PyObject*) {
  FrozenObject* f = as_frozen(o);
  if (f->pydict) {
    PyObject* copy = deepcopy(f->pydict);
    if (!copy) return nullptr;
    PyObject* r = frozen_alloc(Py_TYPE(o), Value(), copy);
    Py_DECREF(copy);
    return r;
  }
  return frozen_alloc(Py_TYPE(o), f->node, nullptr);  // the Value is immutable: sharing is a copy
}

// Equality with another mapping: same length, equal values per key (array results reduced).
int mapping_equal(PyObject* self, PyObject* other) {
  if (Py_TYPE(other) == Py_TYPE(self) || PyObject_TypeCheck(other, &FrozenDictType)) {
    FrozenObject* a = as_frozen(self);
    FrozenObject* b = as_frozen(other);
    if (a->pydict && a->pydict == b->pydict) return 1;
    if (!a->pydict && !b->pydict) return a->node == b->node ? 1 : 0;
  }
  if (!PyDict_Check(other) && !PyObject_TypeCheck(other, &FrozenDictType)) return -2;
  if (PyObject_Size(other) != fd_len(self)) return 0;
  PyObject* keys = fd_keys(self, nullptr);
  if (!keys) return -1;
  int result = 1;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys) && result == 1; ++i) {
    PyObject* k = PyList_GET_ITEM(keys, i);
    PyObject* mine = fd_lookup(as_frozen(self), k);
    PyObject* theirs = PyObject_GetItem(other, k);
    if (!mine || !theirs) {
      PyErr_Clear();
      result = 0;
    } else {
      Value a, b;
      bool av = view_value(mine, &a), bv = view_value(theirs, &b);
      if (av && bv) {
        result = a == b ? 1 : 0;
      } else {
        result = python_equal(mine, theirs) ? 1 : 0;
      }
    }
    Py_XDECREF(mine);
    Py_XDECREF(theirs);
  }
  Py_DECREF(keys);
  return result;
}

PyObject* fd_richcompare(PyObject* self, PyObject* other, int op) {
  if (op != Py_EQ && op != Py_NE) Py_RETURN_NOTIMPLEMENTED;
  int eq = mapping_equal(self, other);
  if (eq == -1) return nullptr;
  if (eq == -2) Py_RETURN_NOTIMPLEMENTED;
  return PyBool_FromLong((eq == 1) == (op == Py_EQ));
}

PyObject* fd_repr(PyObject* o) {
  PyObject* d = fd_to_dict(o, nullptr);
  if (!d) return nullptr;
  PyObject* r = PyUnicode_FromFormat("FrozenDict(%R)", d);
  Py_DECREF(d);
  return r;
}

PyMethodDef fd_methods[] = {
    {"get", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fd_get)), METH_FASTCALL,
     "get(key, default=None): the value of key (a read-only view), or default."},
    {"keys", fd_keys, METH_NOARGS, "keys(): list of keys in insertion order."},
    {"values", fd_values, METH_NOARGS, "values(): list of read-only values."},
    {"items", fd_items, METH_NOARGS, "items(): list of (key, read-only value) pairs."},
    {"to_dict", fd_to_dict, METH_NOARGS, "to_dict(): a detached plain deep copy."},
    {"__deepcopy__", fd_deepcopy, METH_O, nullptr},
    {nullptr, nullptr, 0, nullptr}};

PyMappingMethods fd_as_mapping = {fd_len, fd_getitem, fd_setitem};
PySequenceMethods fd_as_sequence = {nullptr, nullptr, nullptr,     nullptr, nullptr,
                                    nullptr, nullptr, fd_contains, nullptr, nullptr};

// ---- FrozenList ---------------------------------------------------------------------------------

const List& fl_list(PyObject* o) {
  static const List kEmpty;
  const Value& n = as_frozen(o)->node;
  return n.is_list() ? n.as_list() : kEmpty;
}

Py_ssize_t fl_len(PyObject* o) { return static_cast<Py_ssize_t>(fl_list(o).size()); }

PyObject* fl_item(PyObject* o, Py_ssize_t i) {
  const List& l = fl_list(o);
  if (i < 0 || static_cast<size_t>(i) >= l.size()) {
    PyErr_SetString(PyExc_IndexError, "FrozenList index out of range");
    return nullptr;
  }
  return make_frozen(l[static_cast<size_t>(i)]);
}

PyObject* fl_subscript(PyObject* o, PyObject* key) {
  const List& l = fl_list(o);
  if (PySlice_Check(key)) {
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(key, &start, &stop, &step) < 0) return nullptr;
    Py_ssize_t n = PySlice_AdjustIndices(static_cast<Py_ssize_t>(l.size()), &start, &stop, step);
    PyObject* out = PyList_New(n);
    if (!out) return nullptr;
    for (Py_ssize_t i = 0, j = start; i < n; ++i, j += step) {
      PyObject* x = to_python(l[static_cast<size_t>(j)], true);  // slices are plain lists
      if (!x) {
        Py_DECREF(out);
        return nullptr;
      }
      PyList_SET_ITEM(out, i, x);
    }
    return out;
  }
  Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
  if (i == -1 && PyErr_Occurred()) return nullptr;
  if (i < 0) i += static_cast<Py_ssize_t>(l.size());
  return fl_item(o, i);
}

int fl_ass_subscript(PyObject*, PyObject*, PyObject*) {
  immutable_error();
  return -1;
}

int fl_contains(PyObject* o, PyObject* x) {
  Value v;
  try {
    v = to_value(x, CopyMode::kReference);
  } catch (pyb::error_already_set& e) {
    e.restore();
    return -1;
  }
  for (const Value& item : fl_list(o))
    if (item == v) return 1;
  return 0;
}

PyObject* fl_iter(PyObject* o) {
  // Iteration yields views (nested dicts as FrozenDict), unlike slices which are plain lists.
  PyObject* out = PyList_New(0);
  if (!out) return nullptr;
  for (const Value& item : fl_list(o)) {
    PyObject* x = make_frozen(item);
    if (!x || PyList_Append(out, x) != 0) {
      Py_XDECREF(x);
      Py_DECREF(out);
      return nullptr;
    }
    Py_DECREF(x);
  }
  PyObject* it = PyObject_GetIter(out);
  Py_DECREF(out);
  return it;
}

PyObject* fl_count(PyObject* o, PyObject* x) {
  Value v;
  try {
    v = to_value(x, CopyMode::kReference);
  } catch (pyb::error_already_set& e) {
    e.restore();
    return nullptr;
  }
  long n = 0;
  for (const Value& item : fl_list(o))
    if (item == v) ++n;
  return PyLong_FromLong(n);
}

PyObject* fl_index(PyObject* o, PyObject* x) {
  Value v;
  try {
    v = to_value(x, CopyMode::kReference);
  } catch (pyb::error_already_set& e) {
    e.restore();
    return nullptr;
  }
  long i = 0;
  for (const Value& item : fl_list(o)) {
    if (item == v) return PyLong_FromLong(i);
    ++i;
  }
  PyErr_Format(PyExc_ValueError, "%R is not in list", x);
  return nullptr;
}

PyObject* fl_copy(PyObject* o, PyObject*) { return to_python(as_frozen(o)->node, true); }

PyObject* fl_mutator(PyObject*, PyObject*) { return immutable_error(); }

PyObject* fl_richcompare(PyObject* self, PyObject* other, int op) {
  if (op != Py_EQ && op != Py_NE) Py_RETURN_NOTIMPLEMENTED;
  if (!PyList_Check(other) && !PyTuple_Check(other) &&
      !PyObject_TypeCheck(other, &FrozenListType) && !is_proxy(other))
    Py_RETURN_NOTIMPLEMENTED;
  Value theirs;
  try {
    theirs = to_value(other, CopyMode::kReference);
  } catch (pyb::error_already_set& e) {
    e.restore();
    return nullptr;
  }
  bool eq = theirs.is_list() && theirs.as_list() == fl_list(self);
  return PyBool_FromLong(eq == (op == Py_EQ));
}

PyObject* fl_repr(PyObject* o) {
  PyObject* l = to_python(as_frozen(o)->node, true);
  if (!l) return nullptr;
  PyObject* r = PyUnicode_FromFormat("FrozenList(%R)", l);
  Py_DECREF(l);
  return r;
}

PyObject* fl_new(PyTypeObject* type, PyObject* args, PyObject* kwds) {
  PyObject* data = nullptr;
  static const char* kwlist[] = {"data", nullptr};
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:FrozenList", const_cast<char**>(kwlist), &data))
    return nullptr;
  Value v = Value(List());
  if (data) {
    try {
      v = to_value(data, CopyMode::kCopy);
    } catch (pyb::error_already_set& e) {
      e.restore();
      return nullptr;
    }
    if (!v.is_list()) {
      PyErr_Format(PyExc_TypeError, "FrozenList expects a list or tuple, got %s",
                   Py_TYPE(data)->tp_name);
      return nullptr;
    }
  }
  return frozen_alloc(type, v, nullptr);
}

#define THEUS_MUTATOR(name) \
  { name, fl_mutator, METH_VARARGS, "Refused: FrozenList is immutable." }
PyMethodDef fl_methods[] = {
    {"count", fl_count, METH_O, "count(x): occurrences of x."},
    {"index", fl_index, METH_O, "index(x): position of the first x (ValueError if absent)."},
    {"copy", fl_copy, METH_NOARGS, "copy(): a plain, detached list."},
    {"to_list", fl_copy, METH_NOARGS, "to_list(): a plain, detached list."},
    THEUS_MUTATOR("append"),
    THEUS_MUTATOR("extend"),
    THEUS_MUTATOR("insert"),
    THEUS_MUTATOR("pop"),
    THEUS_MUTATOR("remove"),
    THEUS_MUTATOR("clear"),
    THEUS_MUTATOR("sort"),
    THEUS_MUTATOR("reverse"),
    {nullptr, nullptr, 0, nullptr}};
#undef THEUS_MUTATOR

PyMappingMethods fl_as_mapping = {fl_len, fl_subscript, fl_ass_subscript};
PySequenceMethods fl_as_sequence = {fl_len,  nullptr, nullptr,     fl_item, nullptr,
                                    nullptr, nullptr, fl_contains, nullptr, nullptr};

}  // namespace

PyTypeObject FrozenDictType = {PyVarObject_HEAD_INIT(nullptr, 0)};
PyTypeObject FrozenListType = {PyVarObject_HEAD_INIT(nullptr, 0)};

PyObject* make_frozen(const Value& v) {
  switch (v.kind()) {
    case Kind::kMap:
      return frozen_alloc(&FrozenDictType, v, nullptr);
    case Kind::kList:
      return frozen_alloc(&FrozenListType, v, nullptr);
    case Kind::kForeign: {
      PyObject* copy = to_python(v, /*copy_foreign=*/true);
      if (copy && PyObject_HasAttrString(copy, "setflags") &&
          PyObject_HasAttrString(copy, "dtype")) {
        // Data-zone arrays read back non-writeable: writing to them could never reach the engine.
        PyObject* r = PyObject_CallMethod(copy, "setflags", "(OOO)", Py_False, Py_None, Py_None);
        if (!r) PyErr_Clear();
        Py_XDECREF(r);
      }
      return copy;
    }
    default:
      return to_python(v, true);
  }
}

PyObject* make_frozen_reference(const Value& map) {
  PyObject* o = frozen_alloc(&FrozenDictType, map, nullptr);
  if (o) as_frozen(o)->by_reference = true;
  return o;
}

bool frozen_view_value(PyObject* obj, Value* out) {
  if (PyObject_TypeCheck(obj, &FrozenDictType) || PyObject_TypeCheck(obj, &FrozenListType)) {
    FrozenObject* f = as_frozen(obj);
    if (f->pydict) {
      *out = to_value(f->pydict, CopyMode::kCopy);
    } else {
      *out = f->node;
    }
    return true;
  }
  return false;
}

PyObject* buffer_to_python(const Value& v) {
  const BufferRef& b = v.as_buffer();
  PyObject* shape = PyTuple_New(static_cast<Py_ssize_t>(b.shape.size()));
  if (!shape) return nullptr;
  for (size_t i = 0; i < b.shape.size(); ++i)
    PyTuple_SET_ITEM(shape, static_cast<Py_ssize_t>(i), PyLong_FromLongLong(b.shape[i]));
  PyObject* d = Py_BuildValue("{s:s#,s:K,s:K,s:s#,s:N}", "name", b.name.data(),
                              static_cast<Py_ssize_t>(b.name.size()), "offset",
                              static_cast<unsigned long long>(b.offset), "length",
                              static_cast<unsigned long long>(b.length), "dtype", b.dtype.data(),
                              static_cast<Py_ssize_t>(b.dtype.size()), "shape", shape);
  return d;
}

void init_frozen_types(pyb::module_& m) {
  FrozenDictType.tp_name = "theus_core.FrozenDict";
  FrozenDictType.tp_basicsize = sizeof(FrozenObject);
  FrozenDictType.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_MAPPING;
  FrozenDictType.tp_doc =
      "FrozenDict(data: dict): read-only mapping. Engine-produced instances are views of committed "
      "state; attribute access reads keys (fd.name == fd['name']).";
  FrozenDictType.tp_new = fd_new;
  FrozenDictType.tp_dealloc = frozen_dealloc;
  FrozenDictType.tp_as_mapping = &fd_as_mapping;
  FrozenDictType.tp_as_sequence = &fd_as_sequence;
  FrozenDictType.tp_getattro = fd_getattro;
  FrozenDictType.tp_setattro = fd_setattro;
  FrozenDictType.tp_iter = fd_iter;
  FrozenDictType.tp_richcompare = fd_richcompare;
  FrozenDictType.tp_repr = fd_repr;
  FrozenDictType.tp_str = fd_repr;
  FrozenDictType.tp_hash = PyObject_HashNotImplemented;
  FrozenDictType.tp_methods = fd_methods;
  if (PyType_Ready(&FrozenDictType) < 0) throw pyb::error_already_set();
  m.add_object("FrozenDict", reinterpret_cast<PyObject*>(&FrozenDictType));

  FrozenListType.tp_name = "theus_core.FrozenList";
  FrozenListType.tp_basicsize = sizeof(FrozenObject);
  FrozenListType.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_SEQUENCE;
  FrozenListType.tp_doc =
      "FrozenList: read-only sequence view of a committed list. Slices and copy() return plain "
      "lists; every mutator raises ContextError.";
  FrozenListType.tp_new = fl_new;
  FrozenListType.tp_dealloc = frozen_dealloc;
  FrozenListType.tp_as_mapping = &fl_as_mapping;
  FrozenListType.tp_as_sequence = &fl_as_sequence;
  FrozenListType.tp_iter = fl_iter;
  FrozenListType.tp_richcompare = fl_richcompare;
  FrozenListType.tp_repr = fl_repr;
  FrozenListType.tp_hash = PyObject_HashNotImplemented;
  FrozenListType.tp_methods = fl_methods;
  if (PyType_Ready(&FrozenListType) < 0) throw pyb::error_already_set();
  m.add_object("FrozenList", reinterpret_cast<PyObject*>(&FrozenListType));
}

}  // namespace theus::py

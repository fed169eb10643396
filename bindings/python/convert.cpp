// Python <-> Value conversion, the foreign-object hooks for Python objects, and exceptions.
#include <unordered_map>

#include "frozen.hpp"
#include "theus_py.hpp"

namespace theus::py {

// ---- exceptions -----------------------------------------------------------------------------

Exceptions& exceptions() {
  static Exceptions e;
  return e;
}

void init_exceptions(pyb::module_& m) {
  Exceptions& e = exceptions();
  auto make = [&](const char* dotted, const char* attr, PyObject* base) {
    PyObject* cls = PyErr_NewException(dotted, base, nullptr);
    if (!cls) throw pyb::error_already_set();
    m.add_object(attr, pyb::handle(cls));
    return cls;
  };
  e.context_error = make("theus.structures.ContextError", "ContextError", PyExc_Exception);
  e.schema_violation =
      make("theus.config.SchemaViolationError", "SchemaViolationError", PyExc_Exception);
  e.write_timeout = make("theus_core.WriteTimeoutError", "WriteTimeoutError", PyExc_TimeoutError);
  e.contract_violation =
      make("theus.contracts.ContractViolationError", "ContractViolationError", PyExc_Exception);
  e.audit_block = make("theus_core.AuditBlockError", "AuditBlockError", PyExc_RuntimeError);
  e.audit_abort = make("theus_core.AuditAbortError", "AuditAbortError", PyExc_RuntimeError);
  e.audit_stop = make("theus_core.AuditStopError", "AuditStopError", PyExc_RuntimeError);
  e.audit_warning = make("theus_core.AuditWarning", "AuditWarning", PyExc_UserWarning);
}

PyObject* exception_for(ErrorCode code) {
  const Exceptions& e = exceptions();
  switch (code) {
    case ErrorCode::kPermissionDenied:
      return PyExc_PermissionError;
    case ErrorCode::kContractViolation:
      return e.contract_violation;
    case ErrorCode::kConflict:
    case ErrorCode::kStrictConflict:
    case ErrorCode::kBusy:
    case ErrorCode::kGaveUp:
      return e.context_error;
    case ErrorCode::kWriteTimeout:
      return e.write_timeout;
    case ErrorCode::kSchemaViolation:
      return e.schema_violation;
    case ErrorCode::kNotFound:
      return PyExc_KeyError;
    case ErrorCode::kTypeMismatch:
      return PyExc_TypeError;
    case ErrorCode::kInvalidArgument:
      return PyExc_ValueError;
    case ErrorCode::kAuditViolation:
    case ErrorCode::kAuditBlock:
      return e.audit_block;
    case ErrorCode::kAuditAbort:
      return e.audit_abort;
    case ErrorCode::kAuditStop:
      return e.audit_stop;
    case ErrorCode::kNameError:
      return PyExc_NameError;
    case ErrorCode::kIndexError:
      return PyExc_IndexError;
    case ErrorCode::kZeroDivision:
      return PyExc_ZeroDivisionError;
    case ErrorCode::kAttributeError:
      return PyExc_AttributeError;
    default:
      return PyExc_RuntimeError;
  }
}

PyObject* set_error(const Status& st) {
  PyErr_SetString(exception_for(st.code()), st.message().c_str());
  return nullptr;
}

void throw_if_error(const Status& st) {
  if (st.is_ok()) return;
  set_error(st);
  throw pyb::error_already_set();
}

bool is_conflict_exception(PyObject* exc) {
  if (!exc || !PyObject_TypeCheck(exc, reinterpret_cast<PyTypeObject*>(exceptions().context_error)))
    return false;
  PyObject* s = PyObject_Str(exc);
  if (!s) {
    PyErr_Clear();
    return false;
  }
  Py_ssize_t n = 0;
  const char* c = PyUnicode_AsUTF8AndSize(s, &n);
  bool hit = false;
  if (c) {
    std::string_view msg(c, static_cast<size_t>(n));
    hit = msg.find("CAS Version Mismatch") != msg.npos ||
          msg.find("Strict CAS Mismatch") != msg.npos || msg.find("System Busy") != msg.npos;
  } else {
    PyErr_Clear();
  }
  Py_DECREF(s);
  return hit;
}

Path parse_path(std::string_view text) { return unwrap(Path::parse(text)); }

// ---- foreign hooks ----------------------------------------------------------------------------

namespace {

bool interpreter_alive() { return Py_IsInitialized() && !_Py_IsFinalizing(); }

void py_release(void* obj) {
  if (!interpreter_alive()) return;  // objects still held at shutdown are leaked, not touched
  PyGILState_STATE g = PyGILState_Ensure();
  Py_DECREF(static_cast<PyObject*>(obj));
  PyGILState_Release(g);
}

bool py_equals(void* a, void* b) {
  PyGILState_STATE g = PyGILState_Ensure();
  bool eq = python_equal(static_cast<PyObject*>(a), static_cast<PyObject*>(b));
  PyGILState_Release(g);
  return eq;
}

size_t py_hash(void* obj) {
  PyGILState_STATE g = PyGILState_Ensure();
  Py_hash_t h = PyObject_Hash(static_cast<PyObject*>(obj));
  if (h == -1) {
    PyErr_Clear();
    h = static_cast<Py_hash_t>(reinterpret_cast<uintptr_t>(obj) >> 4);
  }
  PyGILState_Release(g);
  return static_cast<size_t>(h);
}

std::string py_repr(void* obj) {
  PyGILState_STATE g = PyGILState_Ensure();
  std::string out;
  PyObject* r = PyObject_Repr(static_cast<PyObject*>(obj));
  if (r) {
    Py_ssize_t n = 0;
    const char* c = PyUnicode_AsUTF8AndSize(r, &n);
    if (c) out.assign(c, static_cast<size_t>(n));
    Py_DECREF(r);
  }
  if (PyErr_Occurred()) PyErr_Clear();
  if (out.empty())
    out = std::string("<") + Py_TYPE(static_cast<PyObject*>(obj))->tp_name + " object>";
  PyGILState_Release(g);
  return out;
}

bool py_get_attribute(void* obj, const Value& name, Value* out) {
  PyGILState_STATE g = PyGILState_Ensure();
  bool ok = false;
  PyObject* key = key_to_python(name);
  PyObject* o = static_cast<PyObject*>(obj);
  PyObject* v = nullptr;
  if (key && PyUnicode_Check(key)) v = PyObject_GetAttr(o, key);
  if (!v && key && PyMapping_Check(o)) {
    PyErr_Clear();
    v = PyObject_GetItem(o, key);
  }
  if (v) {
    try {
      *out = to_value(v, CopyMode::kCopy, "");
      ok = true;
    } catch (pyb::error_already_set& e) {
      e.restore();
    }
    Py_DECREF(v);
  }
  PyErr_Clear();
  Py_XDECREF(key);
  PyGILState_Release(g);
  return ok;
}

bool py_with_attribute(void* obj, const Value& name, const Value& value, Value* out) {
  PyGILState_STATE g = PyGILState_Ensure();
  bool ok = false;
  PyObject* copy = deepcopy(static_cast<PyObject*>(obj));
  PyObject* key = key_to_python(name);
  PyObject* pv = to_python(value, true);
  if (copy && key && pv) {
    int rc = PyUnicode_Check(key) ? PyObject_SetAttr(copy, key, pv) : -1;
    if (rc != 0 && PyMapping_Check(copy)) {
      PyErr_Clear();
      rc = PyObject_SetItem(copy, key, pv);
    }
    if (rc == 0) {
      *out = foreign_ref(copy);
      ok = true;
    }
  }
  PyErr_Clear();
  Py_XDECREF(copy);
  Py_XDECREF(key);
  Py_XDECREF(pv);
  PyGILState_Release(g);
  return ok;
}

bool py_truthy(void* obj) {
  PyGILState_STATE g = PyGILState_Ensure();
  int t = PyObject_IsTrue(static_cast<PyObject*>(obj));
  if (t < 0) PyErr_Clear();
  PyGILState_Release(g);
  return t != 0;  // an object whose __bool__ fails counts as true, like one without __bool__
}

// `obj <op> other` with Python's rich comparison (the ForeignCompareOp order is Py_LT..Py_GE).
bool py_compare(void* obj, const Value& other, int op, bool* result, std::string* error) {
  PyGILState_STATE g = PyGILState_Ensure();
  bool ok = false;
  PyObject* rhs = to_python(other, false);
  PyObject* r = rhs ? PyObject_RichCompare(static_cast<PyObject*>(obj), rhs, op) : nullptr;
  int t = r ? PyObject_IsTrue(r) : -1;
  if (t >= 0) {
    *result = t != 0;
    ok = true;
  } else if (PyErr_Occurred()) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject* text = value ? PyObject_Str(value) : nullptr;
    const char* c = text ? PyUnicode_AsUTF8(text) : nullptr;
    if (c) *error = c;
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    PyErr_Clear();
  }
  Py_XDECREF(r);
  Py_XDECREF(rhs);
  PyGILState_Release(g);
  return ok;
}

// Hooks per Python type, so Value::type_name() reports the real class name. The type is kept
// alive by the table.
const ForeignHooks* hooks_for(PyTypeObject* type) {
  static std::unordered_map<PyTypeObject*, std::unique_ptr<ForeignHooks>> table;
  auto it = table.find(type);
  if (it != table.end()) return it->second.get();
  Py_INCREF(type);
  auto h = std::make_unique<ForeignHooks>();
  h->type_name = type->tp_name;
  h->release = py_release;
  h->equals = py_equals;
  h->hash = py_hash;
  h->repr = py_repr;
  h->get_attribute = py_get_attribute;
  h->with_attribute = py_with_attribute;
  h->truthy = py_truthy;
  h->compare = py_compare;
  const ForeignHooks* raw = h.get();
  table.emplace(type, std::move(h));
  return raw;
}

}  // namespace

Value foreign_ref(PyObject* obj) {
  Py_INCREF(obj);
  return Value::foreign(obj, hooks_for(Py_TYPE(obj)));
}

PyObject* foreign_object(const Value& v) {
  if (!v.is_foreign() || v.foreign_hooks() == nullptr || v.foreign_hooks()->release != py_release)
    return nullptr;
  return static_cast<PyObject*>(v.foreign_object());
}

PyObject* deepcopy(PyObject* obj) {
  static PyObject* fn = [] {
    PyObject* mod = PyImport_ImportModule("copy");
    PyObject* f = mod ? PyObject_GetAttrString(mod, "deepcopy") : nullptr;
    Py_XDECREF(mod);
    return f;
  }();
  if (!fn) return nullptr;
  return PyObject_CallOneArg(fn, obj);
}

bool python_equal(PyObject* a, PyObject* b) {
  if (a == b) return true;
  PyObject* r = PyObject_RichCompare(a, b, Py_EQ);
  if (!r) {
    PyErr_Clear();
    return false;
  }
  int truth;
  if (PyBool_Check(r)) {
    truth = r == Py_True;
  } else if (PyObject_HasAttrString(r, "all")) {
    PyObject* all = PyObject_CallMethod(r, "all", nullptr);
    truth = all ? PyObject_IsTrue(all) : -1;
    Py_XDECREF(all);
  } else {
    truth = PyObject_IsTrue(r);
  }
  Py_DECREF(r);
  if (truth < 0) {
    PyErr_Clear();
    return false;
  }
  return truth == 1;
}

// ---- Python -> Value --------------------------------------------------------------------------

// numpy scalar types (np.int64, np.bool_, np.float32, ...) are immutable primitives; float64
// and str_ already subclass float / str.
bool is_numpy_scalar(PyObject* obj) {
  static PyObject* generic = nullptr;
  if (!generic) {
    PyObject* np = PyDict_GetItemString(PyImport_GetModuleDict(), "numpy");  // borrowed
    if (!np) return false;  // numpy not imported: no numpy scalars can exist
    generic = PyObject_GetAttrString(np, "generic");
    if (!generic) {
      PyErr_Clear();
      return false;
    }
  }
  return PyObject_TypeCheck(obj, reinterpret_cast<PyTypeObject*>(generic)) != 0;
}

namespace {

// Thrown (inside the conversion only) when an object cannot be deep-copied; each container level
// adds its key on the way out, so the final error names the full path.
struct IsolationFailure {
  std::string type;
  std::vector<std::string> suffixes;  // innermost first: "['k']" / ".k" / "[3]"
};

Value opaque_copy(PyObject* obj, CopyMode mode) {
  if (mode != CopyMode::kCopy) return foreign_ref(obj);
  PyObject* copy = deepcopy(obj);
  if (!copy) {
    PyErr_Clear();
    throw IsolationFailure{Py_TYPE(obj)->tp_name, {}};
  }
  Value v = foreign_ref(copy);
  Py_DECREF(copy);
  return v;
}

Value string_value(PyObject* obj, bool* ok) {
  Py_ssize_t n = 0;
  const char* c = PyUnicode_AsUTF8AndSize(obj, &n);
  if (!c) {  // lone surrogates: not representable as UTF-8
    PyErr_Clear();
    *ok = false;
    return Value();
  }
  *ok = true;
  return Value(std::string_view(c, static_cast<size_t>(n)));
}

}  // namespace

bool key_to_value(PyObject* key, Value* out) {
  if (PyUnicode_Check(key)) {
    bool ok = false;
    *out = string_value(key, &ok);
    return ok;
  }
  if (key == Py_None) {
    *out = Value();
    return true;
  }
  if (PyBool_Check(key)) {
    *out = Value(key == Py_True);
    return true;
  }
  if (PyLong_Check(key)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(key, &overflow);
    if (overflow || (v == -1 && PyErr_Occurred())) {
      PyErr_Clear();
      return false;
    }
    *out = Value(v);
    return true;
  }
  if (PyFloat_Check(key)) {
    *out = Value(PyFloat_AS_DOUBLE(key));
    return true;
  }
  if (PyBytes_Check(key)) {
    *out = Value::bytes(
        std::string_view(PyBytes_AS_STRING(key), static_cast<size_t>(PyBytes_GET_SIZE(key))));
    return true;
  }
  return false;
}

PyObject* key_to_python(const Value& key) {
  PyObject* s = scalar_to_python(key);
  if (s) return s;
  return to_python(key, true);
}

namespace {

Value convert(PyObject* obj, CopyMode mode) {
  if (obj == Py_None) return Value();
  if (PyBool_Check(obj)) return Value(obj == Py_True);
  if (PyLong_Check(obj)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (!overflow && !(v == -1 && PyErr_Occurred())) return Value(v);
    PyErr_Clear();
    return foreign_ref(obj);  // big ints are immutable: kept as they are
  }
  if (PyFloat_Check(obj)) return Value(PyFloat_AS_DOUBLE(obj));
  if (PyUnicode_Check(obj)) {
    bool ok = false;
    Value v = string_value(obj, &ok);
    return ok ? v : foreign_ref(obj);
  }
  if (PyBytes_Check(obj))
    return Value::bytes(
        std::string_view(PyBytes_AS_STRING(obj), static_cast<size_t>(PyBytes_GET_SIZE(obj))));
  if (mode == CopyMode::kHeavy)
    return foreign_ref(obj);  // the heavy zone keeps objects as they are
  Value inner;
  if (view_value(obj, &inner)) return inner;  // proxies and frozen views: their current value
  if (PyDict_Check(obj)) {
    std::vector<std::pair<Value, Value>> items;
    items.reserve(static_cast<size_t>(PyDict_GET_SIZE(obj)));
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(obj, &pos, &k, &v)) {
      Value key;
      if (!key_to_value(k, &key)) return opaque_copy(obj, mode);  // e.g. tuple keys
      items.emplace_back(std::move(key), Value());
    }
    pos = 0;
    size_t i = 0;
    while (PyDict_Next(obj, &pos, &k, &v)) {
      try {
        items[i].second = convert(v, mode);
      } catch (IsolationFailure& f) {
        const Value& key = items[i].first;
        f.suffixes.push_back(key.is_string() ? "." + std::string(key.as_string())
                                             : "[" + key.repr() + "]");
        throw;
      }
      ++i;
    }
    return Value(Map::from_items(std::move(items)));
  }
  if (PyList_Check(obj) || PyTuple_Check(obj)) {
    PyObject* seq = obj;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    std::vector<Value> items;
    items.reserve(static_cast<size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) {
      try {
        items.push_back(convert(PySequence_Fast_GET_ITEM(seq, i), mode));
      } catch (IsolationFailure& f) {
        f.suffixes.push_back("[" + std::to_string(i) + "]");
        throw;
      }
    }
    return Value(List::from_vector(std::move(items)));
  }
  if (is_numpy_scalar(obj)) {
    PyObject* item = PyObject_CallMethod(obj, "item", nullptr);
    if (item) {
      Value v = convert(item, mode);
      Py_DECREF(item);
      return v;
    }
    PyErr_Clear();
  }
  return opaque_copy(obj, mode);
}

}  // namespace

Value to_value(PyObject* obj, CopyMode mode, const char* where) {
  try {
    return convert(obj, mode);
  } catch (IsolationFailure& f) {
    std::string path = where ? where : "";
    for (auto it = f.suffixes.rbegin(); it != f.suffixes.rend(); ++it)
      path += (path.empty() && (*it)[0] == '.') ? it->substr(1) : *it;
    raise_isolation_failure(f.type, path);
  }
}

void raise_isolation_failure(const std::string& type, const std::string& path) {
  PyErr_Format(PyExc_RuntimeError,
               "Transaction isolation failure: cannot deepcopy object of type '%s' at path '%s'. "
               "Store objects that cannot be copied in the heavy zone (heavy.<name>).",
               type.c_str(), path.c_str());
  throw pyb::error_already_set();
}

Map heavy_map(PyObject* obj, const char* what) {
  if (!PyDict_Check(obj)) {
    PyErr_Format(PyExc_TypeError, "%s must be a dict, got %s", what, Py_TYPE(obj)->tp_name);
    throw pyb::error_already_set();
  }
  std::vector<std::pair<Value, Value>> items;
  PyObject *k, *v;
  Py_ssize_t pos = 0;
  while (PyDict_Next(obj, &pos, &k, &v)) {
    Value key;
    if (!key_to_value(k, &key)) {
      PyErr_Format(PyExc_TypeError, "%s keys must be strings, got %s", what, Py_TYPE(k)->tp_name);
      throw pyb::error_already_set();
    }
    items.emplace_back(std::move(key), to_value(v, CopyMode::kHeavy));
  }
  return Map::from_items(std::move(items));
}

// ---- Value -> Python --------------------------------------------------------------------------

PyObject* scalar_to_python(const Value& v) {
  switch (v.kind()) {
    case Kind::kNull:
      Py_RETURN_NONE;
    case Kind::kBool:
      return PyBool_FromLong(v.as_bool() ? 1 : 0);
    case Kind::kInt:
      return PyLong_FromLongLong(v.as_int());
    case Kind::kDouble:
      return PyFloat_FromDouble(v.as_double());
    case Kind::kString: {
      std::string_view s = v.as_string();
      return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "surrogatepass");
    }
    case Kind::kBytes: {
      std::string_view s = v.as_bytes();
      return PyBytes_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
    }
    default:
      return nullptr;
  }
}

PyObject* to_python(const Value& v, bool copy_foreign) {
  if (PyObject* s = scalar_to_python(v)) return s;
  switch (v.kind()) {
    case Kind::kMap: {
      PyObject* d = PyDict_New();
      if (!d) return nullptr;
      for (auto item : v.as_map()) {
        PyObject* k = key_to_python(item.key);
        PyObject* val = k ? to_python(item.value, copy_foreign) : nullptr;
        if (!val || PyDict_SetItem(d, k, val) != 0) {
          Py_XDECREF(k);
          Py_XDECREF(val);
          Py_DECREF(d);
          return nullptr;
        }
        Py_DECREF(k);
        Py_DECREF(val);
      }
      return d;
    }
    case Kind::kList: {
      const List& l = v.as_list();
      PyObject* out = PyList_New(static_cast<Py_ssize_t>(l.size()));
      if (!out) return nullptr;
      Py_ssize_t i = 0;
      for (const Value& item : l) {
        PyObject* x = to_python(item, copy_foreign);
        if (!x) {
          Py_DECREF(out);
          return nullptr;
        }
        PyList_SET_ITEM(out, i++, x);
      }
      return out;
    }
    case Kind::kForeign: {
      PyObject* o = foreign_object(v);
      if (!o) {
        PyErr_SetString(PyExc_TypeError, "value is not a Python object");
        return nullptr;
      }
      if (copy_foreign) return deepcopy(o);
      Py_INCREF(o);
      return o;
    }
    case Kind::kBuffer:
      return buffer_to_python(v);
    default:
      PyErr_SetString(PyExc_TypeError, "unsupported value kind");
      return nullptr;
  }
}

}  // namespace theus::py

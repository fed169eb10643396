// Process scopes, and guards constructed directly over plain Python objects (legacy usage).
#include "frozen.hpp"
#include "guard_impl.hpp"
#include "proxy_impl.hpp"

namespace theus::py {

Scope* make_scope(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                  Semantic semantic, bool strict, PyObject* tx, std::shared_ptr<PyEngine> engine,
                  const std::string& process_name) {
  auto contract =
      std::make_shared<const Contract>(unwrap(Contract::make(inputs, outputs, semantic)));
  auto* scope = new Scope();
  scope->contract = contract;
  scope->strict = strict;
  scope->process_name = process_name;
  scope->engine = std::move(engine);
  AccessOptions access;
  access.strict_guards = strict;
  if (scope->engine) access.overrides = &scope->engine->engine.physics_overrides();
  scope->policy.emplace(*scope->contract, std::move(access));
  scope->local = pyb::dict();
  if (tx && tx != Py_None) {
    scope->txobj = pyb::reinterpret_borrow<pyb::object>(tx);
    scope->tx = &scope->txobj.cast<PyTx&>();
  }
  return scope;
}

namespace {

bool is_primitive(PyObject* v) {
  return v == Py_None || PyBool_Check(v) || PyLong_Check(v) || PyFloat_Check(v) ||
         PyUnicode_Check(v) || PyCallable_Check(v) || is_numpy_scalar(v);
}

std::string child_path(const GuardObject* g, const std::string& name) {
  return g->prefix.empty() ? name : g->prefix + "." + name;
}

}  // namespace

pyb::object engine_hub(PyEngine& e);  // bind_signal.cpp
pyb::object signal_hub_new();
bool is_signal_hub(PyObject* obj);

PyObject* engine_hub_object(Scope* scope) {
  if (scope && scope->engine) return engine_hub(*scope->engine).release().ptr();
  return signal_hub_new().release().ptr();
}

namespace {

PyObject* guard_value(GuardObject* g, PyObject* v, const std::string& full, const Path& p);

}  // namespace

PyObject* legacy_guard_read(GuardObject* g, PyObject* name, const std::string& n) {
  if (n == "outbox") return PyObject_GetAttr(g->target, name);
  std::string full = child_path(g, n);
  Path p = unwrap(Path::parse(full));
  if (g->prefix.empty() && (n == "signal" || n == "cmd")) {
    Status st = g->scope->policy->check_root_read(n);
    if (!st.is_ok()) return set_error(st);
    PyObject* hub = PyObject_GetAttr(g->target, name);  // a ProcessContext's state hub
    if (hub && is_signal_hub(hub)) return hub;
    Py_XDECREF(hub);
    PyErr_Clear();
    return engine_hub_object(g->scope);
  }
  Scope* scope = g->scope;
  if (!scope->admin()) {
    Status st = scope->policy->check_root_read(p.root());
    if (!st.is_ok()) {
      PyErr_Format(PyExc_PermissionError, "Illegal Read: '%s'", full.c_str());
      return nullptr;
    }
    if (resolve_zone(p) == Zone::kPrivate) Py_RETURN_NONE;
  }
  PyObject* v = nullptr;
  if (PyDict_Check(g->target) ||
      (PyMapping_Check(g->target) && !PyObject_HasAttr(g->target, name))) {
    v = PyObject_GetItem(g->target, name);
  } else {
    v = PyObject_GetAttr(g->target, name);
    if (!v && PyMapping_Check(g->target)) {
      PyErr_Clear();
      v = PyObject_GetItem(g->target, name);
    }
  }
  if (!v) return nullptr;
  if (scope->checked() && !scope->admin() && scope->policy->key_checked(p.root())) {
    ReadAccess ra = scope->policy->read_access(p);
    bool container = PyDict_Check(v) || PyList_Check(v) || is_proxy(v) || !is_primitive(v);
    if (ra == ReadAccess::kDenied || (ra == ReadAccess::kNavigate && !container)) {
      Py_DECREF(v);
      PyErr_Format(PyExc_PermissionError,
                   "Illegal Read: Path '%s' is restricted by Process Contract.",
                   p.to_string().c_str());
      return nullptr;
    }
  }
  return guard_value(g, v, full, p);
}

PyObject* legacy_guard_item(GuardObject* g, PyObject* key) {
  Value seg;
  if (!key_to_value(key, &seg)) {
    PyErr_Format(PyExc_TypeError, "unsupported key type '%s'", Py_TYPE(key)->tp_name);
    return nullptr;
  }
  Path base = g->prefix.empty() ? Path() : unwrap(Path::parse(g->prefix));
  Path p = base.child(seg, true);
  if (!g->scope->admin()) {
    Status st = g->scope->policy->check_root_read(p.root());
    if (!st.is_ok()) return set_error(st);
  }
  PyObject* v = PyObject_GetItem(g->target, key);
  if (!v) return nullptr;
  return guard_value(g, v, p.to_string(), p);
}

namespace {

// Guarding of a value read through a legacy guard (§8.2 rules 1-6).
PyObject* guard_value(GuardObject* g, PyObject* v, const std::string& full, const Path& p) {
  Scope* scope = g->scope;
  if (is_primitive(v) || pyb::isinstance<PyTx>(pyb::handle(v))) return v;
  if (!scope->admin() && resolve_zone(p) == Zone::kPrivate) {
    Py_DECREF(v);
    Py_RETURN_NONE;
  }
  bool writable = scope->admin() || scope->policy->root_writable(p.root());
  uint8_t caps =
      scope->admin() ? cap::kAll : physics(p, nullptr) & (writable ? cap::kAllData : cap::kRead);
  PyObject* txobj = scope->txobj ? scope->txobj.ptr() : Py_None;
  if (PyDict_Check(v) || PyList_Check(v) || is_proxy(v)) {
    // Containers: a proxy over the transaction's working copy (a read-only view without one).
    pyb::object target = pyb::reinterpret_steal<pyb::object>(v);
    if (is_proxy(v)) {
      Value node;
      view_value(v, &node);
      target = pyb::reinterpret_steal<pyb::object>(to_python(node, true));
    } else if (scope->tx) {
      try {
        target = scope->tx->get_shadow(target, p);
      } catch (pyb::error_already_set& e) {
        e.restore();
        return nullptr;
      }
    }
    PyObject* path = PyUnicode_FromString(full.c_str());
    PyObject* proxy =
        make_python_proxy(target.ptr(), path, !writable || txobj == Py_None, txobj, false, caps);
    Py_DECREF(path);
    if (proxy && scope->checked()) attach_scope(proxy, scope, p);
    return proxy;
  }
  // Any other object: a child guard with the same policy over it.
  PyObject* child = make_guard(scope);
  if (!child) {
    Py_DECREF(v);
    return nullptr;
  }
  reinterpret_cast<GuardObject*>(child)->target = v;
  reinterpret_cast<GuardObject*>(child)->prefix = full;
  return child;
}

}  // namespace

int legacy_guard_write(GuardObject* g, PyObject* name, const std::string& n, PyObject* value) {
  std::string full = child_path(g, n);
  Path p = unwrap(Path::parse(full));
  Scope* scope = g->scope;
  if (!scope->admin() && !scope->policy->root_writable(p.root())) {
    PyErr_Format(PyExc_PermissionError, "Illegal Write: '%s'", full.c_str());
    return -1;
  }
  Status st = scope->policy->check_constant(p, value ? WriteMode::kWrite : WriteMode::kDelete);
  if (!st.is_ok()) {
    set_error(st);
    return -1;
  }
  uint8_t caps = scope->admin() ? cap::kAll : physics(p, nullptr);
  if (!(caps & cap::kUpdate)) {
    PyErr_Format(
        PyExc_PermissionError,
        "Permission Denied: UPDATE capability required for '%s' (Zone Physics blocked it).",
        full.c_str());
    return -1;
  }
  if (!scope->tx && resolve_zone(p) != Zone::kHeavy) {
    PyErr_Format(PyExc_PermissionError,
                 "Security Violation: Write to '%s' denied (No active transaction).", full.c_str());
    return -1;
  }
  int rc = value ? PyObject_SetAttr(g->target, name, value) : PyObject_DelAttr(g->target, name);
  if (rc != 0 && PyMapping_Check(g->target)) {
    PyErr_Clear();
    rc = value ? PyObject_SetItem(g->target, name, value) : PyObject_DelItem(g->target, name);
  }
  if (rc == 0 && scope->tx) {
    try {
      Status s = value ? scope->tx->tx().set(p, to_value(value, copy_mode_for(p), full.c_str()))
                       : scope->tx->tx().apply({DeltaOp::kErase, p, Value(), 0});
      if (!s.is_ok()) {
        set_error(s);
        return -1;
      }
    } catch (pyb::error_already_set& e) {
      e.restore();
      return -1;
    }
  }
  return rc;
}

}  // namespace theus::py

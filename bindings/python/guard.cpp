// ContextGuard: the object a (non-PURE) process receives as `ctx`. Attribute and item reads of a
// root apply contract rule A (declared root), then hand out a SupervisorProxy over that root of
// the running transaction (writable iff rule A'); special names give the outbox, the local
// scratch dict, the transaction, the version and a log function. Subclassable, with __dict__.
#include <cstddef>
#include <map>
#include <new>

#include "frozen.hpp"
#include "guard_impl.hpp"
#include "proxy_impl.hpp"

namespace theus::py {

pyb::object make_outbox(const pyb::object& txobj);  // bind_transaction.cpp
bool wraps_object(PyObject* v);                     // proxy.cpp

namespace {

GuardObject* as_guard(PyObject* o) { return reinterpret_cast<GuardObject*>(o); }

PyObject* permission_error(const std::string& msg) {
  PyErr_SetString(PyExc_PermissionError, msg.c_str());
  return nullptr;
}

std::string utf8(PyObject* s) {
  Py_ssize_t n = 0;
  const char* c = PyUnicode_AsUTF8AndSize(s, &n);
  if (!c) {
    PyErr_Clear();
    return {};
  }
  return std::string(c, static_cast<size_t>(n));
}

// Interned policy ids: equal (sorted inputs, sorted outputs, strict) -> equal id.
long intern_policy(const Contract& c, bool strict) {
  static std::map<std::string, long> table;
  std::vector<std::string> ins = c.input_texts(), outs = c.output_texts();
  std::sort(ins.begin(), ins.end());
  std::sort(outs.begin(), outs.end());
  std::string key = strict ? "S|" : "L|";
  for (auto& s : ins) key += s + '\x1f';
  key += '|';
  for (auto& s : outs) key += s + '\x1f';
  auto it = table.find(key);
  if (it != table.end()) return it->second;
  long id = static_cast<long>(table.size()) + 1;
  table.emplace(std::move(key), id);
  return id;
}

void guard_dealloc(PyObject* o) {
  GuardObject* g = as_guard(o);
  Py_CLEAR(g->dict);
  if (g->scope) g->scope->release();
  Py_XDECREF(g->target);
  Py_TYPE(o)->tp_free(o);
}

// Rule A for root `name`; the error is "Illegal Read: '<root>'".
bool check_root(GuardObject* g, const std::string& root) {
  Status st = g->scope->policy->check_root_read(root);
  if (st.is_ok()) return true;
  set_error(st);
  return false;
}

PyObject* read_root(GuardObject* g, PyObject* name, const std::string& root) {
  Scope* scope = g->scope;
  if (!check_root(g, root)) return nullptr;
  Path rp{Value(root)};
  bool admin = scope->admin();
  if (!admin && resolve_zone(rp) == Zone::kPrivate) Py_RETURN_NONE;
  // Capabilities without the admin flag: elevation is applied per operation, so a proxy stays
  // correct when AdminTransaction starts or ends while it is alive.
  bool writable = scope->policy->root_declared_writable(root);
  uint8_t caps =
      physics(rp, scope->policy->options().overrides) & (writable ? cap::kAllData : cap::kRead);
  Transaction& tx = scope->tx->tx();
  std::optional<Value> v;
  if (root == "heavy") {
    v = tx.heavy();
  } else if (const Value* found = tx.data().as_map().find(std::string_view(root))) {
    v = *found;
  }
  if (!v || v->is_container()) {
    // Containers (and declared roots not created yet) are proxies over the transaction.
    PyObject* canonical =
        PyUnicode_FromStringAndSize(root.data(), static_cast<Py_ssize_t>(root.size()));
    if (!canonical) return nullptr;
    PyObject* p = make_root_proxy(scope, canonical, !writable, caps);
    Py_DECREF(canonical);
    if (p && scope->cache_roots && PyUnicode_CHECK_INTERNED(name) &&
        scope->policy->root_declared(root)) {
      Py_INCREF(name);
      Py_INCREF(p);
      scope->root_cache.emplace_back(name, p);
    }
    return p;
  }
  (void)name;
  ReadAccess ra =
      scope->checked() && !admin ? scope->policy->read_access(rp) : ReadAccess::kAllowed;
  if (v->is_foreign() && ra != ReadAccess::kDenied) {
    PyObject* copy =
        resolve_zone(rp) == Zone::kHeavy ? to_python(*v, false) : scope->tx->working_copy(rp, *v);
    if (!copy || ra == ReadAccess::kAllowed || !wraps_object(copy)) return copy;
    // An object under a navigable root (inputs ["domain.n"], domain is a model): a child guard
    // over the working copy applies the contract to its attributes.
    PyObject* child = make_guard(scope);
    if (!child) {
      Py_DECREF(copy);
      return nullptr;
    }
    as_guard(child)->target = copy;
    as_guard(child)->prefix = root;
    return child;
  }
  if (ra != ReadAccess::kAllowed)
    return permission_error("Illegal Read: Path '" + root + "' is restricted by Process Contract.");
  return to_python(*v, false);
}

PyObject* guard_getattro(PyObject* o, PyObject* name) {
  GuardObject* g = as_guard(o);
  if (g->scope) {
    for (const auto& [k, proxy] : g->scope->root_cache)
      if (k == name) return Py_NewRef(proxy);  // `ctx.domain` again in this attempt
  }
  if (_PyType_Lookup(Py_TYPE(o), name)) return PyObject_GenericGetAttr(o, name);
  std::string n = utf8(name);
  if (!n.empty() && n[0] == '_') {
    bool dunder =
        n.size() > 4 && n.compare(0, 2, "__") == 0 && n.compare(n.size() - 2, 2, "__") == 0;
    if (dunder || (g->scope && g->scope->strict)) {
      if (dunder) return PyObject_GenericGetAttr(o, name);
      return permission_error("Access to private attribute '" + n + "' denied in Strict Mode");
    }
    PyObject* own = PyObject_GenericGetAttr(o, name);  // subclass attributes first
    if (own || !g->target || !PyErr_ExceptionMatches(PyExc_AttributeError)) return own;
    PyErr_Clear();
    return PyObject_GetAttr(g->target, name);  // non-strict: forwarded to the wrapped object
  }
  if (!g->scope) return PyObject_GenericGetAttr(o, name);
  if (g->target) return legacy_guard_read(g, name, n);
  Scope* scope = g->scope;
  if (n == "transaction") {
    if (!scope->contract->declares("transaction") && !scope->admin())
      return permission_error("Illegal Read: 'transaction'");
    return scope->txobj.inc_ref().ptr();
  }
  if (n == "local") {
    if (!check_root(g, "local")) return nullptr;
    if (!scope->local) scope->local = pyb::dict();  // per invocation, never committed
    return scope->local.inc_ref().ptr();
  }
  if (n == "signal" || n == "cmd") {
    if (!check_root(g, n)) return nullptr;
    return engine_hub_object(scope);  // the hub itself: publishing is immediate, not transactional
  }
  if (n == "version") {
    if (!check_root(g, "version")) return nullptr;
    return PyLong_FromUnsignedLongLong(scope->tx->tx().base_version());
  }
  if (n == "data") {
    if (!check_root(g, "data")) return nullptr;
    return make_frozen(scope->tx->tx().data());
  }
  return read_root(g, name, std::string(canonical_root(n)));
}

int write_root(GuardObject* g, const std::string& root, PyObject* value) {
  Scope* scope = g->scope;
  Path rp{Value(root)};
  if (!scope->admin() && !scope->policy->root_writable(root)) {
    permission_error("Illegal Write: '" + root + "'");
    return -1;
  }
  if (!scope->admin() && !scope->policy->output_covers(rp)) {
    permission_error("Illegal Write: '" + root + "'");
    return -1;
  }
  Status st = scope->policy->check_constant(rp, value ? WriteMode::kWrite : WriteMode::kDelete);
  if (st.is_ok())
    st = scope->policy->check_capability(rp, value ? cap::kUpdate : cap::kDelete, true);
  if (!st.is_ok() && st.code() == ErrorCode::kPermissionDenied &&
      st.message().rfind("Permission", 0) == 0)
    st =
        Status(ErrorCode::kPermissionDenied, "Permission Denied: UPDATE capability required for '" +
                                                 root + "' (Zone Physics blocked it).");
  if (!st.is_ok()) {
    set_error(st);
    return -1;
  }
  if (!scope->tx->core || !scope->tx->tx().is_open()) {
    permission_error("Security Violation: Write to '" + root + "' denied (No active transaction).");
    return -1;
  }
  if (value) {
    try {
      st = scope->tx->tx().set(rp, to_value(value, copy_mode_for(rp), root.c_str()));
    } catch (pyb::error_already_set& e) {
      e.restore();
      return -1;
    }
  } else {
    st = scope->tx->tx().erase(rp);
  }
  if (!st.is_ok()) {
    set_error(st);
    return -1;
  }
  scope->guarded_writes.push_back(rp);
  return 0;
}

int guard_setattro(PyObject* o, PyObject* name, PyObject* value) {
  GuardObject* g = as_guard(o);
  std::string n = utf8(name);
  if (PyObject* attr = _PyType_Lookup(Py_TYPE(o), name)) {
    if (Py_TYPE(attr)->tp_descr_set) return PyObject_GenericSetAttr(o, name, value);
  }
  if (!g->scope || (!n.empty() && n[0] == '_') || n == "log")
    return PyObject_GenericSetAttr(o, name, value);
  if (g->target) return legacy_guard_write(g, name, n, value);
  return write_root(g, std::string(canonical_root(n)), value);
}

PyObject* guard_subscript(PyObject* o, PyObject* key) {
  GuardObject* g = as_guard(o);
  if (!PyUnicode_Check(key) && g->target) return legacy_guard_item(g, key);
  if (!PyUnicode_Check(key)) {
    PyErr_SetString(PyExc_TypeError, "context keys are root names (str)");
    return nullptr;
  }
  return guard_getattro(o, key);
}

int guard_ass_subscript(PyObject* o, PyObject* key, PyObject* value) {
  if (!PyUnicode_Check(key)) {
    PyErr_SetString(PyExc_TypeError, "context keys are root names (str)");
    return -1;
  }
  return guard_setattro(o, key, value);
}

int guard_contains(PyObject* o, PyObject* key) {
  GuardObject* g = as_guard(o);
  if (g->target) return PySequence_Contains(g->target, key);
  if (!g->scope || !g->scope->tx) return 0;
  Value k;
  if (!key_to_value(key, &k)) return 0;
  return g->scope->tx->tx().data().as_map().contains(k) ? 1 : 0;
}

PyObject* guard_iter(PyObject* o) {
  GuardObject* g = as_guard(o);
  if (g->target) return PyObject_GetIter(g->target);
  PyObject* keys = PyList_New(0);
  if (g->scope && g->scope->tx) {
    for (auto item : g->scope->tx->tx().data().as_map()) {
      PyObject* k = key_to_python(item.key);
      if (k) PyList_Append(keys, k);
      Py_XDECREF(k);
    }
  }
  PyObject* it = PyObject_GetIter(keys);
  Py_DECREF(keys);
  return it;
}

PyObject* guard_repr(PyObject* o) {
  GuardObject* g = as_guard(o);
  const char* wrapped = g->target ? Py_TYPE(g->target)->tp_name : "ProcessContext";
  bool admin = g->scope && g->scope->admin();
  return PyUnicode_FromFormat("<ContextGuard wrapping %s admin=%s>", wrapped,
                              admin ? "True" : "False");
}

PyObject* m_log(PyObject*, PyObject* msg) {
  PyObject* s = PyObject_Str(msg);
  if (!s) return nullptr;
  PySys_FormatStdout("[CTX LOG] %U\n", s);
  Py_DECREF(s);
  Py_RETURN_NONE;
}

PyObject* m_elevate(PyObject* o, PyObject* enabled) {
  GuardObject* g = as_guard(o);
  int on = PyObject_IsTrue(enabled);
  if (on < 0) return nullptr;
  if (g->scope && g->scope->policy) g->scope->policy->set_admin(on == 1);
  Py_RETURN_NONE;
}

PyObject* get_outbox(PyObject* o, void*) {
  GuardObject* g = as_guard(o);
  if (g->target && PyObject_HasAttrString(g->target, "outbox"))
    return PyObject_GetAttrString(g->target, "outbox");
  if (!g->scope) Py_RETURN_NONE;
  if (!g->scope->outbox) {
    if (!g->scope->txobj) Py_RETURN_NONE;
    g->scope->outbox = make_outbox(g->scope->txobj);
  }
  return g->scope->outbox.inc_ref().ptr();
}

PyObject* get_policy_id(PyObject* o, void*) {
  GuardObject* g = as_guard(o);
  if (!g->scope || !g->scope->contract) return PyLong_FromLong(0);
  return PyLong_FromLong(intern_policy(*g->scope->contract, g->scope->strict));
}

PyObject* get_target(PyObject* o, void*) {
  GuardObject* g = as_guard(o);
  if (g->target) return Py_NewRef(g->target);
  if (g->scope && g->scope->tx) return make_frozen(g->scope->tx->tx().data());
  Py_RETURN_NONE;
}

PyObject* get_is_admin(PyObject* o, void*) {
  GuardObject* g = as_guard(o);
  return PyBool_FromLong(g->scope && g->scope->admin());
}

PyObject* get_is_proxy(PyObject*, void*) { Py_RETURN_TRUE; }

PyMethodDef guard_methods[] = {
    {"log", m_log, METH_O, "log(message): print '[CTX LOG] <message>'"},
    {"_elevate", m_elevate, METH_O, "_elevate(enabled): admin elevation (AdminTransaction)"},
    {nullptr, nullptr, 0, nullptr}};

PyGetSetDef guard_getset[] = {
    {"outbox", get_outbox, nullptr, "The process outbox (messages leave only on commit).", nullptr},
    {"policy_id", get_policy_id, nullptr, "Id shared by guards with identical contracts.", nullptr},
    {"_target", get_target, nullptr, nullptr, nullptr},
    {"is_admin", get_is_admin, nullptr, "True while elevated by AdminTransaction.", nullptr},
    {"is_proxy", get_is_proxy, nullptr, "Always True.", nullptr},
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyMappingMethods guard_as_mapping = {nullptr, guard_subscript, guard_ass_subscript};
PySequenceMethods guard_as_sequence = {nullptr, nullptr, nullptr,        nullptr, nullptr,
                                       nullptr, nullptr, guard_contains, nullptr, nullptr};

std::vector<std::string> string_list(PyObject* seq, const char* what) {
  std::vector<std::string> out;
  if (!seq || seq == Py_None) return out;
  if (PyUnicode_Check(seq)) {
    PyErr_Format(PyExc_TypeError, "%s must be an iterable of strings, not str", what);
    throw pyb::error_already_set();
  }
  PyObject* it = PyObject_GetIter(seq);
  if (!it) {
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "%s must be an iterable of strings", what);
    throw pyb::error_already_set();
  }
  while (PyObject* x = PyIter_Next(it)) {
    if (!PyUnicode_Check(x)) {
      Py_DECREF(x);
      Py_DECREF(it);
      PyErr_Format(PyExc_TypeError, "%s must contain strings, got %s", what, Py_TYPE(x)->tp_name);
      throw pyb::error_already_set();
    }
    out.push_back(utf8(x));
    Py_DECREF(x);
  }
  Py_DECREF(it);
  if (PyErr_Occurred()) throw pyb::error_already_set();
  return out;
}

// ContextGuard(target, inputs, outputs, path_prefix=None, tx=None, is_admin=False,
// strict_guards=False)
int guard_init(PyObject* o, PyObject* args, PyObject* kwds) {
  PyObject *target = Py_None, *inputs = nullptr, *outputs = nullptr, *prefix = Py_None,
           *tx = Py_None;
  int is_admin = 0, strict = 0;
  static const char* kwlist[] = {"target", "inputs",   "outputs",       "path_prefix",
                                 "tx",     "is_admin", "strict_guards", nullptr};
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|OOpp:ContextGuard", const_cast<char**>(kwlist),
                                   &target, &inputs, &outputs, &prefix, &tx, &is_admin, &strict))
    return -1;
  try {
    auto ins = string_list(inputs, "inputs");
    auto outs = string_list(outputs, "outputs");
    Scope* scope = make_scope(ins, outs, Semantic::kEffect, strict != 0, tx, nullptr, "Unknown");
    if (!scope) return -1;
    scope->policy->set_admin(is_admin != 0);
    GuardObject* g = as_guard(o);
    if (g->scope) g->scope->release();
    g->scope = scope;
    Py_XDECREF(g->target);
    g->target = nullptr;
    // A ProcessContext with a transaction reads through the same transaction roots as
    // engine-made guards; without one (or over any other object) the target is read directly.
    if (target != Py_None && (!is_process_context(target) || tx == Py_None))
      g->target = Py_NewRef(target);
    if (prefix != Py_None) g->prefix = utf8(prefix);
    if (strict) {
      Status st = scope->policy->check_input_zones();
      if (!st.is_ok()) {
        set_error(st);
        return -1;
      }
    }
  } catch (pyb::error_already_set& e) {
    e.restore();
    return -1;
  }
  return 0;
}

PyObject* guard_new(PyTypeObject* type, PyObject*, PyObject*) {
  PyObject* o = type->tp_alloc(type, 0);
  if (!o) return nullptr;
  GuardObject* g = as_guard(o);
  g->dict = nullptr;
  g->scope = nullptr;
  g->target = nullptr;
  new (&g->prefix) std::string();
  return o;
}

void guard_finalize_strings(PyObject* o) { as_guard(o)->prefix.~basic_string(); }

void guard_dealloc_all(PyObject* o) {
  guard_finalize_strings(o);
  guard_dealloc(o);
}

}  // namespace

PyTypeObject GuardType = {PyVarObject_HEAD_INIT(nullptr, 0)};

PyObject*& guard_class() {
  static PyObject* cls = nullptr;  // theus.guards.ContextGuard once registered, else GuardType
  return cls;
}

PyObject* make_guard(Scope* scope) {
  PyTypeObject* type = guard_class() ? reinterpret_cast<PyTypeObject*>(guard_class()) : &GuardType;
  PyObject* o = guard_new(type, nullptr, nullptr);
  if (!o) return nullptr;
  scope->retain();
  as_guard(o)->scope = scope;
  return o;
}

void init_guard(pyb::module_& m) {
  GuardType.tp_name = "theus_core.ContextGuard";
  GuardType.tp_basicsize = sizeof(GuardObject);
  GuardType.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE;
  GuardType.tp_dictoffset = offsetof(GuardObject, dict);
  GuardType.tp_doc =
      "ContextGuard(target, inputs, outputs, path_prefix=None, tx=None, is_admin=False, "
      "strict_guards=False)\n\nThe context a process receives: reading ctx.<root> checks the "
      "contract and returns a SupervisorProxy over that root of the running transaction.";
  GuardType.tp_new = guard_new;
  GuardType.tp_init = guard_init;
  GuardType.tp_dealloc = guard_dealloc_all;
  GuardType.tp_getattro = guard_getattro;
  GuardType.tp_setattro = guard_setattro;
  GuardType.tp_as_mapping = &guard_as_mapping;
  GuardType.tp_as_sequence = &guard_as_sequence;
  GuardType.tp_iter = guard_iter;
  GuardType.tp_repr = guard_repr;
  GuardType.tp_methods = guard_methods;
  GuardType.tp_getset = guard_getset;
  if (PyType_Ready(&GuardType) < 0) throw pyb::error_already_set();
  m.add_object("ContextGuard", reinterpret_cast<PyObject*>(&GuardType));
  m.def("_set_guard_class", [](pyb::object cls) {
    Py_XDECREF(guard_class());
    guard_class() = cls.is_none() ? nullptr : cls.inc_ref().ptr();
  });
}

}  // namespace theus::py

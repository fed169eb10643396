// ProcessRun: one execute() call of a Python process, attempt by attempt.
#include "process_run.hpp"

#include <pybind11/stl.h>

#include "frozen.hpp"
#include "guard_impl.hpp"

namespace theus::py {

pyb::object make_state(const SnapshotPtr& snap, const std::shared_ptr<MetaLog>& meta,
                       pyb::object hub);
pyb::object make_outbox(const pyb::object& txobj);
pyb::object engine_hub(PyEngine& e);

// Registrations from the theus package, held as raw references on purpose: static pybind11
// objects would be released by C++ exit handlers after the interpreter is gone.
PyObject*& state_update_class_ref() {
  static PyObject* cls = nullptr;
  return cls;
}
PyObject*& restricted_factory_ref() {
  static PyObject* fn = nullptr;
  return fn;
}
PyObject*& current_tx_var_ref() {
  static PyObject* var = nullptr;
  return var;
}

namespace {

bool is_state_update(PyObject* o) {
  PyObject* cls = state_update_class_ref();
  return cls && PyObject_IsInstance(o, cls) == 1;
}

Path update_path(const pyb::handle& key) {
  std::string k = pyb::str(key).cast<std::string>();
  if (k.find_first_of(".[") != std::string::npos) return unwrap(Path::parse(k));
  return Path{Value(k)};
}

// Foreign objects headed for the data zone are detached from the process's objects (D7).
Value detach(const Value& v, const Path& at) {
  if (v.is_foreign()) {
    PyObject* copy = deepcopy(foreign_object(v));
    if (!copy) {
      PyErr_Clear();
      raise_isolation_failure(std::string(v.type_name()), at.to_string());
    }
    Value out = foreign_ref(copy);
    Py_DECREF(copy);
    return out;
  }
  if (v.is_list()) {
    std::vector<Value> items;
    int64_t i = 0;
    for (const Value& x : v.as_list()) items.push_back(detach(x, at.child(Value(i++))));
    return Value(List::from_vector(std::move(items)));
  }
  if (v.is_map()) {
    std::vector<std::pair<Value, Value>> items;
    for (auto it : v.as_map()) items.emplace_back(it.key, detach(it.value, at.child(it.key)));
    return Value(Map::from_items(std::move(items)));
  }
  return v;
}

// asyncio.CancelledError (looked up once).
PyObject* cancelled_error_class() {
  static PyObject* cls =
      pyb::object(pyb::module_::import("asyncio").attr("CancelledError")).release().ptr();
  return cls;
}

// The exception being raised, normalised, as an object (the error indicator is cleared).
pyb::object take_raised() {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb && value) PyException_SetTraceback(value, tb);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  return pyb::reinterpret_steal<pyb::object>(value);
}

}  // namespace

std::vector<Map> signal_maps(const pyb::object& signal) {
  std::vector<Map> out;
  if (signal.is_none()) return out;
  Value v = to_value(signal, CopyMode::kCopy);
  if (v.is_map()) {
    out.push_back(v.as_map());
  } else if (v.is_list()) {
    for (const Value& e : v.as_list()) {
      if (!e.is_map()) throw pyb::type_error("signal entries must be dicts of topic -> payload");
      out.push_back(e.as_map());
    }
  } else {
    throw pyb::type_error("signal must be a dict of topic -> payload (or a list of dicts)");
  }
  return out;
}

// ---- PyProcess ------------------------------------------------------------------------------

pyb::object PyProcess::invoke(const pyb::handle& ctx, const pyb::args& args,
                              const pyb::kwargs& kwargs) const {
  PyObject* kw = kwargs.ptr();
  pyb::object filtered;
  if (kw && PyDict_GET_SIZE(kw) > 0 && !accepted.is_none()) {
    filtered = pyb::reinterpret_steal<pyb::object>(PyDict_New());
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(kw, &pos, &k, &v)) {
      int in = PySet_Contains(accepted.ptr(), k);
      if (in < 0) throw pyb::error_already_set();
      if (in) PyDict_SetItem(filtered.ptr(), k, v);
    }
    kw = filtered.ptr();
  }
  Py_ssize_t n = PyTuple_GET_SIZE(args.ptr());
  pyb::object call_args = pyb::reinterpret_steal<pyb::object>(PyTuple_New(n + 1));
  Py_INCREF(ctx.ptr());
  PyTuple_SET_ITEM(call_args.ptr(), 0, ctx.ptr());
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* a = PyTuple_GET_ITEM(args.ptr(), i);
    Py_INCREF(a);
    PyTuple_SET_ITEM(call_args.ptr(), i + 1, a);
  }
  PyObject* r =
      PyObject_Call(callable.ptr(), call_args.ptr(), kw && PyDict_GET_SIZE(kw) ? kw : nullptr);
  if (!r) throw pyb::error_already_set();
  return pyb::reinterpret_steal<pyb::object>(r);
}

// ---- ProcessRun -----------------------------------------------------------------------------

ProcessRun::ProcessRun(std::shared_ptr<PyEngine> engine, std::shared_ptr<const PyProcess> process,
                       uint32_t min_attempts)
    : eng(std::move(engine)), proc(std::move(process)) {
  strict = eng->engine.strict_guards();
  exec = std::make_unique<Execution>(eng->engine, proc->name, min_attempts);
}

ProcessRun::~ProcessRun() { end_attempt(); }

void ProcessRun::check_inputs(const pyb::dict& kwargs) {
  if (!exec->audited()) return;
  Status st = exec->check_inputs([&](const std::string& field) -> std::optional<Value> {
    PyObject* v = PyDict_GetItemString(kwargs.ptr(), field.c_str());
    if (!v) return std::nullopt;
    return to_value(v, CopyMode::kReference, field.c_str());
  });
  emit_audit_warnings(*exec);
  throw_if_error(st);
}

void ProcessRun::raise_failure(const AttemptOutcome& out, PyObject* original) {
  if (exec->audited()) emit_audit_warnings(*exec);
  if (!out.replaced) {
    if (original) return;  // the caller re-raises the original exception
    throw_if_error(out.error);
    return;
  }
  // The audit refused the failure report: its error replaces the original, chained to it.
  pyb::object cause;
  if (original) {
    cause = pyb::reinterpret_borrow<pyb::object>(original);
  } else {
    set_error(*out.replaced);
    cause = take_raised();
  }
  set_error(out.error);
  pyb::object err = take_raised();
  PyException_SetCause(err.ptr(), cause.inc_ref().ptr());
  PyException_SetContext(err.ptr(), cause.inc_ref().ptr());
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(err.ptr())), err.ptr());
  throw pyb::error_already_set();
}

void ProcessRun::end_attempt() {
  if (scope) {
    scope->clear_root_cache();
    scope->release();
    scope = nullptr;
  }
  if (txobj) {
    if (ptx->core && ptx->core->is_open()) ptx->core->abort();
    txobj = pyb::object();
    ptx = nullptr;
  }
}

pyb::object ProcessRun::attempt() {
  end_attempt();
  Transaction tx = exec->begin_attempt();
  auto owned = std::make_unique<PyTx>();
  owned->engine = eng;
  owned->write_timeout_ms = eng->engine.options().write_timeout.count();
  owned->core.emplace(std::move(tx));
  ptx = owned.get();
  txobj = pyb::cast(std::move(owned));
  auto* s = new Scope();
  s->contract = proc->contract;
  s->strict = strict;
  s->process_name = proc->name;
  s->engine = eng;
  AccessOptions access;
  access.strict_guards = strict;
  access.overrides = &eng->engine.physics_overrides();
  access.key_checked_roots.insert(eng->key_checked_roots.begin(), eng->key_checked_roots.end());
  s->policy.emplace(*proc->contract, std::move(access));
  s->txobj = txobj;
  s->tx = ptx;
  s->cache_roots = true;
  scope = s;
  if (proc->contract->is_pure()) {
    pyb::object base = make_state(s->tx->tx().base(), eng->meta, engine_hub(*eng));
    return pyb::reinterpret_borrow<pyb::object>(restricted_factory_ref())(
        base, pyb::cast(proc->contract->input_texts()));
  }
  if (strict) throw_if_error(proc->input_zones);
  return pyb::reinterpret_steal<pyb::object>(make_guard(s));
}

pyb::object ProcessRun::unwrap(const pyb::handle& obj) {
  PyObject* o = obj.ptr();
  if (PyLong_CheckExact(o) || PyUnicode_CheckExact(o) || PyFloat_CheckExact(o) || o == Py_None ||
      PyBool_Check(o))
    return pyb::reinterpret_borrow<pyb::object>(obj);
  if (is_proxy(o) || PyObject_TypeCheck(o, &FrozenDictType) ||
      PyObject_TypeCheck(o, &FrozenListType)) {
    Value v;
    view_value(o, &v);
    return pyb::reinterpret_steal<pyb::object>(to_python(v, true));
  }
  if (is_state_update(o)) {
    pyb::object su = pyb::reinterpret_borrow<pyb::object>(obj);
    return pyb::reinterpret_borrow<pyb::object>(state_update_class_ref())(
        pyb::arg("key") = su.attr("key"), pyb::arg("val") = unwrap(su.attr("val")),
        pyb::arg("data") = unwrap(su.attr("data")), pyb::arg("heavy") = su.attr("heavy"),
        pyb::arg("signal") = unwrap(su.attr("signal")),
        pyb::arg("assert_version") = su.attr("assert_version"));
  }
  if (PyDict_Check(o)) {
    pyb::dict out;
    bool changed = false;
    for (auto item : pyb::reinterpret_borrow<pyb::dict>(obj)) {
      pyb::object v = unwrap(item.second);
      changed = changed || !v.is(item.second);
      out[item.first] = v;
    }
    return changed ? pyb::object(out) : pyb::reinterpret_borrow<pyb::object>(obj);
  }
  if (PyList_Check(o) || PyTuple_Check(o)) {
    pyb::list out;
    bool changed = false;
    for (auto item : obj) {
      pyb::object v = unwrap(item);
      changed = changed || !v.is(item);
      out.append(v);
    }
    if (!changed) return pyb::reinterpret_borrow<pyb::object>(obj);
    return PyTuple_Check(o) ? pyb::object(pyb::tuple(out)) : pyb::object(out);
  }
  return pyb::reinterpret_borrow<pyb::object>(obj);
}

void ProcessRun::apply_state_update(Transaction& tx, const pyb::object& su) {
  pyb::object key = su.attr("key"), val = su.attr("val"), data = su.attr("data");
  pyb::object heavy = su.attr("heavy"), signal = su.attr("signal"),
              assert_v = su.attr("assert_version");
  std::vector<std::pair<Path, pyb::object>> sets;
  if (!key.is_none() && !val.is_none()) sets.emplace_back(update_path(key), val);
  if (!data.is_none()) {
    if (!PyDict_Check(data.ptr()))
      throw pyb::type_error("StateUpdate.data must be a dict of path -> value");
    for (auto item : data.cast<pyb::dict>())
      sets.emplace_back(update_path(item.first), pyb::reinterpret_borrow<pyb::object>(item.second));
  }
  if (!heavy.is_none()) {
    if (!PyDict_Check(heavy.ptr()))
      throw pyb::type_error("StateUpdate.heavy must be a dict of name -> value");
    for (auto item : heavy.cast<pyb::dict>()) {
      Value k;
      if (!key_to_value(item.first.ptr(), &k)) throw pyb::type_error("heavy names must be strings");
      sets.emplace_back(Path{Value("heavy"), k}, pyb::reinterpret_borrow<pyb::object>(item.second));
    }
  }
  if (proc->has_contract) {
    // Permission check D: every written path must be covered by a declared output.
    for (auto& [p, v] : sets) {
      bool covered = false;
      for (const PathPattern& out : proc->contract->outputs()) covered = covered || out.covers(p);
      if (!covered) {
        PyErr_Format(PyExc_PermissionError, "Write permission denied for path '%s'",
                     p.to_string().c_str());
        throw pyb::error_already_set();
      }
    }
  }
  for (auto& [p, v] : sets) {
    CopyMode mode = resolve_zone(p) == Zone::kHeavy ? CopyMode::kHeavy : CopyMode::kCopy;
    throw_if_error(tx.set(p, to_value(v.ptr(), mode, p.to_string().c_str())));
  }
  for (Map& m : signal_maps(signal)) tx.add_signal(std::move(m));
  if (!assert_v.is_none()) tx.set_assert_version(assert_v.cast<uint64_t>());
}

void ProcessRun::map_outputs(Transaction& tx, const pyb::object& result,
                             const std::vector<Path>& written) {
  const Contract& c = *proc->contract;
  if (c.outputs().empty() || result.is_none()) return;
  Value rv = to_value(result, CopyMode::kReference);
  std::vector<Value> vals = theus::py::unwrap(output_values(c, proc->name, rv));
  for (size_t i = 0; i < vals.size(); ++i) {
    if (c.outputs()[i].root() == "heavy" || (!vals[i].is_container() && !vals[i].is_foreign()))
      continue;  // scalars need no detaching
    vals[i] = detach(vals[i], c.output_paths()[i]);
  }
  throw_if_error(apply_output_values(tx, c, vals, written));
}

Status ProcessRun::prepare_and_commit(const pyb::object& result) {
  Transaction& tx = ptx->tx();
  std::vector<Path> written = scope->guarded_writes;
  for (Path& p : ptx->finalize()) written.push_back(std::move(p));
  // Compliance (rule C) is a strict-guards check. A PURE process cannot write through its view,
  // and under strict guards any delta it produced (e.g. through the current transaction) is
  // refused.
  if (proc->contract->is_pure() && strict) {
    for (const Delta& d : tx.deltas()) written.push_back(d.path);
  }
  throw_if_error(scope->policy->check_output_compliance(proc->name, written));
  if (is_state_update(result.ptr())) {
    apply_state_update(tx, result);
  } else {
    map_outputs(tx, result, written);
  }
  return tx.commit();
}

pyb::tuple ProcessRun::complete(const pyb::object& raw_result) {
  pyb::object result;
  Status st;
  try {
    result = unwrap(raw_result);
    st = prepare_and_commit(result);
  } catch (pyb::error_already_set& e) {
    AttemptOutcome failed = exec->conclude(Status(ErrorCode::kInternal, "preparation failed"));
    end_attempt();
    raise_failure(failed, e.value().ptr());
    throw;
  }
  AttemptOutcome out = exec->conclude(st);
  end_attempt();
  if (out.action == AttemptAction::kDone) {
    if (exec->audited()) emit_audit_warnings(*exec);
    return pyb::make_tuple(0, result);
  }
  if (out.action == AttemptAction::kRetry) return pyb::make_tuple(1, out.wait.count() / 1000.0);
  raise_failure(out, nullptr);
  return pyb::make_tuple(0, result);
}

pyb::object ProcessRun::fail(const pyb::object& exc) {
  bool conflict = is_conflict_exception(exc.ptr());
  // A cancelled execution (task cancellation, Ctrl-C) is not a failure of the process.
  bool cancelled = PyErr_GivenExceptionMatches(exc.ptr(), PyExc_KeyboardInterrupt) ||
                   PyErr_GivenExceptionMatches(exc.ptr(), PyExc_GeneratorExit) ||
                   PyErr_GivenExceptionMatches(exc.ptr(), cancelled_error_class());
  Status st = conflict    ? Status(ErrorCode::kConflict, pyb::str(exc).cast<std::string>())
              : cancelled ? Status(ErrorCode::kAborted, "execution cancelled")
                          : Status(ErrorCode::kInternal, "process body raised");
  AttemptOutcome out = exec->conclude(st);
  end_attempt();
  if (out.action == AttemptAction::kRetry) return pyb::float_(out.wait.count() / 1000.0);
  raise_failure(out, exc.ptr());  // raises when the audit replaced the error
  return pyb::none();
}

void ProcessRun::wait(double seconds) {
  pyb::gil_scoped_release release;
  exec->wait_for_turn(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
}

ProcessRun::StepResult ProcessRun::run_steps(bool block, const pyb::args& args,
                                             const pyb::kwargs& kwargs) {
  for (;;) {
    pyb::object ctx = attempt();
    PyObject* var = current_tx_var_ref();
    PyObject* token = var ? PyContextVar_Set(var, txobj.ptr()) : nullptr;
    pyb::object result;
    try {
      result = proc->invoke(ctx, args, kwargs);
    } catch (pyb::error_already_set& e) {
      if (token) {
        PyContextVar_Reset(var, token);
        Py_DECREF(token);
      }
      pyb::object w = fail(e.value());
      if (w.is_none()) throw;
      if (!block) return {Step::kWait, w};
      wait(w.cast<double>());
      continue;
    }
    if (token) {
      PyContextVar_Reset(var, token);
      Py_DECREF(token);
    }
    PyAsyncMethods* am = Py_TYPE(result.ptr())->tp_as_async;
    if (am && am->am_await) return {Step::kAwait, result};  // an awaitable came back
    pyb::tuple out = complete(result);
    if (out[0].cast<int>() == 0) return {Step::kDone, out[1]};
    if (!block) return {Step::kWait, out[1]};
    wait(out[1].cast<double>());
  }
}

pyb::tuple ProcessRun::run_sync(bool block, const pyb::args& args, const pyb::kwargs& kwargs) {
  static const char* kNames[] = {"done", "wait", "await"};
  StepResult r = run_steps(block, args, kwargs);
  return pyb::make_tuple(kNames[static_cast<int>(r.step)], r.value);
}

}  // namespace theus::py

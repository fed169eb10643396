// theus_core.TheusEngine (the core engine), ConflictManager, RetryDecision, the compiled contract
// and the process-run driver behind the Python wrapper's execute().
#include <pybind11/eval.h>
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <thread>

#include "frozen.hpp"
#include "guard_impl.hpp"
#include "proxy_impl.hpp"
#include "theus_py.hpp"

namespace theus::py {

pyb::object make_state(const SnapshotPtr& snap, const std::shared_ptr<MetaLog>& meta, pyb::object hub);
pyb::object make_outbox(const pyb::object& txobj);
pyb::object engine_hub(PyEngine& e);                      // bind_signal.cpp
pyb::object engine_outbox(std::shared_ptr<PyEngine> e);  // bind_transaction.cpp

namespace {

thread_local PyThreadState* t_saved_thread = nullptr;

EngineOptions options_from(bool strict_guards, bool strict_cas, int64_t write_timeout_ms,
                           uint32_t max_attempts, std::optional<int64_t> deadline_ms,
                           uint32_t vip_after, uint32_t base_backoff_ms, uint32_t max_backoff_ms) {
  EngineOptions o;
  o.strict_guards = strict_guards;
  o.strict_cas = strict_cas;
  o.write_timeout = std::chrono::milliseconds(write_timeout_ms);
  o.retry.max_attempts = max_attempts;
  o.retry.deadline = deadline_ms ? std::optional<std::chrono::milliseconds>(*deadline_ms) : std::nullopt;
  o.retry.vip_after = vip_after;
  o.retry.base_backoff_ms = base_backoff_ms;
  o.retry.max_backoff_ms = max_backoff_ms;
  return o;
}

}  // namespace

PyEngine::PyEngine() : PyEngine(EngineOptions{.strict_guards = false}) {}

PyEngine::PyEngine(EngineOptions options) : engine(options) {
  audit = pyb::none();
  schema = pyb::none();
  worker = pyb::none();
  state_cache = pyb::none();
  // Drop the GIL only when a commit has to wait for the commit lock, so a hook that needs the
  // GIL (the schema gate) can never deadlock against a waiting Python thread.
  engine.set_blocking_hooks(
      [] {
        if (Py_IsInitialized() && PyGILState_Check()) t_saved_thread = PyEval_SaveThread();
      },
      [] {
        if (t_saved_thread) {
          PyEval_RestoreThread(t_saved_thread);
          t_saved_thread = nullptr;
        }
      });
  std::weak_ptr<MetaLog> weak_meta = meta;
  engine.add_commit_observer([weak_meta](const Snapshot& s, const CommitView&) {
    if (auto m = weak_meta.lock()) m->push("state_update", "State updated to version " + std::to_string(s.version));
  });
}

std::shared_ptr<PyEngine> engine_of(const pyb::object& engine) {
  if (pyb::isinstance<PyEngine>(engine)) return engine.cast<std::shared_ptr<PyEngine>>();
  if (pyb::hasattr(engine, "_core")) return engine.attr("_core").cast<std::shared_ptr<PyEngine>>();
  throw pyb::type_error(std::string("expected a theus_core.TheusEngine, got ") + Py_TYPE(engine.ptr())->tp_name);
}

namespace {

pyb::object current_state(PyEngine& e) {
  SnapshotPtr snap = e.engine.snapshot();
  if (e.state_cache.is_none() || e.state_cache_version != snap->version) {
    e.state_cache = make_state(snap, e.meta, engine_hub(e));
    e.state_cache_version = snap->version;
  }
  return e.state_cache;
}

Map payload_map(const pyb::object& obj, const char* what, CopyMode mode) {
  if (obj.is_none()) return Map();
  if (!PyDict_Check(obj.ptr()) && !is_proxy(obj.ptr()) && !PyObject_TypeCheck(obj.ptr(), &FrozenDictType))
    throw pyb::type_error(std::string(what) + " must be a dict, got " + Py_TYPE(obj.ptr())->tp_name);
  Value v = to_value(obj, mode);
  if (!v.is_map()) throw pyb::type_error(std::string(what) + " must be a dict");
  return v.as_map();
}

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

// The schema gate: validates the full resulting data map with the model (pydantic v2, or v1).
Status validate_schema(PyEngine* e, const CommitView& view) {
  pyb::gil_scoped_acquire gil;
  if (e->schema.is_none()) return Status::ok();
  PyObject* doc = to_python(Value(view.next.data), false);
  if (!doc) {
    std::string msg = pyb::error_already_set().what();
    return {ErrorCode::kSchemaViolation, msg};
  }
  pyb::object d = pyb::reinterpret_steal<pyb::object>(doc);
  try {
    if (pyb::hasattr(e->schema, "model_validate")) {
      e->schema.attr("model_validate")(d);
    } else {
      e->schema.attr("parse_obj")(d);
    }
  } catch (pyb::error_already_set& err) {
    std::string msg = pyb::str(err.value()).cast<std::string>();
    return {ErrorCode::kSchemaViolation, msg};
  }
  return Status::ok();
}

}  // namespace

// ---- compiled contract ----------------------------------------------------------------------

struct PyContract {
  std::shared_ptr<const Contract> contract;
};

// ---- the process-run driver -----------------------------------------------------------------

// Module-level registrations from the theus package. Held as raw references on purpose: static
// pybind11 objects would be released by C++ exit handlers after the interpreter is gone.
PyObject*& state_update_class_ref() {
  static PyObject* cls = nullptr;
  return cls;
}
PyObject*& restricted_factory_ref() {
  static PyObject* fn = nullptr;
  return fn;
}
pyb::object state_update_class() {
  return pyb::reinterpret_borrow<pyb::object>(state_update_class_ref() ? state_update_class_ref() : Py_None);
}
pyb::object restricted_factory() {
  return pyb::reinterpret_borrow<pyb::object>(restricted_factory_ref() ? restricted_factory_ref() : Py_None);
}
void set_ref(PyObject*& slot, const pyb::object& value) {
  Py_XDECREF(slot);
  slot = value.is_none() ? nullptr : value.inc_ref().ptr();
}
PyObject*& current_tx_var_for_runs() {
  static PyObject* var = nullptr;
  return var;
}

struct ProcessRun {
  std::shared_ptr<PyEngine> eng;
  pyb::object func;
  std::string name;
  std::shared_ptr<const Contract> contract;
  bool has_contract = true;
  bool strict = true;
  std::set<std::string, std::less<>> key_checked_roots;
  std::unique_ptr<Execution> exec;
  pyb::object txobj;
  Scope* scope = nullptr;
  std::vector<CommitHook> hooks;  // per-commit pre-install hooks (e.g. the audit output gate)
  pyb::object output_gate;        // callable(process_name, pending_dict) run before install

  ~ProcessRun() { end_attempt(); }

  void end_attempt() {
    if (scope) {
      scope->release();
      scope = nullptr;
    }
    if (txobj) {
      PyTx& t = txobj.cast<PyTx&>();
      if (t.core && t.core->is_open()) t.core->abort();
      txobj = pyb::object();
    }
  }

  pyb::object attempt() {
    end_attempt();
    Transaction tx = exec->begin_attempt();
    auto ptx = std::make_unique<PyTx>();
    ptx->engine = eng;
    ptx->write_timeout_ms = eng->engine.options().write_timeout.count();
    ptx->core.emplace(std::move(tx));
    txobj = pyb::cast(std::move(ptx));
    auto* s = new Scope();
    s->contract = contract;
    s->strict = strict;
    s->process_name = name;
    s->engine = eng;
    AccessOptions access;
    access.strict_guards = strict;
    access.overrides = &eng->engine.physics_overrides();
    access.key_checked_roots = key_checked_roots;
    s->policy.emplace(*contract, std::move(access));
    s->txobj = txobj;
    s->tx = &txobj.cast<PyTx&>();
    s->local = pyb::dict();
    s->outbox = make_outbox(txobj);
    scope = s;
    if (contract->is_pure()) {
      pyb::object base = make_state(s->tx->tx().base(), eng->meta, engine_hub(*eng));
      return restricted_factory()(base, pyb::cast(contract->input_texts()));
    }
    throw_if_error(s->policy->check_input_zones());
    return pyb::reinterpret_steal<pyb::object>(make_guard(s));
  }

  pyb::object unwrap(const pyb::handle& obj) {
    PyObject* o = obj.ptr();
    if (is_proxy(o) || PyObject_TypeCheck(o, &FrozenDictType) || PyObject_TypeCheck(o, &FrozenListType)) {
      Value v;
      view_value(o, &v);
      return pyb::reinterpret_steal<pyb::object>(to_python(v, true));
    }
    if (state_update_class_ref() && PyObject_IsInstance(o, state_update_class_ref()) == 1) {
      pyb::object su = pyb::reinterpret_borrow<pyb::object>(obj);
      return state_update_class()(pyb::arg("key") = su.attr("key"), pyb::arg("val") = unwrap(su.attr("val")),
                                  pyb::arg("data") = unwrap(su.attr("data")),
                                  pyb::arg("heavy") = su.attr("heavy"),
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

  Path update_path(const pyb::handle& key) {
    std::string k = pyb::str(key).cast<std::string>();
    if (k.find_first_of(".[") != std::string::npos) return unwrap_result(Path::parse(k));
    return Path{Value(k)};
  }
  template <class T>
  T unwrap_result(Result<T> r) {
    return theus::py::unwrap(std::move(r));
  }

  void check_update_permission(const Path& p) {
    if (!has_contract) return;
    for (const PathPattern& out : contract->outputs())
      if (out.covers(p)) return;
    PyErr_Format(PyExc_PermissionError, "Write permission denied for path '%s'", p.to_string().c_str());
    throw pyb::error_already_set();
  }

  void apply_state_update(Transaction& tx, const pyb::object& su) {
    pyb::object key = su.attr("key"), val = su.attr("val"), data = su.attr("data");
    pyb::object heavy = su.attr("heavy"), signal = su.attr("signal"), assert_v = su.attr("assert_version");
    std::vector<std::pair<Path, pyb::object>> sets;
    if (!key.is_none() && !val.is_none()) sets.emplace_back(update_path(key), val);
    if (!data.is_none()) {
      if (!PyDict_Check(data.ptr())) throw pyb::type_error("StateUpdate.data must be a dict of path -> value");
      for (auto item : data.cast<pyb::dict>())
        sets.emplace_back(update_path(item.first), pyb::reinterpret_borrow<pyb::object>(item.second));
    }
    if (!heavy.is_none()) {
      if (!PyDict_Check(heavy.ptr())) throw pyb::type_error("StateUpdate.heavy must be a dict of name -> value");
      for (auto item : heavy.cast<pyb::dict>()) {
        Value k;
        if (!key_to_value(item.first.ptr(), &k)) throw pyb::type_error("heavy names must be strings");
        sets.emplace_back(Path{Value("heavy"), k}, pyb::reinterpret_borrow<pyb::object>(item.second));
      }
    }
    for (auto& [p, v] : sets) check_update_permission(p);
    for (auto& [p, v] : sets)
      throw_if_error(tx.set(p, to_value(v.ptr(), resolve_zone(p) == Zone::kHeavy ? CopyMode::kReference
                                                                                : CopyMode::kCopy,
                                        p.to_string().c_str())));
    for (Map& m : signal_maps(signal)) tx.add_signal(std::move(m));
    if (!assert_v.is_none()) tx.set_assert_version(assert_v.cast<uint64_t>());
  }

  // Foreign objects headed for the data zone are detached from the process's objects (D7).
  static Value detach(const Value& v) {
    if (v.is_foreign()) {
      PyObject* copy = deepcopy(foreign_object(v));
      if (!copy) throw pyb::error_already_set();
      Value out = foreign_ref(copy);
      Py_DECREF(copy);
      return out;
    }
    if (v.is_list()) {
      std::vector<Value> items;
      for (const Value& x : v.as_list()) items.push_back(detach(x));
      return Value(List::from_vector(std::move(items)));
    }
    if (v.is_map()) {
      std::vector<std::pair<Value, Value>> items;
      for (auto it : v.as_map()) items.emplace_back(it.key, detach(it.value));
      return Value(Map::from_items(std::move(items)));
    }
    return v;
  }

  void map_outputs(Transaction& tx, const pyb::object& result, const std::vector<Path>& written) {
    if (contract->outputs().empty() || result.is_none()) return;
    Value rv = to_value(result, CopyMode::kReference);
    std::vector<Value> vals = theus::py::unwrap(output_values(*contract, name, rv));
    for (size_t i = 0; i < vals.size(); ++i)
      if (contract->outputs()[i].root() != "heavy") vals[i] = detach(vals[i]);
    throw_if_error(apply_output_values(tx, *contract, vals, written));
  }

  // After the body: finalize, compliance, result mapping, commit. Returns the commit status;
  // Python errors of the preparation propagate (after the attempt is concluded as failed).
  Status prepare_and_commit(const pyb::object& result) {
    PyTx& ptx = txobj.cast<PyTx&>();
    Transaction& tx = ptx.tx();
    std::vector<Path> written = scope->guarded_writes;
    for (Path& p : ptx.finalize()) written.push_back(std::move(p));
    if (contract->is_pure()) {
      if (strict) throw_if_error(scope->policy->check_output_compliance(name, written));
    } else {
      throw_if_error(scope->policy->check_output_compliance(name, written));
    }
    if (state_update_class_ref() && PyObject_IsInstance(result.ptr(), state_update_class_ref()) == 1) {
      apply_state_update(tx, result);
    } else {
      map_outputs(tx, result, written);
    }
    for (const CommitHook& h : hooks) tx.add_pre_install_hook(h);
    return tx.commit();
  }

  // (0, result) committed; (1, wait_seconds) retry. Raises for failures.
  pyb::tuple complete(const pyb::object& raw_result) {
    pyb::object result;
    Status st;
    try {
      result = unwrap(raw_result);
      st = prepare_and_commit(result);
    } catch (pyb::error_already_set&) {
      exec->conclude(Status(ErrorCode::kInternal, "preparation failed"));
      end_attempt();
      throw;
    }
    AttemptOutcome out = exec->conclude(st);
    end_attempt();
    if (out.action == AttemptAction::kDone) return pyb::make_tuple(0, result);
    if (out.action == AttemptAction::kRetry) return pyb::make_tuple(1, out.wait.count() / 1000.0);
    throw_if_error(out.error);
    return pyb::make_tuple(0, result);
  }

  // A body exception: the wait in seconds when it is a retryable conflict, else None (re-raise).
  pyb::object fail(const pyb::object& exc) {
    bool conflict = is_conflict_exception(exc.ptr());
    Status st = conflict ? Status(ErrorCode::kConflict, pyb::str(exc).cast<std::string>())
                         : Status(ErrorCode::kInternal, "process body raised");
    AttemptOutcome out = exec->conclude(st);
    end_attempt();
    if (out.action == AttemptAction::kRetry) return pyb::float_(out.wait.count() / 1000.0);
    return pyb::none();
  }

  void wait(double seconds) {
    pyb::gil_scoped_release release;
    exec->wait_for_turn(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  }

  // Runs attempts of a synchronous function. ("done", result), or without `block` ("wait", s)
  // when a backoff is due, or ("await", awaitable) when the function returned one.
  pyb::tuple run_sync(bool block, const pyb::args& args, const pyb::kwargs& kwargs) {
    for (;;) {
      pyb::object ctx = attempt();
      PyObject* token = nullptr;
      PyObject* var = current_tx_var_for_runs();
      if (var) token = PyContextVar_Set(var, txobj.ptr());
      pyb::object result;
      try {
        result = func(ctx, *args, **kwargs);
      } catch (pyb::error_already_set& e) {
        if (token) {
          PyContextVar_Reset(var, token);
          Py_DECREF(token);
        }
        pyb::object w = fail(e.value());
        if (w.is_none()) throw;
        if (!block) return pyb::make_tuple("wait", w);
        wait(w.cast<double>());
        continue;
      }
      if (token) {
        PyContextVar_Reset(var, token);
        Py_DECREF(token);
      }
      if (PyCoro_CheckExact(result.ptr()) || pyb::hasattr(result, "__await__"))
        return pyb::make_tuple("await", result);
      pyb::tuple out = complete(result);
      if (out[0].cast<int>() == 0) return pyb::make_tuple("done", out[1]);
      if (!block) return pyb::make_tuple("wait", out[1]);
      wait(out[1].cast<double>());
    }
  }
};

void init_engine(pyb::module_& m) {
  pyb::class_<RetryDecision>(m, "RetryDecision")
      .def_readonly("should_retry", &RetryDecision::should_retry)
      .def_readonly("wait_ms", &RetryDecision::wait_ms)
      .def("__repr__", &RetryDecision::repr);

  // ConflictManager as a standalone object (the engine embeds its own).
  pyb::class_<ConflictManager, std::shared_ptr<ConflictManager>>(m, "ConflictManager")
      .def(pyb::init<uint32_t, uint32_t>(), pyb::arg("max_retries") = 5, pyb::arg("base_backoff_ms") = 2)
      .def("report_conflict", &ConflictManager::report_conflict, pyb::arg("key"))
      .def("report_success", &ConflictManager::report_success, pyb::arg("key"))
      .def("get_failure_count", &ConflictManager::failure_count, pyb::arg("key"))
      .def(
          "is_blocked",
          [](const ConflictManager& c, std::optional<std::string> requester) { return c.is_blocked(requester); },
          pyb::arg("requester") = pyb::none())
      .def_property_readonly("vip_holder", &ConflictManager::vip_holder);

  pyb::class_<PyContract>(m, "_Contract", "A compiled process contract (inputs, outputs, semantic).")
      .def(pyb::init([](std::vector<std::string> inputs, std::vector<std::string> outputs, std::string semantic) {
             Semantic s = unwrap(parse_semantic(semantic));
             return PyContract{std::make_shared<const Contract>(unwrap(Contract::make(inputs, outputs, s)))};
           }),
           pyb::arg("inputs"), pyb::arg("outputs"), pyb::arg("semantic") = "effect")
      .def("check_pure_inputs", [](const PyContract& c) { throw_if_error(c.contract->check_pure_inputs()); })
      .def("input_access",
           [](const PyContract& c, const std::string& path) {
             // 2 = covered by an input, 1 = ancestor of an input (navigable), 0 = undeclared.
             Path p = parse_path(path);
             for (const PathPattern& pat : c.contract->inputs())
               if (pat.covers(p)) return 2;
             for (const PathPattern& pat : c.contract->inputs())
               if (pat.is_ancestor(p)) return 1;
             return 0;
           })
      .def("output_covers", [](const PyContract& c, const std::string& path) {
        Path p = parse_path(path);
        for (const PathPattern& pat : c.contract->outputs())
          if (pat.covers(p)) return true;
        return false;
      });

  pyb::class_<ProcessRun>(m, "_ProcessRun")
      .def("attempt", &ProcessRun::attempt)
      .def("complete", &ProcessRun::complete)
      .def("fail", &ProcessRun::fail)
      .def("run_sync", &ProcessRun::run_sync)
      .def_property_readonly("transaction", [](ProcessRun& r) { return r.txobj ? r.txobj : pyb::none(); })
      .def_property_readonly("attempts", [](ProcessRun& r) { return r.exec->attempts(); })
      .def_property_readonly("conflicts", [](ProcessRun& r) { return r.exec->conflicts(); });

  pyb::class_<PyEngine, std::shared_ptr<PyEngine>>(m, "TheusEngine", pyb::dynamic_attr(),
                                                    "The core engine: versioned state, commits, CAS.")
      .def(pyb::init([](bool strict_guards, bool strict_cas, int64_t write_timeout_ms, uint32_t max_attempts,
                        std::optional<int64_t> deadline_ms, uint32_t vip_after, uint32_t base_backoff_ms,
                        uint32_t max_backoff_ms) {
             return std::make_shared<PyEngine>(options_from(strict_guards, strict_cas, write_timeout_ms,
                                                            max_attempts, deadline_ms, vip_after,
                                                            base_backoff_ms, max_backoff_ms));
           }),
           pyb::kw_only(), pyb::arg("strict_guards") = false, pyb::arg("strict_cas") = false,
           pyb::arg("write_timeout_ms") = 300000, pyb::arg("max_attempts") = 64,
           pyb::arg("deadline_ms") = 30000, pyb::arg("vip_after") = 5, pyb::arg("base_backoff_ms") = 2,
           pyb::arg("max_backoff_ms") = 1000)
      .def_property_readonly("state", [](PyEngine& e) { return current_state(e); })
      .def_property_readonly("version", [](PyEngine& e) { return e.engine.version(); })
      .def_property_readonly("outbox", [](std::shared_ptr<PyEngine> e) { return engine_outbox(e); })
      .def("set_audit_system", [](PyEngine& e, pyb::object audit) { e.audit = audit; }, pyb::arg("audit"))
      .def("set_strict_guards", [](PyEngine& e, bool v) { e.engine.set_strict_guards(v); }, pyb::arg("enabled"))
      .def("set_strict_cas", [](PyEngine& e, bool v) { e.engine.set_strict_cas(v); }, pyb::arg("enabled"))
      .def_property_readonly("strict_guards", [](PyEngine& e) { return e.engine.strict_guards(); })
      .def_property_readonly("strict_cas", [](PyEngine& e) { return e.engine.strict_cas(); })
      .def(
          "set_schema",
          [](PyEngine& e, pyb::object schema) {
            if (!schema.is_none() && !pyb::hasattr(schema, "model_validate") && !pyb::hasattr(schema, "parse_obj"))
              throw pyb::type_error("schema must be a pydantic model class (with model_validate), got " +
                                    pyb::repr(schema).cast<std::string>());
            e.schema = schema;
            if (schema.is_none()) {
              e.engine.remove_pre_install_hook("schema");
            } else {
              PyEngine* raw = &e;
              e.engine.set_pre_install_hook("schema", [raw](const CommitView& v) { return validate_schema(raw, v); });
            }
          },
          pyb::arg("schema"))
      .def("report_conflict", [](PyEngine& e, const std::string& name) { return e.engine.conflicts().report_conflict(name); },
           pyb::arg("process_name"))
      .def("report_success", [](PyEngine& e, const std::string& name) { e.engine.conflicts().report_success(name); },
           pyb::arg("process_name"))
      .def(
          "transaction",
          [](std::shared_ptr<PyEngine> e, int64_t write_timeout_ms) {
            auto tx = std::make_unique<PyTx>();
            tx->engine = e;
            tx->write_timeout_ms = write_timeout_ms;
            TransactionOptions opts;
            opts.write_timeout = std::chrono::milliseconds(write_timeout_ms);
            tx->core.emplace(e->engine.transaction(std::move(opts)));
            return tx;
          },
          pyb::arg("write_timeout_ms") = 5000)
      .def("attach_worker", [](PyEngine& e, pyb::object worker) { e.worker = worker; }, pyb::arg("worker"))
      .def("process_outbox",
           [](PyEngine& e) {
             // At-least-once: a message leaves the queue only after the worker returned (D10).
             if (e.worker.is_none()) return;
             while (auto msg = e.engine.peek_outbox()) {
               pyb::object obj = pyb::reinterpret_steal<pyb::object>(outbox_object(*msg));
               e.worker(obj);
               e.engine.pop_outbox();
             }
           })
      .def(
          "compare_and_swap",
          [](PyEngine& e, uint64_t expected_version, pyb::object data, pyb::object heavy, pyb::object signal,
             std::optional<std::string> requester) {
            Map d = payload_map(data, "data", CopyMode::kCopy);
            Map h = payload_map(heavy, "heavy", CopyMode::kReference);
            throw_if_error(e.engine.compare_and_swap(expected_version, d, h, signal_maps(signal), requester));
          },
          pyb::arg("expected_version"), pyb::arg("data") = pyb::none(), pyb::arg("heavy") = pyb::none(),
          pyb::arg("signal") = pyb::none(), pyb::arg("requester") = pyb::none())
      .def(
          "execute_process_async",
          [](std::shared_ptr<PyEngine> e, pyb::object name, pyb::object func, pyb::object tx) {
            (void)name;  // informational
            pyb::module_ core = pyb::module_::import("theus_core");
            SnapshotPtr base = tx.is_none() ? e->engine.snapshot() : tx.cast<PyTx&>().tx().base();
            pyb::object state = make_state(base, e->meta, engine_hub(*e));
            pyb::object ctx = core.attr("ProcessContext")(state, pyb::dict(), tx);
            return core.attr("_run_inline")(func, ctx);
          },
          pyb::arg("name"), pyb::arg("func"), pyb::arg("tx") = pyb::none())
      .def(
          "_begin_run",
          [](std::shared_ptr<PyEngine> e, pyb::object func, std::string name, const PyContract& contract,
             bool has_contract, uint32_t min_attempts, std::vector<std::string> key_checked_roots,
             pyb::object output_gate) {
            auto run = std::make_unique<ProcessRun>();
            run->eng = e;
            run->func = func;
            run->name = name;
            run->contract = contract.contract;
            run->has_contract = has_contract;
            run->strict = e->engine.strict_guards();
            run->key_checked_roots.insert(key_checked_roots.begin(), key_checked_roots.end());
            run->exec = std::make_unique<Execution>(e->engine, name, min_attempts);
            if (!output_gate.is_none()) {
              // The audit output gate: runs at commit, against the final delta (D9).
              pyb::object gate = output_gate;
              std::string pname = name;
              auto holder = std::make_shared<pyb::object>(gate);
              run->hooks.push_back([holder, pname](const CommitView& v) -> Status {
                pyb::gil_scoped_acquire gil;
                Value pending = Value(Map());
                for (const WriteRecord& w : v.writes) {
                  if (w.erased || w.path.empty()) continue;
                  auto cur = is_heavy_root(w.path) ? tree::find(Value(v.next.heavy), w.path, 1)
                                                   : tree::find(Value(v.next.data), w.path);
                  if (!cur.is_ok() || !*cur) continue;
                  auto next = tree::set(pending, w.path, **cur);
                  if (next.is_ok()) pending = std::move(next).value();
                }
                pyb::object doc = pyb::reinterpret_steal<pyb::object>(to_python(pending, false));
                try {
                  (*holder)(pname, doc);
                } catch (pyb::error_already_set& err) {
                  // The gate's exception travels back to Python through this status message;
                  // the wrapper re-raises the original exception object it recorded.
                  err.restore();
                  PyObject *type, *value, *tb;
                  PyErr_Fetch(&type, &value, &tb);
                  PyErr_NormalizeException(&type, &value, &tb);
                  std::string msg = value ? pyb::str(value).cast<std::string>() : "audit violation";
                  pyb::module_::import("theus_core").attr("_last_gate_error") =
                      value ? pyb::reinterpret_borrow<pyb::object>(value) : pyb::none();
                  Py_XDECREF(type);
                  Py_XDECREF(value);
                  Py_XDECREF(tb);
                  return Status(ErrorCode::kAuditViolation, msg);
                }
                return Status::ok();
              });
            }
            return run;
          },
          pyb::arg("func"), pyb::arg("name"), pyb::arg("contract"), pyb::arg("has_contract") = true,
          pyb::arg("min_attempts") = 0, pyb::arg("key_checked_roots") = std::vector<std::string>{},
          pyb::arg("output_gate") = pyb::none())
      .def("_physics_override", [](PyEngine& e, const std::string& path, int caps) {
        e.engine.physics_overrides().register_override(parse_path(path), static_cast<uint8_t>(caps));
      })
      .def("_stats", [](PyEngine& e) {
        EngineStats s = e.engine.stats();
        pyb::dict d;
        d["commits"] = s.commits;
        d["conflicts"] = s.conflicts;
        d["busy"] = s.busy;
        d["hook_refusals"] = s.hook_refusals;
        d["retries"] = s.retries;
        d["gave_up"] = s.gave_up;
        d["vip_grants"] = s.vip_grants;
        return d;
      });

  m.def("_set_state_update_class", [](pyb::object cls) { set_ref(state_update_class_ref(), cls); });
  m.def("_set_restricted_factory", [](pyb::object fn) { set_ref(restricted_factory_ref(), fn); });
  m.def("_set_current_tx_var", [](pyb::object var) {
    Py_XDECREF(current_tx_var_for_runs());
    current_tx_var_for_runs() = var.is_none() ? nullptr : var.inc_ref().ptr();
    set_current_tx_var(var.is_none() ? nullptr : var.ptr());
  });
  m.attr("_last_gate_error") = pyb::none();
  pyb::exec(R"(
import inspect as _inspect
async def _call_inline(func, ctx):
    return func(ctx)
def _run_inline(func, ctx):
    if _inspect.iscoroutinefunction(func):
        return func(ctx)
    return _call_inline(func, ctx)
)", m.attr("__dict__"));
}

}  // namespace theus::py

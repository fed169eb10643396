// theus_core.TheusEngine (the core engine), ConflictManager, RetryDecision, the compiled contract
// and the process-run driver behind the Python wrapper's execute().
#include <pybind11/eval.h>
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <thread>

#include "frozen.hpp"
#include "guard_impl.hpp"
#include "process_run.hpp"
#include "proxy_impl.hpp"
#include "theus_py.hpp"

namespace theus::py {

pyb::object make_state(const SnapshotPtr& snap, const std::shared_ptr<MetaLog>& meta,
                       pyb::object hub);
pyb::object make_outbox(const pyb::object& txobj);
pyb::object engine_hub(PyEngine& e);                     // bind_signal.cpp
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
  o.retry.deadline =
      deadline_ms ? std::optional<std::chrono::milliseconds>(*deadline_ms) : std::nullopt;
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
    if (auto m = weak_meta.lock()) m->push_state_update(s.version);
  });
}

std::shared_ptr<PyEngine> engine_of(const pyb::object& engine) {
  if (pyb::isinstance<PyEngine>(engine)) return engine.cast<std::shared_ptr<PyEngine>>();
  if (pyb::hasattr(engine, "_core")) return engine.attr("_core").cast<std::shared_ptr<PyEngine>>();
  throw pyb::type_error(std::string("expected a theus_core.TheusEngine, got ") +
                        Py_TYPE(engine.ptr())->tp_name);
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
  if (!PyDict_Check(obj.ptr()) && !is_proxy(obj.ptr()) &&
      !PyObject_TypeCheck(obj.ptr(), &FrozenDictType))
    throw pyb::type_error(std::string(what) + " must be a dict, got " +
                          Py_TYPE(obj.ptr())->tp_name);
  Value v = to_value(obj, mode);
  if (!v.is_map()) throw pyb::type_error(std::string(what) + " must be a dict");
  return v.as_map();
}

// The schema gate: validates the full resulting data map with the model (pydantic v2, or v1).
// The document is first given as a lazy read-only view (fields the model does not declare are
// never converted); a model that refuses the view (strict mode wants real dicts) is then given a
// plain copy, whose verdict is final.
Status validate_schema(PyEngine* e, const CommitView& view) {
  pyb::gil_scoped_acquire gil;
  if (e->schema.is_none()) return Status::ok();
  pyb::object validate = pyb::hasattr(e->schema, "model_validate")
                             ? e->schema.attr("model_validate")
                             : e->schema.attr("parse_obj");
  Value data(view.next.data);
  try {
    validate(pyb::reinterpret_steal<pyb::object>(make_frozen(data)));
    return Status::ok();
  } catch (pyb::error_already_set&) {
    PyErr_Clear();
  }
  try {
    pyb::object plain = pyb::reinterpret_steal<pyb::object>(to_python(data, false));
    if (!plain) throw pyb::error_already_set();
    validate(plain);
  } catch (pyb::error_already_set& err) {
    return {ErrorCode::kSchemaViolation, pyb::str(err.value()).cast<std::string>()};
  }
  return Status::ok();
}

}  // namespace

// ---- compiled contract ----------------------------------------------------------------------

struct PyContract {
  std::shared_ptr<const Contract> contract;
};

void init_engine(pyb::module_& m) {
  pyb::class_<RetryDecision>(m, "RetryDecision")
      .def_readonly("should_retry", &RetryDecision::should_retry)
      .def_readonly("wait_ms", &RetryDecision::wait_ms)
      .def("__repr__", &RetryDecision::repr);

  // ConflictManager as a standalone object (the engine embeds its own).
  pyb::class_<ConflictManager, std::shared_ptr<ConflictManager>>(m, "ConflictManager")
      .def(pyb::init<uint32_t, uint32_t>(), pyb::arg("max_retries") = 5,
           pyb::arg("base_backoff_ms") = 2)
      .def("report_conflict", &ConflictManager::report_conflict, pyb::arg("key"))
      .def("report_success", &ConflictManager::report_success, pyb::arg("key"))
      .def("get_failure_count", &ConflictManager::failure_count, pyb::arg("key"))
      .def(
          "is_blocked",
          [](const ConflictManager& c, std::optional<std::string> requester) {
            return c.is_blocked(requester);
          },
          pyb::arg("requester") = pyb::none())
      .def_property_readonly("vip_holder", &ConflictManager::vip_holder);

  pyb::class_<PyContract>(m, "_Contract",
                          "A compiled process contract (inputs, outputs, semantic).")
      .def(pyb::init([](std::vector<std::string> inputs, std::vector<std::string> outputs,
                        std::string semantic) {
             Semantic s = unwrap(parse_semantic(semantic));
             return PyContract{
                 std::make_shared<const Contract>(unwrap(Contract::make(inputs, outputs, s)))};
           }),
           pyb::arg("inputs"), pyb::arg("outputs"), pyb::arg("semantic") = "effect")
      .def("check_pure_inputs",
           [](const PyContract& c) { throw_if_error(c.contract->check_pure_inputs()); })
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

  pyb::class_<PyProcess, std::shared_ptr<PyProcess>>(
      m, "_Process", "A registered process: function and compiled contract.")
      .def(pyb::init([](pyb::object callable, pyb::object accepted, std::string name,
                        const PyContract& contract, bool has_contract, bool is_coroutine,
                        bool parallel) {
             auto p = std::make_shared<PyProcess>();
             p->callable = callable;
             p->accepted = accepted;
             p->name = std::move(name);
             p->contract = contract.contract;
             p->has_contract = has_contract;
             p->is_coroutine = is_coroutine;
             p->parallel = parallel;
             AccessOptions strict;
             strict.strict_guards = true;
             p->input_zones = AccessPolicy(*p->contract, strict).check_input_zones();
             return p;
           }),
           pyb::arg("callable"), pyb::arg("accepted"), pyb::arg("name"), pyb::arg("contract"),
           pyb::arg("has_contract"), pyb::arg("is_coroutine"), pyb::arg("parallel"))
      .def_property_readonly("name", [](const PyProcess& p) { return p.name; })
      .def_property_readonly("is_coroutine", [](const PyProcess& p) { return p.is_coroutine; })
      .def_property_readonly("parallel", [](const PyProcess& p) { return p.parallel; })
      .def("__repr__", [](const PyProcess& p) { return "<theus process '" + p.name + "'>"; });

  pyb::class_<ProcessRun>(m, "_ProcessRun")
      .def("attempt", &ProcessRun::attempt)
      .def("invoke", &ProcessRun::invoke)
      .def("complete", &ProcessRun::complete)
      .def("fail", &ProcessRun::fail)
      .def("run_sync", &ProcessRun::run_sync)
      .def_property_readonly("transaction",
                             [](ProcessRun& r) { return r.txobj ? r.txobj : pyb::none(); })
      .def_property_readonly("attempts", [](ProcessRun& r) { return r.exec->attempts(); })
      .def_property_readonly("conflicts", [](ProcessRun& r) { return r.exec->conflicts(); });

  pyb::class_<PyEngine, std::shared_ptr<PyEngine>>(
      m, "TheusEngine", pyb::dynamic_attr(), "The core engine: versioned state, commits, CAS.")
      .def(pyb::init([](bool strict_guards, bool strict_cas, int64_t write_timeout_ms,
                        uint32_t max_attempts, std::optional<int64_t> deadline_ms,
                        uint32_t vip_after, uint32_t base_backoff_ms, uint32_t max_backoff_ms) {
             return std::make_shared<PyEngine>(
                 options_from(strict_guards, strict_cas, write_timeout_ms, max_attempts,
                              deadline_ms, vip_after, base_backoff_ms, max_backoff_ms));
           }),
           pyb::kw_only(), pyb::arg("strict_guards") = false, pyb::arg("strict_cas") = false,
           pyb::arg("write_timeout_ms") = 300000, pyb::arg("max_attempts") = 64,
           pyb::arg("deadline_ms") = 30000, pyb::arg("vip_after") = 5,
           pyb::arg("base_backoff_ms") = 2, pyb::arg("max_backoff_ms") = 1000)
      .def_property_readonly("state", [](PyEngine& e) { return current_state(e); })
      .def_property_readonly("version", [](PyEngine& e) { return e.engine.version(); })
      .def_property_readonly("outbox", [](std::shared_ptr<PyEngine> e) { return engine_outbox(e); })
      .def(
          "set_audit_system", [](PyEngine& e, pyb::object audit) { e.audit = audit; },
          pyb::arg("audit"))
      .def(
          "set_strict_guards", [](PyEngine& e, bool v) { e.engine.set_strict_guards(v); },
          pyb::arg("enabled"))
      .def(
          "set_strict_cas", [](PyEngine& e, bool v) { e.engine.set_strict_cas(v); },
          pyb::arg("enabled"))
      .def_property_readonly("strict_guards", [](PyEngine& e) { return e.engine.strict_guards(); })
      .def_property_readonly("strict_cas", [](PyEngine& e) { return e.engine.strict_cas(); })
      .def(
          "set_schema",
          [](PyEngine& e, pyb::object schema) {
            if (!schema.is_none() && !pyb::hasattr(schema, "model_validate") &&
                !pyb::hasattr(schema, "parse_obj"))
              throw pyb::type_error(
                  "schema must be a pydantic model class (with model_validate), got " +
                  pyb::repr(schema).cast<std::string>());
            e.schema = schema;
            if (schema.is_none()) {
              e.engine.remove_pre_install_hook("schema");
            } else {
              PyEngine* raw = &e;
              e.engine.set_pre_install_hook(
                  "schema", [raw](const CommitView& v) { return validate_schema(raw, v); });
            }
          },
          pyb::arg("schema"))
      .def(
          "report_conflict",
          [](PyEngine& e, const std::string& name) {
            return e.engine.conflicts().report_conflict(name);
          },
          pyb::arg("process_name"))
      .def(
          "report_success",
          [](PyEngine& e, const std::string& name) { e.engine.conflicts().report_success(name); },
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
      .def(
          "attach_worker", [](PyEngine& e, pyb::object worker) { e.worker = worker; },
          pyb::arg("worker"))
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
          [](PyEngine& e, uint64_t expected_version, pyb::object data, pyb::object heavy,
             pyb::object signal, std::optional<std::string> requester) {
            Map d = payload_map(data, "data", CopyMode::kCopy);
            Map h = heavy.is_none() ? Map() : heavy_map(heavy.ptr(), "heavy");
            throw_if_error(
                e.engine.compare_and_swap(expected_version, d, h, signal_maps(signal), requester));
          },
          pyb::arg("expected_version"), pyb::arg("data") = pyb::none(),
          pyb::arg("heavy") = pyb::none(), pyb::arg("signal") = pyb::none(),
          pyb::arg("requester") = pyb::none())
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
          "_execute",
          [](std::shared_ptr<PyEngine> e, std::shared_ptr<PyProcess> proc, pyb::tuple args_tuple,
             pyb::dict kwargs, uint32_t min_attempts, bool block) -> pyb::tuple {
            pyb::args args = pyb::reinterpret_borrow<pyb::args>(args_tuple);
            // Synchronous processes run here to completion (or until a backoff the caller wants to
            // await); coroutine and parallel processes get their run back to drive from Python.
            auto run = std::make_unique<ProcessRun>(e, proc, min_attempts);
            run->check_inputs(kwargs);  // the audit input gate, once before the first attempt
            if (proc->is_coroutine || proc->parallel)
              return pyb::make_tuple(false, pyb::cast(std::move(run)), "async", pyb::none());
            pyb::kwargs kw = pyb::reinterpret_borrow<pyb::kwargs>(kwargs);
            ProcessRun::StepResult out = run->run_steps(block, args, kw);
            if (out.step == ProcessRun::Step::kDone) {
              sync_back(*e);
              return pyb::make_tuple(true, out.value);
            }
            const char* kind = out.step == ProcessRun::Step::kWait ? "wait" : "await";
            return pyb::make_tuple(false, pyb::cast(std::move(run)), kind, out.value);
          },
          pyb::arg("proc"), pyb::arg("args"), pyb::arg("kwargs"), pyb::arg("min_attempts") = 0,
          pyb::arg("block") = true)
      .def(
          "_sync", [](PyEngine& e) { sync_back(e); }, "Bring the context objects up to date now.")
      .def(
          "_configure",
          [](PyEngine& e, std::vector<std::string> namespaces, pyb::object sync_target,
             bool sync_state_attr, pyb::object namespace_sync) {
            e.key_checked_roots = std::move(namespaces);
            e.sync_target = sync_target;
            e.sync_state_attr = sync_state_attr;
            e.namespace_sync = namespace_sync;
            e.synced_version = e.engine.version();
          },
          pyb::arg("namespaces"), pyb::arg("sync_target"), pyb::arg("sync_state_attr"),
          pyb::arg("namespace_sync"))
      .def("_physics_override",
           [](PyEngine& e, const std::string& path, int caps) {
             e.engine.physics_overrides().register_override(parse_path(path),
                                                            static_cast<uint8_t>(caps));
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

  auto set_ref = [](PyObject*& slot, const pyb::object& value) {
    Py_XDECREF(slot);
    slot = value.is_none() ? nullptr : value.inc_ref().ptr();
  };
  m.def("_set_state_update_class",
        [set_ref](pyb::object cls) { set_ref(state_update_class_ref(), cls); });
  m.def("_set_restricted_factory",
        [set_ref](pyb::object fn) { set_ref(restricted_factory_ref(), fn); });
  m.def("_set_current_tx_var", [set_ref](pyb::object var) {
    set_ref(current_tx_var_ref(), var);
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
)",
            m.attr("__dict__"));
}

}  // namespace theus::py

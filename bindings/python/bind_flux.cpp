// theus_core.WorkflowEngine / FSMState: the Flux interpreter of the core driven from Python.
//
// A _FluxRun is one execution: it owns the core's resumable flux::Run, the name scope conditions
// are evaluated in (the keys of a ctx dict, or an engine's committed head) and the FSM bookkeeping.
// `execute` drives it here; `execute_async` is a small coroutine (defined below in Python source,
// because only a coroutine can `await`) stepping the same object; TheusEngine.execute_workflow
// uses `advance`, which runs synchronous processes through the native execution driver and hands
// back only the steps that must be awaited.
#include <pybind11/eval.h>
#include <pybind11/stl.h>

#include <list>
#include <unordered_map>

#include "process_run.hpp"
#include "theus/flux/interpreter.hpp"
#include "theus_py.hpp"

namespace theus::py {

namespace {

using flux::FsmState;

// Debug and warning lines go to Python's sys.stderr (so capture by pytest and redirection work).
void write_stderr(std::string_view line) {
  PyObject* err = PySys_GetObject("stderr");  // borrowed
  if (err == nullptr || err == Py_None) return;
  std::string text(line);
  text.push_back('\n');
  PyObject* r =
      PyObject_CallMethod(err, "write", "s#", text.data(), static_cast<Py_ssize_t>(text.size()));
  if (r == nullptr) {
    PyErr_Clear();
  } else {
    Py_DECREF(r);
  }
}

// Parsed workflows by document text: repeated execute_workflow calls of one file parse it once.
// (A fresh WorkflowEngine, FSM and run are still created per call, as the spec asks.)
struct ParsedWorkflow {
  std::shared_ptr<const flux::Workflow> workflow;
  std::vector<std::string> warnings;
};

class WorkflowCache {
 public:
  Result<ParsedWorkflow> get(const std::string& text, const std::string& source) {
    std::string key = source + '\0' + text;
    if (auto it = index_.find(key); it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->second;
    }
    std::vector<std::string> warnings;
    Result<flux::Workflow> wf = flux::Workflow::parse(text, source, &warnings);
    if (!wf.is_ok()) return wf.status();
    ParsedWorkflow parsed{std::make_shared<const flux::Workflow>(std::move(wf).value()),
                          std::move(warnings)};
    order_.emplace_front(key, parsed);
    index_[std::move(key)] = order_.begin();
    if (order_.size() > kCapacity) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return parsed;
  }

 private:
  static constexpr size_t kCapacity = 64;
  std::list<std::pair<std::string, ParsedWorkflow>> order_;
  std::unordered_map<std::string, std::list<std::pair<std::string, ParsedWorkflow>>::iterator>
      index_;
};

WorkflowCache& workflow_cache() {
  static WorkflowCache* cache = new WorkflowCache();  // used under the GIL; never destroyed
  return *cache;
}

// True for objects `await` accepts: coroutines, futures, tasks, anything with __await__.
bool is_awaitable(PyObject* obj) {
  if (obj == Py_None) return false;
  PyTypeObject* t = Py_TYPE(obj);
  if (t->tp_as_async != nullptr && t->tp_as_async->am_await != nullptr) return true;
  if (PyGen_Check(obj)) {  // generator-based coroutines (types.coroutine)
    static PyObject* isawaitable = nullptr;
    if (isawaitable == nullptr)
      isawaitable =
          pyb::object(pyb::module_::import("inspect").attr("isawaitable")).release().ptr();
    PyObject* r = PyObject_CallOneArg(isawaitable, obj);
    if (r == nullptr) throw pyb::error_already_set();
    bool yes = r == Py_True;
    Py_DECREF(r);
    return yes;
  }
  return false;
}

// Names from a ctx dict, converted at evaluation time (the executor may rebind keys between steps).
flux::NameLookup dict_scope(PyObject* dict) {
  return [dict](std::string_view name) -> Result<Value> {
    PyObject* key = PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
    if (key == nullptr) throw pyb::error_already_set();
    PyObject* obj = PyDict_GetItemWithError(dict, key);  // borrowed
    Py_DECREF(key);
    if (obj == nullptr) {
      if (PyErr_Occurred()) throw pyb::error_already_set();
      return Status(ErrorCode::kNameError, "name '" + std::string(name) + "' is not defined");
    }
    std::string where(name);
    return to_value(obj, CopyMode::kReference, where.c_str());
  };
}

// FSMState is an enum.IntEnum (int-comparable, as the spec asks); its five members are cached.
PyObject* g_fsm_members[5] = {};

pyb::object fsm_object(FsmState state) {
  return pyb::reinterpret_borrow<pyb::object>(g_fsm_members[static_cast<int>(state)]);
}

pyb::list fsm_history(const flux::Fsm& fsm) {
  pyb::list out;
  for (FsmState s : fsm.history()) out.append(fsm_object(s));
  return out;
}

}  // namespace

struct PyWorkflow {
  std::shared_ptr<const flux::Workflow> workflow;
  flux::RunOptions options;
  flux::Fsm fsm;
  bool running = false;

  void transition(FsmState next) { fsm.transition(next, options); }
};

// One execution of a WorkflowEngine (see the file comment).
struct FluxRun {
  pyb::object owner;  // the WorkflowEngine object (keeps `wf` alive)
  PyWorkflow* wf;
  flux::Run run;
  pyb::object ctx;                   // dict scope, or None for an engine scope
  std::shared_ptr<PyEngine> engine;  // engine scope
  SnapshotPtr head;                  // the engine's head while next() evaluates conditions
  flux::NameLookup scope;
  bool finished = false;

  FluxRun(pyb::object owner_obj, PyWorkflow* workflow, pyb::object dict,
          std::shared_ptr<PyEngine> eng)
      : owner(std::move(owner_obj)),
        wf(workflow),
        run(workflow->workflow, workflow->options),
        ctx(std::move(dict)),
        engine(std::move(eng)) {
    if (engine) {
      scope = flux::snapshot_scope(&head);
    } else {
      scope = dict_scope(ctx.ptr());
    }
    wf->running = true;
    wf->transition(FsmState::kRunning);
  }
  FluxRun(const FluxRun&) = delete;
  FluxRun& operator=(const FluxRun&) = delete;
  ~FluxRun() {
    if (!finished) end(FsmState::kFailed);  // abandoned (e.g. a coroutine that was never resumed)
  }

  void end(FsmState state) {
    if (finished) return;
    finished = true;
    wf->running = false;
    wf->transition(state);
  }

  // The next process name, or None when the workflow is done.
  pyb::object next() {
    // Conditions see the head as of now, i.e. after the previous step committed; the snapshot is
    // released before the step runs so the old version is not kept alive across its commit.
    if (engine) head = engine->engine.snapshot();
    Result<std::optional<std::string_view>> step = run.next(scope);
    head.reset();
    if (!step.is_ok()) throw_if_error(step.status());
    if (!step.value()) return pyb::none();
    std::string_view name = *step.value();
    return pyb::reinterpret_steal<pyb::object>(
        PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size())));
  }

  void completed() { run.completed(); }

  pyb::list finish() {
    end(FsmState::kComplete);
    pyb::list out(run.executed().size());
    size_t i = 0;
    for (const std::string& name : run.executed()) {
      PyObject* s = PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
      if (s == nullptr) throw pyb::error_already_set();
      PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i++), s);
    }
    return out;
  }

  // TheusEngine.execute_workflow: runs the steps of synchronous registered processes here, through
  // the native execution driver. Returns None when the workflow is done, else (name, pending) for a
  // step Python must finish: pending is (process, run, kind, value) of an execution to continue
  // (kind "async" / "await" / "wait"), or None when the name must go through TheusEngine.execute
  // (not registered here, or `procs` is None because audit hooks are installed).
  pyb::object advance(const pyb::object& procs) {
    for (;;) {
      pyb::object name = next();
      if (name.is_none()) return name;
      PyObject* found =
          procs.is_none() ? nullptr : PyDict_GetItemWithError(procs.ptr(), name.ptr());
      if (found == nullptr) {
        if (PyErr_Occurred()) throw pyb::error_already_set();
        return pyb::make_tuple(name, pyb::none());
      }
      auto proc = pyb::handle(found).cast<std::shared_ptr<PyProcess>>();
      auto prun = std::make_unique<ProcessRun>(engine, proc, 0);
      if (proc->is_coroutine || proc->parallel)
        return pyb::make_tuple(
            name, pyb::make_tuple(proc, pyb::cast(std::move(prun)), "async", pyb::none()));
      pyb::args no_args = pyb::reinterpret_steal<pyb::args>(PyTuple_New(0));
      pyb::kwargs no_kwargs;
      ProcessRun::StepResult out = prun->run_steps(false, no_args, no_kwargs);
      if (out.step != ProcessRun::Step::kDone) {
        const char* kind = out.step == ProcessRun::Step::kWait ? "wait" : "await";
        return pyb::make_tuple(name,
                               pyb::make_tuple(proc, pyb::cast(std::move(prun)), kind, out.value));
      }
      sync_back(*engine);
      completed();
    }
  }
};

namespace {

// FSM observers are Python callables; an exception in one is reported as a RuntimeWarning and
// does not stop the workflow (or the other observers).
flux::Fsm::Observer python_observer(pyb::object callback) {
  return [callback = std::move(callback)](FsmState old_state, FsmState new_state) {
    PyObject* r =
        PyObject_CallFunctionObjArgs(callback.ptr(), g_fsm_members[static_cast<int>(old_state)],
                                     g_fsm_members[static_cast<int>(new_state)], nullptr);
    if (r != nullptr) {
      Py_DECREF(r);
      return;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    std::string what = "?";
    if (PyObject* s = value ? PyObject_Repr(value) : nullptr) {
      if (const char* c = PyUnicode_AsUTF8(s)) what = c;
      Py_DECREF(s);
    }
    PyErr_Clear();
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    std::string msg = "WorkflowEngine state observer raised " + what + " (ignored)";
    if (PyErr_WarnEx(PyExc_RuntimeWarning, msg.c_str(), 1) < 0)
      PyErr_WriteUnraisable(callback.ptr());
  };
}

std::unique_ptr<FluxRun> start_run(const pyb::object& self, const pyb::object& ctx,
                                   std::shared_ptr<PyEngine> engine) {
  auto& wf = self.cast<PyWorkflow&>();
  if (wf.running)
    throw std::runtime_error(
        "WorkflowEngine is already running; concurrent runs need one WorkflowEngine instance each");
  if (!engine && !PyDict_Check(ctx.ptr()))
    throw pyb::type_error(std::string("ctx must be a dict, got ") + Py_TYPE(ctx.ptr())->tp_name);
  return std::make_unique<FluxRun>(self, &wf, ctx, std::move(engine));
}

// §1.6: a coroutine returned to the synchronous execute() runs on the loop in ctx['_loop'].
void await_on_context_loop(FluxRun& run, pyb::object awaitable) {
  PyObject* loop = PyDict_GetItemString(run.ctx.ptr(), "_loop");  // borrowed
  if (loop == nullptr || loop == Py_None) {
    if (PyCoro_CheckExact(awaitable.ptr()))
      awaitable.attr("close")();  // no "never awaited" warning
    throw std::runtime_error(
        "Async process returned coroutine but '_loop' missing in context. Use execute_async(), or "
        "pass a running "
        "event loop of another thread as ctx['_loop'].");
  }
  pyb::module_ asyncio = pyb::module_::import("asyncio");
  if (!PyCoro_CheckExact(awaitable.ptr()))
    awaitable = pyb::module_::import("theus_core").attr("_flux_await")(awaitable);
  run.wf->transition(FsmState::kWaitingIO);
  pyb::object future = asyncio.attr("run_coroutine_threadsafe")(awaitable, pyb::handle(loop));
  future.attr("result")();
  run.wf->transition(FsmState::kRunning);
}

pyb::list execute(const pyb::object& self, const pyb::object& ctx, const pyb::object& executor) {
  std::unique_ptr<FluxRun> run = start_run(self, ctx, nullptr);
  try {
    for (;;) {
      pyb::object name = run->next();
      if (name.is_none()) return run->finish();
      pyb::object result = executor(name);
      if (is_awaitable(result.ptr())) await_on_context_loop(*run, std::move(result));
      run->completed();
    }
  } catch (...) {
    run->end(FsmState::kFailed);
    throw;
  }
}

// The awaiting half of execute_async (only a coroutine can await). Python source on purpose.
constexpr const char* kAsyncSource = R"PY(
async def execute_async(self, ctx, executor):
    """Run the workflow on the running event loop: synchronous executors are called inline, an
    awaitable an executor returns is awaited (Running -> WaitingIO -> Running). Returns the names
    of the executed processes."""
    run = self._start(ctx)
    try:
        while True:
            name = run.next()
            if name is None:
                return run.finish()
            result = executor(name)
            if _is_awaitable(result):
                run.waiting()
                await result
                run.resumed()
            run.completed()
    except BaseException:
        run.fail()
        raise


async def _flux_await(awaitable):
    return await awaitable
)PY";

}  // namespace

void init_flux(pyb::module_& m) {
  pyb::object int_enum = pyb::module_::import("enum").attr("IntEnum");
  pyb::list members;
  for (FsmState s : {FsmState::kPending, FsmState::kRunning, FsmState::kWaitingIO,
                     FsmState::kComplete, FsmState::kFailed})
    members.append(pyb::make_tuple(std::string(flux::fsm_state_name(s)), static_cast<int>(s)));
  pyb::object fsm_cls = int_enum("FSMState", members, pyb::arg("module") = "theus_core");
  fsm_cls.attr("__doc__") =
      "Lifecycle of a WorkflowEngine run: Pending, Running, WaitingIO, Complete, Failed.";
  for (int i = 0; i < 5; ++i)
    g_fsm_members[i] = fsm_cls(i).release().ptr();  // kept for the process lifetime
  m.attr("FSMState") = fsm_cls;

  pyb::class_<FluxRun>(m, "_FluxRun", "One execution of a WorkflowEngine (internal).")
      .def("next", &FluxRun::next)
      .def("completed", &FluxRun::completed)
      .def("finish", &FluxRun::finish)
      .def("fail", [](FluxRun& r) { r.end(FsmState::kFailed); })
      .def("waiting", [](FluxRun& r) { r.wf->transition(FsmState::kWaitingIO); })
      .def("resumed", [](FluxRun& r) { r.wf->transition(FsmState::kRunning); })
      .def("advance", &FluxRun::advance, pyb::arg("procs"))
      .def_property_readonly("ops", [](const FluxRun& r) { return r.run.ops(); })
      .def_property_readonly("executed", [](const FluxRun& r) { return r.run.executed(); });

  pyb::class_<PyWorkflow> cls(
      m, "WorkflowEngine", pyb::dynamic_attr(),
      "A Flux workflow (YAML text) with its FSM: execute, execute_async, simulate.");
  cls.def(pyb::init([](const std::string& yaml_config, uint64_t max_ops, bool debug,
                       const std::string& source) {
            Result<ParsedWorkflow> parsed = workflow_cache().get(yaml_config, source);
            if (!parsed.is_ok()) throw_if_error(parsed.status());
            for (const std::string& w : parsed.value().warnings) write_stderr(w);
            auto wf = std::make_unique<PyWorkflow>();
            wf->workflow = parsed.value().workflow;
            wf->options.max_ops = max_ops;
            wf->options.debug = debug;
            wf->options.trace = write_stderr;
            if (debug)
              write_stderr("[FLUX-DEBUG] Parsed " + std::to_string(wf->workflow->steps().size()) +
                           " top-level steps");
            return wf;
          }),
          pyb::arg("yaml_config"), pyb::arg("max_ops") = 10000, pyb::arg("debug") = false,
          pyb::arg("source") = "<string>")
      .def_property_readonly("fsm_state",
                             [](const PyWorkflow& w) { return fsm_object(w.fsm.state()); })
      .def_property_readonly("state", [](const PyWorkflow& w) { return fsm_object(w.fsm.state()); })
      .def_property_readonly("state_history",
                             [](const PyWorkflow& w) { return fsm_history(w.fsm); })
      .def_property_readonly("max_ops", [](const PyWorkflow& w) { return w.options.max_ops; })
      .def_property_readonly("debug", [](const PyWorkflow& w) { return w.options.debug; })
      .def_property_readonly("is_running", [](const PyWorkflow& w) { return w.running; })
      .def(
          "add_state_observer",
          [](PyWorkflow& w, pyb::object callback) {
            if (!PyCallable_Check(callback.ptr()))
              throw pyb::type_error("add_state_observer() expects a callable");
            w.fsm.add_observer(python_observer(std::move(callback)));
          },
          pyb::arg("callback"),
          "Call callback(old, new) on every FSM transition, in registration order.")
      .def("execute", &execute, pyb::arg("ctx"), pyb::arg("executor"),
           "Run the workflow synchronously, calling executor(name) for every process step; returns "
           "the executed "
           "names.")
      .def(
          "simulate",
          [](PyWorkflow& w, pyb::dict ctx) {
            return unwrap(flux::simulate(*w.workflow, dict_scope(ctx.ptr()), w.options));
          },
          pyb::arg("ctx"), "Legacy dry run: walk the `nodes` graph, or list the process steps.")
      .def(
          "_start",
          [](const pyb::object& self, const pyb::object& ctx) {
            return start_run(self, ctx, nullptr);
          },
          pyb::arg("ctx"))
      .def(
          "_engine_run",
          [](const pyb::object& self, std::shared_ptr<PyEngine> engine) {
            return start_run(self, pyb::none(), std::move(engine));
          },
          pyb::arg("engine"))
      .def(
          "process_names",
          [](const PyWorkflow& w) { return w.workflow->referenced_process_names(); },
          "Every process name the workflow can run (if/while branches included), without repeats.")
      .def("__repr__", [](const PyWorkflow& w) {
        return "<WorkflowEngine " + std::to_string(w.workflow->steps().size()) +
               " steps, state=" + std::string(flux::fsm_state_name(w.fsm.state())) + ">";
      });

  pyb::dict ns;
  ns["__builtins__"] = pyb::module_::import("builtins");
  ns["__name__"] = "theus_core";
  ns["_is_awaitable"] = pyb::cpp_function([](pyb::handle obj) { return is_awaitable(obj.ptr()); });
  pyb::exec(kAsyncSource, ns);
  ns["execute_async"].attr("__qualname__") = "WorkflowEngine.execute_async";
  cls.attr("execute_async") = ns["execute_async"];
  m.attr("_flux_await") = ns["_flux_await"];
}

}  // namespace theus::py

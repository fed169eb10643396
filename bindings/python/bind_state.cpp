// theus_core.State (an immutable, versioned snapshot), MetaLogEntry and ProcessContext.
#include <pybind11/stl.h>

#include <chrono>

#include "frozen.hpp"
#include "theus_py.hpp"

namespace theus::py {

// ---- meta log -------------------------------------------------------------------------------

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

void MetaLog::push_slot(Slot slot) {
  std::lock_guard lock(mu);
  if (capacity == 0) return;
  if (ring.size() < capacity) {
    ring.push_back(std::move(slot));
  } else {
    ring[next] = std::move(slot);
    next = (next + 1) % capacity;
  }
}

void MetaLog::push(std::string key, std::string message) {
  push_slot(Slot{now_seconds(), 0, std::move(key), std::move(message)});
}

void MetaLog::push_state_update(uint64_t version) {
  push_slot(Slot{now_seconds(), version, {}, {}});
}

std::vector<MetaLog::Entry> MetaLog::entries() const {
  std::lock_guard lock(mu);
  std::vector<Entry> out;
  out.reserve(ring.size());
  for (size_t i = 0; i < ring.size(); ++i) {
    const Slot& s = ring[(next + i) % ring.size()];
    if (s.version > 0) {
      out.push_back(Entry{s.timestamp, "state_update",
                          "State updated to version " + std::to_string(s.version)});
    } else {
      out.push_back(Entry{s.timestamp, s.key, s.message});
    }
  }
  return out;
}

// ---- State ----------------------------------------------------------------------------------

struct PyState {
  SnapshotPtr snap;
  std::shared_ptr<MetaLog> meta;
  pyb::object hub;  // shared by every version of one engine (None until the signal hub exists)
};

pyb::object signal_hub_new();  // bind_signal.cpp: a new SignalHub, or None when unavailable

pyb::object make_state(const SnapshotPtr& snap, const std::shared_ptr<MetaLog>& meta,
                       pyb::object hub) {
  return pyb::cast(PyState{snap, meta, std::move(hub)});
}

namespace {

Value key_path_value(const Value& key, Path* out) {
  if (key.is_string() && key.as_string().find_first_of(".[") != std::string_view::npos) {
    *out = unwrap(Path::parse(key.as_string()));
  } else {
    *out = Path{key};
  }
  return key;
}

// Merge rules of CAS (§6.3) onto a (data, heavy) pair.
void merge_into(Value* data, Value* heavy, const Map& patch, bool into_heavy) {
  for (auto item : patch) {
    Path p;
    key_path_value(item.key, &p);
    if (into_heavy) p = Path{Value("heavy")}.concat(p);
    throw_if_error(apply_delta({DeltaOp::kMerge, p, item.value, 0}, data, heavy, false));
  }
}

Map latch_from(const pyb::object& signal) {
  Map latch;
  if (signal.is_none()) return latch;
  std::vector<pyb::handle> dicts;
  if (PyDict_Check(signal.ptr())) {
    dicts.push_back(signal);
  } else if (PyList_Check(signal.ptr())) {
    for (auto item : signal.cast<pyb::list>()) {
      if (!PyDict_Check(item.ptr())) throw pyb::type_error("signal list entries must be dicts");
      dicts.push_back(item);
    }
  } else {
    throw pyb::type_error("signal must be a dict or a list of dicts");
  }
  for (auto d : dicts)
    for (auto kv : d.cast<pyb::dict>()) {
      Value k;
      if (!key_to_value(kv.first.ptr(), &k)) throw pyb::type_error("signal topics must be strings");
      latch = latch.set(k, Value(pyb::str(kv.second).cast<std::string>()));
    }
  return latch;
}

Map dict_arg(const pyb::object& obj, const char* what) {
  if (obj.is_none()) return Map();
  if (!PyDict_Check(obj.ptr()))
    throw pyb::type_error(std::string(what) + " must be a dict, got " +
                          Py_TYPE(obj.ptr())->tp_name);
  return to_value(obj, CopyMode::kCopy).as_map();
}

Map heavy_arg(const pyb::object& obj) {
  return obj.is_none() ? Map() : heavy_map(obj.ptr(), "heavy");
}

pyb::object layer_proxy(const PyState& s, const char* root, uint8_t caps = cap::kRead) {
  const Value* v = s.snap->data.find(std::string_view(root));
  if (!v) return pyb::none();
  return pyb::reinterpret_steal<pyb::object>(make_fixed_proxy(*v, Path{Value(root)}, caps));
}

}  // namespace

// ---- ProcessContext -------------------------------------------------------------------------

pyb::object make_outbox(const pyb::object& txobj);  // bind_transaction.cpp

struct PyProcessContext {
  pyb::object state;       // a State
  pyb::object local;       // dict
  pyb::object txobj;       // Transaction or None
  pyb::object outbox;      // Outbox (shares the tx's pending buffer) or a private list
  Scope* scope = nullptr;  // unchecked scope over the transaction (for the layer proxies)

  ~PyProcessContext() {
    if (scope) scope->release();
  }
  pyb::object layer(const char* root) {
    // Without a transaction: caps 15 but read-only (nothing could ever be committed).
    if (txobj.is_none()) return layer_proxy(state.cast<PyState&>(), root, cap::kAllData);
    PyTx& t = txobj.cast<PyTx&>();
    if (!t.tx().data().as_map().find(std::string_view(root))) return pyb::none();
    pyb::str name(root);
    return pyb::reinterpret_steal<pyb::object>(
        make_root_proxy(scope, name.ptr(), false, cap::kAllData));
  }
};

bool is_process_context(PyObject* obj) {
  return pyb::isinstance<PyProcessContext>(pyb::handle(obj));
}

Scope* make_scope(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                  Semantic semantic, bool strict, PyObject* tx, std::shared_ptr<PyEngine> engine,
                  const std::string& process_name);

void init_state(pyb::module_& m) {
  pyb::class_<MetaLog::Entry>(m, "MetaLogEntry")
      .def_readonly("timestamp", &MetaLog::Entry::timestamp)
      .def_readonly("key", &MetaLog::Entry::key)
      .def_readonly("message", &MetaLog::Entry::message)
      .def("__repr__", [](const MetaLog::Entry& e) {
        return "MetaLogEntry(time=" + std::to_string(e.timestamp) +
               ", key=" + pyb::repr(pyb::str(e.key)).cast<std::string>() +
               ", msg=" + pyb::repr(pyb::str(e.message)).cast<std::string>() + ")";
      });

  pyb::class_<PyState>(
      m, "State",
      "State(data=None, heavy=None, signal=None, version=1, meta_capacity=1000): an "
      "immutable version of the state. update() returns a new version.")
      .def(pyb::init([](pyb::object data, pyb::object heavy, pyb::object signal, int64_t version,
                        size_t meta_capacity) {
             auto snap = std::make_shared<Snapshot>();
             snap->version = static_cast<uint64_t>(version);
             snap->data = dict_arg(data, "data");
             snap->heavy = heavy_arg(heavy);
             (void)signal;  // ignored by the constructor (the hub is new and empty)
             return PyState{snap, std::make_shared<MetaLog>(meta_capacity), signal_hub_new()};
           }),
           pyb::arg("data") = pyb::none(), pyb::arg("heavy") = pyb::none(),
           pyb::arg("signal") = pyb::none(), pyb::arg("version") = 1,
           pyb::arg("meta_capacity") = 1000)
      .def_property_readonly("version", [](const PyState& s) { return s.snap->version; })
      .def_property_readonly(
          "data",
          [](const PyState& s) {
            return pyb::reinterpret_steal<pyb::object>(make_frozen(Value(s.snap->data)));
          })
      .def_property_readonly(
          "heavy",
          [](const PyState& s) {
            return pyb::reinterpret_steal<pyb::object>(make_frozen_reference(Value(s.snap->heavy)));
          })
      .def_property_readonly(
          "signals",
          [](const PyState& s) {
            return pyb::reinterpret_steal<pyb::object>(make_frozen(Value(s.snap->signals)));
          })
      .def_property_readonly("signal", [](const PyState& s) { return s.hub; })
      .def_property_readonly("domain", [](const PyState& s) { return layer_proxy(s, "domain"); })
      .def_property_readonly("global", [](const PyState& s) { return layer_proxy(s, "global"); })
      .def(
          "domain_proxy", [](const PyState& s, pyb::object) { return layer_proxy(s, "domain"); },
          pyb::arg("read_only") = pyb::none())
      .def_property_readonly("meta", [](const PyState& s) { return s.meta->entries(); })
      .def("get_meta_logs", [](const PyState& s) { return s.meta->entries(); })
      .def(
          "log_meta",
          [](const PyState& s, std::string key, std::string message) {
            s.meta->push(std::move(key), std::move(message));
          },
          pyb::arg("key"), pyb::arg("message"))
      .def("restrict_view",
           [](const PyState& s) {
             return PyState{s.snap, s.meta, signal_hub_new()};
           })
      .def(
          "update",
          [](const PyState& s, pyb::object data, pyb::object heavy, pyb::object signal) {
            Value d(s.snap->data), h(s.snap->heavy);
            merge_into(&d, &h, dict_arg(data, "data"), false);
            merge_into(&d, &h, heavy_arg(heavy), true);
            auto next = std::make_shared<Snapshot>();
            next->version = s.snap->version + 1;
            next->data = d.as_map();
            next->heavy = h.as_map();
            next->signals = latch_from(signal);
            s.meta->push_state_update(next->version);
            return PyState{next, s.meta, s.hub};
          },
          pyb::arg("data") = pyb::none(), pyb::arg("heavy") = pyb::none(),
          pyb::arg("signal") = pyb::none())
      .def(
          "publish_signals",
          [](const PyState& s, pyb::object signal) {
            if (s.hub.is_none()) return;
            Map latch = latch_from(signal);
            for (auto item : latch) s.hub.attr("publish")(item.key.str() + ":" + item.value.str());
          },
          pyb::arg("signal") = pyb::none())
      .def("__setattr__",
           [](pyb::object, pyb::object, pyb::object) {
             PyErr_SetString(exceptions().context_error,
                             "State is Immutable. Use .update() to create a new version.");
             throw pyb::error_already_set();
           })
      .def("__repr__",
           [](const PyState& s) { return "<State v" + std::to_string(s.snap->version) + ">"; });

  pyb::class_<PyProcessContext>(
      m, "ProcessContext", pyb::dynamic_attr(),
      "ProcessContext(state, local, tx): what the engine wraps for a process.")
      .def(pyb::init([](pyb::object state, pyb::object local, pyb::object tx) {
             auto ctx = std::make_unique<PyProcessContext>();
             ctx->state = state;
             ctx->local = local.is_none() ? pyb::dict() : local;
             ctx->txobj = tx;
             if (!tx.is_none()) {
               ctx->outbox = make_outbox(tx);
               PyTx& t = tx.cast<PyTx&>();
               ctx->scope = make_scope({}, {}, Semantic::kEffect, false, tx.ptr(), t.engine, "");
               ctx->scope->contract = nullptr;  // ProcessContext proxies carry no contract checks
             } else {
               ctx->outbox = make_outbox(pyb::none());
             }
             return ctx;
           }),
           pyb::arg("state"), pyb::arg("local") = pyb::none(), pyb::arg("tx") = pyb::none())
      .def_readonly("state", &PyProcessContext::state)
      .def_readonly("local", &PyProcessContext::local)
      .def_readonly("outbox", &PyProcessContext::outbox)
      .def_readonly("tx", &PyProcessContext::txobj)
      .def_readonly("transaction", &PyProcessContext::txobj)
      .def_property_readonly("domain", [](PyProcessContext& c) { return c.layer("domain"); })
      .def_property_readonly("domain_ctx", [](PyProcessContext& c) { return c.layer("domain"); })
      .def_property_readonly("global", [](PyProcessContext& c) { return c.layer("global"); })
      .def_property_readonly("global_ctx", [](PyProcessContext& c) { return c.layer("global"); })
      .def("__getattr__", [](PyProcessContext& c, const std::string& name) -> pyb::object {
        if (!name.empty() && name[0] != '_' && pyb::hasattr(c.state, name.c_str()))
          return c.state.attr(name.c_str());
        throw pyb::attribute_error("'ProcessContext' object has no attribute '" + name + "'");
      });
}

}  // namespace theus::py

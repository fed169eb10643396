// theus_core.Transaction and the outbox types (OutboxMsg, Outbox, OutboxCollector).
#include <pybind11/stl.h>

#include "frozen.hpp"
#include "theus_py.hpp"

namespace theus::py {

// ---- outbox ---------------------------------------------------------------------------------

struct OutboxMsg {
  std::string topic;
  pyb::object payload;
};

Value outbox_value(PyObject* msg) { return foreign_ref(msg); }

PyObject* outbox_object(const OutboxMessage& m) {
  if (PyObject* o = foreign_object(m.payload)) {
    if (pyb::isinstance<OutboxMsg>(pyb::handle(o))) return Py_NewRef(o);
  }
  // A message made by C++ code: wrap it.
  pyb::object payload = pyb::reinterpret_steal<pyb::object>(to_python(m.payload, false));
  if (!payload) throw pyb::error_already_set();
  return pyb::cast(OutboxMsg{m.topic, payload}).release().ptr();
}

namespace {

OutboxMessage to_message(const pyb::object& msg) {
  if (!pyb::isinstance<OutboxMsg>(msg)) {
    throw pyb::type_error(std::string("outbox messages must be OutboxMsg, got ") +
                          Py_TYPE(msg.ptr())->tp_name);
  }
  return OutboxMessage{msg.cast<OutboxMsg&>().topic, outbox_value(msg.ptr())};
}

pyb::list to_list(const std::vector<OutboxMessage>& msgs) {
  pyb::list out;
  for (const auto& m : msgs) out.append(pyb::reinterpret_steal<pyb::object>(outbox_object(m)));
  return out;
}

}  // namespace

// An OutboxCollector over a transaction's pending messages or over the engine queue.
struct OutboxCollector {
  pyb::object txobj;                 // the Python Transaction (pending messages), or None
  std::shared_ptr<PyEngine> engine;  // the engine queue when txobj is None

  PyTx* tx() const { return txobj && !txobj.is_none() ? &txobj.cast<PyTx&>() : nullptr; }
  void add(const pyb::object& msg) {
    OutboxMessage m = to_message(msg);
    if (PyTx* t = tx()) {
      t->tx().add_outbox(std::move(m));
    } else {
      engine->engine.push_outbox(std::move(m));
    }
  }
  pyb::list drain() {
    if (PyTx* t = tx()) return to_list(t->tx().take_outbox());
    return to_list(engine->engine.drain_outbox());
  }
  size_t len() const {
    if (PyTx* t = tx()) return t->tx().pending_outbox().size();
    return engine->engine.outbox_size();
  }
};

// ctx.outbox inside a process: appends to the attempt's transaction (or, without a transaction,
// to a private buffer that is never delivered).
struct Outbox {
  pyb::object txobj;
  std::vector<OutboxMessage> private_buffer;
  PyTx* tx() const { return txobj && !txobj.is_none() ? &txobj.cast<PyTx&>() : nullptr; }
  void add(const pyb::object& msg) {
    if (PyTx* t = tx()) {
      t->tx().add_outbox(to_message(msg));
    } else {
      private_buffer.push_back(to_message(msg));
    }
  }
  pyb::list messages() const {
    return to_list(tx() ? tx()->tx().pending_outbox() : private_buffer);
  }
};

pyb::object make_outbox(const pyb::object& txobj) { return pyb::cast(Outbox{txobj, {}}); }

pyb::object engine_outbox(std::shared_ptr<PyEngine> e) {
  return pyb::cast(OutboxCollector{pyb::none(), std::move(e)});
}

// ---- PyTx -----------------------------------------------------------------------------------

PyObject* PyTx::working_copy(const Path& path, const Value& original) {
  for (Shadow& s : shadows) {
    if (s.path == path && s.original.identical(original)) return s.copy.inc_ref().ptr();
  }
  PyObject* copy =
      original.is_foreign() ? deepcopy(foreign_object(original)) : to_python(original, true);
  if (!copy) {
    PyErr_Clear();
    try {
      raise_isolation_failure(std::string(original.type_name()), path.to_string());
    } catch (pyb::error_already_set& e) {
      e.restore();
    }
    return nullptr;
  }
  if (PyObject_HasAttrString(copy, "_lock_manager")) {
    if (PyObject_SetAttrString(copy, "_lock_manager", Py_None) != 0) PyErr_Clear();
  }
  shadows.push_back(Shadow{path, original, pyb::reinterpret_borrow<pyb::object>(copy)});
  return copy;
}

pyb::object PyTx::get_shadow(const pyb::object& val, const std::optional<Path>& p) {
  auto it = shadow_by_original.find(val.ptr());
  if (it != shadow_by_original.end()) return pyb::reinterpret_borrow<pyb::object>(it->second);
  keepalive.push_back(val);
  if (p && resolve_zone(*p) == Zone::kHeavy) {  // zero-copy: the object itself
    shadow_by_original[val.ptr()] = val.ptr();
    return val;
  }
  pyb::object copy = pyb::reinterpret_steal<pyb::object>(deepcopy(val.ptr()));
  if (!copy) {
    PyErr_Clear();
    raise_isolation_failure(Py_TYPE(val.ptr())->tp_name,
                            p ? p->to_string() : std::string("<unknown>"));
  }
  if (PyObject_HasAttrString(copy.ptr(), "_lock_manager") &&
      PyObject_SetAttrString(copy.ptr(), "_lock_manager", Py_None) != 0)
    PyErr_Clear();
  keepalive.push_back(copy);
  shadow_by_original[val.ptr()] = copy.ptr();
  if (p) shadows.push_back(Shadow{*p, to_value(val.ptr(), CopyMode::kCopy), copy});
  return copy;
}

std::vector<Path> PyTx::infer_shadow_deltas() {
  std::vector<Path> changed;
  for (Shadow& s : shadows) {
    if (s.path.empty()) continue;
    Value now;
    bool comparable = true;
    try {
      now = to_value(s.copy.ptr(), CopyMode::kReference);
    } catch (pyb::error_already_set&) {
      PyErr_Clear();
      comparable = false;
    }
    if (comparable && now == s.original) continue;
    // Only if nothing else rewrote the path meanwhile (a later assignment wins over an older copy).
    auto current = tx().find(s.path);
    if (current.is_ok() && *current && !(**current).identical(s.original) &&
        !(**current == s.original))
      continue;
    Value detached = to_value(s.copy.ptr(), CopyMode::kCopy, s.path.to_string().c_str());
    throw_if_error(tx().set(s.path, detached));
    s.original = detached;
    changed.push_back(s.path);
  }
  return changed;
}

std::vector<Path> PyTx::finalize() {
  std::vector<Path> changed = infer_shadow_deltas();
  if (pending_heavy_ && PyDict_GET_SIZE(pending_heavy_.ptr()) > 0) {
    for (auto item : pyb::reinterpret_borrow<pyb::dict>(pending_heavy_)) {
      Value key;
      if (!key_to_value(item.first.ptr(), &key))
        throw pyb::type_error("heavy keys must be strings");
      Path p{Value("heavy"), key};
      throw_if_error(tx().set(p, to_value(item.second.ptr(), CopyMode::kHeavy)));
    }
    PyDict_Clear(pending_heavy_.ptr());
  }
  if (pending_signal_ && PyList_GET_SIZE(pending_signal_.ptr()) > 0) {
    for (auto item : pyb::reinterpret_borrow<pyb::list>(pending_signal_)) {
      Value v = to_value(item.ptr(), CopyMode::kCopy);
      if (v.is_map()) {
        tx().add_signal(v.as_map());
      } else if (v.is_list()) {
        for (const Value& e : v.as_list()) {
          if (!e.is_map())
            throw pyb::type_error("signal entries must be dicts of topic -> payload");
          tx().add_signal(e.as_map());
        }
      } else {
        throw pyb::type_error("signal must be a dict of topic -> payload (or a list of dicts)");
      }
    }
    PyList_SetSlice(pending_signal_.ptr(), 0, PyList_GET_SIZE(pending_signal_.ptr()), nullptr);
  }
  return changed;
}

void PyTx::commit_or_raise() {
  finalize();
  Status st;
  {
    // The core releases the GIL only if it has to wait for the commit lock (blocking hooks).
    st = tx().commit();
  }
  throw_if_error(st);
}

namespace {

// A nested dict of the data writes so far: each written path with its current working value.
pyb::dict pending_data(PyTx& t) {
  Value out = Value(Map());
  for (const WriteRecord& w : t.tx().writes()) {
    if (w.erased || is_heavy_root(w.path) || w.path.empty()) continue;
    auto v = t.tx().find(w.path);
    if (!v.is_ok() || !*v) continue;
    auto next = tree::set(out, w.path, **v);
    if (next.is_ok()) out = std::move(next).value();
  }
  return pyb::reinterpret_steal<pyb::dict>(to_python(out, true));
}

Map to_map(const pyb::handle& obj, const char* error) {
  if (!PyDict_Check(obj.ptr()) && !is_proxy(obj.ptr()) &&
      !PyObject_TypeCheck(obj.ptr(), &FrozenDictType)) {
    PyErr_SetString(exceptions().context_error, error);
    throw pyb::error_already_set();
  }
  Value v = to_value(obj.ptr(), CopyMode::kCopy);
  if (!v.is_map()) {
    PyErr_SetString(exceptions().context_error, error);
    throw pyb::error_already_set();
  }
  return v.as_map();
}

}  // namespace

std::shared_ptr<PyEngine> engine_of(const pyb::object& engine);  // bind_engine.cpp

void init_transaction(pyb::module_& m) {
  pyb::class_<OutboxMsg>(m, "OutboxMsg", "OutboxMsg(topic, payload): a message released on commit.")
      .def(pyb::init([](std::string topic, pyb::object payload) {
             return OutboxMsg{std::move(topic), std::move(payload)};
           }),
           pyb::arg("topic"), pyb::arg("payload"))
      .def_property_readonly("topic", [](const OutboxMsg& m) { return m.topic; })
      .def_property_readonly("payload", [](const OutboxMsg& m) { return m.payload; })
      .def("__repr__", [](const OutboxMsg& m) {
        return "OutboxMsg(topic=" + pyb::repr(pyb::str(m.topic)).cast<std::string>() +
               ", payload=" + pyb::repr(m.payload).cast<std::string>() + ")";
      });

  pyb::class_<Outbox>(m, "Outbox", "The outbox of a running process (ctx.outbox).")
      .def("add", &Outbox::add, pyb::arg("msg"),
           "Queue a message; it leaves only if the commit succeeds.")
      .def_property_readonly("messages", &Outbox::messages);

  pyb::class_<OutboxCollector>(m, "OutboxCollector")
      .def("add", &OutboxCollector::add, pyb::arg("msg"))
      .def("drain", &OutboxCollector::drain, "Remove and return every queued message.")
      .def("len", &OutboxCollector::len);

  pyb::class_<PyTx>(
      m, "Transaction",
      "Transaction(engine=None, write_timeout_ms=5000): an isolated unit of change. "
      "Use as a context manager: a normal exit commits, an exception discards everything.")
      .def(pyb::init([](pyb::object engine, int64_t write_timeout_ms) {
             auto tx = std::make_unique<PyTx>();
             tx->engine = engine.is_none() ? std::make_shared<PyEngine>() : engine_of(engine);
             tx->write_timeout_ms = write_timeout_ms;
             TransactionOptions opts;
             opts.write_timeout = std::chrono::milliseconds(write_timeout_ms);
             tx->core.emplace(tx->engine->engine.transaction(std::move(opts)));
             return tx;
           }),
           pyb::arg("engine") = pyb::none(), pyb::arg("write_timeout_ms") = 5000)
      .def_property_readonly("outbox",
                             [](pyb::object self) {
                               return OutboxCollector{self, nullptr};
                             })
      .def_property_readonly("write_timeout_ms", [](PyTx& t) { return t.write_timeout_ms; })
      .def_property_readonly("pending_data", [](PyTx& t) { return pending_data(t); })
      .def_property_readonly("pending_heavy", [](PyTx& t) { return t.heavy_writes(); })
      .def_property_readonly("pending_signal", [](PyTx& t) { return t.signals(); })
      .def(
          "update",
          [](PyTx& t, pyb::object data, pyb::object heavy, pyb::object signal) {
            if (!data.is_none())
              throw_if_error(t.tx().update(to_map(data, "update data must be a dict")));
            if (!heavy.is_none()) {
              if (!PyDict_Check(heavy.ptr())) {
                PyErr_SetString(exceptions().context_error, "heavy update data must be a dict");
                throw pyb::error_already_set();
              }
              for (auto item : heavy.cast<pyb::dict>()) t.heavy_writes()[item.first] = item.second;
            }
            if (!signal.is_none()) t.signals().append(signal);
          },
          pyb::arg("data") = pyb::none(), pyb::arg("heavy") = pyb::none(),
          pyb::arg("signal") = pyb::none())
      .def(
          "get_shadow",
          [](PyTx& t, pyb::object val, pyb::object path) -> pyb::object {
            std::optional<Path> p;
            if (!path.is_none()) p = parse_path(path.cast<std::string>());
            return t.get_shadow(val, p);
          },
          pyb::arg("val"), pyb::arg("path") = pyb::none())
      .def(
          "log_delta",
          [](PyTx& t, std::string path, pyb::object, pyb::object new_val) {
            Path p = parse_path(path);
            throw_if_error(t.tx().set(
                p, to_value(new_val.ptr(),
                            resolve_zone(p) == Zone::kHeavy ? CopyMode::kHeavy : CopyMode::kCopy)));
          },
          pyb::arg("path"), pyb::arg("old_val") = pyb::none(), pyb::arg("new_val") = pyb::none())
      .def(
          "log_internal", [](PyTx&, pyb::args, pyb::kwargs) {},
          "Accepted for compatibility; records nothing.")
      .def("get_delta_log",
           [](PyTx& t) {
             std::vector<std::string> out;
             for (const Delta& d : t.tx().deltas()) out.push_back(d.path.to_string());
             return out;
           })
      .def("infer_shadow_deltas", [](PyTx& t) { t.infer_shadow_deltas(); })
      .def("build_pending_from_deltas", [](PyTx& t) { return pending_data(t); })
      .def(
          "commit", [](PyTx& t) { t.infer_shadow_deltas(); },
          "Compatibility: folds untracked changes into the log. The commit itself is __exit__.")
      .def("get_shadow_updates",
           [](PyTx& t) {
             pyb::dict out;
             for (const WriteRecord& w : t.tx().writes()) {
               if (w.path.empty()) continue;
               Path root = w.path.prefix(is_heavy_root(w.path) && w.path.size() > 1 ? 2 : 1);
               auto v = t.tx().find(root);
               if (!v.is_ok() || !*v) continue;
               out[pyb::str(root.to_string())] =
                   pyb::reinterpret_steal<pyb::object>(to_python(**v, true));
             }
             return out;
           })
      .def("flush_outbox",
           [](PyTx& t) {
             for (auto& msg : t.tx().take_outbox()) t.engine->engine.push_outbox(std::move(msg));
           })
      .def("is_known_shadow",
           [](PyTx& t, pyb::object obj) { return t.shadow_by_original.count(obj.ptr()) > 0; })
      .def("__enter__",
           [](pyb::object self) {
             PyTx& t = self.cast<PyTx&>();
             t.entered = true;
             if (t.tx().deltas().empty()) throw_if_error(t.tx().begin());
             return self;
           })
      .def(
          "__exit__",
          [](PyTx& t, pyb::object exc_type, pyb::object, pyb::object) {
            if (!exc_type.is_none()) {
              t.tx().abort();
              return false;
            }
            t.commit_or_raise();
            return false;
          },
          pyb::arg("exc_type") = pyb::none(), pyb::arg("_exc_value") = pyb::none(),
          pyb::arg("_traceback") = pyb::none())
      .def("__reduce__",
           [](PyTx&) -> pyb::object {
             throw std::runtime_error(
                 "Transactions cannot be pickled: they are bound to a live engine");
           })
      .def("__deepcopy__", [](PyTx&, pyb::object) -> pyb::object {
        throw std::runtime_error(
            "Transactions cannot be deep-copied: they are bound to a live engine");
      });
}

}  // namespace theus::py

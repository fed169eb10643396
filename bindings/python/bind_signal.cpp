// theus_core.SignalHub / SignalReceiver. Blocking recv() releases the GIL; recv_async() returns an
// asyncio future completed from the event loop through the receiver's eventfd (no thread per call).
#include "theus_py.hpp"

namespace theus::py {

struct PySignalHub {
  SignalHub hub;
};

struct PySignalReceiver {
  std::shared_ptr<SignalReceiver> rx;
};

namespace {

// The Python exception for a receive error (kLagged -> RuntimeError, kClosed -> StopAsyncIteration).
pyb::object error_object(const Status& st) {
  PyObject* cls = st.code() == ErrorCode::kClosed ? PyExc_StopAsyncIteration : PyExc_RuntimeError;
  return pyb::reinterpret_borrow<pyb::object>(cls)(st.message());
}

[[noreturn]] void raise(const Status& st) {
  PyObject* cls = st.code() == ErrorCode::kClosed ? PyExc_StopAsyncIteration : PyExc_RuntimeError;
  PyErr_SetString(cls, st.message().c_str());
  throw pyb::error_already_set();
}

// Completes `fut` from a receive result; false when nothing was pending.
bool settle(pyb::object& fut, Result<std::optional<std::string>> r) {
  if (pyb::bool_(fut.attr("done")())) return true;
  if (!r.is_ok()) {
    fut.attr("set_exception")(error_object(r.status()));
    return true;
  }
  if (!*r) return false;
  fut.attr("set_result")(pyb::str(**r));
  return true;
}

pyb::object recv_async(PySignalReceiver& self) {
  pyb::module_ asyncio = pyb::module_::import("asyncio");
  pyb::object loop = asyncio.attr("get_running_loop")();
  pyb::object fut = loop.attr("create_future")();
  std::shared_ptr<SignalReceiver> rx = self.rx;
  int fd = rx->wakeup_fd();  // before try_recv: a publish in between still wakes the reader
  if (settle(fut, rx->try_recv())) return fut;
  if (fd < 0) throw std::runtime_error("SignalReceiver: no wake-up descriptor available");
  auto on_ready = pyb::cpp_function([rx, fut, loop, fd]() mutable {
    rx->drain_wakeup();
    if (settle(fut, rx->try_recv())) loop.attr("remove_reader")(fd);
  });
  loop.attr("add_reader")(fd, on_ready);
  // Cancellation (or completion) stops watching the descriptor.
  fut.attr("add_done_callback")(pyb::cpp_function([loop, fd](pyb::object) { loop.attr("remove_reader")(fd); }));
  return fut;
}

}  // namespace

pyb::object signal_hub_new() { return pyb::cast(PySignalHub{SignalHub()}); }
bool is_signal_hub(PyObject* obj) { return pyb::isinstance<PySignalHub>(pyb::handle(obj)); }
pyb::object engine_hub(PyEngine& e) { return pyb::cast(PySignalHub{e.engine.signal_hub()}); }

void init_signal(pyb::module_& m) {
  pyb::class_<PySignalReceiver>(m, "SignalReceiver", "Receives every message published after subscribe().")
      .def(
          "recv",
          [](PySignalReceiver& r) {
            Result<std::string> got = Status(ErrorCode::kInternal, "unset");
            {
              pyb::gil_scoped_release release;
              got = r.rx->recv();
            }
            if (!got.is_ok()) raise(got.status());
            return *got;
          },
          "Block until a message arrives (the GIL is released while waiting).")
      .def(
          "try_recv",
          [](PySignalReceiver& r) -> pyb::object {
            auto got = r.rx->try_recv();
            if (!got.is_ok()) raise(got.status());
            if (!*got) return pyb::none();
            return pyb::str(**got);
          },
          "The next message, or None when nothing is pending.")
      .def("recv_async", &recv_async, "Await the next message on the running asyncio loop (cancellable).");

  pyb::class_<PySignalHub>(m, "SignalHub", "A broadcast channel of string events (receivers lag by at most 128).")
      .def(pyb::init([] { return PySignalHub{SignalHub()}; }))
      .def(
          "publish",
          [](PySignalHub& h, pyb::object msg) {
            if (!PyUnicode_Check(msg.ptr()))
              throw pyb::type_error(std::string("publish() expects a str, got ") + Py_TYPE(msg.ptr())->tp_name);
            return h.hub.publish(msg.cast<std::string>());
          },
          pyb::arg("msg"), "Broadcast a message; returns the number of live receivers.")
      .def("subscribe", [](PySignalHub& h) { return PySignalReceiver{std::make_shared<SignalReceiver>(h.hub.subscribe())}; })
      .def_property_readonly("receiver_count", [](PySignalHub& h) { return h.hub.receiver_count(); });
}

}  // namespace theus::py

// theus_core.SignalHub / SignalReceiver, as plain CPython types: these are hot paths, so they skip
// pybind11's dispatch. publish() copies the str's UTF-8 buffer; receives build the str from the
// message bytes. recv() releases the GIL only when it has to wait. recv_async() returns an
// already-completed future when a message is pending; otherwise the future joins the receiver's
// FIFO of waiters and is settled on its loop: by publish() itself when it runs on that loop's
// thread, else by the loop's reader on the receiver's eventfd (publishes from other threads or
// from C++ commits). No thread per wait; no wake-up per publish unless a waiter is armed.
// Thread-safety: everything here runs with the GIL held (recv() drops it only around the core
// wait), which also guards the waiter queues and the table of attached receivers.
#include <algorithm>
#include <new>
#include <unordered_map>
#include <vector>

#include "theus_py.hpp"

namespace theus::py {

namespace {

// Interned names and functions used on every call (created once, deliberately never freed).
struct Names {
  PyObject* get_running_loop;   // asyncio.get_running_loop (raises without a running loop)
  PyObject* peek_running_loop;  // asyncio._get_running_loop (None without one)
  PyObject* create_future;
  PyObject* set_result;
  PyObject* set_exception;
  PyObject* done;
  PyObject* add_reader;
  PyObject* remove_reader;
  PyObject* is_closed;
  PyObject* future_type;         // asyncio.Future
  PyObject* base_create_future;  // asyncio.BaseEventLoop.create_future
  PyObject* loop_kwname;         // ("loop",)
};
Names names;

struct HubObject {
  PyObject_HEAD SignalHub hub;
};

// Once a recv_async() had to wait, the receiver stays attached to that loop: the loop's reader
// watches rx.wakeup_fd() through a weak reference (so it neither keeps the receiver alive nor
// costs an add_reader/remove_reader pair per wait) until the receiver dies or moves to another
// loop. Invariant: waiters are pending only while `loop` is set.
struct ReceiverObject {
  PyObject_HEAD PyObject* weakrefs;
  SignalReceiver rx;
  std::vector<pyb::object> waiters;  // futures, served in FIFO order; done ones pruned lazily
  pyb::object loop;                  // the attached loop, or empty
};

PyTypeObject HubType = {PyVarObject_HEAD_INIT(nullptr, 0)};
PyTypeObject ReceiverType = {PyVarObject_HEAD_INIT(nullptr, 0)};

HubObject* as_hub(PyObject* o) { return reinterpret_cast<HubObject*>(o); }
ReceiverObject* as_rx(PyObject* o) { return reinterpret_cast<ReceiverObject*>(o); }

// Receivers attached to an event loop, by channel. publish() from a thread running one of those
// loops settles their waiters itself: one loop iteration per message instead of an eventfd
// write, a selector wake-up and a read.
std::unordered_map<const void*, std::vector<ReceiverObject*>> attached;

// Runs `body` (returning a pyb::object) as the body of a CPython function: exceptions become the
// Python error and nullptr.
template <class F>
PyObject* guarded(F&& body) noexcept {
  try {
    return body().release().ptr();
  } catch (pyb::error_already_set& e) {
    e.restore();
  } catch (const pyb::builtin_exception& e) {
    e.set_error();
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

pyb::object steal_or_throw(PyObject* o) {
  if (!o) throw pyb::error_already_set();
  return pyb::reinterpret_steal<pyb::object>(o);
}

pyb::object call_method(pyb::handle obj, PyObject* name) {
  return steal_or_throw(PyObject_CallMethodNoArgs(obj.ptr(), name));
}
pyb::object call_method(pyb::handle obj, PyObject* name, pyb::handle arg) {
  return steal_or_throw(PyObject_CallMethodOneArg(obj.ptr(), name, arg.ptr()));
}

// A str from message bytes. Messages published from Python are valid UTF-8; bytes from a C++
// publisher that are not decode with surrogateescape rather than lose the (consumed) message.
pyb::object to_str(const std::string& s) {
  return steal_or_throw(
      PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "surrogateescape"));
}

// The Python exception for a receive error (kLagged -> RuntimeError, kClosed ->
// StopAsyncIteration).
PyObject* error_class(const Status& st) {
  return st.code() == ErrorCode::kClosed ? PyExc_StopAsyncIteration : PyExc_RuntimeError;
}

// The value of a receive result, None when nothing was pending; throws on receive errors.
pyb::object value_or_none(Result<std::optional<std::string>>& r) {
  if (!r.is_ok()) {
    PyErr_SetString(error_class(r.status()), r.status().message().c_str());
    throw pyb::error_already_set();
  }
  if (!*r) return pyb::none();
  return to_str(**r);
}

// Completes `fut` from a receive result; false (and `fut` untouched) when nothing was pending.
bool settle(pyb::handle fut, Result<std::optional<std::string>>& r) {
  if (!r.is_ok()) {
    pyb::object exc = steal_or_throw(
        PyObject_CallOneArg(error_class(r.status()), pyb::str(r.status().message()).ptr()));
    call_method(fut, names.set_exception, exc);
    return true;
  }
  if (!*r) return false;
  call_method(fut, names.set_result, to_str(**r));
  return true;
}

// loop.create_future(), calling asyncio.Future(loop=loop) directly (it skips a Python frame) when
// the loop's class keeps the standard create_future.
pyb::object new_future(pyb::handle loop) {
  static PyTypeObject* last_type = nullptr;  // strong reference
  static bool standard = false;
  PyTypeObject* type = Py_TYPE(loop.ptr());
  if (type != last_type) {
    Py_INCREF(type);
    Py_XDECREF(last_type);
    last_type = type;
    standard = _PyType_Lookup(type, names.create_future) == names.base_create_future;
  }
  if (!standard) return call_method(loop, names.create_future);
  PyObject* args[] = {loop.ptr()};
  return steal_or_throw(PyObject_Vectorcall(names.future_type, args, 0, names.loop_kwname));
}

bool is_done(pyb::handle fut) { return call_method(fut, names.done).ptr() == Py_True; }

void prune(ReceiverObject* self) {
  std::erase_if(self->waiters, [](const pyb::object& f) { return is_done(f); });
}

// Hands pending messages to the waiters in order; re-arms while a waiter is left.
void serve(ReceiverObject* self) {
  auto& waiters = self->waiters;
  size_t served = 0;
  while (served < waiters.size()) {
    pyb::handle fut = waiters[served];
    if (is_done(fut)) {  // cancelled or timed out
      ++served;
      continue;
    }
    auto r = self->rx.try_recv_or_arm();
    if (r.is_ok() && !*r) break;  // armed: the next publish wakes us again
    ++served;
    settle(fut, r);
  }
  waiters.erase(waiters.begin(), waiters.begin() + static_cast<ptrdiff_t>(served));
  if (waiters.empty()) self->rx.disarm();  // an arm left by waiters cancelled since
}

void attach(ReceiverObject* self, pyb::handle loop) {
  int fd = self->rx.wakeup_fd();
  if (fd < 0) throw std::runtime_error("SignalReceiver: no wake-up descriptor available");
  auto waker = pyb::cpp_function([weak = pyb::weakref(reinterpret_cast<PyObject*>(self))]() {
    pyb::object obj = weak();
    if (obj.is_none()) return;
    ReceiverObject* r = as_rx(obj.ptr());
    r->rx.drain_wakeup();
    serve(r);
  });
  pyb::int_ fd_obj(fd);
  steal_or_throw(
      PyObject_CallMethodObjArgs(loop.ptr(), names.add_reader, fd_obj.ptr(), waker.ptr(), nullptr));
  self->loop = pyb::reinterpret_borrow<pyb::object>(loop);
  attached[self->rx.channel_id()].push_back(self);
}

// Stops watching the descriptor (remove_reader is skipped on a closed loop). Never throws: it
// runs from dealloc and tp_clear; errors are dropped and a pending exception is preserved.
void detach(ReceiverObject* self) noexcept {
  if (!self->loop) return;  // never attached: nothing armed, nothing registered
  self->rx.disarm();
  if (auto it = attached.find(self->rx.channel_id()); it != attached.end()) {
    std::erase(it->second, self);
    if (it->second.empty()) attached.erase(it);
  }
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyObject* loop = self->loop.release().ptr();
  PyObject* closed = PyObject_CallMethodNoArgs(loop, names.is_closed);
  if (closed == Py_False) {
    PyObject* fd = PyLong_FromLong(self->rx.wakeup_fd());
    PyObject* removed = fd ? PyObject_CallMethodOneArg(loop, names.remove_reader, fd) : nullptr;
    Py_XDECREF(removed);
    Py_XDECREF(fd);
  }
  Py_XDECREF(closed);
  Py_DECREF(loop);
  PyErr_Clear();
  PyErr_Restore(type, value, tb);
}

// ---- SignalReceiver ---------------------------------------------------------------------------

PyObject* rx_recv(PyObject* o, PyObject*) {
  return guarded([&] {
    ReceiverObject* self = as_rx(o);
    auto now = self->rx.try_recv();  // a pending message needs no GIL round-trip
    if (!now.is_ok() || *now) return value_or_none(now);
    std::optional<Result<std::string>> got;
    {
      pyb::gil_scoped_release release;
      got.emplace(self->rx.recv());
    }
    if (!got->is_ok()) {
      PyErr_SetString(error_class(got->status()), got->status().message().c_str());
      throw pyb::error_already_set();
    }
    return to_str(**got);
  });
}

PyObject* rx_try_recv(PyObject* o, PyObject*) {
  return guarded([&] {
    auto r = as_rx(o)->rx.try_recv();
    return value_or_none(r);
  });
}

PyObject* rx_recv_async(PyObject* o, PyObject*) {
  return guarded([&] {
    ReceiverObject* self = as_rx(o);
    pyb::object loop = steal_or_throw(PyObject_CallNoArgs(names.get_running_loop));
    pyb::object fut = new_future(loop);
    if (!self->waiters.empty()) prune(self);
    if (self->loop && !self->loop.is(loop)) {  // moving to another loop
      if (!self->waiters.empty()) {
        if (call_method(self->loop, names.is_closed).ptr() != Py_True)
          throw std::runtime_error("SignalReceiver: recv_async() already pending on another loop");
        self->waiters.clear();  // their loop is gone: nobody can await them any more
      }
      detach(self);
    }
    if (self->waiters.empty()) {
      // Take a pending message, or arm in the same critical section (a concurrent publish then
      // signals the descriptor, so it is never missed).
      auto r = self->rx.try_recv_or_arm();
      if (settle(fut, r)) return fut;
      if (!self->loop) {
        try {
          attach(self, loop);
        } catch (...) {
          self->rx.disarm();
          throw;
        }
      }
    }
    // Earlier waiters are served first; ours is settled by serve() or cancelled by the caller.
    self->waiters.push_back(fut);
    return fut;
  });
}

int rx_traverse(PyObject* o, visitproc visit, void* arg) {
  ReceiverObject* self = as_rx(o);
  // A pending future can lead back here (future -> awaiting task -> frame -> receiver).
  for (const pyb::object& f : self->waiters) Py_VISIT(f.ptr());
  Py_VISIT(self->loop.ptr());
  return 0;
}

int rx_clear(PyObject* o) {
  ReceiverObject* self = as_rx(o);
  detach(self);
  std::vector<pyb::object> waiters = std::exchange(self->waiters, {});
  return 0;  // the futures are released here, once the receiver no longer refers to them
}

void rx_dealloc(PyObject* o) {
  ReceiverObject* self = as_rx(o);
  PyObject_GC_UnTrack(o);
  if (self->weakrefs) PyObject_ClearWeakRefs(o);
  detach(self);
  self->waiters.~vector();
  self->loop.~object();
  self->rx.~SignalReceiver();  // unsubscribes: no longer counted by publish()
  PyObject_GC_Del(o);
}

PyMethodDef rx_methods[] = {
    {"recv", rx_recv, METH_NOARGS,
     "recv() -> str: block until a message arrives (the GIL is released while waiting)."},
    {"try_recv", rx_try_recv, METH_NOARGS,
     "try_recv() -> str | None: the next message, or None when nothing is pending."},
    {"recv_async", rx_recv_async, METH_NOARGS,
     "recv_async() -> awaitable[str]: the next message, on the running asyncio loop "
     "(cancellable; works with asyncio.wait_for)."},
    {nullptr, nullptr, 0, nullptr}};

// ---- SignalHub --------------------------------------------------------------------------------

// Publishes; when receivers of this channel are attached to the loop running in this thread,
// settles their waiters right away (they are disarmed first: no descriptor write needed).
size_t publish_and_serve(SignalHub& hub, std::string message) {
  auto it = attached.find(hub.channel_id());
  if (it == attached.end()) return hub.publish(std::move(message));
  auto waiting = [](const ReceiverObject* r) { return !r->waiters.empty(); };
  if (std::none_of(it->second.begin(), it->second.end(), waiting))
    return hub.publish(std::move(message));
  pyb::object running = steal_or_throw(PyObject_CallNoArgs(names.peek_running_loop));
  std::vector<pyb::object> local;  // strong references: serve() runs Python code
  for (ReceiverObject* r : it->second) {
    if (r->loop.is(running) && waiting(r)) {
      r->rx.disarm();
      local.push_back(pyb::reinterpret_borrow<pyb::object>(reinterpret_cast<PyObject*>(r)));
    }
  }
  size_t live = hub.publish(std::move(message));
  for (const pyb::object& r : local) serve(as_rx(r.ptr()));
  return live;
}

PyObject* hub_publish(PyObject* o, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* msg = nullptr;
  if (!kwnames && nargs == 1) {
    msg = args[0];
  } else if (nargs == 0 && kwnames && PyTuple_GET_SIZE(kwnames) == 1 &&
             PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "msg") == 0) {
    msg = args[0];
  } else {
    PyErr_SetString(PyExc_TypeError, "publish(msg) takes exactly one argument");
    return nullptr;
  }
  if (!PyUnicode_Check(msg)) {
    PyErr_Format(PyExc_TypeError, "publish() expects a str, got %s", Py_TYPE(msg)->tp_name);
    return nullptr;
  }
  Py_ssize_t size;
  const char* data = PyUnicode_AsUTF8AndSize(msg, &size);  // fails on a lone surrogate
  if (!data) return nullptr;
  return guarded([&] {
    std::string message(data, static_cast<size_t>(size));
    SignalHub& hub = as_hub(o)->hub;
    size_t live = attached.empty() ? hub.publish(std::move(message))
                                   : publish_and_serve(hub, std::move(message));
    return steal_or_throw(PyLong_FromSize_t(live));
  });
}

PyObject* hub_subscribe(PyObject* o, PyObject*) {
  return guarded([&] {
    SignalReceiver rx = as_hub(o)->hub.subscribe();
    ReceiverObject* r = PyObject_GC_New(ReceiverObject, &ReceiverType);
    if (!r) throw pyb::error_already_set();
    r->weakrefs = nullptr;
    new (&r->rx) SignalReceiver(std::move(rx));
    new (&r->waiters) std::vector<pyb::object>();
    new (&r->loop) pyb::object();
    PyObject_GC_Track(r);
    return pyb::reinterpret_steal<pyb::object>(reinterpret_cast<PyObject*>(r));
  });
}

PyObject* hub_receiver_count(PyObject* o, void*) {
  return PyLong_FromSize_t(as_hub(o)->hub.receiver_count());
}

PyObject* make_hub(PyTypeObject* type, const SignalHub* share) {
  PyObject* o = type->tp_alloc(type, 0);
  if (!o) return nullptr;
  try {
    if (share)
      new (&as_hub(o)->hub) SignalHub(*share);
    else
      new (&as_hub(o)->hub) SignalHub();
  } catch (const std::bad_alloc&) {
    Py_TYPE(o)->tp_free(o);
    return PyErr_NoMemory();
  }
  return o;
}

PyObject* hub_new(PyTypeObject* type, PyObject* args, PyObject* kwds) {
  if (PyTuple_GET_SIZE(args) != 0 || (kwds && PyDict_GET_SIZE(kwds) != 0)) {
    PyErr_SetString(PyExc_TypeError, "SignalHub() takes no arguments");
    return nullptr;
  }
  return make_hub(type, nullptr);
}

void hub_dealloc(PyObject* o) {
  as_hub(o)->hub.~SignalHub();  // the last handle closes the channel
  Py_TYPE(o)->tp_free(o);
}

PyMethodDef hub_methods[] = {
    {"publish", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(hub_publish)),
     METH_FASTCALL | METH_KEYWORDS,
     "publish(msg: str) -> int: broadcast a message; returns the number of live receivers."},
    {"subscribe", hub_subscribe, METH_NOARGS,
     "subscribe() -> SignalReceiver: a receiver of every message published from now on."},
    {nullptr, nullptr, 0, nullptr}};

PyGetSetDef hub_getset[] = {
    {"receiver_count", hub_receiver_count, nullptr, "Number of live receivers.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

}  // namespace

pyb::object signal_hub_new() { return steal_or_throw(make_hub(&HubType, nullptr)); }
bool is_signal_hub(PyObject* obj) { return PyObject_TypeCheck(obj, &HubType); }
pyb::object engine_hub(PyEngine& e) {
  return steal_or_throw(make_hub(&HubType, &e.engine.signal_hub()));
}

void init_signal(pyb::module_& m) {
  pyb::module_ asyncio = pyb::module_::import("asyncio");
  auto intern = [](const char* s) { return PyUnicode_InternFromString(s); };
  names = Names{
      pyb::object(asyncio.attr("get_running_loop")).release().ptr(),
      pyb::object(asyncio.attr("_get_running_loop")).release().ptr(),
      intern("create_future"),
      intern("set_result"),
      intern("set_exception"),
      intern("done"),
      intern("add_reader"),
      intern("remove_reader"),
      intern("is_closed"),
      pyb::object(asyncio.attr("Future")).release().ptr(),
      nullptr,
      pyb::make_tuple("loop").release().ptr(),
  };
  // The plain function object as found in the class dict (what _PyType_Lookup returns).
  names.base_create_future =
      pyb::object(asyncio.attr("BaseEventLoop").attr("__dict__")["create_future"]).release().ptr();

  ReceiverType.tp_name = "theus_core.SignalReceiver";
  ReceiverType.tp_basicsize = sizeof(ReceiverObject);
  ReceiverType.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
  ReceiverType.tp_doc =
      "Receives every message published after SignalHub.subscribe(); dropping it unsubscribes.";
  ReceiverType.tp_weaklistoffset = offsetof(ReceiverObject, weakrefs);
  ReceiverType.tp_dealloc = rx_dealloc;
  ReceiverType.tp_traverse = rx_traverse;
  ReceiverType.tp_clear = rx_clear;
  ReceiverType.tp_methods = rx_methods;  // no tp_new: no public constructor
  if (PyType_Ready(&ReceiverType) < 0) throw pyb::error_already_set();
  m.add_object("SignalReceiver", reinterpret_cast<PyObject*>(&ReceiverType));

  HubType.tp_name = "theus_core.SignalHub";
  HubType.tp_basicsize = sizeof(HubObject);
  HubType.tp_flags = Py_TPFLAGS_DEFAULT;
  HubType.tp_doc =
      "SignalHub(): a broadcast channel of string events; each receiver may lag by at most 128 "
      "messages.";
  HubType.tp_new = hub_new;
  HubType.tp_dealloc = hub_dealloc;
  HubType.tp_methods = hub_methods;
  HubType.tp_getset = hub_getset;
  if (PyType_Ready(&HubType) < 0) throw pyb::error_already_set();
  m.add_object("SignalHub", reinterpret_cast<PyObject*>(&HubType));
}

}  // namespace theus::py

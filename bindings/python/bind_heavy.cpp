// theus_core.shm: shared-memory segments exporting the buffer protocol (SharedSegment), the
// segment registry with its zombie scan (MemoryRegistry), BufferDescriptor, and process identity
// helpers. File and /proc work runs with the GIL released.
#include <pybind11/stl.h>
#include <unistd.h>

#include <cstdlib>

#include "theus/heavy/memory_registry.hpp"
#include "theus/heavy/process_identity.hpp"
#include "theus/heavy/shm_segment.hpp"
#include "theus_py.hpp"

namespace theus::py {

namespace {

constexpr const char* kRegistryFile = ".theus_memory_registry.jsonl";

// Python exception for a shared-memory error: missing -> FileNotFoundError, existing ->
// FileExistsError, bad argument -> ValueError, anything else -> OSError.
[[noreturn]] void raise_shm_error(const Status& st) {
  PyObject* type = PyExc_OSError;
  if (st.code() == ErrorCode::kNotFound) type = PyExc_FileNotFoundError;
  if (st.code() == ErrorCode::kFailedPrecondition &&
      st.message().find("already exists") != std::string::npos)
    type = PyExc_FileExistsError;
  if (st.code() == ErrorCode::kInvalidArgument) type = PyExc_ValueError;
  PyErr_SetString(type, st.message().c_str());
  throw pyb::error_already_set();
}

template <class T>
T shm_unwrap(Result<T> r) {
  if (!r.is_ok()) raise_shm_error(r.status());
  return std::move(r).value();
}

// A mapped segment seen from Python. Buffers exported to numpy / memoryview are counted: close()
// only marks the handle closed while buffers are alive, and the last release unmaps.
struct PySegment {
  ShmSegment seg;
  std::string name;
  size_t size = 0;
  int64_t creator_pid = 0;  // pid that created the segment through this handle; 0 when attached
  bool closed = false;
  Py_ssize_t exports = 0;

  void unmap_if_unused() {
    if (closed && exports == 0) seg.close();
  }
  void check_open() const {
    if (closed) {
      PyErr_Format(PyExc_ValueError, "shared-memory segment '%s' is closed", name.c_str());
      throw pyb::error_already_set();
    }
  }
};

PySegment* segment_of(PyObject* self) {
  try {
    return &pyb::cast<PySegment&>(pyb::handle(self));
  } catch (const std::exception&) {
    PyErr_SetString(PyExc_TypeError, "not a theus_core.shm.SharedSegment");
    return nullptr;
  }
}

int segment_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  view->obj = nullptr;
  PySegment* s = segment_of(self);
  if (s == nullptr) return -1;
  if (s->closed || !s->seg.mapped()) {
    PyErr_Format(PyExc_ValueError, "shared-memory segment '%s' is closed", s->name.c_str());
    return -1;
  }
  if (PyBuffer_FillInfo(view, self, s->seg.data(), static_cast<Py_ssize_t>(s->seg.size()),
                        s->seg.writable() ? 0 : 1, flags) < 0)
    return -1;
  ++s->exports;
  return 0;
}

void segment_releasebuffer(PyObject* self, Py_buffer*) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);  // release must not disturb a pending exception
  if (PySegment* s = segment_of(self)) {
    --s->exports;
    s->unmap_if_unused();
  }
  PyErr_Clear();
  PyErr_Restore(type, value, tb);
}

std::string segment_repr(const PySegment& s) {
  std::string out = "<SharedSegment name='" + s.name + "' size=" + std::to_string(s.size);
  if (s.creator_pid != 0) out += " owner_pid=" + std::to_string(s.creator_pid);
  if (s.closed) out += " closed";
  return out + ">";
}

// Registry path: the argument, else $THEUS_REGISTRY_FILE, else the file in the working directory.
std::string registry_path(const std::optional<std::string>& path) {
  if (path && !path->empty()) return *path;
  const char* env = std::getenv("THEUS_REGISTRY_FILE");
  return env && *env ? env : kRegistryFile;
}

// Informational lines of a scan, on sys.stderr.
void report_scan(const ScanReport& r) {
  if (r.lines_read == 0) return;
  if (r.dropped() == 0) {
    PySys_WriteStderr("[TheusCore] Registry GC: No cleanup needed. All records alive?\n");
    return;
  }
  PySys_WriteStderr(
      "[TheusCore] Registry GC: %zu lines read, %zu kept (%zu dropped). Rewriting...\n",
      r.lines_read, r.kept, r.dropped());
  PySys_WriteStderr("[TheusCore] Cleanup SUCCESS. File rewritten.\n");
}

std::vector<std::string> scan(MemoryRegistry& reg) {
  Result<ScanReport> r = ScanReport{};
  {
    pyb::gil_scoped_release nogil;
    r = reg.scan_zombies();
  }
  ScanReport report = shm_unwrap(std::move(r));
  report_scan(report);
  return report.reclaimed;
}

void run_released(const std::function<Status()>& fn) {
  Status st;
  {
    pyb::gil_scoped_release nogil;
    st = fn();
  }
  if (!st.is_ok()) raise_shm_error(st);
}

struct BufferDescriptor {
  std::string name;
  int64_t size;
  std::vector<int64_t> shape;
  std::string dtype;
};

void bind_segment(pyb::module_& shm) {
  auto cls = pyb::class_<PySegment>(
      shm, "SharedSegment", pyb::buffer_protocol(),
      "A POSIX shared-memory segment mapped into this process; exports the (writable) buffer "
      "protocol, so numpy.frombuffer / numpy.ndarray(buffer=...) view it without copying. Names "
      "match multiprocessing.shared_memory ('x' is the object '/x').");
  auto* heap = reinterpret_cast<PyHeapTypeObject*>(cls.ptr());
  heap->as_buffer.bf_getbuffer = segment_getbuffer;
  heap->as_buffer.bf_releasebuffer = segment_releasebuffer;
  cls.def_static(
         "create",
         [](const std::string& name, size_t size) {
           auto seg = shm_unwrap(ShmSegment::create(name, size));
           auto out = std::make_unique<PySegment>();
           out->name = seg.name();
           out->size = seg.size();
           out->creator_pid = ::getpid();
           out->seg = std::move(seg);
           return out;
         },
         pyb::arg("name"), pyb::arg("size"),
         "Create a zero-filled segment. FileExistsError when the name is taken.")
      .def_static(
          "attach",
          [](const std::string& name, bool writable) {
            auto seg = shm_unwrap(ShmSegment::attach(name, writable));
            auto out = std::make_unique<PySegment>();
            out->name = seg.name();
            out->size = seg.size();
            out->seg = std::move(seg);
            return out;
          },
          pyb::arg("name"), pyb::arg("writable") = true,
          "Map an existing segment. FileNotFoundError when there is none of that name.")
      .def_property_readonly("name", [](const PySegment& s) { return s.name; })
      .def_property_readonly("size", [](const PySegment& s) { return s.size; })
      .def_property_readonly("closed", [](const PySegment& s) { return s.closed; })
      .def_property_readonly("writable", [](const PySegment& s) { return s.seg.writable(); })
      .def_property_readonly(
          "exports", [](const PySegment& s) { return s.exports; },
          "Number of buffers (arrays, memoryviews) currently exported.")
      .def_property_readonly(
          "owner",
          [](const PySegment& s) { return s.creator_pid != 0 && s.creator_pid == ::getpid(); },
          "True when this process created the segment through this handle (fork-aware).")
      .def_property_readonly(
          "address",
          [](const PySegment& s) {
            s.check_open();
            return reinterpret_cast<uintptr_t>(s.seg.data());
          },
          "Address of the first byte of the mapping in this process.")
      .def_property_readonly(
          "buf",
          [](pyb::object self) {
            return pyb::reinterpret_steal<pyb::object>(PyMemoryView_FromObject(self.ptr()));
          },
          "A new memoryview of the whole segment.")
      .def(
          "close",
          [](PySegment& s) {
            s.closed = true;
            s.unmap_if_unused();
          },
          "Stop using the mapping (unmapped once no exported buffer is alive). Idempotent.")
      .def(
          "unlink", [](PySegment& s) { run_released([&] { return ShmSegment::unlink(s.name); }); },
          "Remove the segment's name. FileNotFoundError when it is already gone.")
      .def("__enter__", [](pyb::object self) { return self; })
      .def("__exit__",
           [](PySegment& s, pyb::args) {
             s.closed = true;
             s.unmap_if_unused();
             return false;
           })
      .def("__repr__", &segment_repr);
}

void bind_registry(pyb::module_& shm) {
  pyb::class_<MemoryRegistry>(
      shm, "MemoryRegistry",
      "MemoryRegistry(session_id, path=None, scan=True): the registry of shared-memory segments "
      "and their creators (pid + start time). The file is `path`, else $THEUS_REGISTRY_FILE, else "
      ".theus_memory_registry.jsonl in the working directory. Construction runs scan_zombies() "
      "unless scan=False.")
      .def(pyb::init([](std::string session, std::optional<std::string> path, bool do_scan) {
             auto reg = std::make_unique<MemoryRegistry>(
                 std::move(session), MemoryRegistry::Options{registry_path(path)});
             if (do_scan) scan(*reg);
             return reg;
           }),
           pyb::arg("session_id"), pyb::arg("path") = pyb::none(), pyb::arg("scan") = true)
      .def(
          "log_allocation",
          [](MemoryRegistry& r, const std::string& name, uint64_t size) {
            run_released([&] { return r.log_allocation(name, size); });
          },
          pyb::arg("name"), pyb::arg("size"),
          "Remember `name -> size` and append a record owned by this process.")
      .def("scan_zombies", &scan,
           "Unlink the segments of records whose creator died (pid gone, or reused by a process "
           "with another start time) and drop those records and unparsable lines. Returns the "
           "reclaimed segment names.")
      .def(
          "cleanup", [](MemoryRegistry& r) { run_released([&] { return r.cleanup(); }); },
          "Unlink every segment this registry logged from this process and drop their records.")
      .def(
          "records",
          [](const MemoryRegistry& r) {
            Result<std::vector<RegistryRecord>> recs = std::vector<RegistryRecord>{};
            {
              pyb::gil_scoped_release nogil;
              recs = r.records();
            }
            pyb::list out;
            for (const auto& rec : shm_unwrap(std::move(recs))) {
              pyb::dict d;
              d["name"] = rec.name;
              d["pid"] = rec.pid;
              d["session"] = rec.session;
              d["size"] = rec.size;
              d["ts"] = rec.ts;
              d["start"] = rec.start_time;
              out.append(d);
            }
            return out;
          },
          "Every parsable record in the file, as dicts.")
      .def_property_readonly("session_id", &MemoryRegistry::session_id)
      .def_property_readonly("path", &MemoryRegistry::path)
      .def_property_readonly("allocations",
                             [](const MemoryRegistry& r) {
                               pyb::dict d;
                               for (const auto& [name, size] : r.allocations())
                                 d[pyb::str(name)] = size;
                               return d;
                             })
      .def("__repr__", [](const MemoryRegistry& r) {
        return "<MemoryRegistry session='" + r.session_id() + "' path='" + r.path() +
               "' allocations=" + std::to_string(r.allocations().size()) + ">";
      });
}

}  // namespace

void init_heavy(pyb::module_& m) {
  pyb::module_ shm =
      m.def_submodule("shm", "Shared-memory segments, descriptors and the registry.");
  pyb::class_<BufferDescriptor>(shm, "BufferDescriptor", "A shared-memory array descriptor.")
      .def(pyb::init(
               [](std::string name, int64_t size, std::vector<int64_t> shape, std::string dtype) {
                 return BufferDescriptor{std::move(name), size, std::move(shape), std::move(dtype)};
               }),
           pyb::arg("name"), pyb::arg("size"), pyb::arg("shape"), pyb::arg("dtype"))
      .def_readonly("name", &BufferDescriptor::name)
      .def_readonly("size", &BufferDescriptor::size)
      .def_readonly("shape", &BufferDescriptor::shape)
      .def_readonly("dtype", &BufferDescriptor::dtype)
      .def("__repr__", [](const BufferDescriptor& b) {
        std::string shape = "[";
        for (size_t i = 0; i < b.shape.size(); ++i)
          shape += (i ? ", " : "") + std::to_string(b.shape[i]);
        shape += "]";
        return "<BufferDescriptor name='" + b.name + "' size=" + std::to_string(b.size) +
               " shape=" + shape + " dtype='" + b.dtype + "'>";
      });
  bind_segment(shm);
  bind_registry(shm);
  shm.attr("REGISTRY_FILE") = kRegistryFile;
  shm.def(
      "unlink",
      [](const std::string& name) {
        Status st = ShmSegment::unlink(name);
        if (st.code() == ErrorCode::kNotFound) return false;
        if (!st.is_ok()) raise_shm_error(st);
        return true;
      },
      pyb::arg("name"), "Remove a segment's name; False when there was none.");
  shm.def("exists", &ShmSegment::exists, pyb::arg("name"),
          "True when a segment of that name exists.");
  shm.def(
      "process_start_time",
      [](int64_t pid) -> std::optional<uint64_t> {
        auto id = ProcessIdentity::of(pid);
        if (!id) return std::nullopt;
        return id->start_time;
      },
      pyb::arg("pid"),
      "Start time (clock ticks after boot) of the live process `pid`, or None when there is none.");
  shm.def(
      "process_alive",
      [](int64_t pid, uint64_t start_time) {
        return ProcessIdentity{pid, start_time}.alive();
      },
      pyb::arg("pid"), pyb::arg("start_time") = 0,
      "True when `pid` runs and, if start_time is given, started at that time.");
}

}  // namespace theus::py

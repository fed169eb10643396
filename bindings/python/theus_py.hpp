// Internal declarations shared by the theus_core binding files: exceptions, Status -> exception
// mapping, Python <-> Value conversion, the transaction wrapper and the per-attempt process scope.
// Thread-safety: every function here must be called with the GIL held unless stated otherwise.
#pragma once

#include <pybind11/pybind11.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "theus/theus.hpp"

namespace theus::py {

namespace pyb = pybind11;

// ---- exceptions -----------------------------------------------------------------------------
struct Exceptions {
  PyObject* context_error = nullptr;       // theus.structures.ContextError
  PyObject* schema_violation = nullptr;    // theus.config.SchemaViolationError
  PyObject* write_timeout = nullptr;       // WriteTimeoutError(TimeoutError)
  PyObject* contract_violation = nullptr;  // theus.contracts.ContractViolationError
  PyObject* audit_block = nullptr;         // AuditBlockError(RuntimeError)
  PyObject* audit_abort = nullptr;         // AuditAbortError(RuntimeError)
  PyObject* audit_stop = nullptr;          // AuditStopError(RuntimeError)
  PyObject* audit_warning = nullptr;       // AuditWarning(UserWarning)
};
Exceptions& exceptions();
// Emits the audit warnings an execution collected (AuditWarning; raises if warnings are errors).
void emit_audit_warnings(Execution& exec);

// Python exception class for a core error code (kNotFound -> KeyError, conflicts ->
// ContextError...).
PyObject* exception_for(ErrorCode code);
// Sets the Python error for `st` (not OK). Returns nullptr so C-API code can `return
// set_error(st);`.
PyObject* set_error(const Status& st);
// Throws pybind11::error_already_set for a non-OK status (for pybind11-bound functions).
void throw_if_error(const Status& st);
template <class T>
T unwrap(Result<T> r) {
  if (!r.is_ok()) throw_if_error(r.status());
  return std::move(r).value();
}
// True when the pending Python exception (or `exc`) is a retryable conflict (ContextError whose
// message contains "CAS Version Mismatch", "Strict CAS Mismatch" or "System Busy").
bool is_conflict_exception(PyObject* exc);

// ---- conversion -----------------------------------------------------------------------------
enum class CopyMode : unsigned char {
  kCopy,       // D7: plain data becomes engine values, other objects are deep-copied once
  kReference,  // plain data becomes values, other objects are referenced (comparisons, views)
  kHeavy,      // heavy zone: every non-scalar object is stored by reference, as it is
};

// Converts a Python object into an engine Value. Proxies and frozen views contribute their current
// value without copying. Raises (error_already_set) RuntimeError "Transaction isolation failure:
// cannot deepcopy object of type '<T>' at path '<p>'" for uncopyable objects.
Value to_value(PyObject* obj, CopyMode mode, const char* where = "");
inline Value to_value(pyb::handle obj, CopyMode mode = CopyMode::kCopy, const char* where = "") {
  return to_value(obj.ptr(), mode, where);
}
// Raises RuntimeError "Transaction isolation failure: cannot deepcopy object of type '<T>' at path
// '<p>'" (pybind11::error_already_set).
[[noreturn]] void raise_isolation_failure(const std::string& type, const std::string& path);
// A heavy-zone payload ({name: object}): names become keys, objects are kept by reference.
// TypeError naming `what` unless `obj` is a dict.
Map heavy_map(PyObject* obj, const char* what);
// A Value holding `obj` itself (no copy): heavy-zone objects, outbox messages.
Value foreign_ref(PyObject* obj);
// Plain Python data for a Value (dict/list/scalars). Foreign objects are deep-copied when
// `copy_foreign` (detached results), else returned as the stored object.
PyObject* to_python(const Value& v, bool copy_foreign);
// Python object for a scalar Value (None/bool/int/float/str/bytes), or nullptr when not a scalar.
PyObject* scalar_to_python(const Value& v);
// The object behind a foreign Value (borrowed), or nullptr when `v` is not a Python object.
PyObject* foreign_object(const Value& v);
// copy.deepcopy(obj) (new reference, nullptr with a Python error on failure).
PyObject* deepcopy(PyObject* obj);
// Python equality with numpy-style reduction (`.all()`); errors count as "different".
bool python_equal(PyObject* a, PyObject* b);
// numpy scalar types (np.int64, np.bool_, ...): immutable primitives, never wrapped.
bool is_numpy_scalar(PyObject* obj);
// Key Value for a Python dict key / path segment (str, int, float, bool, None, bytes); false when
// the key is not representable.
bool key_to_value(PyObject* key, Value* out);
// Python object for a key Value.
PyObject* key_to_python(const Value& key);
// Parses a path string into a Path (raises ValueError with the position on error).
Path parse_path(std::string_view text);

// ---- engine wrapper -------------------------------------------------------------------------

// Ring buffer of (timestamp, key, message) shared by every State of an engine.
struct MetaLog {
  struct Entry {
    double timestamp;
    std::string key;
    std::string message;
  };
  explicit MetaLog(size_t cap) : capacity(cap) {}
  void push(std::string key, std::string message);
  // ("state_update", "State updated to version <v>"), formatted only when read (every commit
  // logs one of these).
  void push_state_update(uint64_t version);
  std::vector<Entry> entries() const;
  size_t capacity;
  mutable std::mutex mu;
  struct Slot {
    double timestamp;
    uint64_t version;  // > 0: a state update (key and message derived from it)
    std::string key;
    std::string message;
  };
  std::vector<Slot> ring;
  size_t next = 0;  // slot the next entry overwrites once full

 private:
  void push_slot(Slot slot);
};

struct PyEngine {
  PyEngine();
  explicit PyEngine(EngineOptions options);
  Engine engine;
  pyb::object audit;   // stored for compatibility (set_audit_system)
  pyb::object schema;  // pydantic model class used by the schema gate, or None
  pyb::object worker;  // outbox relay callable, or None
  std::shared_ptr<MetaLog> meta = std::make_shared<MetaLog>(1000);
  pyb::object state_cache;  // the Python State of `state_cache_version`
  uint64_t state_cache_version = ~uint64_t{0};

  // Installed by the wrapper (TheusEngine._configure).
  std::vector<std::string> key_checked_roots;  // registered namespaces: always checked per key
  pyb::object sync_target;                     // the user's context object, or None
  pyb::object namespace_sync;                  // callable(state) refreshing namespace data, or None
  bool sync_state_attr = false;                // the context has a `_state` attribute to refresh
  pyb::object owned_layers[2];                 // layer objects the sync created (patched in place)
  pyb::object owned_fields[2];  // per layer: field name -> field value the sync created
  uint64_t synced_version = 0;
};

// A Python OutboxMsg object stored in the core's outbox (the payload stays by reference).
Value outbox_value(PyObject* msg);
// The Python OutboxMsg of a core outbox message (new reference).
PyObject* outbox_object(const OutboxMessage& m);

// ---- transaction wrapper --------------------------------------------------------------------

// A working copy handed to Python code (a foreign value, `supervisor_target`, get_shadow): compared
// with its original at commit; a difference becomes a SET of its path.
struct Shadow {
  Path path;
  Value original;
  pyb::object copy;
};

struct PyTx {
  std::shared_ptr<PyEngine> engine;
  std::optional<Transaction> core;
  int64_t write_timeout_ms = 5000;
  bool entered = false;
  // Live list of signal dicts / dict of explicit heavy writes (user code may mutate them);
  // created on first use, most transactions never need them.
  pyb::list signals() {
    if (!pending_signal_) pending_signal_ = pyb::list();
    return pyb::reinterpret_borrow<pyb::list>(pending_signal_);
  }
  pyb::dict heavy_writes() {
    if (!pending_heavy_) pending_heavy_ = pyb::dict();
    return pyb::reinterpret_borrow<pyb::dict>(pending_heavy_);
  }
  std::vector<Shadow> shadows;
  std::unordered_map<PyObject*, PyObject*> shadow_by_original;  // id(original) -> working copy
  std::vector<pyb::object> keepalive;  // originals passed to get_shadow (ids must stay valid)
  pyb::object pending_signal_;  // null until first use (a default pybind11 list/dict allocates)
  pyb::object pending_heavy_;

  Transaction& tx() { return *core; }
  // Working copy for a foreign value at `path` (cached per path): registered for change detection.
  PyObject* working_copy(const Path& path, const Value& original);
  // tx.get_shadow(val, path): a private copy of a Python object, cached by identity (heavy-zone
  // paths: the object itself). With a path, changes to the copy are detected at commit.
  pyb::object get_shadow(const pyb::object& val, const std::optional<Path>& path);
  // Untracked in-place changes -> SET deltas (returns the paths that changed).
  std::vector<Path> infer_shadow_deltas();
  // Right before commit: shadow detection, then pending_heavy / pending_signal into the core tx.
  std::vector<Path> finalize();
  // The commit of __exit__ / execute: finalize, core commit, errors raised as Python exceptions.
  void commit_or_raise();
};

// ---- per-attempt process scope (shared by a process's guard and all its proxies) --------------
struct Scope {
  std::atomic<int> refs{1};
  pyb::object txobj;  // the Python Transaction object (keeps the PyTx alive)
  PyTx* tx = nullptr;
  std::shared_ptr<const Contract> contract;  // null: no contract checks (plain tx proxies)
  std::optional<AccessPolicy> policy;
  bool strict = false;
  std::string process_name;
  std::vector<Path> guarded_writes;
  pyb::object outbox;  // the process Outbox
  pyb::object local;   // per-invocation scratch dict
  std::shared_ptr<PyEngine> engine;

  // Root proxies handed out by the guard, reused for every `ctx.<root>` of one attempt (keyed by
  // the interned attribute name). Cleared when the attempt ends (the proxies reference the scope).
  std::vector<std::pair<PyObject*, PyObject*>> root_cache;
  bool cache_roots = false;
  void clear_root_cache() {
    auto cache = std::move(root_cache);
    root_cache.clear();
    for (auto& [k, v] : cache) {
      Py_DECREF(k);
      Py_DECREF(v);
    }
  }

  bool admin() const { return policy && policy->admin(); }
  bool checked() const { return contract != nullptr; }
  bool pure() const { return contract && contract->is_pure(); }
  void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

// ---- registration of the binding files ------------------------------------------------------
void init_exceptions(pyb::module_& m);
void init_values(pyb::module_& m);       // FrozenDict, FrozenList, SupervisorProxy (C types)
void init_guard(pyb::module_& m);        // ContextGuard (C type)
void init_transaction(pyb::module_& m);  // Transaction, OutboxMsg, Outbox, OutboxCollector
void init_state(pyb::module_& m);        // State, MetaLogEntry, ProcessContext
void init_engine(pyb::module_& m);       // TheusEngine, ConflictManager, RetryDecision, execution
void init_misc(pyb::module_& m);         // SupervisorCore, physics overrides

}  // namespace theus::py

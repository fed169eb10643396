// Internals of the SupervisorProxy C type shared by proxy.cpp (type, reads, writes) and
// proxy_methods.cpp (dict/list methods, legacy Python targets, pickling).
#pragma once

#include <Python.h>

#include "frozen.hpp"
#include "theus_py.hpp"

namespace theus::py {

enum class Source : unsigned char { kTx, kFixed, kPython };

inline constexpr int8_t kAccessCovered = 1;   // path covered by the contract: no further checks
inline constexpr int8_t kAccessNavigate = 0;  // ancestor of a declared path only
inline constexpr int8_t kAccessUnknown = -1;

struct ProxyObject {
  PyObject_HEAD Source source;
  bool read_only;
  bool is_shadow;
  bool item_syntax;       // reached through [key] (affects reported paths only)
  uint8_t caps;           // capability bits (admin elevation is applied on top, per operation)
  int8_t access;          // kAccess* (transaction proxies of a checked scope)
  int8_t zone;            // Zone decided by an ancestor segment, or -1 (data so far)
  bool virtual_root;      // a declared root missing from the state: reads as an empty map
  const ReadNode* rnode;  // navigation-only proxies of a wildcard-free contract: the read-trie node
  ProxyObject* parent;    // owned; nullptr at a root
  PyObject* key;          // owned; this proxy's segment (root name at a root)
  Scope* scope;           // owned reference; transaction proxies only
  Value node;             // fixed: the value; transaction: cached resolution at `gen`
  uint64_t gen;
  Path* path;        // owned, materialised on demand
  PyObject* target;  // legacy: the wrapped Python object (owned)
  PyObject* txobj;   // legacy: transaction-like object or nullptr (owned)
};

inline ProxyObject* proxy_cast(PyObject* o) { return reinterpret_cast<ProxyObject*>(o); }

const Path& proxy_path(ProxyObject* p);
// The current value of a transaction/fixed proxy (nullptr with KeyError when the path vanished).
const Value* resolve(ProxyObject* p);
bool tx_active(const ProxyObject* p);
const PhysicsOverrides* engine_overrides(const ProxyObject* p);

PyObject* get_child(ProxyObject* self, PyObject* key, bool item_syntax);
int set_child(ProxyObject* self, PyObject* key, bool item_syntax, PyObject* value);
// Checks for a mutation of `target` needing `capability`: CONSTANT ceiling, then read-only and
// capability (in the order the operation kind uses), then an open transaction.
bool check_mutation(ProxyObject* self, const Path& target, uint8_t capability, WriteMode mode,
                    bool capability_first);
void note_write(ProxyObject* self, const Path& path);
CopyMode copy_mode_for(const Path& path);
// Whole-value reads of a navigation-only node are refused, naming the first undeclared path.
bool check_whole_read(ProxyObject* self);

// Attributes of dict/list that the proxy does not implement (copy, count, index, fromkeys), bound
// to a detached plain copy. nullptr without error when `name` is not one of them.
PyObject* detached_attribute(ProxyObject* self, const Value& node, PyObject* name);
PyObject* list_slice(ProxyObject* self, PyObject* slice);
PyObject* supervisor_target(PyObject* o, void*);
PyMethodDef* proxy_methods();

// Legacy proxies over Python objects.
PyObject* make_python_proxy(PyObject* target, PyObject* path, bool read_only, PyObject* tx,
                            bool is_shadow, uint8_t caps);
PyObject* legacy_get(ProxyObject* self, PyObject* key, bool item_syntax);
// Makes a legacy proxy apply `scope`'s key-level read checks below `path`.
void attach_scope(PyObject* proxy, Scope* scope, const Path& path);
// Registers theus.guards._current_tx (the running process's transaction, for legacy proxies).
void set_current_tx_var(PyObject* var);
int legacy_set(ProxyObject* self, PyObject* key, bool item_syntax, PyObject* value);

}  // namespace theus::py

// The C-level view types of theus_core (hot paths, written against the CPython API):
// FrozenDict / FrozenList (read-only views of committed state), SupervisorProxy (a live view of a
// path inside a running transaction, or of a snapshot, recording every mutation as a delta) and
// ContextGuard (what a process receives). Helpers to create them from other binding files.
// Thread-safety: GIL held for everything.
#pragma once

#include <Python.h>

#include "theus_py.hpp"

namespace theus::py {

extern PyTypeObject FrozenDictType;
extern PyTypeObject FrozenListType;
extern PyTypeObject ProxyType;
extern PyTypeObject GuardType;

// True (and the current value) when `obj` is a proxy or a frozen view.
bool view_value(PyObject* obj, Value* out);
bool frozen_view_value(PyObject* obj, Value* out);
void init_frozen_types(pyb::module_& m);
void init_proxy_type(pyb::module_& m);
// A heavy-zone buffer reference as a Python object.
PyObject* buffer_to_python(const Value& v);

// Read-only view of a committed value (D7): maps -> FrozenDict, lists -> FrozenList, scalars as
// Python objects, foreign objects as fresh deep copies (numpy arrays made non-writeable).
PyObject* make_frozen(const Value& v);
// FrozenDict over a map whose foreign values are handed out by reference (the heavy zone).
PyObject* make_frozen_reference(const Value& map);
// Read-only SupervisorProxy over a snapshot value at `path` (caps READ).
PyObject* make_fixed_proxy(const Value& node, const Path& path, uint8_t caps);
// SupervisorProxy over `root` (a data root key, or "heavy") inside the scope's transaction.
PyObject* make_root_proxy(Scope* scope, PyObject* root_name, bool read_only, uint8_t caps);
// Python value of a child read inside a scope: containers as proxies, foreign objects as working
// copies, scalars raw. Used by the guard for non-root reads.
PyObject* wrap_tx_value(Scope* scope, const Path& path, const Value& v, bool read_only,
                        uint8_t caps);

// Checked reads/writes used by ContextGuard for its own attribute access.
bool is_proxy(PyObject* obj);

}  // namespace theus::py

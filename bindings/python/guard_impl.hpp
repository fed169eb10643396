// Internals of the ContextGuard C type and of process scopes, shared by guard.cpp, guard_legacy.cpp
// and the execution driver.
#pragma once

#include <Python.h>

#include <string>
#include <vector>

#include "theus_py.hpp"

namespace theus::py {

struct GuardObject {
  PyObject_HEAD PyObject* dict;  // instance __dict__ (the type is subclassable)
  Scope* scope;                  // owned reference
  PyObject* target;              // legacy guards over an arbitrary object (owned), else nullptr
  std::string prefix;            // legacy guards: path prefix of `target`
};

// A guard over `scope` (an instance of theus.guards.ContextGuard when that class is registered).
PyObject* make_guard(Scope* scope);
// A new scope (refcount 1) with a contract made of `inputs` / `outputs`. `tx` is a Python
// Transaction object or None. Raises ValueError for malformed contract paths.
Scope* make_scope(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                  Semantic semantic, bool strict, PyObject* tx, std::shared_ptr<PyEngine> engine,
                  const std::string& process_name);
bool is_process_context(PyObject* obj);
// Legacy guards over plain objects (not a ProcessContext): getattr/setattr on the target with the
// contract checks of the guard's scope.
PyObject* legacy_guard_read(GuardObject* g, PyObject* name, const std::string& n);
int legacy_guard_write(GuardObject* g, PyObject* name, const std::string& n, PyObject* value);
// Item access with a non-string key (`guard[1]` over a list target).
PyObject* legacy_guard_item(GuardObject* g, PyObject* key);
// The SignalHub of the scope's engine (a new hub when the scope has no engine).
PyObject* engine_hub_object(Scope* scope);

}  // namespace theus::py

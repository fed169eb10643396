// theus_core: the pybind11 extension module. Importing it prints nothing.
#include "frozen.hpp"
#include "theus_py.hpp"

namespace theus::py {
void init_signal(pyb::module_& m);
void init_flux(pyb::module_& m);
void init_heavy(pyb::module_& m);
void init_audit(pyb::module_& m);
void bind_engine_audit(pyb::module_& m);
}  // namespace theus::py

PYBIND11_MODULE(theus_core, m) {
  namespace tp = theus::py;
  m.doc() = "Theus core engine: versioned immutable state, path-level deltas, optimistic commits.";
  tp::init_exceptions(m);
  tp::init_frozen_types(m);
  tp::init_proxy_type(m);
  tp::init_guard(m);
  tp::init_transaction(m);
  tp::init_signal(m);
  tp::init_state(m);
  tp::init_engine(m);
  tp::init_audit(m);
  tp::bind_engine_audit(m);
  tp::init_flux(m);
  tp::init_misc(m);
  tp::init_heavy(m);
  m.attr("__version__") = "3.0.26";
}

// SupervisorCore and the process-wide physics-override table.
#include <pybind11/stl.h>

#include <map>
#include <mutex>

#include "theus_py.hpp"

namespace theus::py {

namespace {

// A thread-safe key -> object store with a version per key (not used by the engine).
class SupervisorCore {
 public:
  void write(const std::string& key, pyb::object value) {
    std::lock_guard lock(mu_);
    auto it = items_.find(key);
    if (it == items_.end()) {
      items_.emplace(key, Item{std::move(value), 0});
    } else {
      it->second.value = std::move(value);
      ++it->second.version;
    }
  }
  pyb::object read(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = items_.find(key);
    return it == items_.end() ? pyb::none() : it->second.value;
  }
  std::optional<uint64_t> get_version(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = items_.find(key);
    return it == items_.end() ? std::nullopt : std::optional<uint64_t>(it->second.version);
  }
  bool contains(const std::string& key) const {
    std::lock_guard lock(mu_);
    return items_.count(key) > 0;
  }
  std::vector<std::string> keys() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [k, v] : items_) out.push_back(k);
    return out;
  }
  bool remove(const std::string& key) {
    std::lock_guard lock(mu_);
    return items_.erase(key) > 0;
  }

 private:
  struct Item {
    pyb::object value;
    uint64_t version;
  };
  mutable std::mutex mu_;
  std::map<std::string, Item> items_;
};

}  // namespace

void init_misc(pyb::module_& m) {
  pyb::class_<SupervisorCore>(m, "SupervisorCore",
                              "Thread-safe key -> object store with per-key versions.")
      .def(pyb::init<>())
      .def("write", &SupervisorCore::write, pyb::arg("key"), pyb::arg("val"))
      .def("read", &SupervisorCore::read, pyb::arg("key"))
      .def("get_version", &SupervisorCore::get_version, pyb::arg("key"))
      .def("contains", &SupervisorCore::contains, pyb::arg("key"))
      .def("keys", &SupervisorCore::keys)
      .def("remove", &SupervisorCore::remove, pyb::arg("key"));

  // theus.context.PYTHON_PHYSICS_OVERRIDES mirrors the process-wide table.
  static PyObject* mirror = nullptr;
  m.def("_set_physics_mirror", [](pyb::object d) {
    Py_XDECREF(mirror);
    mirror = d.is_none() ? nullptr : d.inc_ref().ptr();
  });
  m.def(
      "register_physics_override",
      [](const std::string& path, int caps) {
        if (caps < 0 || caps > cap::kAll) throw pyb::value_error("caps must be between 0 and 31");
        PhysicsOverrides::global().register_override(parse_path(path), static_cast<uint8_t>(caps));
        if (mirror) pyb::reinterpret_borrow<pyb::dict>(mirror)[pyb::str(path)] = caps;
      },
      pyb::arg("path"), pyb::arg("caps"),
      "Override the capability bits of a path (and its descendants) for every engine.");
  m.def(
      "clear_physics_overrides",
      [] {
        PhysicsOverrides::global().clear();
        if (mirror) PyDict_Clear(mirror);
      },
      "Remove every process-wide physics override.");
}

}  // namespace theus::py

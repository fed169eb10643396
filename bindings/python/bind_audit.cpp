// theus_core audit types over the core's audit module: AuditLevel (an IntEnum), AuditRecipe,
// AuditLogEntry, AuditSystem (counters + the instance's log ring), _AuditRules (a parsed recipe
// book), and the engine's audit switch (_set_audit). Refusals raise AuditStopError /
// AuditAbortError / AuditBlockError; approach warnings are AuditWarning (a UserWarning).
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "theus/audit.hpp"
#include "theus/context_schema.hpp"
#include "theus_py.hpp"

namespace theus::py {

namespace {

using audit::AuditSystem;
using audit::Level;
using audit::Recipe;
using audit::RecipeBook;

PyObject* g_level_members[4] = {};

pyb::object level_object(Level level) {
  return pyb::reinterpret_borrow<pyb::object>(g_level_members[static_cast<int>(level)]);
}

// An AuditLevel, an int 0..3 or a level name / letter; None -> empty.
std::optional<Level> level_arg(const pyb::handle& obj) {
  if (obj.is_none()) return std::nullopt;
  if (PyUnicode_Check(obj.ptr())) {
    std::optional<Level> l = audit::parse_level(obj.cast<std::string>());
    if (!l)
      throw pyb::value_error("unknown audit level '" + obj.cast<std::string>() +
                             "' (expected Stop/S, Abort/A, Block/B or Count/C)");
    return l;
  }
  int64_t v = obj.cast<int64_t>();
  if (v < 0 || v > 3) throw pyb::value_error("audit level must be 0..3, got " + std::to_string(v));
  return static_cast<Level>(v);
}

void raise_status(const Status& st) { throw_if_error(st); }

// Python-visible recipe: a value object with writable fields.
struct PyRecipe {
  Recipe r;
};

std::string recipe_repr(const Recipe& r) {
  return "AuditRecipe(level=AuditLevel." + std::string(audit::level_name(r.level)) +
         ", threshold_max=" + std::to_string(r.threshold_max) +
         ", threshold_min=" + std::to_string(r.threshold_min) +
         ", reset_on_success=" + (r.reset_on_success ? "True" : "False") + ")";
}

struct PyAuditSystem {
  std::shared_ptr<AuditSystem> sys;
};

struct PyRules {
  std::shared_ptr<const RecipeBook> book;
};

pyb::object rule_dict(const audit::Rule& r) {
  pyb::dict d;
  d["field"] = r.field;
  auto put = [&](const char* k, const std::optional<Value>& v) {
    if (v) d[k] = pyb::reinterpret_steal<pyb::object>(to_python(*v, true));
  };
  put("min", r.min);
  put("max", r.max);
  put("eq", r.eq);
  put("neq", r.neq);
  if (r.min_len) d["min_len"] = *r.min_len;
  if (r.max_len) d["max_len"] = *r.max_len;
  if (r.regex_text) d["regex"] = *r.regex_text;
  if (r.level) d["level"] = std::string(audit::level_name(*r.level));
  if (r.threshold_max) d["max_threshold"] = *r.threshold_max;
  if (r.message) d["message"] = *r.message;
  if (r.line) d["line"] = r.line;
  return d;
}

void emit_warnings(const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings)
    if (PyErr_WarnEx(exceptions().audit_warning, w.c_str(), 1) < 0) throw pyb::error_already_set();
}

// Reports violations to `sys` (log + log_fail with the rule's overrides), raising on refusal.
void report(const PyAuditSystem& sys, const std::vector<audit::Violation>& violations) {
  std::vector<std::string> warnings;
  audit::Auditor a{sys.sys, nullptr};
  Status st = a.report(violations, &warnings);
  emit_warnings(warnings);
  raise_status(st);
}

std::shared_ptr<const RecipeBook> book_or_throw(Result<RecipeBook> r) {
  if (!r.is_ok()) {
    if (r.code() == ErrorCode::kNotFound) {
      PyErr_SetString(PyExc_FileNotFoundError, r.status().message().c_str());
      throw pyb::error_already_set();
    }
    throw_if_error(r.status());
  }
  return std::make_shared<const RecipeBook>(std::move(r).value());
}

}  // namespace

void emit_audit_warnings(Execution& exec) { emit_warnings(exec.take_warnings()); }

void init_audit(pyb::module_& m) {
  pyb::object int_enum = pyb::module_::import("enum").attr("IntEnum");
  pyb::list members;
  for (Level l : {Level::kStop, Level::kAbort, Level::kBlock, Level::kCount})
    members.append(pyb::make_tuple(std::string(audit::level_name(l)), static_cast<int>(l)));
  pyb::object level_cls = int_enum("AuditLevel", members, pyb::arg("module") = "theus_core");
  level_cls.attr("__doc__") = "Audit severity: Stop=0, Abort=1, Block=2, Count=3.";
  for (int i = 0; i < 4; ++i) g_level_members[i] = level_cls(i).release().ptr();
  m.attr("AuditLevel") = level_cls;

  pyb::class_<PyRecipe>(m, "AuditRecipe",
                        "How failures are graded: level, threshold_max, threshold_min, "
                        "reset_on_success (all writable).")
      .def(pyb::init([](pyb::object level, int64_t threshold_max, int64_t threshold_min,
                        bool reset_on_success) {
             PyRecipe p;
             p.r.level = level_arg(level).value_or(Level::kBlock);
             p.r.threshold_max = threshold_max;
             p.r.threshold_min = threshold_min;
             p.r.reset_on_success = reset_on_success;
             return p;
           }),
           pyb::arg("level") = pyb::none(), pyb::arg("threshold_max") = 3,
           pyb::arg("threshold_min") = 0, pyb::arg("reset_on_success") = true)
      .def_property(
          "level", [](const PyRecipe& p) { return level_object(p.r.level); },
          [](PyRecipe& p, pyb::object v) { p.r.level = level_arg(v).value_or(Level::kBlock); })
      .def_property(
          "threshold_max", [](const PyRecipe& p) { return p.r.threshold_max; },
          [](PyRecipe& p, int64_t v) { p.r.threshold_max = v; })
      .def_property(
          "threshold_min", [](const PyRecipe& p) { return p.r.threshold_min; },
          [](PyRecipe& p, int64_t v) { p.r.threshold_min = v; })
      .def_property(
          "reset_on_success", [](const PyRecipe& p) { return p.r.reset_on_success; },
          [](PyRecipe& p, bool v) { p.r.reset_on_success = v; })
      .def("__repr__", [](const PyRecipe& p) { return recipe_repr(p.r); })
      .def("__eq__", [](const PyRecipe& a, const pyb::object& b) {
        if (!pyb::isinstance<PyRecipe>(b)) return false;
        const Recipe& r = b.cast<const PyRecipe&>().r;
        return a.r.level == r.level && a.r.threshold_max == r.threshold_max &&
               a.r.threshold_min == r.threshold_min && a.r.reset_on_success == r.reset_on_success;
      });

  pyb::class_<audit::LogEntry>(m, "AuditLogEntry", "One entry of an AuditSystem's log ring.")
      .def_property_readonly("timestamp", [](const audit::LogEntry& e) { return e.timestamp; })
      .def_property_readonly("key", [](const audit::LogEntry& e) { return e.key; })
      .def_property_readonly("message", [](const audit::LogEntry& e) { return e.message; })
      .def("__str__", &audit::LogEntry::to_string)
      .def("__repr__", [](const audit::LogEntry& e) {
        return "AuditLogEntry(key=" + pyb::repr(pyb::str(e.key)).cast<std::string>() +
               ", message=" + pyb::repr(pyb::str(e.message)).cast<std::string>() + ")";
      });

  pyb::class_<PyAuditSystem>(m, "AuditSystem",
                             "Per-key failure counters graded by a recipe, with a ring buffer of "
                             "log entries owned by this instance.")
      .def(pyb::init([](pyb::object recipe, size_t capacity) {
             Recipe r = recipe.is_none() ? Recipe{} : recipe.cast<const PyRecipe&>().r;
             if (capacity == 0) throw pyb::value_error("capacity must be at least 1");
             return PyAuditSystem{std::make_shared<AuditSystem>(r, capacity)};
           }),
           pyb::arg("recipe") = pyb::none(), pyb::arg("capacity") = 1000)
      .def(
          "log_fail",
          [](PyAuditSystem& s, const std::string& key, pyb::object level,
             std::optional<int64_t> threshold_max) {
            audit::FailResult r = s.sys->log_fail(key, level_arg(level), threshold_max);
            if (r.warning) emit_warnings({*r.warning});
            raise_status(r.refusal);
          },
          pyb::arg("key"), pyb::arg("level") = pyb::none(), pyb::arg("threshold_max") = pyb::none(),
          "Counts a failure of `key` and grades it (raises AuditStopError / AuditAbortError / "
          "AuditBlockError, or warns with AuditWarning).")
      .def(
          "log_success", [](PyAuditSystem& s, const std::string& key) { s.sys->log_success(key); },
          pyb::arg("key"))
      .def(
          "get_count",
          [](const PyAuditSystem& s, const std::string& key) { return s.sys->count(key); },
          pyb::arg("key"))
      .def("get_count_all", [](const PyAuditSystem& s) { return s.sys->count_all(); })
      .def(
          "log",
          [](PyAuditSystem& s, std::string key, std::string message) {
            s.sys->log(std::move(key), std::move(message));
          },
          pyb::arg("key"), pyb::arg("message"))
      .def("get_logs", [](const PyAuditSystem& s) { return s.sys->logs(); })
      .def_property_readonly("ring_buffer_len",
                             [](const PyAuditSystem& s) { return s.sys->ring_size(); })
      .def_property_readonly("capacity", [](const PyAuditSystem& s) { return s.sys->capacity(); })
      .def_property(
          "recipe", [](const PyAuditSystem& s) { return PyRecipe{s.sys->recipe()}; },
          [](PyAuditSystem& s, const PyRecipe& r) { s.sys->set_recipe(r.r); })
      .def("__repr__", [](const PyAuditSystem& s) {
        return "<AuditSystem " + recipe_repr(s.sys->recipe()) + ", " +
               std::to_string(s.sys->ring_size()) + "/" + std::to_string(s.sys->capacity()) +
               " log entries>";
      });

  struct ConfigLoader {};
  pyb::class_<ConfigLoader>(m, "ConfigLoader", "Strict validation of context-schema YAML.")
      .def_static(
          "load_from_string",
          [](const std::string& content) { throw_if_error(validate_context_schema(content)); },
          pyb::arg("content"),
          "None when `content` is a valid context schema; SchemaViolationError(\"Config Error: "
          "...\") otherwise.");

  pyb::class_<PyRules>(m, "_AuditRules", "A parsed audit recipe book (global recipe + rules).")
      .def_static(
          "parse",
          [](const std::string& text, const std::string& source) {
            return PyRules{book_or_throw(RecipeBook::parse(text, source))};
          },
          pyb::arg("text"), pyb::arg("source") = "<recipe>")
      .def_static(
          "load_file",
          [](const std::string& path) {
            return PyRules{book_or_throw(RecipeBook::load_file(path))};
          },
          pyb::arg("path"))
      .def_static(
          "from_dicts",
          [](pyb::object global, pyb::object processes, const std::string& source) {
            Value g = to_value(global, CopyMode::kCopy);
            Value p = to_value(processes, CopyMode::kCopy);
            return PyRules{book_or_throw(RecipeBook::from_values(g, p, source))};
          },
          pyb::arg("audit"), pyb::arg("process_recipes"), pyb::arg("source") = "<recipe>")
      .def_property_readonly("recipe", [](const PyRules& r) { return PyRecipe{r.book->recipe()}; })
      .def("processes",
           [](const PyRules& r) {
             std::vector<std::string> out;
             for (const auto& [name, rules] : r.book->processes()) out.push_back(name);
             return out;
           })
      .def(
          "rules_for",
          [](const PyRules& r, const std::string& process) -> pyb::object {
            const audit::ProcessRules* p = r.book->rules_for(process);
            if (!p) return pyb::none();
            pyb::dict d;
            pyb::list in, out;
            for (const audit::Rule& rule : p->inputs) in.append(rule_dict(rule));
            for (const audit::Rule& rule : p->outputs) out.append(rule_dict(rule));
            d["inputs"] = in;
            d["outputs"] = out;
            d["side_effects"] = p->side_effects;
            d["errors"] = p->errors;
            return d;
          },
          pyb::arg("process"))
      .def(
          "validate_inputs",
          [](const PyRules& r, const PyAuditSystem& sys, const std::string& process,
             pyb::dict kwargs) {
            auto arg = [&](const std::string& field) -> std::optional<Value> {
              PyObject* v = PyDict_GetItemString(kwargs.ptr(), field.c_str());
              if (!v) return std::nullopt;
              return to_value(v, CopyMode::kReference, field.c_str());
            };
            report(sys, r.book->check_inputs(process, arg));
          },
          pyb::arg("audit_system"), pyb::arg("process"), pyb::arg("kwargs"))
      .def(
          "validate_outputs",
          [](const PyRules& r, const PyAuditSystem& sys, const std::string& process,
             pyb::object pending) {
            Value doc = to_value(pending, CopyMode::kReference);
            report(sys, r.book->check_outputs(process, doc));
          },
          pyb::arg("audit_system"), pyb::arg("process"), pyb::arg("pending"));
}

// TheusEngine._set_audit(system | None, rules | None); runs after init_engine.
void bind_engine_audit(pyb::module_& m) {
  auto cls = pyb::reinterpret_borrow<pyb::class_<PyEngine, std::shared_ptr<PyEngine>>>(
      m.attr("TheusEngine"));
  cls.def(
      "_set_audit",
      [](PyEngine& e, pyb::object system, pyb::object rules) {
        if (system.is_none()) {
          e.engine.set_auditor(nullptr);
          return;
        }
        auto a = std::make_shared<audit::Auditor>();
        a->system = system.cast<const PyAuditSystem&>().sys;
        if (!rules.is_none()) a->rules = rules.cast<const PyRules&>().book;
        e.engine.set_auditor(std::move(a));
      },
      pyb::arg("system"), pyb::arg("rules") = pyb::none(),
      "Installs the audit (None disables it): gates and counters run in the core's execute path.");
}

}  // namespace theus::py

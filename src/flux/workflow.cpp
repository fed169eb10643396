// Flux document loading: YAML (yaml-cpp) -> typed step tree with parsed conditions.
#include "theus/flux/workflow.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "yaml/yaml_value.hpp"

namespace theus::flux {
namespace {

using yaml::is_string;
using yaml::kind_name;
using yaml::scalar_type;
using yaml::ScalarType;

// Python literal text for a YAML scalar used as a condition: booleans become True/False, numbers
// stay as written (0o17 becomes its decimal value), strings are the expression itself.
std::optional<std::string> condition_text(const YAML::Node& node) {
  if (!node || !node.IsScalar()) return std::nullopt;
  switch (scalar_type(node)) {
    case ScalarType::kNull:
      return std::nullopt;
    case ScalarType::kBool: {
      char c = node.Scalar()[0];
      return (c == 't' || c == 'T') ? std::string("True") : std::string("False");
    }
    case ScalarType::kInt: {
      const std::string& s = node.Scalar();
      if (s.starts_with("0o") || s.starts_with("0x"))
        return std::to_string(std::stoull(s.substr(2), nullptr, s[1] == 'o' ? 8 : 16));
      return s;
    }
    case ScalarType::kFloat: {
      const std::string& s = node.Scalar();
      // .inf / .nan have no literal in the condition language; both are truthy in Python.
      if (s.find_first_of("iInN") != s.npos) return std::string("True");
      return s;
    }
    case ScalarType::kString:
      return node.Scalar();
  }
  return std::nullopt;
}

class Loader {
 public:
  Loader(std::string source, std::vector<std::string>* warnings)
      : source_(std::move(source)), warnings_(warnings) {}

  Status fail(const YAML::Node& at, const std::string& message) const {
    return Status(ErrorCode::kInvalidArgument, "Parse error: " + message + position(at));
  }
  std::string position(const YAML::Node& at) const { return yaml::position(at, source_); }
  void warn(const std::string& message, const Step& step) const {
    if (warnings_ == nullptr) return;
    std::string line = "[FLUX-WARN] " + message + " (" + step.location;
    if (step.line > 0)
      line += ", " + source_ + ":" + std::to_string(step.line) + ":" + std::to_string(step.column);
    warnings_->push_back(line + ")");
  }

  Status parse_steps(const YAML::Node& seq, const std::string& prefix, std::vector<Step>* out) {
    out->reserve(seq.size());
    size_t i = 0;
    for (const YAML::Node& item : seq) {
      Step step;
      if (Status st = parse_step(item, prefix + "[" + std::to_string(i++) + "]", &step); !st)
        return st;
      out->push_back(std::move(step));
    }
    return Status::ok();
  }

  Status parse_condition(const YAML::Node& map, const std::string& flux, Step* step) {
    const YAML::Node cond = map["condition"];
    std::optional<std::string> text = condition_text(cond);
    if (!text) {
      if (cond && !cond.IsNull() && !cond.IsScalar())
        return fail(cond,
                    "'condition' of 'flux: " + flux + "' must be a string, got " + kind_name(cond));
      return fail(map, "'flux: " + flux + "' requires 'condition' field");
    }
    Result<Expression> expr = Expression::parse(*text, step->location);
    if (!expr.is_ok()) return fail(cond, expr.status().message());
    step->condition.emplace(std::move(expr).value());
    return Status::ok();
  }

  Status parse_step(const YAML::Node& node, const std::string& location, Step* step) {
    step->location = location;
    YAML::Mark mark = node.Mark();
    if (!mark.is_null()) {
      step->line = mark.line + 1;
      step->column = mark.column + 1;
    }
    if (node.IsScalar() && is_string(node)) {
      step->kind = StepKind::kProcess;
      step->process = node.Scalar();
      return Status::ok();
    }
    if (!node.IsMap())
      return fail(node, "Invalid step type: expected string or mapping, got " + kind_name(node) +
                            " at " + location);

    if (const YAML::Node process = node["process"]) {
      if (!is_string(process))
        return fail(process, "'process' value must be a string (got " + kind_name(process) +
                                 " at " + location + ")");
      step->kind = StepKind::kProcess;
      step->process = process.Scalar();
      return Status::ok();
    }
    const YAML::Node flux = node["flux"];
    if (!flux) {
      std::string keys;
      for (const auto& kv : node) {
        if (!keys.empty()) keys += ", ";
        keys += kv.first.IsScalar() ? kv.first.Scalar() : kind_name(kv.first);
      }
      return fail(node, "Unknown step format: mapping with keys [" + keys + "] at " + location +
                            " (expected 'process' or 'flux')");
    }
    if (!is_string(flux))
      return fail(
          flux, "'flux' value must be a string (got " + kind_name(flux) + " at " + location + ")");
    const std::string& type = flux.Scalar();
    if (type == "while") {
      step->kind = StepKind::kWhile;
      if (Status st = parse_condition(node, type, step); !st) return st;
      const YAML::Node body = node["do"];
      if (!body || !body.IsSequence())
        return fail(body ? body : node, "'flux: while' requires 'do' block");
      if (Status st = parse_steps(body, location + ".do", &step->body); !st) return st;
      if (step->body.empty())
        warn("'flux: while' has empty 'do' block; a true condition loops until the safety trip",
             *step);
      return Status::ok();
    }
    if (type == "if") {
      step->kind = StepKind::kIf;
      if (Status st = parse_condition(node, type, step); !st) return st;
      if (const YAML::Node then = node["then"]; then && then.IsSequence()) {
        if (Status st = parse_steps(then, location + ".then", &step->body); !st) return st;
      }
      if (const YAML::Node orelse = node["else"]; orelse && orelse.IsSequence()) {
        if (Status st = parse_steps(orelse, location + ".else", &step->orelse); !st) return st;
      }
      if (step->body.empty() && step->orelse.empty())
        warn("'flux: if' has empty 'then' and 'else' blocks.", *step);
      return Status::ok();
    }
    if (type == "run") {
      step->kind = StepKind::kRun;
      const YAML::Node body = node["steps"];
      if (!body || !body.IsSequence())
        return fail(body ? body : node, "'flux: run' requires 'steps' block");
      if (Status st = parse_steps(body, location + ".steps", &step->body); !st) return st;
      if (step->body.empty()) warn("'flux: run' has empty 'steps' block.", *step);
      return Status::ok();
    }
    return fail(flux, "Unknown flux type: '" + type + "' at " + location +
                          " (expected 'while', 'if' or 'run')");
  }

  // Legacy graph: nodes: {start: <name>, <name>: {next: <target> | {"if <cond>": target, else:
  // target}}}.
  Status parse_graph(const YAML::Node& nodes, std::optional<std::string>* start,
                     std::vector<GraphNode>* out) {
    for (const auto& kv : nodes) {
      if (!kv.first.IsScalar()) continue;
      const std::string& name = kv.first.Scalar();
      if (name == "start") {
        if (is_string(kv.second)) *start = kv.second.Scalar();
        continue;
      }
      GraphNode node;
      node.name = name;
      const YAML::Node next = kv.second.IsMap() ? kv.second["next"] : YAML::Node();
      if (next && next.IsScalar() && scalar_type(next) != ScalarType::kNull) {
        node.next = next.Scalar();
      } else if (next && next.IsMap()) {
        size_t i = 0;
        for (const auto& branch : next) {
          std::string key = branch.first.IsScalar() ? branch.first.Scalar() : std::string();
          std::string target = branch.second.IsScalar() ? branch.second.Scalar() : std::string();
          std::string location = "nodes." + name + ".next[" + std::to_string(i++) + "]";
          if (key == "else") {
            node.branches.push_back(GraphBranch{std::nullopt, std::move(target)});
          } else if (key.starts_with("if ")) {
            std::string_view cond = std::string_view(key).substr(3);
            while (!cond.empty() && cond.front() == ' ') cond.remove_prefix(1);
            while (!cond.empty() && cond.back() == ' ') cond.remove_suffix(1);
            if (cond.size() >= 2 && (cond.front() == '"' || cond.front() == '\'') &&
                cond.back() == cond.front()) {
              cond.remove_prefix(1);
              cond.remove_suffix(1);
            }
            Result<Expression> expr = Expression::parse(cond, location);
            if (!expr.is_ok()) return fail(branch.first, expr.status().message());
            node.branches.push_back(GraphBranch{std::move(expr).value(), std::move(target)});
          }
        }
      }
      out->push_back(std::move(node));
    }
    return Status::ok();
  }

 private:
  std::string source_;
  std::vector<std::string>* warnings_;
};

void collect(const std::vector<Step>& steps, bool all, std::vector<std::string>* out,
             std::set<std::string>* seen) {
  for (const Step& s : steps) {
    switch (s.kind) {
      case StepKind::kProcess:
        if (seen == nullptr || seen->insert(s.process).second) out->push_back(s.process);
        break;
      case StepKind::kRun:
        collect(s.body, all, out, seen);
        break;
      case StepKind::kIf:
      case StepKind::kWhile:
        if (all) {
          collect(s.body, all, out, seen);
          collect(s.orelse, all, out, seen);
        }
        break;
    }
  }
}

}  // namespace

std::string Step::describe() const {
  switch (kind) {
    case StepKind::kProcess:
      return location + " process '" + process + "'";
    case StepKind::kIf:
      return location + " if '" + condition->text() + "'";
    case StepKind::kWhile:
      return location + " while '" + condition->text() + "'";
    case StepKind::kRun:
      return location + " run (" + std::to_string(body.size()) + " steps)";
  }
  return location;
}

Result<Workflow> Workflow::parse(std::string_view yaml_text, std::string_view source,
                                 std::vector<std::string>* warnings) {
  Workflow wf;
  wf.source_ = std::string(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    std::string where = " (at " + wf.source_;
    if (!e.mark.is_null())
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    return Status(ErrorCode::kInvalidArgument, "Invalid YAML: " + e.msg + where + ")");
  }
  if (!root.IsMap()) return wf;  // empty or non-mapping document: a workflow with no steps
  Loader loader(wf.source_, warnings);
  try {
    if (const YAML::Node steps = root["steps"]; steps && steps.IsSequence()) {
      if (Status st = loader.parse_steps(steps, "steps", &wf.steps_); !st) return st;
    }
    if (const YAML::Node nodes = root["nodes"]; nodes && nodes.IsMap()) {
      wf.has_graph_ = true;
      if (Status st = loader.parse_graph(nodes, &wf.graph_start_, &wf.graph_); !st) return st;
    }
  } catch (const YAML::Exception& e) {  // yaml-cpp reports malformed node access by exception
    return Status(ErrorCode::kInvalidArgument,
                  "Invalid YAML: " + e.msg + " (at " + wf.source_ + ")");
  }
  return wf;
}

Result<Workflow> Workflow::load_file(const std::string& path, std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, "Workflow file not found: " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path, warnings);
}

const GraphNode* Workflow::graph_node(std::string_view name) const {
  for (const GraphNode& n : graph_)
    if (n.name == name) return &n;
  return nullptr;
}

std::vector<std::string> Workflow::flattened_process_names() const {
  std::vector<std::string> out;
  collect(steps_, false, &out, nullptr);
  return out;
}

std::vector<std::string> Workflow::referenced_process_names() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  collect(steps_, true, &out, &seen);
  return out;
}

}  // namespace theus::flux

// Workflow: a parsed Flux document (spec: workflow §1.1). `steps` is a tree of Process / If /
// While / Run steps; conditions are parsed once into Expressions. The legacy graph form (`nodes`,
// used only by simulate) is kept beside it.
//
// Loading never throws: errors come back as Status(kInvalidArgument) with the spec's message and
// the source position, e.g.
//   "Parse error: 'flux: while' requires 'condition' field (at flow.yaml:4:5)"
//   "Invalid YAML: end of map not found (at flow.yaml:2:3)"
// Thread-safety: a Workflow is immutable once loaded; share it freely (Runs keep a shared_ptr).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theus/flux/expression.hpp"
#include "theus/status.hpp"

namespace theus::flux {

enum class StepKind : unsigned char { kProcess, kIf, kWhile, kRun };

struct Step {
  StepKind kind = StepKind::kProcess;
  std::string process;                  // kProcess: the process name
  std::optional<Expression> condition;  // kIf, kWhile
  std::vector<Step> body;               // kIf: then; kWhile: do; kRun: steps
  std::vector<Step> orelse;             // kIf: else
  std::string location;                 // e.g. "steps[1].do[0]"
  int line = 0;                         // 1-based position in the source (0 when unknown)
  int column = 0;

  // One-line description for traces: "steps[1] process 'load'", "steps[2] while 'x > 0'".
  std::string describe() const;
};

// One node of the legacy graph form: `nodes: {name: {next: <target> | {<"if cond">: target, else:
// target}}}`.
struct GraphBranch {
  std::optional<Expression> condition;  // absent for `else`
  std::string target;
};
struct GraphNode {
  std::string name;
  std::optional<std::string> next;    // unconditional goto
  std::vector<GraphBranch> branches;  // conditional next, in document order
};

class Workflow {
 public:
  // Parses YAML text. `source` names the document in error messages (a file path or "<string>").
  // Warnings (empty blocks) are appended to `warnings` when given, one line each, e.g.
  // "[FLUX-WARN] 'flux: run' has empty 'steps' block."
  static Result<Workflow> parse(std::string_view yaml_text, std::string_view source = "<string>",
                                std::vector<std::string>* warnings = nullptr);
  // Reads and parses a UTF-8 file. Missing file: kNotFound "Workflow file not found: <path>".
  static Result<Workflow> load_file(const std::string& path,
                                    std::vector<std::string>* warnings = nullptr);

  const std::vector<Step>& steps() const noexcept { return steps_; }
  const std::string& source() const noexcept { return source_; }

  // Legacy graph form (spec §1.10).
  bool has_graph() const noexcept { return has_graph_; }
  const std::optional<std::string>& graph_start() const noexcept { return graph_start_; }
  const GraphNode* graph_node(std::string_view name) const;

  // Every Process name of `steps` in document order, descending into `run` blocks only (the
  // step-list form of simulate).
  std::vector<std::string> flattened_process_names() const;
  // Every Process name reachable anywhere in the tree (if/while/run included), without repeats.
  std::vector<std::string> referenced_process_names() const;

 private:
  std::vector<Step> steps_;
  std::string source_;
  bool has_graph_ = false;
  std::optional<std::string> graph_start_;
  std::vector<GraphNode> graph_;
};

}  // namespace theus::flux

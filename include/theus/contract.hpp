// Contract: what a process declares: the paths it reads (inputs) and writes (outputs), its
// semantic (PURE processes may not write), and informational error / side-effect lists.
// Thread-safety: immutable after construction; share freely.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "theus/path_pattern.hpp"
#include "theus/status.hpp"

namespace theus {

enum class Semantic : unsigned char { kPure, kEffect, kGuide };

std::string_view semantic_name(Semantic s) noexcept;  // "pure", "effect", "guide"
Result<Semantic> parse_semantic(std::string_view s);  // accepts the names above, any case

// Key-level read rules of a contract without wildcards, as a trie of declared segments. Walking it
// one segment at a time classifies a path: a terminal node covers itself and everything below;
// a non-terminal node is only an ancestor of declarations (navigable); no node means undeclared.
struct ReadNode {
  bool terminal = false;
  std::vector<std::pair<std::string, std::unique_ptr<ReadNode>>> children;
  const ReadNode* child(std::string_view segment) const noexcept {
    for (const auto& [name, node] : children)
      if (name == segment) return node.get();
    return nullptr;
  }
};

class Contract {
 public:
  Contract() = default;
  // Parses every path; the first malformed one is reported with its position in the list.
  static Result<Contract> make(const std::vector<std::string>& inputs,
                               const std::vector<std::string>& outputs,
                               Semantic semantic = Semantic::kEffect,
                               std::vector<std::string> errors = {},
                               std::vector<std::string> side_effects = {});

  const std::vector<PathPattern>& inputs() const noexcept { return inputs_; }
  const std::vector<PathPattern>& outputs() const noexcept { return outputs_; }
  // The outputs as typed paths (an empty Path for wildcard outputs), aligned with outputs().
  const std::vector<Path>& output_paths() const noexcept { return output_paths_; }
  Semantic semantic() const noexcept { return semantic_; }
  bool is_pure() const noexcept { return semantic_ == Semantic::kPure; }
  const std::vector<std::string>& errors() const noexcept { return errors_; }
  const std::vector<std::string>& side_effects() const noexcept { return side_effects_; }
  // The literal declared texts (for messages: "Allowed: [...]").
  const std::vector<std::string>& input_texts() const noexcept { return input_texts_; }
  const std::vector<std::string>& output_texts() const noexcept { return output_texts_; }
  // True when `name` (e.g. "transaction") is declared verbatim in inputs or outputs.
  bool declares(std::string_view name) const noexcept;

  // The read trie of inputs and outputs (root = its children), or nullptr when a declaration uses
  // wildcards (then the patterns are matched one by one).
  const ReadNode* read_trie() const noexcept { return read_trie_.get(); }

  // PURE contracts may not take inputs from the Signal or Meta zones. Returns the
  // ContractViolation "Pure process cannot take inputs from Zone: Signal/Meta (Found: <p>)".
  Status check_pure_inputs() const;

 private:
  std::vector<PathPattern> inputs_;
  std::vector<PathPattern> outputs_;
  std::vector<std::string> input_texts_;
  std::vector<std::string> output_texts_;
  Semantic semantic_ = Semantic::kEffect;
  std::vector<std::string> errors_;
  std::vector<std::string> side_effects_;
  std::shared_ptr<const ReadNode> read_trie_;
  std::vector<Path> output_paths_;
};

}  // namespace theus

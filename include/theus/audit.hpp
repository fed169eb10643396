// Audit: graded rule enforcement around process execution (spec: workflow §3, Deviation D9).
//
//   AuditSystem   per-key failure counters, the recipe that grades them, and a ring buffer of log
//                 entries owned by the instance (not process-global).
//   RecipeBook    the parsed recipe file: global defaults plus per-process input / output rules.
//   Auditor       what an Engine is given: a system and (optionally) a book of rules. Execution
//                 consults it: input gate before the first attempt, output gate on the final delta
//                 at commit (once per execution), log_fail on every failure, log_success after the
//                 commit.
//
// Levels: Stop and Abort refuse on every failure; Block refuses once the count exceeds
// threshold_max (and warns from threshold_min on); Count only counts. A refusal is a Status with
// kAuditStop / kAuditAbort / kAuditBlock and the spec's message.
// Thread-safety: AuditSystem and LogRing are thread-safe; RecipeBook and Auditor are immutable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "theus/path.hpp"
#include "theus/status.hpp"
#include "theus/transaction.hpp"
#include "theus/value.hpp"

namespace theus::audit {

enum class Level : uint8_t { kStop = 0, kAbort = 1, kBlock = 2, kCount = 3 };

// "S"/"Stop", "A"/"Abort", "B"/"Block", "C"/"Count" (case-sensitive as in the spec); empty
// optional for anything else.
std::optional<Level> parse_level(std::string_view text);
std::string_view level_name(Level level) noexcept;  // "Stop", "Abort", "Block", "Count"

struct Recipe {
  Level level = Level::kBlock;
  int64_t threshold_max = 3;
  int64_t threshold_min = 0;  // 0: no approach warnings
  bool reset_on_success = true;
};

struct LogEntry {
  double timestamp = 0;  // Unix seconds
  std::string key;
  std::string message;
  std::string to_string() const;  // "[<ts>] <key>: <message>"
};

// Fixed-capacity ring of log entries: a full ring overwrites its oldest entry.
class LogRing {
 public:
  explicit LogRing(size_t capacity);
  void push(std::string key, std::string message);
  std::vector<LogEntry> entries() const;  // oldest first
  size_t size() const;
  size_t capacity() const noexcept { return slots_.size(); }
  uint64_t total() const;  // entries ever pushed (monotonic)

 private:
  mutable std::mutex mu_;
  std::vector<LogEntry> slots_;
  uint64_t pushed_ = 0;
};

// The result of one log_fail: `refusal` is OK unless the level refuses (then it carries the
// audit error); `warning` is set when a Block count reached threshold_min.
struct FailResult {
  int64_t count = 0;
  Status refusal;
  std::optional<std::string> warning;  // "WARNING: Approaching threshold (c/t)"
};

class AuditSystem {
 public:
  static constexpr size_t kDefaultCapacity = 1000;
  explicit AuditSystem(Recipe recipe = {}, size_t capacity = kDefaultCapacity);

  // counts[key] += 1, logs "Fail #c", then grades with `level` / `threshold_max` when given,
  // else the recipe's (threshold_min always comes from the recipe).
  FailResult log_fail(const std::string& key, std::optional<Level> level = std::nullopt,
                      std::optional<int64_t> threshold_max = std::nullopt);
  // Logs "Success"; with reset_on_success, counts[key] = 0.
  void log_success(const std::string& key);
  // Zeroes every counter whose key starts with `prefix` (a process's "<name>:input:" counters).
  void reset_prefix(std::string_view prefix);
  void log(std::string key, std::string message);

  int64_t count(const std::string& key) const;
  uint64_t count_all() const { return ring_.total(); }
  std::vector<LogEntry> logs() const { return ring_.entries(); }
  size_t ring_size() const { return ring_.size(); }
  size_t capacity() const noexcept { return ring_.capacity(); }

  Recipe recipe() const;
  void set_recipe(const Recipe& recipe);

 private:
  mutable std::mutex mu_;
  Recipe recipe_;
  std::unordered_map<std::string, int64_t> counts_;
  LogRing ring_;
};

// One input or output rule of a recipe. Checks run min -> max -> eq -> neq (first failure wins),
// then min_len / max_len, then regex; each later failing check replaces the earlier message.
struct Rule {
  std::string field;  // inputs: the keyword argument; outputs: a dotted path ("domain.balance")
  Path path;          // outputs: `field` parsed
  std::optional<Value> min, max, eq, neq;
  std::optional<int64_t> min_len, max_len;
  std::optional<std::string> regex_text;  // ECMAScript syntax, anchored at the start (re.match)
  std::shared_ptr<const std::regex> regex;
  std::optional<Level> level;            // per-rule override
  std::optional<int64_t> threshold_max;  // per-rule override
  std::optional<std::string> message;    // replaces the generated text
  int line = 0;                          // position in the recipe file (0 when unknown)

  // The violation text for `value`, or an empty optional when the value passes. Values the check
  // does not apply to (min/max on a non-number, lengths of an unsized value, regex on a
  // non-string) pass that check.
  std::optional<std::string> check(const Value& value) const;
};

struct ProcessRules {
  std::vector<Rule> inputs;
  std::vector<Rule> outputs;
  std::vector<std::string> side_effects;  // informational
  std::vector<std::string> errors;        // informational
};

struct Violation {
  std::string key;  // "<process>:input:<field>" / "<process>:output:<field>"
  std::string message;
  const Rule* rule = nullptr;
  Value value;
  uint64_t version =
      0;  // the state version checked (the candidate version for outputs); 0: unknown
};

class RecipeBook {
 public:
  RecipeBook() = default;

  // The spec's recipe document (an optional `audit:` wrapper for the global recipe, and
  // `process_recipes`). kInvalidArgument naming the source, the line, the rule and the reason
  // for: non-mapping sections, unknown rule keys, a rule without `field`, non-numeric min/max,
  // negative or non-integer lengths, an invalid regex, a bad output path.
  static Result<RecipeBook> parse(std::string_view yaml_text, std::string_view source = "<recipe>");
  // kNotFound "Recipe not found: <path>" when the file cannot be read.
  static Result<RecipeBook> load_file(const std::string& path);
  // From an already-parsed document: `global` is the `audit` mapping (or the root), `processes`
  // the `process_recipes` mapping.
  static Result<RecipeBook> from_values(const Value& global, const Value& processes,
                                        std::string_view source = "<recipe>");

  const Recipe& recipe() const noexcept { return recipe_; }
  const ProcessRules* rules_for(std::string_view process) const;
  const std::map<std::string, ProcessRules, std::less<>>& processes() const noexcept {
    return processes_;
  }

  // Violations of `process`'s input rules; `arg(field)` is the call's argument or empty when
  // absent (absent fields are skipped).
  std::vector<Violation> check_inputs(
      std::string_view process,
      const std::function<std::optional<Value>(const std::string& field)>& arg) const;
  // Violations of `process`'s output rules against a commit: a rule applies when the commit
  // wrote its path, an ancestor or a descendant of it, and is checked against the path's value in
  // the new version (null values are skipped).
  std::vector<Violation> check_outputs(std::string_view process, const CommitView& commit) const;
  // The same against a pending delta given as a nested map (rules whose path it lacks are
  // skipped).
  std::vector<Violation> check_outputs(std::string_view process, const Value& pending) const;

 private:
  Recipe recipe_;
  std::map<std::string, ProcessRules, std::less<>> processes_;
};

// Recipe defaults from a mapping (the `audit` section): level (unknown -> Block), threshold_max
// (fallback max_retries), threshold_min, reset_on_success.
Result<Recipe> recipe_from_value(const Value& section, std::string_view source = "<recipe>");

// What Engine::set_auditor installs: counters and log, plus rules (may be null: no gates).
struct Auditor {
  std::shared_ptr<AuditSystem> system;
  std::shared_ptr<const RecipeBook> rules;

  // Logs each violation ("VIOLATION: <msg> (level <L>, version <v>)") and log_fail()s it with the
  // rule's overrides; the first refusal is returned (later violations are still logged and
  // counted). Warnings are appended to `warnings` when given.
  Status report(const std::vector<Violation>& violations,
                std::vector<std::string>* warnings = nullptr) const;
};

}  // namespace theus::audit

// RecipeBook: loading the recipe document (YAML or already-parsed values) into typed rules, and
// checking a call's arguments / a commit's delta against them.
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "theus/audit.hpp"
#include "theus/snapshot.hpp"
#include "theus/tree.hpp"
#include "yaml/yaml_value.hpp"

namespace theus::audit {
namespace {

// Where a rule came from, for error messages: "<source>:<line>: process 'p' inputs[0]".
struct Origin {
  std::string_view source;
  std::string process;
  std::string section;
  size_t index = 0;
  int line = 0;

  std::string where() const {
    std::string at(source);
    if (line > 0) at += ":" + std::to_string(line);
    return at + ": process '" + process + "' " + section + "[" + std::to_string(index) + "]";
  }
};

Status bad(const Origin& o, const std::string& reason) {
  return Status(ErrorCode::kInvalidArgument, "Invalid audit recipe " + o.where() + ": " + reason);
}

const std::set<std::string, std::less<>>& known_rule_keys() {
  static const std::set<std::string, std::less<>> kKeys = {"field",         "min",
                                                           "max",           "eq",
                                                           "neq",           "min_len",
                                                           "max_len",       "regex",
                                                           "level",         "max_threshold",
                                                           "threshold_max", "message",
                                                           "min_threshold", "reset_on_success",
                                                           "inherits",      "threshold"};
  return kKeys;
}

Result<std::optional<int64_t>> int_key(const Map& rule, std::string_view key, const Origin& o,
                                       bool non_negative) {
  const Value* v = rule.find(key);
  if (!v || v->is_null()) return std::optional<int64_t>();
  if (!v->is_int())
    return bad(o, "'" + std::string(key) + "' must be an integer, got " + v->repr());
  if (non_negative && v->as_int() < 0)
    return bad(o, "'" + std::string(key) + "' must not be negative, got " + v->repr());
  return std::optional<int64_t>(v->as_int());
}

Result<Rule> parse_rule(const Value& item, bool output, const Origin& o) {
  if (!item.is_map()) return bad(o, "a rule must be a mapping, got " + item.repr());
  const Map& m = item.as_map();
  for (const auto& kv : m) {
    if (!kv.key.is_string() || !known_rule_keys().contains(kv.key.as_string()))
      return bad(o, "unknown rule key " + kv.key.repr() +
                        " (known: field, min, max, eq, neq, min_len, max_len, regex, level, "
                        "max_threshold, message)");
  }
  Rule r;
  r.line = o.line;
  const Value* field = m.find("field");
  if (!field || !field->is_string() || field->as_string().empty())
    return bad(o, "'field' is required and must be a non-empty string");
  r.field = std::string(field->as_string());
  if (output) {
    Result<Path> p = Path::parse(r.field);
    if (!p.is_ok()) return bad(o, "'field' is not a valid path: " + p.status().message());
    r.path = std::move(p).value();
  }
  for (std::string_view key : {"min", "max"}) {
    const Value* v = m.find(key);
    if (!v || v->is_null()) continue;
    if (!v->is_number())
      return bad(o, "'" + std::string(key) + "' must be a number, got " + v->repr());
    (key == "min" ? r.min : r.max) = *v;
  }
  if (const Value* v = m.find("eq")) r.eq = *v;
  if (const Value* v = m.find("neq")) r.neq = *v;
  for (std::string_view key : {"min_len", "max_len"}) {
    auto n = int_key(m, key, o, true);
    if (!n.is_ok()) return n.status();
    (key == "min_len" ? r.min_len : r.max_len) = *n;
  }
  if (const Value* v = m.find("regex"); v && !v->is_null()) {
    if (!v->is_string()) return bad(o, "'regex' must be a string, got " + v->repr());
    r.regex_text = std::string(v->as_string());
    try {
      r.regex = std::make_shared<const std::regex>(*r.regex_text, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return bad(o, "invalid regex '" + *r.regex_text + "': " + e.what());
    }
  }
  if (const Value* v = m.find("level"); v && v->is_string()) r.level = parse_level(v->as_string());
  for (std::string_view key : {"max_threshold", "threshold_max"}) {
    auto n = int_key(m, key, o, false);
    if (!n.is_ok()) return n.status();
    if (*n) r.threshold_max = *n;
  }
  if (const Value* v = m.find("message"); v && !v->is_null()) {
    if (!v->is_string()) return bad(o, "'message' must be a string, got " + v->repr());
    r.message = std::string(v->as_string());
  }
  return r;
}

std::vector<std::string> string_list(const Value* v) {
  std::vector<std::string> out;
  if (!v || !v->is_list()) return out;
  for (const Value& e : v->as_list())
    out.push_back(e.is_string() ? std::string(e.as_string()) : e.repr());
  return out;
}

// Line numbers of the rules of a YAML document: lines[process][section][i].
using LineTable = std::map<std::string, std::map<std::string, std::vector<int>>, std::less<>>;

// Fills `out_recipe` / `out_processes` from the `audit` section and `process_recipes`.
Status build(const Value& global, const Value& processes, std::string_view source,
             const LineTable* lines,
             std::map<std::string, ProcessRules, std::less<>>* out_processes, Recipe* out_recipe) {
  Result<Recipe> recipe = recipe_from_value(global, source);
  if (!recipe.is_ok()) return recipe.status();
  *out_recipe = *recipe;
  if (processes.is_null()) return Status::ok();
  if (!processes.is_map())
    return Status(ErrorCode::kInvalidArgument, "Invalid audit recipe " + std::string(source) +
                                                   ": 'process_recipes' must be a mapping, got " +
                                                   processes.repr());
  for (const auto& kv : processes.as_map()) {
    std::string name = kv.key.is_string() ? std::string(kv.key.as_string()) : kv.key.repr();
    ProcessRules rules;
    if (!kv.value.is_null() && !kv.value.is_map())
      return Status(ErrorCode::kInvalidArgument,
                    "Invalid audit recipe " + std::string(source) + ": process '" + name +
                        "' must map to a mapping, got " + kv.value.repr());
    if (kv.value.is_map()) {
      const Map& spec = kv.value.as_map();
      for (const char* section : {"inputs", "outputs"}) {
        const Value* list = spec.find(section);
        if (!list || list->is_null()) continue;
        Origin o{source, name, section, 0, 0};
        if (!list->is_list())
          return bad(o, std::string("'") + section + "' must be a list of rules");
        size_t i = 0;
        for (const Value& item : list->as_list()) {
          o.index = i;
          o.line = 0;
          if (lines) {
            auto p = lines->find(name);
            if (p != lines->end()) {
              auto s = p->second.find(section);
              if (s != p->second.end() && i < s->second.size()) o.line = s->second[i];
            }
          }
          Result<Rule> rule = parse_rule(item, std::string_view(section) == "outputs", o);
          if (!rule.is_ok()) return rule.status();
          (std::string_view(section) == "inputs" ? rules.inputs : rules.outputs)
              .push_back(std::move(rule).value());
          ++i;
        }
      }
      rules.side_effects = string_list(spec.find("side_effects"));
      rules.errors = string_list(spec.find("errors"));
    }
    (*out_processes)[name] = std::move(rules);
  }
  return Status::ok();
}

// Number of code points of UTF-8 text (Python's len of a str).
int64_t code_points(std::string_view s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::optional<int64_t> length_of(const Value& v) {
  if (v.is_string()) return code_points(v.as_string());
  if (v.is_bytes()) return static_cast<int64_t>(v.as_bytes().size());
  if (v.is_list()) return static_cast<int64_t>(v.as_list().size());
  if (v.is_map()) return static_cast<int64_t>(v.as_map().size());
  return std::nullopt;
}

// Python equality, asking an embedder object through its compare hook.
bool equal(const Value& a, const Value& b) {
  const Value* obj = a.is_foreign() ? &a : b.is_foreign() ? &b : nullptr;
  if (obj && obj->foreign_hooks() && obj->foreign_hooks()->compare) {
    bool result = false;
    std::string error;
    if (obj->foreign_hooks()->compare(obj->foreign_object(), obj == &a ? b : a, kForeignEq, &result,
                                      &error))
      return result;
  }
  return a == b;
}

}  // namespace

Result<Recipe> recipe_from_value(const Value& section, std::string_view source) {
  Recipe r;
  if (section.is_null()) return r;
  if (!section.is_map())
    return Status(ErrorCode::kInvalidArgument, "Invalid audit recipe " + std::string(source) +
                                                   ": the 'audit' section must be a mapping, got " +
                                                   section.repr());
  const Map& m = section.as_map();
  auto number = [&](std::string_view key, int64_t* out) -> Status {
    const Value* v = m.find(key);
    if (!v || v->is_null()) return Status::ok();
    if (!v->is_int())
      return Status(ErrorCode::kInvalidArgument, "Invalid audit recipe " + std::string(source) +
                                                     ": '" + std::string(key) +
                                                     "' must be an integer, got " + v->repr());
    *out = v->as_int();
    return Status::ok();
  };
  if (const Value* v = m.find("level"); v && v->is_string())
    r.level = parse_level(v->as_string()).value_or(Level::kBlock);
  Status st = number("max_retries", &r.threshold_max);
  if (st.is_ok()) st = number("threshold_max", &r.threshold_max);
  if (st.is_ok()) st = number("threshold_min", &r.threshold_min);
  if (!st.is_ok()) return st;
  if (const Value* v = m.find("reset_on_success"); v && !v->is_null())
    r.reset_on_success = v->truthy();
  return r;
}

std::optional<std::string> Rule::check(const Value& value) const {
  std::optional<std::string> failed;
  std::string shown = field + "=" + value.repr();
  if (value.is_number()) {
    if (min && value.as_number() < min->as_number()) {
      failed = shown + " is below min " + min->repr();
    } else if (max && value.as_number() > max->as_number()) {
      failed = shown + " is above max " + max->repr();
    }
  }
  if (!failed && eq && !equal(value, *eq)) failed = shown + " must equal " + eq->repr();
  if (!failed && neq && equal(value, *neq)) failed = shown + " must not equal " + neq->repr();
  if (std::optional<int64_t> len = length_of(value)) {
    if (min_len && *len < *min_len) {
      failed = "len(" + field + ")=" + std::to_string(*len) + " is below min_len " +
               std::to_string(*min_len);
    } else if (max_len && *len > *max_len) {
      failed = "len(" + field + ")=" + std::to_string(*len) + " is above max_len " +
               std::to_string(*max_len);
    }
  }
  if (regex && value.is_string()) {
    std::string_view s = value.as_string();
    if (!std::regex_search(s.begin(), s.end(), *regex, std::regex_constants::match_continuous))
      failed = shown + " does not match regex '" + *regex_text + "'";
  }
  if (failed && message) return *message;
  return failed;
}

Result<RecipeBook> RecipeBook::from_values(const Value& global, const Value& processes,
                                           std::string_view source) {
  RecipeBook book;
  Status st = build(global, processes, source, nullptr, &book.processes_, &book.recipe_);
  if (!st.is_ok()) return st;
  return book;
}

Result<RecipeBook> RecipeBook::parse(std::string_view yaml_text, std::string_view source) {
  std::string src(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    std::string where = src;
    if (!e.mark.is_null())
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    return Status(ErrorCode::kInvalidArgument,
                  "Invalid YAML in audit recipe: " + e.msg + " (at " + where + ")");
  }
  if (root.IsNull()) return RecipeBook();
  if (!root.IsMap())
    return Status(ErrorCode::kInvalidArgument,
                  "Invalid audit recipe " + src + ": the document must be a mapping, got " +
                      yaml::kind_name(root) + yaml::position(root, src));
  Result<Value> doc = yaml::to_value(root, src);
  if (!doc.is_ok()) return doc.status();
  LineTable lines;
  if (YAML::Node procs = root["process_recipes"]; procs && procs.IsMap()) {
    for (const auto& p : procs) {
      if (!p.second.IsMap()) continue;
      for (const char* section : {"inputs", "outputs"}) {
        YAML::Node list = p.second[section];
        if (!list || !list.IsSequence()) continue;
        auto& rows = lines[p.first.Scalar()][section];
        for (const YAML::Node& item : list)
          rows.push_back(item.Mark().is_null() ? 0 : item.Mark().line + 1);
      }
    }
  }
  const Map& m = doc->as_map();
  const Value* audit = m.find("audit");
  Value global = audit ? *audit : *doc;
  const Value* processes = m.find("process_recipes");
  RecipeBook book;
  Status st = build(global, processes ? *processes : Value(), source, &lines, &book.processes_,
                    &book.recipe_);
  if (!st.is_ok()) return st;
  return book;
}

Result<RecipeBook> RecipeBook::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, "Recipe not found: " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

const ProcessRules* RecipeBook::rules_for(std::string_view process) const {
  auto it = processes_.find(process);
  return it == processes_.end() ? nullptr : &it->second;
}

std::vector<Violation> RecipeBook::check_inputs(
    std::string_view process,
    const std::function<std::optional<Value>(const std::string& field)>& arg) const {
  std::vector<Violation> out;
  const ProcessRules* rules = rules_for(process);
  if (!rules) return out;
  for (const Rule& rule : rules->inputs) {
    std::optional<Value> v = arg(rule.field);
    if (!v) continue;
    if (std::optional<std::string> msg = rule.check(*v))
      out.push_back({std::string(process) + ":input:" + rule.field, std::move(*msg), &rule, *v});
  }
  return out;
}

std::vector<Violation> RecipeBook::check_outputs(std::string_view process,
                                                 const CommitView& commit) const {
  std::vector<Violation> out;
  const ProcessRules* rules = rules_for(process);
  if (!rules) return out;
  for (const Rule& rule : rules->outputs) {
    bool written = false;
    for (const WriteRecord& w : commit.writes) {
      if (w.path.overlaps(rule.path)) {
        written = true;
        break;
      }
    }
    if (!written) continue;
    Result<Value> v = commit.next.get(rule.path);
    if (!v.is_ok() || v->is_null()) continue;
    if (std::optional<std::string> msg = rule.check(*v))
      out.push_back({std::string(process) + ":output:" + rule.field, std::move(*msg), &rule, *v,
                     commit.next.version});
  }
  return out;
}

std::vector<Violation> RecipeBook::check_outputs(std::string_view process,
                                                 const Value& pending) const {
  std::vector<Violation> out;
  const ProcessRules* rules = rules_for(process);
  if (!rules) return out;
  for (const Rule& rule : rules->outputs) {
    Result<std::optional<Value>> v = tree::find(pending, rule.path);
    if (!v.is_ok() || !*v || (*v)->is_null()) continue;
    if (std::optional<std::string> msg = rule.check(**v))
      out.push_back({std::string(process) + ":output:" + rule.field, std::move(*msg), &rule, **v});
  }
  return out;
}

}  // namespace theus::audit

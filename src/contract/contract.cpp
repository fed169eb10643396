// Contract construction and the PURE registration firewall.
#include "theus/contract.hpp"

#include <algorithm>
#include <cctype>

#include "theus/zone.hpp"

namespace theus {

std::string_view semantic_name(Semantic s) noexcept {
  switch (s) {
    case Semantic::kPure:
      return "pure";
    case Semantic::kEffect:
      return "effect";
    case Semantic::kGuide:
      return "guide";
  }
  return "effect";
}

Result<Semantic> parse_semantic(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "pure") return Semantic::kPure;
  if (lower == "effect") return Semantic::kEffect;
  if (lower == "guide") return Semantic::kGuide;
  return Status(ErrorCode::kInvalidArgument,
                "Unknown semantic '" + std::string(s) + "' (expected pure, effect or guide)");
}

namespace {

Status parse_list(const std::vector<std::string>& texts, std::string_view which,
                  std::vector<PathPattern>* out) {
  for (size_t i = 0; i < texts.size(); ++i) {
    auto p = PathPattern::parse(texts[i]);
    if (!p.is_ok()) {
      return {ErrorCode::kInvalidArgument, "Invalid contract: " + std::string(which) + "[" +
                                               std::to_string(i) + "]: " + p.status().message()};
    }
    out->push_back(std::move(p).value());
  }
  return Status::ok();
}

}  // namespace

Result<Contract> Contract::make(const std::vector<std::string>& inputs,
                                const std::vector<std::string>& outputs, Semantic semantic,
                                std::vector<std::string> errors,
                                std::vector<std::string> side_effects) {
  Contract c;
  THEUS_RETURN_IF_ERROR(parse_list(inputs, "inputs", &c.inputs_));
  THEUS_RETURN_IF_ERROR(parse_list(outputs, "outputs", &c.outputs_));
  c.input_texts_ = inputs;
  c.output_texts_ = outputs;
  for (const PathPattern& p : c.outputs_) {
    auto parsed = p.has_wildcards() ? Result<Path>(Path()) : Path::parse(p.text());
    c.output_paths_.push_back(parsed.is_ok() ? std::move(parsed).value() : Path());
  }
  bool wild = false;
  for (const auto* list : {&c.inputs_, &c.outputs_})
    for (const PathPattern& p : *list) wild = wild || p.has_wildcards();
  if (!wild) {
    auto root = std::make_shared<ReadNode>();
    for (const auto* list : {&c.inputs_, &c.outputs_}) {
      for (const PathPattern& p : *list) {
        ReadNode* node = root.get();
        std::string_view text = p.text();
        for (size_t start = 0;;) {
          size_t dot = text.find('.', start);
          std::string_view seg =
              text.substr(start, dot == std::string_view::npos ? text.npos : dot - start);
          ReadNode* next = const_cast<ReadNode*>(node->child(seg));
          if (!next) {
            node->children.emplace_back(std::string(seg), std::make_unique<ReadNode>());
            next = node->children.back().second.get();
          }
          node = next;
          if (dot == std::string_view::npos) break;
          start = dot + 1;
        }
        node->terminal = true;
      }
    }
    c.read_trie_ = std::move(root);
  }
  c.semantic_ = semantic;
  c.errors_ = std::move(errors);
  c.side_effects_ = std::move(side_effects);
  return c;
}

bool Contract::declares(std::string_view name) const noexcept {
  auto has = [&](const std::vector<std::string>& v) {
    return std::find(v.begin(), v.end(), name) != v.end();
  };
  return has(input_texts_) || has(output_texts_);
}

Status Contract::check_pure_inputs() const {
  if (!is_pure()) return Status::ok();
  for (size_t i = 0; i < inputs_.size(); ++i) {
    Zone z = inputs_[i].zone();
    if (z == Zone::kSignal || z == Zone::kMeta) {
      return {ErrorCode::kContractViolation,
              "Pure process cannot take inputs from Zone: Signal/Meta (Found: " + input_texts_[i] +
                  ")"};
    }
  }
  return Status::ok();
}

}  // namespace theus

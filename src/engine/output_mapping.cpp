// Output mapping of return values onto declared outputs.
#include "theus/output_mapping.hpp"

namespace theus {

namespace {

std::string leaf_of(const std::string& normalized) {
  size_t dot = normalized.rfind('.');
  return dot == std::string::npos ? normalized : normalized.substr(dot + 1);
}

}  // namespace

Result<std::vector<Value>> output_values(const Contract& contract, std::string_view process,
                                         const Value& result) {
  const auto& outs = contract.outputs();
  const auto& texts = contract.output_texts();
  std::vector<Value> vals(outs.size());
  if (outs.empty() || result.is_null()) return vals;

  if (result.is_map()) {
    const Map& m = result.as_map();
    // A map result is keyed by output paths or leaf names when any of them is one of its keys.
    bool keyed = false;
    for (size_t i = 0; i < outs.size() && !keyed; ++i)
      keyed = m.find(std::string_view(texts[i])) || m.find(std::string_view(outs[i].text())) ||
              m.find(std::string_view(leaf_of(outs[i].text())));
    if (keyed) {
      for (size_t i = 0; i < outs.size(); ++i) {
        const Value* v = m.find(std::string_view(texts[i]));
        if (!v) v = m.find(std::string_view(outs[i].text()));
        if (!v) v = m.find(std::string_view(leaf_of(outs[i].text())));
        if (v) vals[i] = *v;
      }
    } else if (outs.size() == 1) {
      vals[0] = result;
    }
    return vals;
  }
  if (outs.size() == 1) {
    vals[0] = result;
    return vals;
  }
  if (result.is_list()) {
    const List& l = result.as_list();
    for (size_t i = 0; i < outs.size() && i < l.size(); ++i) vals[i] = l[i];
    return vals;
  }
  std::string list = "[";
  for (size_t i = 0; i < texts.size(); ++i) list += (i ? ", '" : "'") + texts[i] + "'";
  list += "]";
  return Status(ErrorCode::kContractViolation,
                "Process '" + std::string(process) + "' declares " + std::to_string(outs.size()) +
                    " outputs " + list + " but returned a single " +
                    std::string(result.type_name()) +
                    " value. Return a tuple, list or dict with one value per output.");
}

Status apply_output_values(Transaction& tx, const Contract& contract,
                           const std::vector<Value>& values,
                           const std::vector<Path>& guarded_writes) {
  const auto& outs = contract.outputs();
  for (size_t i = 0; i < outs.size() && i < values.size(); ++i) {
    const Value& v = values[i];
    if (v.is_null() || outs[i].has_wildcards()) continue;
    const Path& path = contract.output_paths()[i];
    if (path.empty()) continue;
    bool proxy_wrote = false;
    for (const Path& w : guarded_writes) proxy_wrote = proxy_wrote || w.overlaps(path);
    if (proxy_wrote) continue;  // the guarded write is the source of truth
    std::string_view root = path.root();
    if (root == "heavy") {
      if (path.size() < 2) continue;
      THEUS_RETURN_IF_ERROR(tx.set(Path{Value("heavy"), path[1]}, v));
    } else if (root == "signal" || root == "cmd") {
      if (path.size() < 2) continue;
      tx.add_signal(Map{{path[1], v}});
    } else if (root == "local") {
      continue;  // per-invocation scratch, never committed (spec §4.5)
    } else {
      THEUS_RETURN_IF_ERROR(tx.set(path, v));
    }
  }
  return Status::ok();
}

}  // namespace theus

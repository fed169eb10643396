// AccessPolicy: contract rules A, A', B, C plus zone physics, with the spec's messages.
#include "theus/access_policy.hpp"

namespace theus {

namespace {

std::string_view mode_name(WriteMode m) {
  switch (m) {
    case WriteMode::kWrite:
      return "Write";
    case WriteMode::kAppend:
      return "Append";
    case WriteMode::kDelete:
      return "Delete";
  }
  return "Write";
}

Status denied(std::string message) { return {ErrorCode::kPermissionDenied, std::move(message)}; }

}  // namespace

AccessPolicy::AccessPolicy(const Contract& contract, AccessOptions options)
    : contract_(&contract), options_(std::move(options)) {}

bool AccessPolicy::key_checked(std::string_view root) const {
  return options_.strict_guards || options_.key_checked_roots.count(root) > 0;
}

namespace {

// Some pattern has `root` as its first segment (wildcard patterns are matched against it).
bool declares_root(const std::vector<PathPattern>& patterns, std::string_view root) {
  std::string_view canonical = canonical_root(root);
  for (const PathPattern& p : patterns) {
    if (p.root() == canonical) return true;
    if (p.has_wildcards()) {
      Path root_path{Value(canonical)};
      if (p.covers(root_path) || p.is_ancestor(root_path)) return true;
    }
  }
  return false;
}

}  // namespace

bool AccessPolicy::root_declared(std::string_view root) const {
  return declares_root(contract_->inputs(), root) || declares_root(contract_->outputs(), root);
}

Status AccessPolicy::check_root_read(std::string_view root) const {
  if (options_.admin || root_declared(root)) return Status::ok();
  return denied("Illegal Read: '" + std::string(canonical_root(root)) + "'");
}

bool AccessPolicy::root_writable(std::string_view root) const {
  return options_.admin || root_declared_writable(root);
}

bool AccessPolicy::root_declared_writable(std::string_view root) const {
  return declares_root(contract_->outputs(), root);
}

ReadAccess AccessPolicy::read_access(const Path& path) const {
  if (options_.admin) return ReadAccess::kAllowed;
  if (path.empty()) return ReadAccess::kNavigate;
  if (!key_checked(path.root())) {
    return check_root_read(path.root()).is_ok() ? ReadAccess::kAllowed : ReadAccess::kDenied;
  }
  const auto& ins = contract_->inputs();
  const auto& outs = contract_->outputs();
  for (const PathPattern& p : ins)
    if (p.covers(path)) return ReadAccess::kAllowed;
  for (const PathPattern& p : outs)
    if (p.covers(path)) return ReadAccess::kAllowed;
  for (const PathPattern& p : ins)
    if (p.is_ancestor(path)) return ReadAccess::kNavigate;
  for (const PathPattern& p : outs)
    if (p.is_ancestor(path)) return ReadAccess::kNavigate;
  return ReadAccess::kDenied;
}

Status AccessPolicy::check_read(const Path& path) const {
  if (read_access(path) == ReadAccess::kAllowed) return Status::ok();
  if (path.size() == 1 && !check_root_read(path.root()).is_ok())
    return denied("Illegal Read: '" + std::string(path.root()) + "'");
  return denied("Illegal Read: Path '" + path.to_string() + "' is restricted by Process Contract.");
}

uint8_t AccessPolicy::capabilities(const Path& path, bool writable) const {
  if (options_.admin) {
    if (has_constant_segment(path) && !check_constant(path, WriteMode::kWrite).is_ok())
      return cap::kRead;
    return cap::kAll;
  }
  return physics(path, options_.overrides) & (writable ? cap::kAllData : cap::kRead);
}

Status AccessPolicy::check_constant(const Path& path, WriteMode mode) const {
  if (!has_constant_segment(path)) return Status::ok();
  if (options_.overrides && options_.overrides->lookup(path)) return Status::ok();
  if (PhysicsOverrides::global().lookup(path)) return Status::ok();
  return denied("Illegal " + std::string(mode_name(mode)) + ": 'const_' field '" +
                path.to_string() + "' is CONSTANT and cannot be modified.");
}

Status AccessPolicy::check_capability(const Path& path, uint8_t capability, bool writable) const {
  uint8_t caps = capabilities(path, writable);
  if ((caps & capability) == capability) return Status::ok();
  return denied("Permission Denied: " + std::string(capability_name(capability)) +
                " capability required for '" + path.to_string() +
                "'. (Current Lens: " + capability_lens(caps) + ")");
}

Status AccessPolicy::check_write(const Path& path, uint8_t capability, WriteMode mode) const {
  THEUS_RETURN_IF_ERROR(check_constant(path, mode));
  bool writable = root_writable(path.root());
  if (!writable) return denied("PURE process cannot write to '" + path.to_string() + "'");
  return check_capability(path, capability, writable);
}

bool AccessPolicy::output_covers(const Path& path) const {
  for (const PathPattern& p : contract_->outputs())
    if (p.covers(path)) return true;
  return false;
}

Status AccessPolicy::check_output_compliance(std::string_view process,
                                             const std::vector<Path>& written) const {
  if (!options_.strict_guards) return Status::ok();
  if (contract_->is_pure()) {
    if (written.empty()) return Status::ok();
    std::string list = "[";
    for (size_t i = 0; i < written.size(); ++i) {
      if (i) list += ", ";
      list += "'" + written[i].to_string() + "'";
    }
    list += "]";
    return {ErrorCode::kContractViolation,
            "Process '" + std::string(process) + "' is PURE but produced side-effects: " + list};
  }
  for (const Path& p : written) {
    if (p.root() == "local") continue;
    if (!output_covers(p)) {
      return {ErrorCode::kContractViolation, "Process '" + std::string(process) + "' modified '" +
                                                 p.to_string() +
                                                 "' which is NOT declared in outputs."};
    }
  }
  return Status::ok();
}

Status AccessPolicy::check_input_zones() const {
  if (!options_.strict_guards) return Status::ok();
  const auto& ins = contract_->inputs();
  for (size_t i = 0; i < ins.size(); ++i) {
    Zone z = ins[i].zone();
    if (z == Zone::kSignal || z == Zone::kMeta) {
      return denied("SECURITY VIOLATION: Input '" + contract_->input_texts()[i] +
                    "' belongs to restricted Control Zone " + std::string(zone_name(z)) + ".");
    }
  }
  return Status::ok();
}

}  // namespace theus

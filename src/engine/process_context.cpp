// ProcessContext: guarded reads and writes of a C++ process over its attempt's transaction.
#include "theus/process_context.hpp"

#include "theus/output_mapping.hpp"
#include "theus/tree.hpp"
#include "theus/zone.hpp"

namespace theus {

ProcessContext::ProcessContext(Transaction& tx, const Contract& contract, AccessOptions access,
                               std::string process_name, Map args)
    : tx_(&tx),
      contract_(&contract),
      policy_(contract, std::move(access)),
      name_(std::move(process_name)),
      args_(std::move(args)) {}

const Value& ProcessContext::local_root() const {
  if (local_.is_null())
    local_ = Value(Map{{"local", Map()}});  // most processes never touch `local`
  return local_;
}

Result<Value> ProcessContext::get(const Path& path) const {
  if (path.empty()) return Status(ErrorCode::kInvalidArgument, "cannot read the whole state");
  if (contract_->is_pure()) {
    // PURE: key-level filter over the declared inputs at every depth, always on; base snapshot.
    for (const PathPattern& p : contract_->inputs())
      if (p.covers(path)) return tx_->base()->get(path);
    return Status(ErrorCode::kContractViolation,
                  "Access denied: '" + path.to_string() + "' not declared in contract inputs.");
  }
  THEUS_RETURN_IF_ERROR(policy_.check_root_read(path.root()));
  if (!policy_.admin() && resolve_zone(path) == Zone::kPrivate) return Value();
  THEUS_RETURN_IF_ERROR(policy_.check_read(path));
  if (path.root() == "local") return tree::lookup(local_root(), path);
  return tx_->get(path);
}

Result<Value> ProcessContext::get(std::string_view path) const {
  THEUS_ASSIGN_OR_RETURN(Path p, Path::parse(path));
  return get(p);
}

Status ProcessContext::guard_write(const Path& path, uint8_t capability, WriteMode mode) const {
  if (path.empty()) return {ErrorCode::kInvalidArgument, "cannot replace the whole state"};
  if (contract_->is_pure()) {
    return {ErrorCode::kContractViolation,
            std::string(mode == WriteMode::kDelete ? "PURE Process cannot delete state: '"
                                                   : "PURE Process cannot mutate state: '") +
                path.to_string() + "'"};
  }
  if (path.size() == 1 && !policy_.admin() && !policy_.output_covers(path)) {
    // Replacing a whole root needs an output covering the root itself.
    return {ErrorCode::kPermissionDenied, "Illegal Write: '" + std::string(path.root()) + "'"};
  }
  return policy_.check_write(path, capability, mode);
}

Status ProcessContext::write(Delta delta) {
  Path path = delta.path;
  if (path.root() == "local") {
    // `local` is per-invocation scratch (spec §4.5): never part of the transaction or a commit.
    Value scratch = local_root(), unused;
    THEUS_RETURN_IF_ERROR(apply_delta(delta, &scratch, &unused, /*replay=*/false));
    local_ = std::move(scratch);
  } else {
    THEUS_RETURN_IF_ERROR(tx_->apply(std::move(delta)));
  }
  wrote(path);
  return Status::ok();
}

Status ProcessContext::set(const Path& path, Value value) {
  THEUS_RETURN_IF_ERROR(guard_write(path, cap::kUpdate, WriteMode::kWrite));
  return write({DeltaOp::kSet, path, std::move(value), 0});
}

Status ProcessContext::set(std::string_view path, Value value) {
  THEUS_ASSIGN_OR_RETURN(Path p, Path::parse(path));
  return set(p, std::move(value));
}

Status ProcessContext::erase(const Path& path) {
  THEUS_RETURN_IF_ERROR(guard_write(path, cap::kDelete, WriteMode::kDelete));
  return write({DeltaOp::kErase, path, Value(), 0});
}

Status ProcessContext::list_append(const Path& path, Value value) {
  THEUS_RETURN_IF_ERROR(guard_write(path, cap::kAppend, WriteMode::kAppend));
  return write({DeltaOp::kListAppend, path, std::move(value), 0});
}

Status ProcessContext::list_insert(const Path& path, int64_t index, Value value) {
  THEUS_RETURN_IF_ERROR(guard_write(path, cap::kAppend, WriteMode::kAppend));
  return write({DeltaOp::kListInsert, path, std::move(value), index});
}

Result<Value> ProcessContext::list_pop(const Path& path, int64_t index) {
  THEUS_RETURN_IF_ERROR(guard_write(path, cap::kDelete, WriteMode::kDelete));
  if (path.root() != "local") {
    THEUS_ASSIGN_OR_RETURN(Value removed, tx_->list_pop(path, index));
    wrote(path);
    return removed;
  }
  THEUS_ASSIGN_OR_RETURN(Value cur, tree::lookup(local_root(), path));
  if (!cur.is_list())
    return Status(ErrorCode::kTypeMismatch, "Path '" + path.to_string() + "' holds " +
                                                std::string(cur.type_name()) + ", not a list");
  int64_t n = static_cast<int64_t>(cur.as_list().size());
  int64_t i = index < 0 ? index + n : index;
  if (i < 0 || i >= n)
    return Status(ErrorCode::kNotFound, "pop index " + std::to_string(index) +
                                            " out of range at '" + path.to_string() + "'");
  Value removed = cur.as_list()[static_cast<size_t>(i)];
  THEUS_RETURN_IF_ERROR(write({DeltaOp::kListErase, path, Value(), i}));
  return removed;
}

Status ProcessContext::list_replace(const Path& path, List items) {
  THEUS_RETURN_IF_ERROR(guard_write(path, cap::kUpdate, WriteMode::kWrite));
  return write({DeltaOp::kListReplace, path, Value(std::move(items)), 0});
}

Status ProcessContext::list_clear(const Path& path) {
  THEUS_RETURN_IF_ERROR(guard_write(path, cap::kDelete, WriteMode::kDelete));
  return write({DeltaOp::kListClear, path, Value(), 0});
}

Status ProcessContext::clear(const Path& path) {
  THEUS_RETURN_IF_ERROR(guard_write(path, cap::kDelete, WriteMode::kDelete));
  return write({DeltaOp::kClear, path, Value(), 0});
}

void ProcessContext::emit_signal(std::string topic, Value payload) {
  tx_->add_signal(Map{{Value(topic), std::move(payload)}});
}

void ProcessContext::add_outbox(OutboxMessage message) { tx_->add_outbox(std::move(message)); }

Status ProcessContext::finish(const Value& result) {
  if (contract_->is_pure()) {
    // A PURE body may not change anything (spec §3.5): its guards refuse every write, so any delta
    // here came through the transaction escape hatch.
    std::vector<Path> changed;
    for (const Delta& d : tx_->deltas()) changed.push_back(d.path);
    THEUS_RETURN_IF_ERROR(policy_.check_output_compliance(name_, changed));
  }
  THEUS_RETURN_IF_ERROR(policy_.check_output_compliance(name_, written_));
  THEUS_ASSIGN_OR_RETURN(std::vector<Value> values, output_values(*contract_, name_, result));
  THEUS_RETURN_IF_ERROR(apply_output_values(*tx_, *contract_, values, written_));
  return tx_->commit();
}

}  // namespace theus

// ProcessContext: what a C++ process sees during one attempt: guarded reads and writes over the
// attempt's transaction (contract rules, zone capabilities, CONSTANT ceiling, PURE read-only
// view), its arguments, and the base version. finish() runs the post-body pipeline. Paths rooted
// at `local` address a per-invocation scratch map that is never committed.
// Thread-safety: belongs to the attempt's thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "theus/access_policy.hpp"
#include "theus/contract.hpp"
#include "theus/path.hpp"
#include "theus/status.hpp"
#include "theus/transaction.hpp"
#include "theus/value.hpp"

namespace theus {

class ProcessContext {
 public:
  ProcessContext(Transaction& tx, const Contract& contract, AccessOptions access,
                 std::string process_name, Map args);

  std::string_view process_name() const noexcept { return name_; }
  uint64_t version() const noexcept { return tx_->base_version(); }
  const Map& args() const noexcept { return args_; }
  // The argument `name`, or nullptr.
  const Value* arg(std::string_view name) const noexcept { return args_.find(name); }

  // Guarded read: rule A (root declared), PRIVATE zone reads as null (non-admin), rule B (the path
  // must be covered by a declaration when strict). PURE processes read their base snapshot and get
  // ContractViolation "Access denied: '<p>' not declared in contract inputs.".
  Result<Value> get(const Path& path) const;
  Result<Value> get(std::string_view path) const;

  // Guarded writes (applied to the transaction now, output compliance checked at finish()).
  Status set(const Path& path, Value value);
  Status set(std::string_view path, Value value);
  Status erase(const Path& path);
  Status list_append(const Path& path, Value value);
  Status list_insert(const Path& path, int64_t index, Value value);
  Result<Value> list_pop(const Path& path, int64_t index = -1);
  Status list_replace(const Path& path, List items);
  Status list_clear(const Path& path);
  Status clear(const Path& path);

  // Signals and outbox messages travel with the transaction (released only on commit).
  void emit_signal(std::string topic, Value payload);
  void add_outbox(OutboxMessage message);

  // The unchecked escape hatch (`ctx.transaction` in Python): writes are not output-checked.
  Transaction& transaction() noexcept { return *tx_; }
  AccessPolicy& policy() noexcept { return policy_; }
  const AccessPolicy& policy() const noexcept { return policy_; }
  // Paths written through the guards so far, in order.
  const std::vector<Path>& guarded_writes() const noexcept { return written_; }

  // After the body returned `result`: output compliance (rule C), output mapping, commit.
  Status finish(const Value& result);

 private:
  Status guard_write(const Path& path, uint8_t capability, WriteMode mode) const;
  // Applies a guarded write: `local.*` to the scratch root, everything else to the transaction.
  Status write(Delta delta);
  void wrote(const Path& path) { written_.push_back(path); }

  Transaction* tx_;
  const Contract* contract_;
  AccessPolicy policy_;
  std::string name_;
  Map args_;
  std::vector<Path> written_;
  // {"local": scratch map}: per invocation, never committed; created on first use.
  const Value& local_root() const;
  mutable Value local_;
};

}  // namespace theus

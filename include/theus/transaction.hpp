// Transaction: an isolated unit of change over one base snapshot. Reads see the base plus the
// transaction's own writes; writes are applied to private working roots and recorded as an ordered
// delta log. commit() validates (VIP gate, per-path conflicts, hooks) and replays the log onto the
// current head as exactly one new version; any failure leaves the engine untouched. Destroying an
// open transaction aborts it (RAII), leaving no trace.
// Thread-safety: a Transaction is used by one thread at a time; it may be moved between threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "theus/delta.hpp"
#include "theus/mod_index.hpp"
#include "theus/snapshot.hpp"
#include "theus/status.hpp"
#include "theus/value.hpp"

namespace theus {

class Engine;
namespace detail {
struct EngineImpl;
}

// A message released to the engine's outbox queue only when its transaction commits.
struct OutboxMessage {
  std::string topic;
  Value payload;
};

enum class CommitOrigin : unsigned char { kTransaction, kCompareAndSwap };

// What a pre-install hook sees: the candidate version and how it was made.
struct CommitView {
  CommitOrigin origin;
  const Snapshot& head;  // the current version, about to be replaced
  const Snapshot& next;  // the candidate version (not yet visible to anyone)
  const std::vector<Delta>& deltas;
  const std::vector<WriteRecord>& writes;
  const std::optional<std::string>& requester;
};

// Runs under the commit lock before install; a non-OK status refuses the commit.
using CommitHook = std::function<Status(const CommitView&)>;

struct TransactionOptions {
  // Commit fails with kWriteTimeout when the transaction was open longer than this.
  std::chrono::milliseconds write_timeout{5000};
  // Identity checked by the VIP gate (a process name); none for manual transactions.
  std::optional<std::string> requester;
};

class Transaction {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&& other) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  bool is_open() const noexcept { return state_ == State::kOpen; }
  uint64_t base_version() const noexcept { return base_->version; }
  const SnapshotPtr& base() const noexcept { return base_; }
  const std::optional<std::string>& requester() const noexcept { return options_.requester; }
  std::chrono::milliseconds write_timeout() const noexcept { return options_.write_timeout; }
  // Milliseconds since the transaction started (or was last re-based by begin()).
  double elapsed_ms() const;

  // Re-bases an unwritten transaction on the current head and restarts its clock.
  // kFailedPrecondition once something was written.
  Status begin();

  // ---- reads: base snapshot plus this transaction's writes ----------------------------------
  Result<Value> get(const Path& path) const;
  Result<Value> get(std::string_view path) const;
  Result<std::optional<Value>> find(const Path& path) const;
  const Value& data() const;                              // working data root (a map)
  const Value& heavy() const noexcept { return heavy_; }  // working heavy root (a map)

  // ---- writes (each checked now, recorded as one delta) -------------------------------------
  // A write is applied to the working roots at once, except the first write of a transaction when
  // it sets a key below existing maps: that one is checked, recorded and applied when something
  // first reads the working state, or at commit (where, if nobody else holds the head version, it
  // is applied to the head's own nodes in place instead of copying their path).
  Status set(const Path& path, Value value);
  Status set(std::string_view path, Value value);
  Status erase(const Path& path);  // kNotFound when absent
  // Deep-merges `patch` at `at` (the root when empty); `patch` must be a map.
  Status merge(const Path& at, Value patch);
  // `tx.update` semantics: each key of `data` (and of `heavy`, under the heavy root) is merged;
  // keys containing '.' or '[' are paths. All or nothing: on error no key of this call is kept.
  Status update(const Map& data, const Map& heavy = {});
  Status list_append(const Path& path, Value value);
  Status list_insert(const Path& path, int64_t index, Value value);
  Result<Value> list_pop(const Path& path, int64_t index = -1);
  Status list_replace(const Path& path, List items);
  Status list_clear(const Path& path);
  Status clear(const Path& path);  // the map at path becomes empty

  // Applies any recorded delta (the common entry point of all writers and of replay).
  Status apply(Delta delta);

  // ---- signals, outbox, assertions, hooks ---------------------------------------------------
  void add_signal(Map signals);  // topic -> payload, latched as str(payload) at commit
  void add_outbox(OutboxMessage message);
  std::vector<OutboxMessage> take_outbox();  // removes the pending messages (explicit flush)
  // The commit conflicts unless the engine's version at commit time equals `version`.
  void set_assert_version(uint64_t version) { assert_version_ = version; }
  void add_pre_install_hook(CommitHook hook) { hooks_.push_back(std::move(hook)); }

  // Incremented by every successful write: a reader may cache what it resolved at generation g
  // and reuse it while generation() == g.
  uint64_t generation() const noexcept { return generation_; }

  const std::vector<Delta>& deltas() const noexcept { return deltas_; }
  // The write set so far. A successful commit hands it to the engine's history (empty afterwards).
  const std::vector<WriteRecord>& writes() const noexcept { return writes_; }
  const std::vector<Map>& pending_signals() const noexcept { return signals_; }
  const std::vector<OutboxMessage>& pending_outbox() const noexcept { return outbox_; }

  // Validates and installs the changes as one new version. The transaction is finished afterwards
  // whatever the outcome. Errors: kWriteTimeout, kBusy, kConflict, kStrictConflict,
  // kSchemaViolation (or whatever a hook returns), kFailedPrecondition when already finished.
  Status commit();
  // Discards everything. Idempotent.
  void abort() noexcept;

 private:
  friend struct detail::EngineImpl;
  friend class Engine;
  enum class State : unsigned char { kOpen, kCommitted, kAborted };

  Transaction(std::shared_ptr<detail::EngineImpl> engine, SnapshotPtr base,
              TransactionOptions options);
  Status record(Delta delta, std::vector<WriteRecord> writes);
  // Applies the deferred first write (if any) to the working data root.
  void materialize() const;

  std::shared_ptr<detail::EngineImpl> engine_;
  SnapshotPtr base_;
  TransactionOptions options_;
  std::chrono::steady_clock::time_point start_;
  uint64_t conflict_base_ = 0;  // version the conflict check compares against (CAS: expected)
  mutable Value data_;          // working data root; lags by deltas_[0] while `deferred_`
  Value heavy_;
  std::vector<Delta> deltas_;
  std::vector<WriteRecord> writes_;
  std::vector<Map> signals_;
  std::vector<OutboxMessage> outbox_;
  std::vector<CommitHook> hooks_;
  std::optional<uint64_t> assert_version_;
  CommitOrigin origin_ = CommitOrigin::kTransaction;
  uint64_t generation_ = 0;
  State state_ = State::kOpen;
  mutable bool deferred_ = false;  // deltas_ is one kSet not yet applied to data_
};

// Applies one delta to a (data, heavy) pair of roots. `replay` selects commit-time semantics
// (erase of an absent key is a no-op). Used by Transaction and by commit replay.
Status apply_delta(const Delta& delta, Value* data, Value* heavy, bool replay);

}  // namespace theus

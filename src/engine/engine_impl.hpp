// EngineImpl: the shared state behind an Engine handle and every Transaction bound to it.
// The head snapshot is an atomic shared_ptr (readers never take the commit lock); commits are
// serialised by `commit_mu`; hook lists are copy-on-write so the commit path reads them lock-free.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "theus/audit.hpp"
#include "theus/conflict_manager.hpp"
#include "theus/engine.hpp"
#include "theus/signal_hub.hpp"
#include "theus/snapshot.hpp"
#include "theus/transaction.hpp"
#include "theus/zone.hpp"

namespace theus::detail {

// A shared_ptr published to many threads. The lock is held only to copy or swap the pointer (never
// while anything else runs), so readers cannot be held up by a committer. (libstdc++ 12's
// std::atomic<std::shared_ptr> releases its internal lock with relaxed ordering in load(), which
// ThreadSanitizer rightly reports as a race.)
template <class T>
class SharedSlot {
 public:
  explicit SharedSlot(std::shared_ptr<T> value) : value_(std::move(value)) {}
  std::shared_ptr<T> load() const {
    std::lock_guard lock(mu_);
    return value_;
  }
  void store(std::shared_ptr<T> value) {
    std::shared_ptr<T> old;  // released after the lock is dropped
    std::lock_guard lock(mu_);
    old = std::exchange(value_, std::move(value));
  }
  // Runs `f` on the published object, in place, when the slot holds the only reference to it
  // (nobody else can then see the change: a new reference is only ever copied from the slot,
  // under this lock, which `f` holds). Returns f's result, or nullopt when the object is shared.
  template <class F>
  auto update_if_sole(F&& f)
      -> std::optional<decltype(f(std::declval<std::remove_const_t<T>&>()))> {
    std::lock_guard lock(mu_);
    if (value_.use_count() != 1) return std::nullopt;
    // use_count() is a relaxed read. Copying and dropping a reference is an acquire-release
    // read-modify-write on the count, so every former holder's last reads of the object happen
    // before what `f` writes.
    { std::shared_ptr<T> probe = value_; }
    return f(const_cast<std::remove_const_t<T>&>(*value_));
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<T> value_;
};

struct ProcessEntry {
  ProcessSpec spec;
  ProcessFn fn;
};

struct EngineImpl {
  using HookList = std::vector<std::pair<std::string, CommitHook>>;
  using ObserverList = std::vector<CommitObserver>;

  explicit EngineImpl(EngineOptions opts);

  // Validates and installs `tx` (called by Transaction::commit with the timeout already checked).
  Status commit(Transaction& tx);

  SnapshotPtr head() const { return head_.load(); }
  bool has_hooks_or_observers() const;
  // Replace the hook / observer lists (callers hold hooks_mu).
  void set_hooks(std::shared_ptr<const HookList> list);
  void set_observers(std::shared_ptr<const ObserverList> list);

 private:
  // The fast path of commit() for a deferred single write onto an unshared head.
  bool commit_in_place(Transaction& tx, uint64_t cur);
  // Install steps shared by both paths (under the commit lock, in this order around the head
  // update): the write set joins the index and the history; latched signals go out; the outbox
  // messages are released.
  void record_writes(Transaction& tx, uint64_t version);
  void publish_signals(const Map& latched);
  void release_outbox(Transaction& tx);

 public:
  EngineOptions options;
  std::atomic<bool> strict_cas;
  std::atomic<bool> strict_guards;
  ConflictManager conflicts;
  PhysicsOverrides overrides;
  SignalHub hub;

  std::mutex hooks_mu;  // serialises hook/observer list updates (readers use the atomics)
  SharedSlot<const HookList> hooks;
  SharedSlot<const ObserverList> observers;
  std::atomic<size_t> hook_or_observer_count{0};  // lets commits skip both lists when empty
  SharedSlot<const audit::Auditor> auditor;       // null: audit disabled

  std::function<void()> before_block;  // set once, before concurrent use (set_blocking_hooks)
  std::function<void()> after_block;

  mutable std::mutex outbox_mu;
  std::deque<OutboxMessage> outbox;

  // Write sets of the most recent commits (version, writes), oldest first.
  mutable std::mutex history_mu;
  std::deque<std::pair<uint64_t, std::shared_ptr<const std::vector<WriteRecord>>>> history;

  mutable std::shared_mutex registry_mu;
  std::map<std::string, std::shared_ptr<const ProcessEntry>, std::less<>> registry;

  struct Counters {
    std::atomic<uint64_t> commits{0}, conflicts{0}, busy{0}, hook_refusals{0}, retries{0},
        gave_up{0}, vip_grants{0};
  } counters;

 private:
  std::mutex commit_mu_;
  SharedSlot<const Snapshot> head_;
  ModIndex index_;  // per-path modification index of the head; guarded by commit_mu_
};

// Latched signal map of a commit: every pending dict merged in order, payloads as str().
Map latch_signals(const std::vector<Map>& pending);

}  // namespace theus::detail

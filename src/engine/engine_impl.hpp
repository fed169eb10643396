// EngineImpl: the shared state behind an Engine handle and every Transaction bound to it.
// The head snapshot is an atomic shared_ptr (readers never take the commit lock); commits are
// serialised by `commit_mu`; hook lists are copy-on-write so the commit path reads them lock-free.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "theus/conflict_manager.hpp"
#include "theus/engine.hpp"
#include "theus/snapshot.hpp"
#include "theus/transaction.hpp"
#include "theus/zone.hpp"

namespace theus::detail {

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

  SnapshotPtr head() const { return head_.load(std::memory_order_acquire); }

  EngineOptions options;
  std::atomic<bool> strict_cas;
  std::atomic<bool> strict_guards;
  ConflictManager conflicts;
  PhysicsOverrides overrides;

  std::mutex hooks_mu;  // serialises hook/observer list updates (readers use the atomics)
  std::atomic<std::shared_ptr<const HookList>> hooks;
  std::atomic<std::shared_ptr<const ObserverList>> observers;

  mutable std::mutex outbox_mu;
  std::deque<OutboxMessage> outbox;

  mutable std::shared_mutex registry_mu;
  std::map<std::string, std::shared_ptr<const ProcessEntry>, std::less<>> registry;

  struct Counters {
    std::atomic<uint64_t> commits{0}, conflicts{0}, busy{0}, hook_refusals{0}, retries{0},
        gave_up{0}, vip_grants{0};
  } counters;

 private:
  std::mutex commit_mu_;
  std::atomic<std::shared_ptr<const Snapshot>> head_;
};

// Latched signal map of a commit: every pending dict merged in order, payloads as str().
Map latch_signals(const std::vector<Map>& pending);

}  // namespace theus::detail

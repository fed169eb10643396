// Engine: head publication, the commit pipeline, CAS, the process registry and execute().
#include "theus/engine.hpp"

#include <thread>

#include "engine/engine_impl.hpp"
#include "theus/execution.hpp"
#include "theus/process_context.hpp"
#include "theus/tree.hpp"

namespace theus {
namespace detail {

EngineImpl::EngineImpl(EngineOptions opts)
    : options(opts),
      strict_cas(opts.strict_cas),
      strict_guards(opts.strict_guards),
      conflicts(opts.retry.vip_after, opts.retry.base_backoff_ms),
      hooks(std::make_shared<const HookList>()),
      observers(std::make_shared<const ObserverList>()),
      auditor(nullptr),
      head_(std::make_shared<Snapshot>()) {}  // never const: see commit_in_place

Map latch_signals(const std::vector<Map>& pending) {
  Map latch;
  for (const Map& m : pending)
    for (auto item : m) latch = latch.set(item.key, Value(item.value.str()));
  return latch;
}

namespace {

std::string mismatch(std::string_view kind, uint64_t expected, uint64_t found) {
  if (kind == "strict")
    return "Strict CAS Mismatch: Expected " + std::to_string(expected) + ", Found " +
           std::to_string(found) + " (Strict CAS Enabled)";
  return "CAS Version Mismatch (Conflict Detected): Expected " + std::to_string(expected) +
         ", Found " + std::to_string(found) + " (Keys Changed)";
}

}  // namespace

Status EngineImpl::commit(Transaction& tx) {
  SnapshotPtr retired;  // the replaced head; released after the lock is dropped
  std::unique_lock lock(commit_mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    if (before_block) before_block();
    lock.lock();
    if (after_block) after_block();
  }
  SnapshotPtr head = head_.load();
  const uint64_t cur = head->version;

  // 1. VIP gate (every commit path honours the ticket).
  if (conflicts.is_blocked(tx.requester())) {
    counters.busy.fetch_add(1, std::memory_order_relaxed);
    return {ErrorCode::kBusy, "System Busy (VIP Access Only)"};
  }
  // 2. Conflict check against the base version.
  if (tx.assert_version_ && *tx.assert_version_ != cur) {
    counters.conflicts.fetch_add(1, std::memory_order_relaxed);
    return {ErrorCode::kConflict,
            mismatch("smart", *tx.assert_version_, cur) + " - asserted version does not match"};
  }
  const uint64_t base = tx.conflict_base_;
  if (base != cur) {
    if (base > cur) {
      counters.conflicts.fetch_add(1, std::memory_order_relaxed);
      return {ErrorCode::kConflict, mismatch("smart", base, cur) + " - expected version is ahead"};
    }
    if (strict_cas.load(std::memory_order_relaxed)) {
      counters.conflicts.fetch_add(1, std::memory_order_relaxed);
      return {ErrorCode::kStrictConflict, mismatch("strict", base, cur)};
    }
    for (const WriteRecord& w : tx.writes_) {
      uint64_t at = index_.last_overlapping_write(w.path);
      if (at > base) {
        counters.conflicts.fetch_add(1, std::memory_order_relaxed);
        return {ErrorCode::kConflict, mismatch("smart", base, cur) + " - path '" +
                                          w.path.to_string() + "' overlaps a write at version " +
                                          std::to_string(at)};
      }
    }
  }
  // 3. Build the new version: the working roots when nothing was committed since the base,
  //    else a replay of the log onto the head.
  if (tx.deferred_ && tx.base_->version == cur && tx.hooks_.empty() && !has_hooks_or_observers()) {
    head.reset();
    if (commit_in_place(tx, cur)) return Status::ok();
    head = head_.load();  // shared: build a new version as usual
  }
  auto next = std::make_shared<Snapshot>();
  next->version = cur + 1;
  if (tx.base_->version == cur) {
    tx.materialize();
    next->data = tx.data_.as_map();
    next->heavy = tx.heavy_.as_map();
  } else {
    Value data(head->data), heavy(head->heavy);
    for (const Delta& d : tx.deltas_) {
      Status st = apply_delta(d, &data, &heavy, /*replay=*/true);
      if (!st.is_ok())
        return {st.code(), "Replay of '" + d.describe() + "' failed: " + st.message()};
    }
    next->data = data.as_map();
    next->heavy = heavy.as_map();
  }
  next->signals = latch_signals(tx.signals_);

  // 4. Pre-install hooks: the transaction's own (the audit output gate), then the engine's (the
  //    schema gate), so audit rules see the delta before the schema check (spec §3.5).
  CommitView view{tx.origin_, *head, *next, tx.deltas_, tx.writes_, tx.requester()};
  auto refuse = [&](Status st) {
    counters.hook_refusals.fetch_add(1, std::memory_order_relaxed);
    if (st.code() == ErrorCode::kSchemaViolation &&
        st.message().rfind("Schema Violation", 0) != 0) {
      std::string prefix = tx.origin_ == CommitOrigin::kCompareAndSwap ? "Schema Violation (CAS): "
                                                                       : "Schema Violation: ";
      return Status(st.code(), prefix + st.message());
    }
    return st;
  };
  for (const CommitHook& hook : tx.hooks_) {
    Status st = hook(view);
    if (!st.is_ok()) return refuse(std::move(st));
  }
  const bool extras = has_hooks_or_observers();
  if (extras) {
    std::shared_ptr<const HookList> engine_hooks = hooks.load();
    for (const auto& [name, hook] : *engine_hooks) {
      Status st = hook(view);
      if (!st.is_ok()) return refuse(std::move(st));
    }
  }

  // 5. Install (the write set first joins the history, so a reader of version v finds its
  //    writes there), then signals, observers and the outbox, still in commit order.
  record_writes(tx, next->version);
  head_.store(next);
  retired = std::move(head);
  counters.commits.fetch_add(1, std::memory_order_relaxed);
  publish_signals(next->signals);
  if (extras) {
    std::shared_ptr<const ObserverList> obs = observers.load();
    for (const CommitObserver& o : *obs) o(*next, view);
  }
  release_outbox(tx);
  lock.unlock();
  return Status::ok();
}

void EngineImpl::set_hooks(std::shared_ptr<const HookList> list) {
  size_t n = list->size() + observers.load()->size();
  hooks.store(std::move(list));
  hook_or_observer_count.store(n, std::memory_order_release);
}

void EngineImpl::set_observers(std::shared_ptr<const ObserverList> list) {
  size_t n = list->size() + hooks.load()->size();
  observers.store(std::move(list));
  hook_or_observer_count.store(n, std::memory_order_release);
}

bool EngineImpl::has_hooks_or_observers() const {
  return hook_or_observer_count.load(std::memory_order_acquire) != 0;
}

bool EngineImpl::commit_in_place(Transaction& tx, uint64_t cur) {
  // The transaction's only write is still deferred and its base is the head. When nothing but the
  // engine holds the head version (no reader, no other transaction), its nodes are updated in
  // place to become version cur + 1: no path is copied, no node allocated. Without hooks and
  // observers nobody needs the previous version. Called under the commit lock.
  tx.base_.reset();  // drop the transaction's own references to the head
  tx.data_ = Value();
  const Delta& d = tx.deltas_.front();
  Map latched = latch_signals(tx.signals_);
  std::optional<Status> applied = head_.update_if_sole([&](Snapshot& s) {
    Value data(std::move(s.data));
    // Cannot fail: the write was checked against this same version when it was recorded.
    Status st = tree::set_in_place(&data, d.path, d.value);
    s.data = std::move(data.mutable_map());
    if (st.is_ok()) {
      s.version = cur + 1;
      s.signals = latched;
    }
    return st;
  });
  if (!applied || !applied->is_ok()) {
    tx.base_ = head_.load();  // the version is unchanged: restore the transaction as it was
    tx.data_ = Value(tx.base_->data);
    return false;
  }
  tx.deferred_ = false;
  record_writes(tx, cur + 1);
  counters.commits.fetch_add(1, std::memory_order_relaxed);
  publish_signals(latched);
  release_outbox(tx);
  return true;
}

void EngineImpl::record_writes(Transaction& tx, uint64_t version) {
  index_.record(tx.writes_, version);
  std::lock_guard hlock(history_mu);
  // The finished transaction hands its write set over (no copy).
  history.emplace_back(version,
                       std::make_shared<const std::vector<WriteRecord>>(std::move(tx.writes_)));
  if (history.size() > Engine::kWriteHistory) history.pop_front();
}

void EngineImpl::publish_signals(const Map& latched) {
  for (auto item : latched) hub.publish(item.key.str() + ":" + item.value.str());
}

void EngineImpl::release_outbox(Transaction& tx) {
  if (tx.outbox_.empty()) return;
  std::lock_guard olock(outbox_mu);
  for (auto& m : tx.outbox_) outbox.push_back(std::move(m));
  tx.outbox_.clear();
}

}  // namespace detail

// ---- Engine ------------------------------------------------------------------------------------

Engine::Engine(EngineOptions options) : impl_(std::make_shared<detail::EngineImpl>(options)) {}
Engine::Engine(Engine&& other) noexcept = default;
Engine& Engine::operator=(Engine&& other) noexcept = default;
Engine::~Engine() = default;

SnapshotPtr Engine::snapshot() const { return impl_->head(); }
uint64_t Engine::version() const { return impl_->head()->version; }

Transaction Engine::transaction(TransactionOptions options) {
  return Transaction(impl_, impl_->head(), std::move(options));
}

Status Engine::compare_and_swap(uint64_t expected_version, const Map& data, const Map& heavy,
                                std::vector<Map> signals, std::optional<std::string> requester) {
  TransactionOptions opts;
  opts.requester = std::move(requester);
  opts.write_timeout = std::chrono::milliseconds::max();
  Transaction tx(impl_, impl_->head(), std::move(opts));
  tx.origin_ = CommitOrigin::kCompareAndSwap;
  tx.conflict_base_ = expected_version;
  THEUS_RETURN_IF_ERROR(tx.update(data, heavy));
  for (Map& s : signals) tx.add_signal(std::move(s));
  return tx.commit();
}

Status Engine::register_process(ProcessSpec spec, ProcessFn fn) {
  if (spec.name.empty()) return {ErrorCode::kInvalidArgument, "Process name must not be empty"};
  if (!fn) return {ErrorCode::kInvalidArgument, "Process '" + spec.name + "' has no function"};
  THEUS_RETURN_IF_ERROR(spec.contract.check_pure_inputs());
  auto entry = std::make_shared<detail::ProcessEntry>();
  std::string name = spec.name;
  entry->spec = std::move(spec);
  entry->fn = std::move(fn);
  std::unique_lock lock(impl_->registry_mu);
  impl_->registry[name] = std::move(entry);
  return Status::ok();
}

bool Engine::has_process(std::string_view name) const {
  std::shared_lock lock(impl_->registry_mu);
  return impl_->registry.find(name) != impl_->registry.end();
}

Result<Value> Engine::execute(std::string_view name, Map args) {
  std::shared_ptr<const detail::ProcessEntry> entry;
  {
    std::shared_lock lock(impl_->registry_mu);
    auto it = impl_->registry.find(name);
    if (it == impl_->registry.end())
      return Status(ErrorCode::kNotFound,
                    "Process '" + std::string(name) + "' not found in registry");
    entry = it->second;
  }
  AccessOptions access;
  access.strict_guards = strict_guards();
  access.overrides = &impl_->overrides;
  // Strict guards refuse Signal/Meta inputs when the guard is built, before any attempt runs.
  THEUS_RETURN_IF_ERROR(AccessPolicy(entry->spec.contract, access).check_input_zones());
  Execution exec(*this, entry->spec.name);
  THEUS_RETURN_IF_ERROR(exec.check_inputs([&](const std::string& field) -> std::optional<Value> {
    if (const Value* v = args.find(std::string_view(field))) return *v;
    return std::nullopt;
  }));
  for (;;) {
    Transaction tx = exec.begin_attempt();
    ProcessContext ctx(tx, entry->spec.contract, access, entry->spec.name, args);
    Result<Value> result = entry->fn(ctx);
    Status st = result.is_ok() ? ctx.finish(result.value()) : result.status();
    AttemptOutcome out = exec.conclude(st);
    switch (out.action) {
      case AttemptAction::kDone:
        return result;
      case AttemptAction::kFail:
        return out.error;
      case AttemptAction::kRetry:
        exec.wait_for_turn(out.wait);
        break;
    }
  }
}

bool Engine::strict_cas() const { return impl_->strict_cas.load(); }
void Engine::set_strict_cas(bool enabled) { impl_->strict_cas.store(enabled); }
bool Engine::strict_guards() const { return impl_->strict_guards.load(); }
void Engine::set_strict_guards(bool enabled) { impl_->strict_guards.store(enabled); }
const EngineOptions& Engine::options() const { return impl_->options; }
ConflictManager& Engine::conflicts() { return impl_->conflicts; }
PhysicsOverrides& Engine::physics_overrides() { return impl_->overrides; }

void Engine::set_pre_install_hook(const std::string& name, CommitHook hook) {
  std::lock_guard lock(impl_->hooks_mu);
  auto next = std::make_shared<detail::EngineImpl::HookList>(*impl_->hooks.load());
  bool replaced = false;
  for (auto& [n, h] : *next) {
    if (n == name) {
      h = hook;
      replaced = true;
    }
  }
  if (!replaced) next->emplace_back(name, std::move(hook));
  impl_->set_hooks(std::move(next));
}

void Engine::set_auditor(std::shared_ptr<const audit::Auditor> auditor) {
  impl_->auditor.store(std::move(auditor));
}

std::shared_ptr<const audit::Auditor> Engine::auditor() const { return impl_->auditor.load(); }

void Engine::remove_pre_install_hook(const std::string& name) {
  std::lock_guard lock(impl_->hooks_mu);
  auto next = std::make_shared<detail::EngineImpl::HookList>(*impl_->hooks.load());
  std::erase_if(*next, [&](const auto& p) { return p.first == name; });
  impl_->set_hooks(std::move(next));
}

void Engine::set_blocking_hooks(std::function<void()> before, std::function<void()> after) {
  impl_->before_block = std::move(before);
  impl_->after_block = std::move(after);
}

void Engine::add_commit_observer(CommitObserver observer) {
  std::lock_guard lock(impl_->hooks_mu);
  auto next = std::make_shared<detail::EngineImpl::ObserverList>(*impl_->observers.load());
  next->push_back(std::move(observer));
  impl_->set_observers(std::move(next));
}

SignalHub& Engine::signal_hub() { return impl_->hub; }

bool Engine::for_each_write_since(uint64_t version,
                                  const std::function<void(const WriteRecord&)>& fn,
                                  uint64_t* up_to) const {
  std::vector<std::shared_ptr<const std::vector<WriteRecord>>> sets;
  {
    std::lock_guard lock(impl_->history_mu);
    const auto& h = impl_->history;
    uint64_t last = h.empty() ? impl_->head()->version : h.back().first;
    if (up_to) *up_to = std::max(last, version);
    if (version >= last) return true;
    // Every version in (version, last] must still be in the history.
    if (h.empty() || h.front().first > version + 1) return false;
    for (auto it = h.rbegin(); it != h.rend() && it->first > version; ++it)
      sets.push_back(it->second);
  }
  for (auto it = sets.rbegin(); it != sets.rend(); ++it)
    for (const WriteRecord& w : **it) fn(w);
  return true;
}

bool Engine::writes_since(uint64_t version, std::vector<WriteRecord>* out, uint64_t* up_to) const {
  return for_each_write_since(
      version, [out](const WriteRecord& w) { out->push_back(w); }, up_to);
}

std::vector<OutboxMessage> Engine::drain_outbox() {
  std::lock_guard lock(impl_->outbox_mu);
  std::vector<OutboxMessage> out(std::make_move_iterator(impl_->outbox.begin()),
                                 std::make_move_iterator(impl_->outbox.end()));
  impl_->outbox.clear();
  return out;
}

void Engine::push_outbox(OutboxMessage message) {
  std::lock_guard lock(impl_->outbox_mu);
  impl_->outbox.push_back(std::move(message));
}

std::optional<OutboxMessage> Engine::peek_outbox() const {
  std::lock_guard lock(impl_->outbox_mu);
  if (impl_->outbox.empty()) return std::nullopt;
  return impl_->outbox.front();
}

bool Engine::pop_outbox() {
  std::lock_guard lock(impl_->outbox_mu);
  if (impl_->outbox.empty()) return false;
  impl_->outbox.pop_front();
  return true;
}

size_t Engine::outbox_size() const {
  std::lock_guard lock(impl_->outbox_mu);
  return impl_->outbox.size();
}

EngineStats Engine::stats() const {
  const auto& c = impl_->counters;
  EngineStats s;
  s.commits = c.commits.load();
  s.conflicts = c.conflicts.load();
  s.busy = c.busy.load();
  s.hook_refusals = c.hook_refusals.load();
  s.retries = c.retries.load();
  s.gave_up = c.gave_up.load();
  s.vip_grants = c.vip_grants.load();
  return s;
}

}  // namespace theus

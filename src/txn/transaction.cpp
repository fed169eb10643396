// Transaction: working roots + delta log + write set; commit hands over to the engine.
#include "theus/transaction.hpp"

#include <cassert>
#include <cstdio>

#include "engine/engine_impl.hpp"
#include "theus/tree.hpp"

namespace theus {

Transaction::Transaction(std::shared_ptr<detail::EngineImpl> engine, SnapshotPtr base,
                         TransactionOptions options)
    : engine_(std::move(engine)),
      base_(std::move(base)),
      options_(std::move(options)),
      start_(std::chrono::steady_clock::now()),
      conflict_base_(base_->version),
      data_(base_->data),
      heavy_(base_->heavy) {}

Transaction::Transaction(Transaction&& other) noexcept : state_(State::kAborted) {
  *this = std::move(other);
}

Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    abort();
    engine_ = std::move(other.engine_);
    base_ = std::move(other.base_);
    options_ = std::move(other.options_);
    start_ = other.start_;
    conflict_base_ = other.conflict_base_;
    data_ = std::move(other.data_);
    heavy_ = std::move(other.heavy_);
    deltas_ = std::move(other.deltas_);
    writes_ = std::move(other.writes_);
    signals_ = std::move(other.signals_);
    outbox_ = std::move(other.outbox_);
    hooks_ = std::move(other.hooks_);
    assert_version_ = other.assert_version_;
    origin_ = other.origin_;
    generation_ = other.generation_;
    state_ = other.state_;
    deferred_ = other.deferred_;
    other.state_ = State::kAborted;
  }
  return *this;
}

Transaction::~Transaction() { abort(); }

void Transaction::abort() noexcept {
  if (state_ != State::kOpen) return;
  state_ = State::kAborted;
  // Nothing reached the engine: dropping the working roots, log, signals and outbox is the abort.
  deferred_ = false;
  deltas_.clear();
  writes_.clear();
  signals_.clear();
  outbox_.clear();
}

double Transaction::elapsed_ms() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
      .count();
}

Status Transaction::begin() {
  if (!is_open()) return {ErrorCode::kFailedPrecondition, "Transaction is already finished"};
  if (!deltas_.empty())
    return {ErrorCode::kFailedPrecondition, "Transaction already has writes; cannot re-base it"};
  base_ = engine_->head();
  conflict_base_ = base_->version;
  data_ = Value(base_->data);
  heavy_ = Value(base_->heavy);
  start_ = std::chrono::steady_clock::now();
  ++generation_;
  return Status::ok();
}

namespace {

// True when setting `path` below `root` cannot fail: the walk meets only maps down to the parent
// of the last segment, or stops early at a missing key or a null (the rest is created as maps).
// Setting a key in a map always succeeds, so the last segment is not looked up.
bool set_cannot_fail(const Value& root, const Path& path) {
  const Value* node = &root;
  for (size_t i = 0; i < path.size(); ++i) {
    if (node->is_null()) return true;
    if (!node->is_map()) return false;
    if (i + 1 == path.size()) return true;
    const Map& m = node->as_map();
    node = m.find(tree::map_key(m, path[i], path.loose(), true));
    if (!node) return true;
  }
  return true;
}

}  // namespace

void Transaction::materialize() const {
  if (!deferred_) return;
  deferred_ = false;
  // Checked by set_cannot_fail against this same root when it was recorded.
  Status st = tree::set_in_place(&data_, deltas_.front().path, deltas_.front().value);
  (void)st;
  assert(st.is_ok());
}

const Value& Transaction::data() const {
  materialize();
  return data_;
}

Result<Value> Transaction::get(const Path& path) const {
  if (is_heavy_root(path)) return tree::lookup(heavy_, path, 1);
  materialize();
  return tree::lookup(data_, path);
}

Result<Value> Transaction::get(std::string_view path) const {
  THEUS_ASSIGN_OR_RETURN(Path p, Path::parse(path));
  return get(p);
}

Result<std::optional<Value>> Transaction::find(const Path& path) const {
  if (is_heavy_root(path)) return tree::find(heavy_, path, 1);
  materialize();
  return tree::find(data_, path);
}

Status Transaction::record(Delta delta, std::vector<WriteRecord> writes) {
  if (!is_open()) return {ErrorCode::kFailedPrecondition, "Transaction is already finished"};
  materialize();
  if (delta.op == DeltaOp::kSet && !delta.path.empty() && !is_heavy_root(delta.path) &&
      set_cannot_fail(data_, delta.path)) {
    if (deltas_.empty()) {
      deferred_ = true;
    } else {
      // Copy-on-write into the working root (nodes this transaction already copied are reused).
      THEUS_RETURN_IF_ERROR(tree::set_in_place(&data_, delta.path, delta.value));
    }
  } else {
    // Apply to copies first: a failed write leaves the transaction exactly as it was.
    Value data = data_, heavy = heavy_;
    THEUS_RETURN_IF_ERROR(apply_delta(delta, &data, &heavy, /*replay=*/false));
    data_ = std::move(data);
    heavy_ = std::move(heavy);
  }
  deltas_.push_back(std::move(delta));
  for (auto& w : writes) writes_.push_back(std::move(w));
  ++generation_;
  return Status::ok();
}

Status Transaction::apply(Delta delta) {
  std::vector<WriteRecord> writes;
  if (delta.op == DeltaOp::kMerge) {
    THEUS_ASSIGN_OR_RETURN(std::optional<Value> existing, find(delta.path));
    std::vector<Path> paths;
    tree::merge_write_paths(existing ? &*existing : nullptr, delta.value, delta.path, &paths);
    for (auto& p : paths) writes.push_back({std::move(p), false, false});
  } else {
    writes.push_back({delta.path, delta.op == DeltaOp::kErase, delta.op == DeltaOp::kListAppend});
  }
  return record(std::move(delta), std::move(writes));
}

Status Transaction::set(const Path& path, Value value) {
  return apply({DeltaOp::kSet, path, std::move(value), 0});
}

Status Transaction::set(std::string_view path, Value value) {
  THEUS_ASSIGN_OR_RETURN(Path p, Path::parse(path));
  return set(p, std::move(value));
}

Status Transaction::erase(const Path& path) { return apply({DeltaOp::kErase, path, Value(), 0}); }

Status Transaction::merge(const Path& at, Value patch) {
  return apply({DeltaOp::kMerge, at, std::move(patch), 0});
}

namespace {

// A payload key is a path when it contains '.' or '['.
Result<Path> key_path(const Value& key) {
  if (key.is_string()) {
    std::string_view k = key.as_string();
    if (k.find_first_of(".[") != std::string_view::npos) return Path::parse(k);
  }
  return Path{key};
}

}  // namespace

Status Transaction::update(const Map& data, const Map& heavy) {
  // One update is one write: if a later key fails, the keys merged before it are rolled back.
  materialize();
  Value data_before = data_, heavy_before = heavy_;
  size_t deltas_before = deltas_.size(), writes_before = writes_.size();
  Status st = [&]() -> Status {
    for (auto item : data) {
      THEUS_ASSIGN_OR_RETURN(Path p, key_path(item.key));
      THEUS_RETURN_IF_ERROR(merge(p, item.value));
    }
    for (auto item : heavy) {
      THEUS_ASSIGN_OR_RETURN(Path p, key_path(item.key));
      THEUS_RETURN_IF_ERROR(merge(Path{Value("heavy")}.concat(p), item.value));
    }
    return Status::ok();
  }();
  if (!st.is_ok() && is_open()) {
    data_ = std::move(data_before);
    heavy_ = std::move(heavy_before);
    deltas_.resize(deltas_before);
    writes_.resize(writes_before);
  }
  return st;
}

Status Transaction::list_append(const Path& path, Value value) {
  return apply({DeltaOp::kListAppend, path, std::move(value), 0});
}

Status Transaction::list_insert(const Path& path, int64_t index, Value value) {
  return apply({DeltaOp::kListInsert, path, std::move(value), index});
}

Result<Value> Transaction::list_pop(const Path& path, int64_t index) {
  THEUS_ASSIGN_OR_RETURN(Value cur, get(path));
  if (!cur.is_list())
    return Status(ErrorCode::kTypeMismatch, "Path '" + path.to_string() + "' holds " +
                                                std::string(cur.type_name()) + ", not a list");
  const List& l = cur.as_list();
  int64_t n = static_cast<int64_t>(l.size());
  int64_t i = index < 0 ? index + n : index;
  if (i < 0 || i >= n)
    return Status(ErrorCode::kNotFound, n == 0 ? "pop from empty list at '" + path.to_string() + "'"
                                               : "pop index " + std::to_string(index) +
                                                     " out of range at '" + path.to_string() + "'");
  Value removed = l[static_cast<size_t>(i)];
  THEUS_RETURN_IF_ERROR(apply({DeltaOp::kListErase, path, Value(), i}));
  return removed;
}

Status Transaction::list_replace(const Path& path, List items) {
  return apply({DeltaOp::kListReplace, path, Value(std::move(items)), 0});
}

Status Transaction::list_clear(const Path& path) {
  return apply({DeltaOp::kListClear, path, Value(), 0});
}

Status Transaction::clear(const Path& path) { return apply({DeltaOp::kClear, path, Value(), 0}); }

void Transaction::add_signal(Map signals) {
  if (is_open()) signals_.push_back(std::move(signals));
}

void Transaction::add_outbox(OutboxMessage message) {
  if (is_open()) outbox_.push_back(std::move(message));
}

std::vector<OutboxMessage> Transaction::take_outbox() { return std::exchange(outbox_, {}); }

Status Transaction::commit() {
  if (state_ == State::kCommitted)
    return {ErrorCode::kFailedPrecondition, "Transaction was already committed"};
  if (state_ == State::kAborted) return {ErrorCode::kFailedPrecondition, "Transaction was aborted"};
  double elapsed = elapsed_ms();
  auto limit = options_.write_timeout.count();
  if (elapsed > static_cast<double>(limit)) {
    abort();
    char buf[96];
    std::snprintf(buf, sizeof buf, "Transaction timed out after %.1fms (limit %lldms)", elapsed,
                  static_cast<long long>(limit));
    return {ErrorCode::kWriteTimeout, buf};
  }
  Status st = engine_->commit(*this);
  if (st.is_ok()) {
    state_ = State::kCommitted;
  } else {
    abort();
  }
  return st;
}

}  // namespace theus

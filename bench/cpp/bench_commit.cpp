// Commit of a 1-key delta into a map of 10^3..10^6 keys living at `domain`, through
// engine.transaction() + tx.set() + tx.commit(), against a naive copy-on-commit store (the whole
// std::unordered_map / std::map is copied under a mutex on every commit, same operation).
// Nothing else holds the head in the `set` and `incr` loops, so commits update it in place; the
// `set_held_head` loop keeps a reader on the previous version, so every commit copies its path.
// DESIGN.md section 4: <= 2 us at 10^6 keys and flat as the map grows (10^6 / 10^3 ratio <= 3).
// The summary uses CPU time per commit (this machine's cores are shared; Google Benchmark's table
// shows real time too).
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_util.hpp"
#include "theus/theus.hpp"

namespace {

using theus::Engine;
using theus::Map;
using theus::Path;
using theus::Status;
using theus::Transaction;
using theus::Value;

constexpr int64_t kSizes[] = {1'000, 10'000, 100'000, 1'000'000};
constexpr size_t kProbeKeys = 4096;  // distinct keys the timed loops cycle through (power of 2)

std::string key_name(int64_t i) { return theus_bench::cat("k", std::to_string(i)); }

// Deterministic spread of probe indices over [0, n).
std::vector<int64_t> probe_indices(int64_t n) {
  std::vector<int64_t> out;
  out.reserve(kProbeKeys);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < kProbeKeys; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out.push_back(static_cast<int64_t>(x % static_cast<uint64_t>(n)));
  }
  return out;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(1);
}

// ---- Theus: engine whose `domain` is a map of n keys ------------------------------------------

struct TheusFixture {
  Engine engine;
  std::vector<Path> paths;  // pre-built domain.k<i> paths of the probe keys
};

TheusFixture& theus_fixture(int64_t n) {
  static std::map<int64_t, std::unique_ptr<TheusFixture>> cache;
  auto& slot = cache[n];
  if (slot) return *slot;
  slot = std::make_unique<TheusFixture>();
  Map domain;
  for (int64_t i = 0; i < n; ++i) domain = domain.set(Value(key_name(i)), Value(i));
  Transaction tx = slot->engine.transaction();
  Status st = tx.set(Path{"domain"}, Value(std::move(domain)));
  if (st) st = tx.commit();
  if (!st) die(theus_bench::cat("building the initial state: ", st.to_string()));
  for (int64_t i : probe_indices(n)) slot->paths.push_back(Path{"domain", Value(key_name(i))});
  return *slot;
}

void BM_TheusCommitSet(benchmark::State& state) {
  TheusFixture& fx = theus_fixture(state.range(0));
  size_t i = 0;
  int64_t v = 0;
  for (auto _ : state) {
    Transaction tx = fx.engine.transaction();
    Status st = tx.set(fx.paths[i & (kProbeKeys - 1)], Value(v));
    if (st) st = tx.commit();
    if (!st) die(theus_bench::cat("commit: ", st.to_string()));
    ++i;
    ++v;
  }
  // The last write must be visible in the head.
  if (i > 0) {
    auto got = fx.engine.snapshot()->get(fx.paths[(i - 1) & (kProbeKeys - 1)]);
    if (!got || !(got.value() == Value(v - 1))) die("commit_set: last write not visible");
  }
  state.SetItemsProcessed(state.iterations());
}

// The same commit while a reader holds the version being replaced (a snapshot taken before each
// transaction and dropped after its commit): the head cannot be updated in place, so the commit
// copies the path to the key (copy-on-write), as it does under any concurrent reader.
void BM_TheusCommitSetHeldHead(benchmark::State& state) {
  TheusFixture& fx = theus_fixture(state.range(0));
  size_t i = 0;
  int64_t v = 0;
  for (auto _ : state) {
    theus::SnapshotPtr reader = fx.engine.snapshot();
    Transaction tx = fx.engine.transaction();
    Status st = tx.set(fx.paths[i & (kProbeKeys - 1)], Value(v));
    if (st) st = tx.commit();
    if (!st) die(theus_bench::cat("commit: ", st.to_string()));
    if (reader->version + 1 != fx.engine.version()) die("held head: version did not advance");
    ++i;
    ++v;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_TheusCommitIncrement(benchmark::State& state) {
  TheusFixture& fx = theus_fixture(state.range(0));
  size_t i = 0;
  for (auto _ : state) {
    const Path& path = fx.paths[i & (kProbeKeys - 1)];
    Transaction tx = fx.engine.transaction();
    auto cur = tx.get(path);
    if (!cur) die(theus_bench::cat("read: ", cur.status().to_string()));
    Status st = tx.set(path, Value(cur.value().as_int() + 1));
    if (st) st = tx.commit();
    if (!st) die(theus_bench::cat("commit: ", st.to_string()));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- baseline: copy-on-commit store guarded by a mutex -----------------------------------------

template <class M>
class NaiveStore {
 public:
  explicit NaiveStore(M initial) : head_(std::make_shared<const M>(std::move(initial))) {}

  void set(const std::string& key, int64_t v) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<M>(*head_);  // the whole map, every commit
    (*next)[key] = v;
    head_ = std::move(next);
    ++version_;
  }
  void increment(const std::string& key) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<M>(*head_);
    (*next)[key] += 1;
    head_ = std::move(next);
    ++version_;
  }
  std::shared_ptr<const M> snapshot() {
    std::lock_guard lock(mu_);
    return head_;
  }

 private:
  std::mutex mu_;
  std::shared_ptr<const M> head_;
  uint64_t version_ = 0;
};

template <class M>
struct NaiveFixture {
  explicit NaiveFixture(M initial) : store(std::move(initial)) {}
  NaiveStore<M> store;
  std::vector<std::string> keys;
};

template <class M>
NaiveFixture<M>& naive_fixture(int64_t n) {
  static std::map<int64_t, std::unique_ptr<NaiveFixture<M>>> cache;
  auto& slot = cache[n];
  if (slot) return *slot;
  M initial;
  if constexpr (requires { initial.reserve(size_t{}); }) initial.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) initial.emplace(key_name(i), i);
  slot = std::make_unique<NaiveFixture<M>>(std::move(initial));
  for (int64_t i : probe_indices(n)) slot->keys.push_back(key_name(i));
  return *slot;
}

template <class M>
void BM_NaiveCommitSet(benchmark::State& state) {
  NaiveFixture<M>& fx = naive_fixture<M>(state.range(0));
  size_t i = 0;
  int64_t v = 0;
  for (auto _ : state) {
    fx.store.set(fx.keys[i & (kProbeKeys - 1)], v);
    ++i;
    ++v;
  }
  if (i > 0 && fx.store.snapshot()->at(fx.keys[(i - 1) & (kProbeKeys - 1)]) != v - 1)
    die("naive set: last write not visible");
  state.SetItemsProcessed(state.iterations());
}

template <class M>
void BM_NaiveCommitIncrement(benchmark::State& state) {
  NaiveFixture<M>& fx = naive_fixture<M>(state.range(0));
  size_t i = 0;
  for (auto _ : state) {
    fx.store.increment(fx.keys[i & (kProbeKeys - 1)]);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

using UMap = std::unordered_map<std::string, int64_t>;
using OMap = std::map<std::string, int64_t>;

void sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : kSizes) b->Arg(n);
  b->Unit(benchmark::kNanosecond);
}

BENCHMARK(BM_TheusCommitSet)->Apply(sizes);
BENCHMARK(BM_NaiveCommitSet<UMap>)->Name("BM_NaiveCommitSet_unordered_map")->Apply(sizes);
BENCHMARK(BM_NaiveCommitSet<OMap>)->Name("BM_NaiveCommitSet_map")->Apply(sizes);
BENCHMARK(BM_TheusCommitSetHeldHead)->Apply(sizes);
BENCHMARK(BM_TheusCommitIncrement)->Apply(sizes);
BENCHMARK(BM_NaiveCommitIncrement<UMap>)
    ->Name("BM_NaiveCommitIncrement_unordered_map")
    ->Apply(sizes);

const char* const kUMapBaseline = "naive copy-on-commit std::unordered_map + mutex";
const char* const kOMapBaseline = "naive copy-on-commit std::map + mutex";

void summarize(const theus_bench::CaptureReporter& runs, std::vector<theus_bench::Figure>* figures,
               std::vector<theus_bench::Target>* targets, int* /*exit_code*/) {
  auto at = [&](const std::string& family, int64_t n) {
    return runs.cpu_ns(theus_bench::cat(family, "/", std::to_string(n)));
  };
  auto add_family = [&](const std::string& op, const std::string& ours,
                        const std::string& baseline_family, const char* baseline,
                        const std::string& suffix) {
    for (int64_t n : kSizes)
      figures->push_back({"commit",
                          theus_bench::cat("commit_", op, "_1key_n", std::to_string(n), suffix),
                          at(ours, n), "ns", baseline, at(baseline_family, n), true});
    const double ours_flat = at(ours, 1'000'000) / at(ours, 1'000);
    const double base_flat = at(baseline_family, 1'000'000) / at(baseline_family, 1'000);
    figures->push_back({"commit", theus_bench::cat("commit_", op, "_flatness_1e6_over_1e3", suffix),
                        ours_flat, "x", baseline, base_flat, true});
  };
  add_family("set", "BM_TheusCommitSet", "BM_NaiveCommitSet_unordered_map", kUMapBaseline, "");
  add_family("set", "BM_TheusCommitSet", "BM_NaiveCommitSet_map", kOMapBaseline, "_vs_std_map");
  add_family("set_held_head", "BM_TheusCommitSetHeldHead", "BM_NaiveCommitSet_unordered_map",
             kUMapBaseline, "");
  add_family("incr", "BM_TheusCommitIncrement", "BM_NaiveCommitIncrement_unordered_map",
             kUMapBaseline, "");

  char buf[160];
  for (const char* op : {"set", "incr"}) {
    const std::string fam =
        std::string_view(op) == "set" ? "BM_TheusCommitSet" : "BM_TheusCommitIncrement";
    const double big = at(fam, 1'000'000), small = at(fam, 1'000);
    if (!std::isfinite(big) || !std::isfinite(small)) continue;
    std::snprintf(buf, sizeof buf, "%.0f ns (CPU) at 10^6 keys", big);
    targets->push_back(
        {theus_bench::cat("1-key commit (", op, ") <= 2 us at 10^6 keys"), big <= 2000, buf});
    std::snprintf(buf, sizeof buf, "10^6/10^3 = %.2f (%.0f ns / %.0f ns)", big / small, big, small);
    targets->push_back(
        {theus_bench::cat("1-key commit (", op, ") flat: 10^6/10^3 <= 3"), big / small <= 3, buf});
  }
}

}  // namespace

int main(int argc, char** argv) {
  return theus_bench::run_main(
      argc, argv, "bench_commit: 1-key commit into a map of n keys, CPU time per commit",
      summarize);
}

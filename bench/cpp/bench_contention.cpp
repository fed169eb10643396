// Concurrent writers: 2 and 4 threads each doing N increments through engine.execute() of a
// registered C++ process, either of ONE shared counter (domain.counter) or of each thread's OWN
// counter (domain.c0..c3), against the same increments on a std::mutex-protected std::map (the
// pessimistic lock baseline). Reports commits/s, conflict rate (conflicts / commit attempts) and
// retries, and proves that no update was lost: a final counter != expected exits non-zero.
// N per thread: $THEUS_BENCH_CONTENTION_N (default 50000). The 1-thread runs are the uncontended
// reference.
// DESIGN.md section 4: same key: no lost update, bounded retries, no starvation (every execute
// succeeds); disjoint keys: zero conflicts.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "theus/theus.hpp"

namespace {

using theus::Engine;
using theus::Path;
using theus::ProcessContext;
using theus::Result;
using theus::Status;
using theus::Value;

constexpr int kMaxThreads = 4;
enum Mode : int64_t { kSameKey = 0, kDisjointKeys = 1 };

bool g_failed = false;  // a lost update or a failed execute: the program exits non-zero
thread_local int64_t t_attempts = 0;  // process-body runs of the current execute() on this thread

int64_t per_thread_n() {
  static const int64_t n = [] {
    const char* env = std::getenv("THEUS_BENCH_CONTENTION_N");
    int64_t v = env ? std::atoll(env) : 0;
    return v > 0 ? v : int64_t{50000};
  }();
  return n;
}

std::string own_key(int t) { return theus_bench::cat("c", std::to_string(t)); }

void fail(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  g_failed = true;
}

// Runs `body(thread_index)` on `threads` threads released together; returns the wall time from
// the first thread starting its work to the last one finishing it (thread start-up excluded).
template <class F>
double run_threads(int threads, const F& body) {
  using Clock = std::chrono::steady_clock;
  std::latch start(threads);
  std::vector<Clock::time_point> begin(static_cast<size_t>(threads)), end(begin);
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      start.arrive_and_wait();
      begin[static_cast<size_t>(t)] = Clock::now();
      body(t);
      end[static_cast<size_t>(t)] = Clock::now();
    });
  for (auto& th : pool) th.join();
  return std::chrono::duration<double>(*std::max_element(end.begin(), end.end()) -
                                       *std::min_element(begin.begin(), begin.end()))
      .count();
}

// An increment process over `key` (domain.<key>), registered as `name`.
void register_increment(Engine& engine, const std::string& name, const std::string& key) {
  const std::string text = theus_bench::cat("domain.", key);
  auto contract = theus::Contract::make({text}, {text});
  if (!contract) {
    fail(theus_bench::cat("contract: ", contract.status().to_string()));
    return;
  }
  Path path{"domain", Value(key)};
  Status st = engine.register_process(
      {name, std::move(contract.value())}, [path](ProcessContext& ctx) -> Result<Value> {
        ++t_attempts;
        THEUS_ASSIGN_OR_RETURN(Value cur, ctx.get(path));
        THEUS_RETURN_IF_ERROR(ctx.set(path, Value(cur.as_int() + 1)));
        return Value();
      });
  if (!st) fail(theus_bench::cat("register_process: ", st.to_string()));
}

void BM_TheusExecute(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const auto mode = static_cast<Mode>(state.range(1));
  const int64_t n = per_thread_n();
  for (auto _ : state) {
    Engine engine;
    {
      theus::Transaction tx = engine.transaction();
      Status st = tx.set(Path{"domain", "counter"}, Value(0));
      for (int t = 0; st && t < kMaxThreads; ++t)
        st = tx.set(Path{"domain", Value(own_key(t))}, Value(0));
      if (st) st = tx.commit();
      if (!st) return fail(theus_bench::cat("initial state: ", st.to_string()));
    }
    register_increment(engine, "increment_counter", "counter");
    for (int t = 0; t < kMaxThreads; ++t)
      register_increment(engine, theus_bench::cat("increment_", own_key(t)), own_key(t));
    const theus::EngineStats before = engine.stats();

    std::atomic<int64_t> failures{0};
    std::atomic<int64_t> max_attempts{0};
    const double seconds = run_threads(threads, [&](int t) {
      const std::string name = mode == kSameKey ? std::string("increment_counter")
                                                : theus_bench::cat("increment_", own_key(t));
      int64_t most = 0;
      for (int64_t i = 0; i < n; ++i) {
        t_attempts = 0;
        Result<Value> r = engine.execute(name);
        most = std::max(most, t_attempts);
        if (!r && failures.fetch_add(1) == 0)
          std::fprintf(stderr, "error: execute(%s): %s\n", name.c_str(),
                       r.status().to_string().c_str());
      }
      int64_t seen = max_attempts.load();
      while (most > seen && !max_attempts.compare_exchange_weak(seen, most)) {
      }
    });
    state.SetIterationTime(seconds);

    // Zero lost updates: every increment is in the final state.
    theus::SnapshotPtr snap = engine.snapshot();
    int64_t total = 0;
    for (int t = 0; t < threads; ++t) {
      const std::string key = mode == kSameKey ? std::string("counter") : own_key(t);
      auto v = snap->get(Path{"domain", Value(key)});
      const int64_t got = v && v.value().is_int() ? v.value().as_int() : -1;
      const int64_t want = mode == kSameKey ? threads * n : n;
      if (got != want) {
        fail(theus_bench::cat("lost updates: domain.", key, " = ", std::to_string(got),
                              ", expected ", std::to_string(want)));
      }
      total = mode == kSameKey ? got : total + got;
      if (mode == kSameKey) break;
    }
    if (failures.load() != 0)
      fail(
          theus_bench::cat(std::to_string(failures.load()), " execute() call(s) failed (gave up)"));

    const theus::EngineStats after = engine.stats();
    const double commits = static_cast<double>(after.commits - before.commits);
    const double conflicts = static_cast<double>(after.conflicts - before.conflicts);
    const double busy = static_cast<double>(after.busy - before.busy);
    const double attempts = commits + conflicts + busy;
    state.counters["commits_per_s"] = commits / seconds;
    state.counters["conflict_rate"] = attempts > 0 ? conflicts / attempts : 0;
    state.counters["conflicts"] = conflicts;
    state.counters["busy"] = busy;
    state.counters["retries"] = static_cast<double>(after.retries - before.retries);
    state.counters["gave_up"] = static_cast<double>(after.gave_up - before.gave_up);
    state.counters["vip_grants"] = static_cast<double>(after.vip_grants - before.vip_grants);
    state.counters["max_attempts"] = static_cast<double>(max_attempts.load());
    state.counters["lost"] = static_cast<double>(threads * n - total);
  }
}

void BM_MutexMap(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const auto mode = static_cast<Mode>(state.range(1));
  const int64_t n = per_thread_n();
  for (auto _ : state) {
    std::mutex mu;
    std::map<std::string, int64_t> m{{"counter", 0}};
    for (int t = 0; t < kMaxThreads; ++t) m[own_key(t)] = 0;
    const double seconds = run_threads(threads, [&](int t) {
      const std::string key = mode == kSameKey ? std::string("counter") : own_key(t);
      for (int64_t i = 0; i < n; ++i) {
        std::lock_guard lock(mu);
        ++m[key];
      }
    });
    state.SetIterationTime(seconds);
    int64_t total = 0;
    if (mode == kSameKey) {
      total = m["counter"];
    } else {
      for (int t = 0; t < threads; ++t) total += m[own_key(t)];
    }
    if (total != threads * n) fail("mutex baseline lost updates");
    state.counters["commits_per_s"] = static_cast<double>(threads * n) / seconds;
    state.counters["conflict_rate"] = 0;
    state.counters["conflicts"] = 0;
    state.counters["busy"] = 0;
    state.counters["retries"] = 0;
    state.counters["gave_up"] = 0;
    state.counters["vip_grants"] = 0;
    state.counters["max_attempts"] = 1;
    state.counters["lost"] = static_cast<double>(threads * n - total);
  }
}

void cases(benchmark::internal::Benchmark* b) {
  b->ArgNames({"threads", "disjoint"});
  for (int64_t mode : {kSameKey, kDisjointKeys})
    for (int64_t threads : {1, 2, 4}) b->Args({threads, mode});
  b->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_TheusExecute)->Apply(cases);
BENCHMARK(BM_MutexMap)->Apply(cases);

void summarize(const theus_bench::CaptureReporter& runs, std::vector<theus_bench::Figure>* figures,
               std::vector<theus_bench::Target>* targets, int* exit_code) {
  const char* const baseline = "std::mutex + std::map (pessimistic lock)";
  char buf[200];
  for (int64_t mode : {kSameKey, kDisjointKeys}) {
    for (int64_t threads : {1, 2, 4}) {
      const std::string args = theus_bench::cat("/threads:", std::to_string(threads),
                                                "/disjoint:", std::to_string(mode));
      const std::string ours =
          theus_bench::cat("BM_TheusExecute", args, "/iterations:1/manual_time");
      const std::string base = theus_bench::cat("BM_MutexMap", args, "/iterations:1/manual_time");
      const std::string tag = theus_bench::cat(mode == kSameKey ? "same_key_" : "disjoint_keys_",
                                               std::to_string(threads), "t");
      if (threads == 1) {  // uncontended reference: throughput only
        figures->push_back({"contention", theus_bench::cat(tag, "_commits_per_s"),
                            runs.counter(ours, "commits_per_s"), "commits/s", baseline,
                            runs.counter(base, "commits_per_s"), false});
        continue;
      }
      auto c = [&](const std::string& run, const char* key) { return runs.counter(run, key); };
      figures->push_back({"contention", theus_bench::cat(tag, "_commits_per_s"),
                          c(ours, "commits_per_s"), "commits/s", baseline, c(base, "commits_per_s"),
                          false});
      figures->push_back({"contention", theus_bench::cat(tag, "_conflict_rate"),
                          c(ours, "conflict_rate"), "ratio", baseline, c(base, "conflict_rate"),
                          true});
      figures->push_back({"contention", theus_bench::cat(tag, "_retries"), c(ours, "retries"),
                          "count", baseline, c(base, "retries"), true});
      figures->push_back({"contention", theus_bench::cat(tag, "_lost_updates"), c(ours, "lost"),
                          "count", baseline, c(base, "lost"), true});

      const double lost = c(ours, "lost"), gave_up = c(ours, "gave_up");
      const double conflicts = c(ours, "conflicts"), retries = c(ours, "retries");
      const double most = c(ours, "max_attempts");
      if (!std::isfinite(lost)) continue;
      if (mode == kSameKey) {
        std::snprintf(buf, sizeof buf,
                      "lost=%.0f gave_up=%.0f retries=%.0f (%.3g per execute), at most %.0f "
                      "attempts in one execute",
                      lost, gave_up, retries,
                      retries / static_cast<double>(threads * per_thread_n()), most);
        targets->push_back(
            {theus_bench::cat("same key, ", std::to_string(threads),
                              " threads: no lost update, bounded retries, no starvation"),
             lost == 0 && gave_up == 0, buf});
      } else {
        std::snprintf(buf, sizeof buf, "conflicts=%.0f lost=%.0f retries=%.0f", conflicts, lost,
                      retries);
        targets->push_back({theus_bench::cat("disjoint keys, ", std::to_string(threads),
                                             " threads: zero conflicts"),
                            conflicts == 0 && lost == 0, buf});
      }
    }
  }
  if (g_failed) {
    std::fprintf(stderr, "error: lost updates or failed executions detected (see above)\n");
    *exit_code = 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return theus_bench::run_main(argc, argv, "bench_contention: concurrent increments", summarize);
}

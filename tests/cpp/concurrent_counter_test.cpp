// Concurrent execute(): no lost update on one hot counter (conflicts retried, bounded, VIP), and
// zero conflicts between processes writing disjoint keys of the same root (Deviation D1/D2).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "theus/engine.hpp"
#include "theus/process_context.hpp"
#include "txn/test_printers.hpp"

namespace theus {
namespace {

constexpr int kThreads = 4;
constexpr int kIncrements = 1000;

// A process reading `path` and returning it plus one (mapped back onto `path`).
Status register_increment(Engine& e, const std::string& name, const std::string& path) {
  auto contract = Contract::make({path}, {path});
  THEUS_RETURN_IF_ERROR(contract.status());
  return e.register_process({name, std::move(contract).value()},
                            [path](ProcessContext& ctx) -> Result<Value> {
                              THEUS_ASSIGN_OR_RETURN(Value n, ctx.get(path));
                              return Value(n.as_int() + 1);
                            });
}

// Runs `name_of(t)` kIncrements times on each of kThreads threads; returns the failures.
template <class NameOf>
int hammer(Engine& e, NameOf name_of) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&e, &failures, name = name_of(t)] {
      for (int i = 0; i < kIncrements; ++i) {
        auto r = e.execute(name);
        if (!r.is_ok()) {
          ++failures;
          ADD_FAILURE() << name << ": " << r.status().to_string();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  return failures.load();
}

TEST(ConcurrentCounterTest, FourThreadsIncrementOneCounterWithoutLostUpdates) {
  Engine e;
  ASSERT_TRUE(e.compare_and_swap(0, Map{{"domain", Map{{"counter", 0}}}}).is_ok());
  ASSERT_TRUE(register_increment(e, "inc", "domain.counter").is_ok());
  EXPECT_EQ(hammer(e, [](int) { return std::string("inc"); }), 0);

  EXPECT_EQ(e.snapshot()->get("domain.counter").value(), Value(kThreads * kIncrements));
  EngineStats s = e.stats();
  EXPECT_EQ(s.commits, 1u + kThreads * kIncrements);  // one version per execution (plus the seed)
  EXPECT_EQ(e.version(), s.commits);
  EXPECT_EQ(s.gave_up, 0u);
  EXPECT_EQ(s.retries, s.conflicts + s.busy);  // every refused commit was retried
  EXPECT_FALSE(e.conflicts().vip_holder().has_value());
}

TEST(ConcurrentCounterTest, DistinctProcessesOnOneCounterShareTheVipTicket) {
  // Different requesters contend: conflicts escalate to VIP tickets that block the others.
  Engine e;
  ASSERT_TRUE(e.compare_and_swap(0, Map{{"domain", Map{{"counter", 0}}}}).is_ok());
  for (int t = 0; t < kThreads; ++t)
    ASSERT_TRUE(register_increment(e, "inc" + std::to_string(t), "domain.counter").is_ok());
  EXPECT_EQ(hammer(e, [](int t) { return "inc" + std::to_string(t); }), 0);

  EXPECT_EQ(e.snapshot()->get("domain.counter").value(), Value(kThreads * kIncrements));
  EngineStats s = e.stats();
  EXPECT_EQ(s.commits, 1u + kThreads * kIncrements);
  EXPECT_EQ(s.gave_up, 0u);
  EXPECT_EQ(s.retries, s.conflicts + s.busy);
  EXPECT_FALSE(e.conflicts().vip_holder().has_value());
}

TEST(ConcurrentCounterTest, DisjointCountersNeverConflict) {
  Engine e;
  Map counters;
  for (int t = 0; t < kThreads; ++t)
    counters = counters.set(Value("c" + std::to_string(t)), Value(0));
  ASSERT_TRUE(e.compare_and_swap(0, Map{{"domain", counters}}).is_ok());
  for (int t = 0; t < kThreads; ++t) {
    std::string id = std::to_string(t);
    ASSERT_TRUE(register_increment(e, "inc" + id, "domain.c" + id).is_ok());
  }
  EXPECT_EQ(hammer(e, [](int t) { return "inc" + std::to_string(t); }), 0);

  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(e.snapshot()->get("domain.c" + std::to_string(t)).value(), Value(kIncrements));
  EngineStats s = e.stats();
  EXPECT_EQ(s.conflicts, 0u);
  EXPECT_EQ(s.busy, 0u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(s.commits, 1u + kThreads * kIncrements);
}

}  // namespace
}  // namespace theus

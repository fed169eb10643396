// Transaction: reads, every write kind and the delta log / write set it records, atomic failure,
// abort, commit-once, write timeout, re-basing, signals, outbox and asserted versions.
#include "theus/transaction.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "theus/engine.hpp"
#include "txn/test_printers.hpp"

namespace theus {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

Path P(std::string_view text) { return Path::parse(text).value(); }

// An engine at version 1 holding `data`.
Engine seeded(Map data) {
  Engine engine;
  EXPECT_TRUE(engine.compare_and_swap(0, data).is_ok());
  return engine;
}

Map base_data() {
  return Map{{"domain", Map{{"a", 1}, {"c", Map{{"x", 1}}}, {"q", List{1, 2, 3}}}}};
}

std::vector<std::string> write_paths(const Transaction& tx) {
  std::vector<std::string> out;
  for (const WriteRecord& w : tx.writes()) out.push_back(w.path.to_string());
  return out;
}

std::vector<std::string> described(const Transaction& tx) {
  std::vector<std::string> out;
  for (const Delta& d : tx.deltas()) out.push_back(d.describe());
  return out;
}

TEST(TransactionTest, ReadsSeeBasePlusOwnWrites) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  EXPECT_EQ(tx.base_version(), 1u);
  ASSERT_TRUE(tx.set("domain.a", 10).is_ok());
  EXPECT_EQ(tx.get("domain.a").value(), Value(10));
  EXPECT_EQ(tx.get("domain.c.x").value(), Value(1));
  EXPECT_EQ(tx.find(P("domain.missing")).value(), std::nullopt);
  EXPECT_EQ(tx.get("domain.missing").code(), ErrorCode::kNotFound);
  // The engine does not see uncommitted writes.
  EXPECT_EQ(engine.snapshot()->get("domain.a").value(), Value(1));
}

TEST(TransactionTest, ReadsStayOnBaseWhileTheHeadMoves) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(engine.compare_and_swap(1, Map{{"domain.a", 99}}).is_ok());
  EXPECT_EQ(tx.get("domain.a").value(), Value(1));
}

TEST(TransactionTest, SetRecordsOneSetDeltaAndItsPath) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.set("domain.new.deep", "v").is_ok());  // creates the missing map
  EXPECT_THAT(described(tx), ElementsAre("SET domain.new.deep = 'v'"));
  EXPECT_THAT(write_paths(tx), ElementsAre("domain.new.deep"));
  EXPECT_FALSE(tx.writes()[0].erased);
  EXPECT_EQ(tx.get("domain.new").value(), Value(Map{{"deep", "v"}}));
}

TEST(TransactionTest, EraseRecordsAnErasedWrite) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.erase(P("domain.c.x")).is_ok());
  EXPECT_THAT(described(tx), ElementsAre("ERASE domain.c.x"));
  ASSERT_EQ(tx.writes().size(), 1u);
  EXPECT_TRUE(tx.writes()[0].erased);
  EXPECT_EQ(tx.get("domain.c").value(), Value(Map()));
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(engine.snapshot()->get("domain.c").value(), Value(Map()));
}

TEST(TransactionTest, MergeRecordsLeafPaths) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  Map patch{{"domain", Map{{"a", 2}, {"c", Map{{"y", 3}}}, {"n", Map{{"z", 1}}}}}};
  ASSERT_TRUE(tx.update(patch).is_ok());
  EXPECT_EQ(tx.deltas().size(), 1u);
  EXPECT_EQ(tx.deltas()[0].op, DeltaOp::kMerge);
  EXPECT_EQ(tx.deltas()[0].path.to_string(), "domain");
  // Leaves where map meets map; a map placed where none existed is a write of its own path.
  EXPECT_THAT(write_paths(tx), ElementsAre("domain.a", "domain.c.y", "domain.n"));
  EXPECT_EQ(tx.get("domain.c").value(), Value(Map{{"x", 1}, {"y", 3}}));
  EXPECT_EQ(tx.get("domain.q").value(), Value(List{1, 2, 3}));  // merge never deletes
}

TEST(TransactionTest, UpdateTreatsDottedAndBracketKeysAsPaths) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.update(Map{{"domain.c.x", 5}, {"domain[q][0]", "first"}, {"domain['k.1']", true}})
                  .is_ok());
  EXPECT_THAT(write_paths(tx), ElementsAre("domain.c.x", "domain.q[0]", "domain['k.1']"));
  EXPECT_EQ(tx.get("domain.c.x").value(), Value(5));
  EXPECT_EQ(tx.get("domain.q").value(), Value(List{"first", 2, 3}));
  EXPECT_EQ(tx.get(Path{"domain", "k.1"}).value(), Value(true));
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(engine.snapshot()->get("domain.c.x").value(), Value(5));
}

TEST(TransactionTest, HeavyUpdateWritesTheHeavyRoot) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.update(Map{}, Map{{"tensor", Map{{"shape", 3}}}}).is_ok());
  EXPECT_THAT(write_paths(tx), ElementsAre("heavy.tensor"));
  EXPECT_EQ(tx.get("heavy.tensor.shape").value(), Value(3));
  EXPECT_EQ(tx.data().as_map().find(std::string_view("heavy")), nullptr);
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(engine.snapshot()->get("heavy.tensor.shape").value(), Value(3));
  EXPECT_EQ(engine.snapshot()->data.find(std::string_view("heavy")), nullptr);
}

TEST(TransactionTest, ListOperationsRecordTheListPath) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.list_append(P("domain.q"), 4).is_ok());
  ASSERT_TRUE(tx.list_insert(P("domain.q"), 0, 0).is_ok());
  EXPECT_EQ(tx.list_pop(P("domain.q")).value(), Value(4));
  EXPECT_EQ(tx.list_pop(P("domain.q"), 1).value(), Value(1));
  EXPECT_EQ(tx.get("domain.q").value(), Value(List{0, 2, 3}));
  ASSERT_TRUE(tx.list_replace(P("domain.q"), List{"z", "y"}).is_ok());
  EXPECT_THAT(described(tx), ElementsAre("LIST_APPEND domain.q = 4", "LIST_INSERT domain.q[0] = 0",
                                         "LIST_ERASE domain.q[4]", "LIST_ERASE domain.q[1]",
                                         "LIST_REPLACE domain.q = ['z', 'y']"));
  ASSERT_TRUE(tx.list_clear(P("domain.q")).is_ok());
  EXPECT_EQ(tx.deltas().back().op, DeltaOp::kListClear);
  EXPECT_EQ(tx.get("domain.q").value(), Value(List{}));
  for (const WriteRecord& w : tx.writes()) EXPECT_EQ(w.path.to_string(), "domain.q");
  EXPECT_EQ(tx.writes().size(), 6u);
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(engine.snapshot()->get("domain.q").value(), Value(List{}));
}

TEST(TransactionTest, ListPopOnEmptyListIsNotFound) {
  Engine engine = seeded(Map{{"domain", Map{{"q", List{}}}}});
  Transaction tx = engine.transaction();
  auto r = tx.list_pop(P("domain.q"));
  EXPECT_EQ(r.code(), ErrorCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("pop from empty list"));
  EXPECT_TRUE(tx.deltas().empty());
}

TEST(TransactionTest, DictClearEmptiesTheMap) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.clear(P("domain.c")).is_ok());
  EXPECT_THAT(described(tx), ElementsAre("CLEAR domain.c"));
  EXPECT_THAT(write_paths(tx), ElementsAre("domain.c"));
  EXPECT_EQ(tx.get("domain.c").value(), Value(Map()));
  EXPECT_EQ(tx.clear(P("domain.q")).code(), ErrorCode::kTypeMismatch);  // not a dict
}

TEST(TransactionTest, FailedWritesLeaveTheTransactionUnchanged) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.set("domain.ok", 1).is_ok());
  Value data_before = tx.data();
  size_t deltas_before = tx.deltas().size(), writes_before = tx.writes().size();

  EXPECT_EQ(tx.list_append(P("domain.a"), 1).code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(tx.set("domain.a.x", 1).code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(tx.erase(P("domain.missing")).code(), ErrorCode::kNotFound);
  EXPECT_EQ(tx.list_insert(P("domain.nope"), 0, 1).code(), ErrorCode::kNotFound);
  EXPECT_EQ(tx.merge(Path{}, Value(5)).code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(tx.set("domain..x", 1).code(), ErrorCode::kInvalidArgument);

  EXPECT_TRUE(tx.data().identical(data_before));
  EXPECT_EQ(tx.deltas().size(), deltas_before);
  EXPECT_EQ(tx.writes().size(), writes_before);
}

TEST(TransactionTest, FailedUpdateIsAtomic) {
  // Regression: update() applied the keys before the failing one and kept them.
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  Value data_before = tx.data();
  Status st = tx.update(Map{{"domain", Map{{"ok", 1}}}, {"domain.a.x", 2}});
  EXPECT_EQ(st.code(), ErrorCode::kTypeMismatch);
  EXPECT_TRUE(tx.data().identical(data_before));
  EXPECT_TRUE(tx.deltas().empty());
  EXPECT_TRUE(tx.writes().empty());
  // The same holds when the heavy part fails after the data part succeeded.
  ASSERT_TRUE(tx.update(Map{}, Map{{"m", 1}}).is_ok());
  Value heavy_before = tx.heavy();
  EXPECT_FALSE(tx.update(Map{{"domain.z", 1}}, Map{{"m.x", 2}}).is_ok());
  EXPECT_TRUE(tx.heavy().identical(heavy_before));
  EXPECT_TRUE(tx.data().identical(data_before));
  EXPECT_EQ(tx.deltas().size(), 1u);
}

TEST(TransactionTest, AbortLeavesNoTrace) {
  Engine engine = seeded(base_data());
  SnapshotPtr before = engine.snapshot();
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.set("domain.a", 2).is_ok());
  tx.add_signal(Map{{"ping", 1}});
  tx.add_outbox({"topic", Value(1)});
  tx.abort();
  tx.abort();  // idempotent
  EXPECT_FALSE(tx.is_open());
  EXPECT_TRUE(tx.deltas().empty());
  EXPECT_EQ(engine.version(), 1u);
  EXPECT_EQ(engine.snapshot().get(), before.get());
  EXPECT_EQ(engine.outbox_size(), 0u);
  EXPECT_EQ(tx.commit().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(tx.set("domain.a", 3).code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(engine.snapshot().get(), before.get());
}

TEST(TransactionTest, DestructorAbortsAnOpenTransaction) {
  Engine engine = seeded(base_data());
  SnapshotPtr before = engine.snapshot();
  {
    Transaction tx = engine.transaction();
    ASSERT_TRUE(tx.set("domain.a", 2).is_ok());
    tx.add_outbox({"topic", Value(1)});
  }
  EXPECT_EQ(engine.version(), 1u);
  EXPECT_EQ(engine.snapshot().get(), before.get());
  EXPECT_EQ(engine.outbox_size(), 0u);
  EXPECT_EQ(engine.stats().commits, 1u);
}

TEST(TransactionTest, MovedTransactionCommitsOnce) {
  Engine engine = seeded(base_data());
  Transaction a = engine.transaction();
  ASSERT_TRUE(a.set("domain.a", 5).is_ok());
  Transaction b = std::move(a);
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): moved-from is finished
  ASSERT_TRUE(b.commit().is_ok());
  EXPECT_EQ(engine.version(), 2u);
  EXPECT_EQ(engine.snapshot()->get("domain.a").value(), Value(5));
}

TEST(TransactionTest, CommitTwiceFailsWithFailedPrecondition) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.set("domain.a", 2).is_ok());
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(tx.commit().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(tx.set("domain.a", 3).code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(engine.version(), 2u);
}

TEST(TransactionTest, FailedCommitFinishesTheTransaction) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.set("domain.a", 2).is_ok());
  ASSERT_TRUE(engine.compare_and_swap(1, Map{{"domain.a", 3}}).is_ok());
  EXPECT_EQ(tx.commit().code(), ErrorCode::kConflict);
  EXPECT_FALSE(tx.is_open());
  EXPECT_EQ(tx.commit().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(engine.version(), 2u);
}

TEST(TransactionTest, WriteTimeoutCommitsNothing) {
  Engine engine = seeded(base_data());
  SnapshotPtr before = engine.snapshot();
  TransactionOptions opts;
  opts.write_timeout = std::chrono::milliseconds(1);
  Transaction tx = engine.transaction(opts);
  ASSERT_TRUE(tx.set("domain.a", 2).is_ok());
  tx.add_outbox({"t", Value(1)});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Status st = tx.commit();
  EXPECT_EQ(st.code(), ErrorCode::kWriteTimeout);
  EXPECT_THAT(st.message(),
              MatchesRegex("Transaction timed out after [0-9]+\\.[0-9]ms \\(limit 1ms\\)"));
  EXPECT_FALSE(tx.is_open());
  EXPECT_EQ(engine.snapshot().get(), before.get());
  EXPECT_EQ(engine.outbox_size(), 0u);
}

TEST(TransactionTest, BeginRebasesOnlyWhileUnwritten) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(engine.compare_and_swap(1, Map{{"domain.a", 7}}).is_ok());
  EXPECT_EQ(tx.get("domain.a").value(), Value(1));
  ASSERT_TRUE(tx.begin().is_ok());
  EXPECT_EQ(tx.base_version(), 2u);
  EXPECT_EQ(tx.get("domain.a").value(), Value(7));
  // Re-based: writing the path changed at version 2 no longer conflicts.
  ASSERT_TRUE(tx.set("domain.a", 8).is_ok());
  EXPECT_EQ(tx.begin().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(tx.base_version(), 2u);
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(engine.snapshot()->get("domain.a").value(), Value(8));
  EXPECT_EQ(tx.begin().code(), ErrorCode::kFailedPrecondition);
}

TEST(TransactionTest, SignalsAreLatchedAsStringsForOneVersion) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  tx.add_signal(Map{{"cmd_stop", true}, {"n", 5}});
  tx.add_signal(Map{{"cmd_stop", false}, {"msg", "hi"}, {"l", List{1, "a"}}});
  EXPECT_EQ(tx.pending_signals().size(), 2u);
  ASSERT_TRUE(tx.commit().is_ok());
  const Map& latched = engine.snapshot()->signals;
  EXPECT_EQ(latched, (Map{{"cmd_stop", "False"}, {"n", "5"}, {"msg", "hi"}, {"l", "[1, 'a']"}}));
  ASSERT_TRUE(engine.compare_and_swap(2, Map{}).is_ok());
  EXPECT_TRUE(engine.snapshot()->signals.empty());
}

TEST(TransactionTest, OutboxIsReleasedOnlyOnCommitInCommitOrder) {
  Engine engine = seeded(base_data());
  Transaction first = engine.transaction();
  Transaction second = engine.transaction();
  Transaction dropped = engine.transaction();
  first.add_outbox({"first", Value(1)});
  second.add_outbox({"second", Value(2)});
  second.add_outbox({"second", Value(3)});
  dropped.add_outbox({"dropped", Value(4)});
  EXPECT_EQ(engine.outbox_size(), 0u);
  ASSERT_TRUE(second.commit().is_ok());
  ASSERT_TRUE(first.commit().is_ok());
  dropped.abort();
  auto out = engine.drain_outbox();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].topic, "second");
  EXPECT_EQ(out[0].payload, Value(2));
  EXPECT_EQ(out[1].payload, Value(3));
  EXPECT_EQ(out[2].topic, "first");
  EXPECT_EQ(engine.outbox_size(), 0u);
}

TEST(TransactionTest, TakeOutboxRemovesPendingMessages) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  tx.add_outbox({"a", Value(1)});
  auto taken = tx.take_outbox();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_TRUE(tx.pending_outbox().empty());
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(engine.outbox_size(), 0u);
}

TEST(TransactionTest, AssertVersionMustMatchTheHeadAtCommit) {
  Engine engine = seeded(base_data());
  Transaction ok = engine.transaction();
  ok.set_assert_version(1);
  ASSERT_TRUE(ok.set("domain.a", 2).is_ok());
  ASSERT_TRUE(ok.commit().is_ok());

  // Disjoint paths would merge, but the asserted version no longer holds.
  Transaction stale = engine.transaction();
  stale.set_assert_version(2);
  ASSERT_TRUE(stale.set("domain.fresh", 1).is_ok());
  ASSERT_TRUE(engine.compare_and_swap(2, Map{{"domain.other", 1}}).is_ok());
  Status st = stale.commit();
  EXPECT_EQ(st.code(), ErrorCode::kConflict);
  EXPECT_THAT(st.message(),
              HasSubstr("CAS Version Mismatch (Conflict Detected): Expected 2, Found 3"));
  EXPECT_EQ(engine.version(), 3u);
}

TEST(TransactionTest, EmptyCommitStillBumpsTheVersion) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(engine.version(), 2u);
  EXPECT_EQ(engine.snapshot()->data, base_data());
}

TEST(DeltaTest, DescribeAndOpNames) {
  EXPECT_EQ(delta_op_name(DeltaOp::kListReplace), "LIST_REPLACE");
  EXPECT_EQ(delta_op_name(DeltaOp::kClear), "CLEAR");
  Delta d{DeltaOp::kListInsert, P("domain.q"), Value("x"), 0};
  EXPECT_EQ(d.describe(), "LIST_INSERT domain.q[0] = 'x'");
  Delta root{DeltaOp::kMerge, Path{}, Value(Map{{"a", 1}}), 0};
  EXPECT_EQ(root.describe(), "MERGE <root> = {'a': 1}");
}

TEST(DeltaTest, ReplayEraseOfAbsentKeyIsANoOp) {
  Value data(Map{{"domain", Map{}}}), heavy(Map{});
  Delta d{DeltaOp::kErase, P("domain.gone"), Value(), 0};
  EXPECT_TRUE(apply_delta(d, &data, &heavy, /*replay=*/true).is_ok());
  EXPECT_EQ(apply_delta(d, &data, &heavy, /*replay=*/false).code(), ErrorCode::kNotFound);
  EXPECT_EQ(apply_delta({DeltaOp::kErase, Path{}, Value(), 0}, &data, &heavy, true).code(),
            ErrorCode::kInvalidArgument);
}

// ---- the deferred first write -------------------------------------------------------------------

TEST(TransactionTest, DeferredFirstWriteIsSeenByEveryRead) {
  Engine engine = seeded(base_data());
  {
    Transaction tx = engine.transaction();
    ASSERT_TRUE(tx.set("domain.a", 42).is_ok());
    EXPECT_EQ(tx.deltas().size(), 1u);
    EXPECT_THAT(write_paths(tx), ElementsAre("domain.a"));
    EXPECT_EQ(tx.get("domain.a").value(), Value(42));
  }
  {
    Transaction tx = engine.transaction();
    ASSERT_TRUE(tx.set("domain.new.deep", 1).is_ok());
    EXPECT_EQ(tx.find(P("domain.new.deep")).value(), std::optional<Value>(Value(1)));
  }
  {
    Transaction tx = engine.transaction();
    ASSERT_TRUE(tx.set("domain.a", 7).is_ok());
    const Value& data = tx.data();
    EXPECT_EQ(data.as_map().find("domain")->as_map().find("a")->as_int(), 7);
  }
  EXPECT_EQ(engine.snapshot()->get("domain.a").value(), Value(1));  // nothing was committed
}

TEST(TransactionTest, WritesAfterADeferredWriteBuildOnIt) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.set("domain.c", Map{{"y", 2}}).is_ok());  // deferred
  ASSERT_TRUE(tx.set("domain.c.z", 3).is_ok());            // needs the first one applied
  ASSERT_TRUE(tx.list_append(P("domain.q"), 4).is_ok());
  EXPECT_EQ(tx.get("domain.c").value(), Value(Map{{"y", 2}, {"z", 3}}));
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(engine.snapshot()->get("domain.c").value(), Value(Map{{"y", 2}, {"z", 3}}));
  EXPECT_EQ(engine.snapshot()->get("domain.q").value(), Value(List{1, 2, 3, 4}));
}

TEST(TransactionTest, FailedUpdateAfterADeferredWriteKeepsThatWrite) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.set("domain.a", 5).is_ok());  // deferred
  EXPECT_EQ(tx.update(Map{{"domain.b", 1}, {"domain.a.x", 2}}).code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(tx.deltas().size(), 1u);
  EXPECT_EQ(tx.get("domain.a").value(), Value(5));
  EXPECT_FALSE(tx.find(P("domain.b")).value().has_value());
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(engine.snapshot()->get("domain.a").value(), Value(5));
}

TEST(TransactionTest, WriteThatCouldFailIsAppliedAtOnceAndReportsItsError) {
  Engine engine = seeded(base_data());
  Transaction tx = engine.transaction();
  // domain.a holds an int: the write is not deferred, its error comes back from set().
  EXPECT_EQ(tx.set("domain.a.x", 1).code(), ErrorCode::kTypeMismatch);
  EXPECT_TRUE(tx.deltas().empty());
  ASSERT_TRUE(tx.set("domain.q[1]", 9).is_ok());  // through a list: applied at once
  EXPECT_EQ(tx.get("domain.q").value(), Value(List{1, 9, 3}));
}

}  // namespace
}  // namespace theus

// Engine: the commit pipeline and compare_and_swap through the public API (spec §6.3, §6.4, §7.6):
// VIP gate, strict and smart CAS, path-level conflicts at any depth, replay onto a moved head,
// pre-install hooks and commit observers.
#include "theus/engine.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "theus/process_context.hpp"
#include "txn/test_printers.hpp"

namespace theus {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Engine seeded(Map data) {
  Engine engine;
  EXPECT_TRUE(engine.compare_and_swap(0, data).is_ok());
  return engine;
}

Value at(const Engine& e, std::string_view path) { return e.snapshot()->get(path).value(); }

void make_vip(Engine& e, std::string_view who) {
  for (int i = 0; i < 6; ++i) (void)e.conflicts().report_conflict(who);
  ASSERT_EQ(e.conflicts().vip_holder(), std::string(who));
}

TEST(EngineTest, StartsEmptyAtVersionZero) {
  Engine engine;
  EXPECT_EQ(engine.version(), 0u);
  EXPECT_TRUE(engine.snapshot()->data.empty());
  EXPECT_TRUE(engine.options().strict_guards);
  EXPECT_FALSE(engine.strict_cas());
}

TEST(EngineTest, CompareAndSwapFromZeroCommitsVersionOne) {
  Engine engine;
  ASSERT_TRUE(engine.compare_and_swap(0, Map{{"domain", Map{{"a", 1}}}}).is_ok());
  EXPECT_EQ(engine.version(), 1u);
  EXPECT_EQ(at(engine, "domain.a"), Value(1));
}

TEST(EngineTest, SpecExampleCSmartCas) {
  Engine e = seeded(Map{{"domain", Map{{"a", 0}, {"b", 0}}}});
  ASSERT_TRUE(e.compare_and_swap(1, Map{{"domain", Map{{"a", 1}}}}).is_ok());
  EXPECT_EQ(e.version(), 2u);
  ASSERT_TRUE(e.compare_and_swap(1, Map{{"domain", Map{{"b", 1}}}}).is_ok());
  EXPECT_EQ(e.version(), 3u);
  Status st = e.compare_and_swap(1, Map{{"domain", Map{{"a", 2}}}});
  EXPECT_EQ(st.code(), ErrorCode::kConflict);
  EXPECT_THAT(
      st.message(),
      StartsWith("CAS Version Mismatch (Conflict Detected): Expected 1, Found 3 (Keys Changed)"));
  EXPECT_EQ(e.version(), 3u);
  EXPECT_EQ(e.snapshot()->data, (Map{{"domain", Map{{"a", 1}, {"b", 1}}}}));
}

TEST(EngineTest, CasConflictMessageNamesBothVersions) {
  Engine e = seeded(Map{{"domain", Map{{"a", 0}}}});
  ASSERT_TRUE(e.compare_and_swap(1, Map{{"domain.a", 1}}).is_ok());
  Status st = e.compare_and_swap(1, Map{{"domain.a", 2}});
  EXPECT_THAT(
      st.message(),
      HasSubstr("CAS Version Mismatch (Conflict Detected): Expected 1, Found 2 (Keys Changed)"));
  EXPECT_EQ(e.stats().conflicts, 1u);
}

TEST(EngineTest, StrictCasRefusesAnyStaleVersion) {
  Engine e = seeded(Map{{"domain", Map{{"a", 0}, {"b", 0}}}});
  e.set_strict_cas(true);
  EXPECT_TRUE(e.strict_cas());
  ASSERT_TRUE(e.compare_and_swap(1, Map{{"domain.a", 1}}).is_ok());
  Status st = e.compare_and_swap(1, Map{{"domain.b", 1}});  // disjoint, still refused
  EXPECT_EQ(st.code(), ErrorCode::kStrictConflict);
  EXPECT_EQ(st.message(), "Strict CAS Mismatch: Expected 1, Found 2 (Strict CAS Enabled)");
  EXPECT_TRUE(e.compare_and_swap(2, Map{{"domain.b", 1}}).is_ok());
  // Transactions too (Deviation D2).
  Transaction tx = e.transaction();
  ASSERT_TRUE(tx.set("domain.c", 1).is_ok());
  ASSERT_TRUE(e.compare_and_swap(3, Map{{"other", 1}}).is_ok());
  Status tst = tx.commit();
  EXPECT_EQ(tst.code(), ErrorCode::kStrictConflict);
  EXPECT_EQ(tst.message(), "Strict CAS Mismatch: Expected 3, Found 4 (Strict CAS Enabled)");
  e.set_strict_cas(false);
  EXPECT_FALSE(e.strict_cas());
  EXPECT_TRUE(e.compare_and_swap(3, Map{{"domain.d", 1}}).is_ok());
}

TEST(EngineTest, ExpectedVersionAheadIsAConflict) {
  Engine e = seeded(Map{{"domain", Map{{"a", 0}}}});
  Status st = e.compare_and_swap(5, Map{{"domain.z", 1}});
  EXPECT_EQ(st.code(), ErrorCode::kConflict);
  EXPECT_THAT(
      st.message(),
      HasSubstr("CAS Version Mismatch (Conflict Detected): Expected 5, Found 1 (Keys Changed)"));
  e.set_strict_cas(true);
  EXPECT_THAT(e.compare_and_swap(5, Map{}).message(), HasSubstr("CAS Version Mismatch"));
  EXPECT_EQ(e.version(), 1u);
}

TEST(EngineTest, VipGateComesFirst) {
  Engine e = seeded(Map{{"domain", Map{{"a", 0}}}});
  make_vip(e, "hog");
  SnapshotPtr before = e.snapshot();
  // Even a CAS that would also be a version conflict reports the VIP gate.
  for (uint64_t expected : {1u, 9u}) {
    Status st = e.compare_and_swap(expected, Map{{"domain.a", 1}});
    EXPECT_EQ(st.code(), ErrorCode::kBusy);
    EXPECT_EQ(st.message(), "System Busy (VIP Access Only)");
  }
  EXPECT_EQ(e.compare_and_swap(1, Map{}, {}, {}, "other").code(), ErrorCode::kBusy);
  Transaction tx = e.transaction();
  EXPECT_EQ(tx.commit().code(), ErrorCode::kBusy);
  EXPECT_EQ(e.snapshot().get(), before.get());
  EXPECT_EQ(e.stats().busy, 4u);
  // The holder passes; after its success everyone does.
  EXPECT_TRUE(e.compare_and_swap(1, Map{{"domain.a", 1}}, {}, {}, "hog").is_ok());
  e.conflicts().report_success("hog");
  EXPECT_TRUE(e.compare_and_swap(2, Map{{"domain.a", 2}}).is_ok());
}

TEST(EngineTest, CasDottedKeysArePaths) {
  Engine e = seeded(Map{{"domain", Map{{"a", Map{{"y", 0}}}}}});
  ASSERT_TRUE(e.compare_and_swap(1, Map{{"domain.a.x", 5}, {"domain[list]", List{1}}}).is_ok());
  EXPECT_EQ(at(e, "domain.a"), Value(Map{{"y", 0}, {"x", 5}}));
  EXPECT_EQ(at(e, "domain.list"), Value(List{1}));
  EXPECT_EQ(e.snapshot()->data.find(std::string_view("domain.a.x")), nullptr);
}

TEST(EngineTest, CasMergesDeeplyAndNeverDeletes) {
  Engine e = seeded(Map{{"domain", Map{{"a", Map{{"x", 1}, {"y", 2}}}, {"b", 1}}}});
  ASSERT_TRUE(e.compare_and_swap(1, Map{{"domain", Map{{"a", Map{{"x", 9}}}}}}).is_ok());
  EXPECT_EQ(e.snapshot()->data, (Map{{"domain", Map{{"a", Map{{"x", 9}, {"y", 2}}}, {"b", 1}}}}));
  ASSERT_TRUE(e.compare_and_swap(2, Map{{"domain", Map{{"a", 5}}}}).is_ok());  // non-map replaces
  EXPECT_EQ(at(e, "domain.a"), Value(5));
}

TEST(EngineTest, EmptyPayloadStillBumpsTheVersion) {
  Engine e = seeded(Map{{"x", 1}});
  ASSERT_TRUE(e.compare_and_swap(1, Map{}).is_ok());
  ASSERT_TRUE(e.compare_and_swap(1, Map{}).is_ok());  // writes nothing: never conflicts
  EXPECT_EQ(e.version(), 3u);
  EXPECT_EQ(e.snapshot()->data, (Map{{"x", 1}}));
}

TEST(EngineTest, CasHeavyAndSignals) {
  Engine e;
  ASSERT_TRUE(e.compare_and_swap(0, Map{}, Map{{"t", 1}}, {Map{{"ping", 1}}}).is_ok());
  EXPECT_EQ(at(e, "heavy.t"), Value(1));
  EXPECT_EQ(e.snapshot()->signals, (Map{{"ping", "1"}}));
  // Heavy keys are checked for conflicts like data paths.
  ASSERT_TRUE(e.compare_and_swap(1, Map{}, Map{{"t", 2}}).is_ok());
  EXPECT_EQ(e.compare_and_swap(1, Map{}, Map{{"t", 3}}).code(), ErrorCode::kConflict);
  EXPECT_TRUE(e.compare_and_swap(1, Map{}, Map{{"u", 3}}).is_ok());
}

// Base 5 in spec §6.4 terms: version 2 wrote domain.a.x after our base version 1.
class PathConflictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        e_.compare_and_swap(0, Map{{"domain", Map{{"a", Map{{"x", Map{{"z", 0}}}, {"y", 0}}}}}})
            .is_ok());
  }
  Status write_after_concurrent_commit(std::string_view path) {
    Transaction tx = e_.transaction();
    EXPECT_TRUE(tx.set(path, 1).is_ok());
    Transaction other = e_.transaction();  // a SET of domain.a.x (not a leaf merge)
    EXPECT_TRUE(other.set("domain.a.x", Map{{"z", 7}}).is_ok());
    EXPECT_TRUE(other.commit().is_ok());
    return tx.commit();
  }
  Engine e_;
};

TEST_F(PathConflictTest, SiblingsDoNotConflict) {
  EXPECT_TRUE(write_after_concurrent_commit("domain.a.y").is_ok());
  EXPECT_EQ(at(e_, "domain.a.y"), Value(1));
  EXPECT_EQ(at(e_, "domain.a.x.z"), Value(7));
}

TEST_F(PathConflictTest, AncestorConflicts) {
  EXPECT_EQ(write_after_concurrent_commit("domain.a").code(), ErrorCode::kConflict);
  EXPECT_EQ(write_after_concurrent_commit("domain").code(), ErrorCode::kConflict);
}

TEST_F(PathConflictTest, DescendantConflicts) {
  EXPECT_EQ(write_after_concurrent_commit("domain.a.x.z").code(), ErrorCode::kConflict);
  EXPECT_EQ(write_after_concurrent_commit("domain.a.x.w").code(), ErrorCode::kConflict);
}

TEST_F(PathConflictTest, EqualPathConflicts) {
  EXPECT_EQ(write_after_concurrent_commit("domain.a.x").code(), ErrorCode::kConflict);
}

TEST_F(PathConflictTest, MergeWritesOnlyItsLeaves) {
  Transaction tx = e_.transaction();
  ASSERT_TRUE(tx.set("domain.a.x.w", 1).is_ok());
  // A dict merged into an existing dict writes domain.a.x.z only.
  ASSERT_TRUE(
      e_.compare_and_swap(1, Map{{"domain", Map{{"a", Map{{"x", Map{{"z", 7}}}}}}}}).is_ok());
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(at(e_, "domain.a.x"), Value(Map{{"z", 7}, {"w", 1}}));
  EXPECT_EQ(e_.compare_and_swap(1, Map{{"domain.a.x.z", 8}}).code(), ErrorCode::kConflict);
  EXPECT_TRUE(e_.compare_and_swap(2, Map{{"domain.a.x.z", 8}}).is_ok());
}

TEST_F(PathConflictTest, EraseAndListOperationsAreWrites) {
  Transaction erase_tx = e_.transaction();
  ASSERT_TRUE(erase_tx.erase(Path::parse("domain.a.x").value()).is_ok());
  ASSERT_TRUE(e_.compare_and_swap(1, Map{{"domain.a.x.z", 2}}).is_ok());
  EXPECT_EQ(erase_tx.commit().code(), ErrorCode::kConflict);

  ASSERT_TRUE(e_.compare_and_swap(e_.version(), Map{{"domain.q", List{1}}}).is_ok());
  Transaction append_tx = e_.transaction();
  ASSERT_TRUE(append_tx.list_append(Path::parse("domain.q").value(), 2).is_ok());
  ASSERT_TRUE(e_.compare_and_swap(e_.version(), Map{{"domain.q[0]", 5}}).is_ok());
  EXPECT_EQ(append_tx.commit().code(), ErrorCode::kConflict);
}

TEST(EngineTest, RootAliasesAddressTheSamePaths) {
  Engine e = seeded(Map{{"domain", Map{{"a", 0}}}, {"global", Map{{"x", 0}}}});
  ASSERT_TRUE(e.compare_and_swap(1, Map{{"domain_ctx.a", 1}, {"global_.x", 1}}).is_ok());
  EXPECT_EQ(at(e, "domain.a"), Value(1));
  EXPECT_EQ(at(e, "global.x"), Value(1));
  EXPECT_EQ(e.snapshot()->data.size(), 2u);
  EXPECT_EQ(e.compare_and_swap(1, Map{{"domain.a", 2}}).code(), ErrorCode::kConflict);
  EXPECT_EQ(e.compare_and_swap(1, Map{{"global_ctx.x", 2}}).code(), ErrorCode::kConflict);
}

TEST(EngineTest, ConflictsAreCheckedAtBaseVersionZero) {
  Engine e;
  Transaction first = e.transaction();
  Transaction second = e.transaction();
  Transaction disjoint = e.transaction();
  ASSERT_TRUE(first.set("domain.a", 1).is_ok());
  ASSERT_TRUE(second.set("domain.a", 2).is_ok());
  ASSERT_TRUE(disjoint.set("domain.b", 3).is_ok());
  ASSERT_TRUE(first.commit().is_ok());
  Status st = second.commit();
  EXPECT_EQ(st.code(), ErrorCode::kConflict);
  EXPECT_THAT(st.message(), HasSubstr("Expected 0, Found 1"));
  ASSERT_TRUE(disjoint.commit().is_ok());
  EXPECT_EQ(e.snapshot()->data, (Map{{"domain", Map{{"a", 1}, {"b", 3}}}}));
  EXPECT_EQ(e.version(), 2u);
}

TEST(EngineTest, ReplayOntoAMovedHeadKeepsConcurrentChanges) {
  Engine e = seeded(Map{{"domain", Map{{"a", Map{{"x", 0}}}, {"b", 1}, {"q", List{1}}}}});
  Transaction tx = e.transaction();
  ASSERT_TRUE(tx.set("domain.a.x", 10).is_ok());
  ASSERT_TRUE(tx.erase(Path::parse("domain.b").value()).is_ok());
  ASSERT_TRUE(tx.list_append(Path::parse("domain.q").value(), 2).is_ok());
  ASSERT_TRUE(tx.update(Map{{"domain", Map{{"m", Map{{"k", 1}}}}}}).is_ok());
  ASSERT_TRUE(e.compare_and_swap(1, Map{{"domain.a.y", 5}, {"domain.c", 6}, {"top", 1}}).is_ok());
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(e.version(), 3u);
  EXPECT_EQ(
      e.snapshot()->data,
      (Map{
          {"domain",
           Map{{"a", Map{{"x", 10}, {"y", 5}}}, {"q", List{1, 2}}, {"c", 6}, {"m", Map{{"k", 1}}}}},
          {"top", 1}}));
}

TEST(EngineTest, RefusingHookLeavesTheEngineUntouched) {
  Engine e = seeded(Map{{"domain", Map{{"a", 0}}}});
  int observed = 0;
  e.add_commit_observer([&](const Snapshot&, const CommitView&) { ++observed; });
  e.set_pre_install_hook("schema", [](const CommitView& v) -> Status {
    const Value* a =
        v.next.data.find(std::string_view("domain"))->as_map().find(std::string_view("a"));
    if (a && a->is_int() && a->as_int() < 0) return {ErrorCode::kSchemaViolation, "a must be >= 0"};
    return Status::ok();
  });
  SnapshotPtr before = e.snapshot();

  Transaction tx = e.transaction();
  ASSERT_TRUE(tx.set("domain.a", -1).is_ok());
  tx.add_signal(Map{{"ping", 1}});
  tx.add_outbox({"t", Value(1)});
  Status st = tx.commit();
  EXPECT_EQ(st.code(), ErrorCode::kSchemaViolation);
  EXPECT_EQ(st.message(), "Schema Violation: a must be >= 0");

  Status cas = e.compare_and_swap(1, Map{{"domain.a", -5}});
  EXPECT_EQ(cas.message(), "Schema Violation (CAS): a must be >= 0");

  EXPECT_EQ(e.snapshot().get(), before.get());
  EXPECT_EQ(e.outbox_size(), 0u);
  EXPECT_EQ(observed, 0);
  EXPECT_EQ(e.stats().hook_refusals, 2u);
  EXPECT_TRUE(e.compare_and_swap(1, Map{{"domain.a", 3}}).is_ok());
  EXPECT_EQ(observed, 1);
}

TEST(EngineTest, HookMessagesKeepAnExistingPrefixAndOtherCodes) {
  Engine e = seeded(Map{{"x", 1}});
  e.set_pre_install_hook("h", [](const CommitView&) -> Status {
    return {ErrorCode::kSchemaViolation, "Schema Violation: already prefixed"};
  });
  EXPECT_EQ(e.compare_and_swap(1, Map{}).message(), "Schema Violation: already prefixed");
  e.set_pre_install_hook("h", [](const CommitView&) -> Status {  // replaces by name
    return {ErrorCode::kAuditViolation, "audit says no"};
  });
  Status st = e.compare_and_swap(1, Map{});
  EXPECT_EQ(st.code(), ErrorCode::kAuditViolation);
  EXPECT_EQ(st.message(), "audit says no");
  e.remove_pre_install_hook("h");
  EXPECT_TRUE(e.compare_and_swap(1, Map{}).is_ok());
}

// The transaction's own hooks (the audit output gate) run before the engine's (the schema gate).
TEST(EngineTest, HooksSeeTheCandidateAndRunTransactionHooksFirst) {
  Engine e = seeded(Map{{"domain", Map{{"a", 0}}}});
  std::vector<std::string> order;
  e.set_pre_install_hook("engine", [&](const CommitView& v) -> Status {
    order.push_back("engine");
    EXPECT_EQ(v.origin, CommitOrigin::kTransaction);
    EXPECT_EQ(v.head.version, 1u);
    EXPECT_EQ(v.next.version, 2u);
    EXPECT_EQ(v.deltas.size(), 1u);
    EXPECT_EQ(v.writes.size(), 1u);
    EXPECT_EQ(v.requester, std::optional<std::string>("me"));
    return Status::ok();
  });
  TransactionOptions opts;
  opts.requester = "me";
  Transaction tx = e.transaction(opts);
  tx.add_pre_install_hook([&](const CommitView&) -> Status {
    order.push_back("tx");
    return Status::ok();
  });
  ASSERT_TRUE(tx.set("domain.a", 1).is_ok());
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(order, (std::vector<std::string>{"tx", "engine"}));
}

TEST(EngineTest, ObserversSeeTheInstalledSnapshot) {
  Engine e;
  std::vector<uint64_t> versions;
  bool installed_is_head = true;
  e.add_commit_observer([&](const Snapshot& s, const CommitView& v) {
    versions.push_back(s.version);
    installed_is_head = installed_is_head && e.snapshot().get() == &s && &v.next == &s;
  });
  ASSERT_TRUE(e.compare_and_swap(0, Map{{"x", 1}}).is_ok());
  EXPECT_EQ(e.compare_and_swap(0, Map{{"x", 2}}).code(), ErrorCode::kConflict);
  Transaction tx = e.transaction();
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(versions, (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(installed_is_head);
  EXPECT_EQ(e.stats().commits, 2u);
}

TEST(EngineTest, ExecuteRunsProcessAndMapsOutput) {
  Engine engine = seeded(Map{{"domain", Map{{"n", 1}}}});
  auto contract = Contract::make({"domain.n"}, {"domain.n"}).value();
  ASSERT_TRUE(engine
                  .register_process({"inc", contract},
                                    [](ProcessContext& ctx) -> Result<Value> {
                                      THEUS_ASSIGN_OR_RETURN(Value n, ctx.get("domain.n"));
                                      return Value(n.as_int() + 1);
                                    })
                  .is_ok());
  EXPECT_TRUE(engine.has_process("inc"));
  auto r = engine.execute("inc");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r.value(), Value(2));
  EXPECT_EQ(at(engine, "domain.n"), Value(2));
  EXPECT_EQ(engine.version(), 2u);
}

// ---- commits onto an unshared head (in place)
// -----------------------------------------------------

uintptr_t domain_node(const Engine& e) {
  return reinterpret_cast<uintptr_t>(e.snapshot()->data.find("domain")->node_id());
}

Map wide_domain() {
  Map d;
  for (int i = 0; i < 500; ++i) d = d.set(Value("k" + std::to_string(i)), Value(i));
  return Map{{"domain", d}};
}

TEST(EngineTest, SingleWriteOntoAnUnsharedHeadUpdatesItInPlace) {
  Engine engine = seeded(wide_domain());
  uintptr_t before = domain_node(engine);  // no snapshot is held past this line
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.set("domain.k10", -10).is_ok());
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(engine.version(), 2u);
  EXPECT_EQ(at(engine, "domain.k10"), Value(-10));
  EXPECT_EQ(at(engine, "domain.k11"), Value(11));
  EXPECT_EQ(domain_node(engine), before);  // the same map node, now at version 2
  EXPECT_EQ(engine.stats().commits, 2u);
}

TEST(EngineTest, AHeldSnapshotOrValueIsNeverChangedByACommit) {
  Engine engine = seeded(wide_domain());
  SnapshotPtr held = engine.snapshot();
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.set("domain.k10", -10).is_ok());
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(held->version, 1u);
  EXPECT_EQ(held->get("domain.k10").value(), Value(10));
  EXPECT_EQ(at(engine, "domain.k10"), Value(-10));

  // A value taken out of a snapshot that is then dropped keeps its content too.
  Value domain = engine.snapshot()->get("domain").value();
  held.reset();
  Transaction tx2 = engine.transaction();
  ASSERT_TRUE(tx2.set("domain.k11", -11).is_ok());
  ASSERT_TRUE(tx2.commit().is_ok());
  EXPECT_EQ(*domain.as_map().find("k11"), Value(11));
  EXPECT_EQ(at(engine, "domain.k11"), Value(-11));
}

TEST(EngineTest, ObserversAndHooksSeeThePreviousVersion) {
  Engine engine = seeded(wide_domain());
  std::vector<int64_t> seen_before, seen_after;
  engine.add_commit_observer([&](const Snapshot& next, const CommitView& view) {
    seen_before.push_back(view.head.get("domain.k1").value().as_int());
    seen_after.push_back(next.get("domain.k1").value().as_int());
  });
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.set("domain.k1", 100).is_ok());
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(seen_before, std::vector<int64_t>{1});
  EXPECT_EQ(seen_after, std::vector<int64_t>{100});
}

TEST(EngineTest, InPlaceCommitsKeepConflictsSignalsAndOutbox) {
  Engine engine = seeded(wide_domain());
  Transaction tx = engine.transaction();
  ASSERT_TRUE(tx.set("domain.k3", 33).is_ok());
  tx.add_signal(Map{{"cmd", "go"}});
  tx.add_outbox({"orders", Value(1)});
  ASSERT_TRUE(tx.commit().is_ok());
  EXPECT_EQ(engine.snapshot()->signals, (Map{{"cmd", "go"}}));
  std::vector<OutboxMessage> out = engine.drain_outbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].topic, "orders");
  // The write joined the modification index: a commit based on version 1 that touches the same
  // path conflicts, a disjoint one does not.
  Status clash = engine.compare_and_swap(1, Map{{"domain", Map{{"k3", 0}}}});
  EXPECT_EQ(clash.code(), ErrorCode::kConflict);
  EXPECT_THAT(clash.message(), HasSubstr("domain.k3"));
  EXPECT_TRUE(engine.compare_and_swap(1, Map{{"domain", Map{{"k4", 0}}}}).is_ok());
  EXPECT_EQ(at(engine, "domain.k3"), Value(33));
}

}  // namespace
}  // namespace theus

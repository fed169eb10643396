// ProcessContext: guarded reads (rules A, B, PRIVATE, PURE filter), guarded writes (root
// replacement, read-only roots, capabilities, CONSTANT, PURE refusal), output compliance at
// finish(), the local scratch root, and signals / outbox travelling with the transaction.
#include "theus/process_context.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "theus/engine.hpp"
#include "txn/test_printers.hpp"

namespace theus {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Path P(std::string_view text) { return Path::parse(text).value(); }

Map state() {
  return Map{{"domain", Map{{"counter", 1},
                            {"secret", "s"},
                            {"user", Map{{"name", "n"}, {"age", 3}}},
                            {"log_x", List{"a"}},
                            {"meta_x", 1},
                            {"const_cfg", Map{{"k", 1}}},
                            {"internal_k", "hidden"},
                            {"a", 1}}},
             {"global", Map{{"limit", 10}}}};
}

// One attempt's context over a fresh transaction, as execute() builds it.
class ProcessContextTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(engine_.compare_and_swap(0, state()).is_ok()); }

  ProcessContext& make(std::vector<std::string> in, std::vector<std::string> out,
                       Semantic s = Semantic::kEffect, bool strict = true) {
    contract_ = Contract::make(in, out, s).value();
    tx_.emplace(engine_.transaction());
    AccessOptions o;
    o.strict_guards = strict;
    o.overrides = &engine_.physics_overrides();
    ctx_.emplace(*tx_, contract_, o, "f", Map{{"arg", 7}});
    return *ctx_;
  }

  Engine engine_;
  Contract contract_;
  std::optional<Transaction> tx_;
  std::optional<ProcessContext> ctx_;
};

TEST_F(ProcessContextTest, ExposesNameArgsAndBaseVersion) {
  ProcessContext& ctx = make({"domain.counter"}, {});
  EXPECT_EQ(ctx.process_name(), "f");
  EXPECT_EQ(ctx.version(), 1u);
  ASSERT_NE(ctx.arg("arg"), nullptr);
  EXPECT_EQ(*ctx.arg("arg"), Value(7));
  EXPECT_EQ(ctx.arg("missing"), nullptr);
}

TEST_F(ProcessContextTest, UndeclaredRootIsAnIllegalRead) {
  ProcessContext& ctx = make({"domain.counter"}, {});
  auto r = ctx.get("global.limit");
  EXPECT_EQ(r.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(), "Illegal Read: 'global'");
  EXPECT_EQ(ctx.get("global").status().message(), "Illegal Read: 'global'");
}

TEST_F(ProcessContextTest, StrictGuardsCheckEveryKey) {
  ProcessContext& ctx = make({"domain.counter"}, {});
  EXPECT_EQ(ctx.get("domain.counter").value(), Value(1));
  auto r = ctx.get("domain.secret");
  EXPECT_EQ(r.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(),
            "Illegal Read: Path 'domain.secret' is restricted by Process Contract.");
}

TEST_F(ProcessContextTest, NonStrictGuardsCheckOnlyTheRoot) {
  ProcessContext& ctx = make({"domain.counter"}, {}, Semantic::kEffect, /*strict=*/false);
  EXPECT_EQ(ctx.get("domain.secret").value(), Value("s"));
  EXPECT_EQ(ctx.get("global.limit").code(), ErrorCode::kPermissionDenied);
}

TEST_F(ProcessContextTest, AncestorsAreNavigableButTheirValuesAreNot) {
  ProcessContext& ctx = make({"domain.user.name"}, {});
  EXPECT_EQ(ctx.get("domain.user.name").value(), Value("n"));
  EXPECT_EQ(ctx.get("domain.user").status().message(),
            "Illegal Read: Path 'domain.user' is restricted by Process Contract.");
  EXPECT_EQ(ctx.get("domain").code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ctx.get("domain.user.age").code(), ErrorCode::kPermissionDenied);
}

TEST_F(ProcessContextTest, PrivateFieldsReadAsNullUnlessAdmin) {
  ProcessContext& ctx = make({"domain"}, {});
  auto r = ctx.get("domain.internal_k");
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r.value().is_null());
  ctx.policy().set_admin(true);
  EXPECT_EQ(ctx.get("domain.internal_k").value(), Value("hidden"));
}

TEST_F(ProcessContextTest, ReadsSeeOwnWrites) {
  ProcessContext& ctx = make({}, {"domain.counter"});
  ASSERT_TRUE(ctx.set("domain.counter", 5).is_ok());
  EXPECT_EQ(ctx.get("domain.counter").value(), Value(5));
  EXPECT_THAT(ctx.guarded_writes(), ElementsAre(P("domain.counter")));
}

TEST_F(ProcessContextTest, PureProcessesReadOnlyDeclaredInputs) {
  ProcessContext& ctx = make({"domain.counter", "domain.user"}, {}, Semantic::kPure);
  EXPECT_EQ(ctx.get("domain.counter").value(), Value(1));
  EXPECT_EQ(ctx.get("domain.user.age").value(), Value(3));
  auto r = ctx.get("domain.secret");
  EXPECT_EQ(r.code(), ErrorCode::kContractViolation);
  EXPECT_EQ(r.status().message(),
            "Access denied: 'domain.secret' not declared in contract inputs.");
  // Ancestors are not values either (rule E at every depth).
  EXPECT_EQ(ctx.get("domain").code(), ErrorCode::kContractViolation);
}

TEST_F(ProcessContextTest, PureProcessesCannotMutate) {
  ProcessContext& ctx =
      make({"domain.counter", "domain.log_x"}, {"domain.counter"}, Semantic::kPure);
  Status st = ctx.set("domain.counter", 2);
  EXPECT_EQ(st.code(), ErrorCode::kContractViolation);
  EXPECT_EQ(st.message(), "PURE Process cannot mutate state: 'domain.counter'");
  EXPECT_EQ(ctx.erase(P("domain.counter")).message(),
            "PURE Process cannot delete state: 'domain.counter'");
  EXPECT_EQ(ctx.list_append(P("domain.log_x"), 1).message(),
            "PURE Process cannot mutate state: 'domain.log_x'");
  EXPECT_EQ(ctx.list_pop(P("domain.log_x")).status().message(),
            "PURE Process cannot delete state: 'domain.log_x'");
  EXPECT_EQ(ctx.clear(P("domain.user")).code(), ErrorCode::kContractViolation);
  EXPECT_TRUE(tx_->deltas().empty());
  EXPECT_TRUE(ctx.guarded_writes().empty());
}

TEST_F(ProcessContextTest, PureSideEffectsThroughTheTransactionAreRefused) {
  ProcessContext& ctx = make({"domain.counter"}, {"domain.counter"}, Semantic::kPure);
  ASSERT_TRUE(ctx.transaction().set("domain.counter", 9).is_ok());
  SnapshotPtr before = engine_.snapshot();
  Status st = ctx.finish(Value());
  EXPECT_EQ(st.code(), ErrorCode::kContractViolation);
  EXPECT_EQ(st.message(), "Process 'f' is PURE but produced side-effects: ['domain.counter']");
  EXPECT_EQ(engine_.snapshot().get(), before.get());
  // Its return value is mapped onto its outputs as usual.
  ProcessContext& pure = make({"domain.counter"}, {"domain.counter"}, Semantic::kPure);
  ASSERT_TRUE(pure.finish(Value(2)).is_ok());
  EXPECT_EQ(engine_.snapshot()->get("domain.counter").value(), Value(2));
}

TEST_F(ProcessContextTest, ReplacingARootNeedsAnOutputCoveringIt) {
  ProcessContext& ctx = make({}, {"domain.a"});
  Status st = ctx.set("domain", Map{});
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "Illegal Write: 'domain'");
  EXPECT_EQ(ctx.erase(P("domain")).message(), "Illegal Write: 'domain'");
  EXPECT_TRUE(tx_->deltas().empty());

  ProcessContext& whole = make({}, {"domain"});
  ASSERT_TRUE(whole.set("domain", Map{{"fresh", 1}}).is_ok());
  EXPECT_EQ(whole.get("domain").value(), Value(Map{{"fresh", 1}}));
  EXPECT_EQ(tx_->writes().back().path.to_string(), "domain");
}

TEST_F(ProcessContextTest, RootsWithoutOutputsAreReadOnly) {
  ProcessContext& ctx = make({"domain.a", "global.limit"}, {"global.other"});
  Status st = ctx.set("domain.a", 2);
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "PURE process cannot write to 'domain.a'");
  EXPECT_EQ(ctx.list_append(P("domain.log_x"), 1).code(), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(tx_->deltas().empty());
}

TEST_F(ProcessContextTest, ZoneCapabilitiesAreEnforced) {
  ProcessContext& ctx = make({}, {"domain"});
  EXPECT_EQ(
      ctx.set("domain.log_x", List{}).message(),
      "Permission Denied: UPDATE capability required for 'domain.log_x'. (Current Lens: 0011)");
  ASSERT_TRUE(ctx.list_append(P("domain.log_x"), "b").is_ok());
  ASSERT_TRUE(ctx.list_insert(P("domain.log_x"), 0, "z").is_ok());
  EXPECT_EQ(
      ctx.list_pop(P("domain.log_x")).status().message(),
      "Permission Denied: DELETE capability required for 'domain.log_x'. (Current Lens: 0011)");
  EXPECT_EQ(ctx.list_clear(P("domain.log_x")).code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ctx.list_replace(P("domain.log_x"), List{}).code(), ErrorCode::kPermissionDenied);

  ASSERT_TRUE(ctx.set("domain.meta_x", 2).is_ok());
  EXPECT_EQ(
      ctx.list_append(P("domain.meta_x"), 1).message(),
      "Permission Denied: APPEND capability required for 'domain.meta_x'. (Current Lens: 0101)");
  EXPECT_EQ(ctx.erase(P("domain.meta_x")).code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ctx.get("domain.log_x").value(), Value(List{"z", "a", "b"}));
  EXPECT_EQ(ctx.guarded_writes().size(), 3u);  // refused writes are not recorded
}

TEST_F(ProcessContextTest, ConstantsAreACeilingEvenForAdmins) {
  ProcessContext& ctx = make({}, {"domain"});
  Status st = ctx.set("domain.const_cfg.k", 2);
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(
      st.message(),
      "Illegal Write: 'const_' field 'domain.const_cfg.k' is CONSTANT and cannot be modified.");
  EXPECT_THAT(ctx.erase(P("domain.const_cfg.k")).message(), HasSubstr("Illegal Delete:"));
  ctx.policy().set_admin(true);
  EXPECT_EQ(ctx.set("domain.const_cfg.k", 2).code(), ErrorCode::kPermissionDenied);
  // Admin lifts the other zones' limits.
  EXPECT_TRUE(ctx.set("domain.log_x", List{}).is_ok());
  EXPECT_TRUE(ctx.set("global.anything", 1).is_ok());

  engine_.physics_overrides().register_override(P("domain.const_cfg"), 15);
  ProcessContext& overridden = make({}, {"domain"});
  EXPECT_TRUE(overridden.set("domain.const_cfg.k", 2).is_ok());
}

TEST_F(ProcessContextTest, FinishRefusesUndeclaredWrites) {
  ProcessContext& ctx = make({}, {"domain.allowed"});
  ASSERT_TRUE(ctx.set("domain.allowed", 1).is_ok());
  ASSERT_TRUE(ctx.set("domain.secret", "leak").is_ok());  // lands in the tx, refused at commit
  SnapshotPtr before = engine_.snapshot();
  Status st = ctx.finish(Value());
  EXPECT_EQ(st.code(), ErrorCode::kContractViolation);
  EXPECT_EQ(st.message(), "Process 'f' modified 'domain.secret' which is NOT declared in outputs.");
  EXPECT_EQ(engine_.snapshot().get(), before.get());
}

TEST_F(ProcessContextTest, FinishWithoutStrictCommitsUndeclaredWrites) {
  ProcessContext& ctx = make({}, {"domain.allowed"}, Semantic::kEffect, /*strict=*/false);
  ASSERT_TRUE(ctx.set("domain.secret", "leak").is_ok());
  ASSERT_TRUE(ctx.finish(Value()).is_ok());
  EXPECT_EQ(engine_.snapshot()->get("domain.secret").value(), Value("leak"));
}

TEST_F(ProcessContextTest, TransactionEscapeHatchIsNotOutputChecked) {
  ProcessContext& ctx = make({}, {"domain.allowed"});
  ASSERT_TRUE(ctx.transaction().set("domain.elsewhere", 1).is_ok());
  EXPECT_TRUE(ctx.guarded_writes().empty());
  ASSERT_TRUE(ctx.finish(Value()).is_ok());
  EXPECT_EQ(engine_.snapshot()->get("domain.elsewhere").value(), Value(1));
}

TEST_F(ProcessContextTest, LocalIsScratchAndNeverCommitted) {
  ProcessContext& ctx = make({"local"}, {"domain.a", "local"});
  ASSERT_TRUE(ctx.set("local.tmp", 5).is_ok());
  EXPECT_EQ(ctx.get("local.tmp").value(), Value(5));
  ASSERT_TRUE(ctx.set("local.q", List{1}).is_ok());
  ASSERT_TRUE(ctx.list_append(P("local.q"), 2).is_ok());
  EXPECT_EQ(ctx.list_pop(P("local.q"), 0).value(), Value(1));
  EXPECT_EQ(ctx.list_pop(P("local.q"), 5).code(), ErrorCode::kNotFound);
  EXPECT_EQ(ctx.get("local.q").value(), Value(List{2}));
  ASSERT_TRUE(ctx.set("domain.a", 2).is_ok());
  EXPECT_EQ(tx_->deltas().size(), 1u);  // only the domain write reached the transaction
  ASSERT_TRUE(ctx.finish(Value()).is_ok());
  EXPECT_EQ(engine_.snapshot()->data.find(std::string_view("local")), nullptr);
  EXPECT_EQ(engine_.snapshot()->get("domain.a").value(), Value(2));
}

TEST_F(ProcessContextTest, SignalsAndOutboxTravelWithTheTransaction) {
  ProcessContext& ctx = make({}, {"domain.a"});
  ctx.emit_signal("cmd_stop", true);
  ctx.add_outbox({"mail", Value("hi")});
  EXPECT_EQ(engine_.outbox_size(), 0u);
  ASSERT_TRUE(ctx.finish(Value()).is_ok());
  EXPECT_EQ(engine_.snapshot()->signals, (Map{{"cmd_stop", "True"}}));
  auto out = engine_.drain_outbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].topic, "mail");
}

TEST_F(ProcessContextTest, FailedFinishDropsSignalsAndOutbox) {
  ProcessContext& ctx = make({}, {"domain.a"});
  ctx.emit_signal("ping", 1);
  ctx.add_outbox({"mail", Value("hi")});
  ASSERT_TRUE(ctx.set("domain.a", 2).is_ok());
  ASSERT_TRUE(engine_.compare_and_swap(1, Map{{"domain.a", 3}}).is_ok());
  EXPECT_EQ(ctx.finish(Value()).code(), ErrorCode::kConflict);
  EXPECT_EQ(engine_.outbox_size(), 0u);
  EXPECT_TRUE(engine_.snapshot()->signals.empty());
}

}  // namespace
}  // namespace theus

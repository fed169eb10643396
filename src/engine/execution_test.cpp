// execute() and its retry policy (spec §3.4, §9): lookup and registration errors, the strict input
// firewall, discarded attempts (D4), bounded retries, VIP hand-out and release (D3).
#include "theus/execution.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "theus/engine.hpp"
#include "theus/process_context.hpp"
#include "txn/test_printers.hpp"

namespace theus {
namespace {

using ::testing::HasSubstr;

Contract C(std::vector<std::string> in, std::vector<std::string> out,
           Semantic s = Semantic::kEffect) {
  return Contract::make(in, out, s).value();
}

EngineOptions with_attempts(uint32_t max_attempts) {
  EngineOptions o;
  o.retry.max_attempts = max_attempts;
  return o;
}

void seed(Engine& e) {
  ASSERT_TRUE(e.compare_and_swap(0, Map{{"domain", Map{{"n", 0}, {"log", List{}}}}}).is_ok());
}

Status conflict_status() {
  return {ErrorCode::kConflict, "CAS Version Mismatch (Conflict Detected): Expected 1, Found 2"};
}

TEST(ExecuteTest, UnknownProcessIsNotFound) {
  Engine e;
  auto r = e.execute("nope");
  EXPECT_EQ(r.code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "Process 'nope' not found in registry");
}

TEST(ExecuteTest, RegistrationErrors) {
  Engine e;
  auto fn = [](ProcessContext&) -> Result<Value> { return Value(); };
  EXPECT_EQ(e.register_process({"", Contract()}, fn).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.register_process({"f", Contract()}, nullptr).code(), ErrorCode::kInvalidArgument);
  Status st = e.register_process({"p", C({"signal.x"}, {}, Semantic::kPure)}, fn);
  EXPECT_EQ(st.code(), ErrorCode::kContractViolation);
  EXPECT_EQ(st.message(),
            "Pure process cannot take inputs from Zone: Signal/Meta (Found: signal.x)");
  EXPECT_FALSE(e.has_process("p"));
}

TEST(ExecuteTest, StrictGuardsRefuseSignalAndMetaInputsBeforeTheBody) {
  Engine e;
  seed(e);
  int calls = 0;
  ASSERT_TRUE(e.register_process({"f", C({"signal.ping", "domain.n"}, {"domain.n"})},
                                 [&](ProcessContext&) -> Result<Value> {
                                   ++calls;
                                   return Value(1);
                                 })
                  .is_ok());
  auto r = e.execute("f");
  EXPECT_EQ(r.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(),
            "SECURITY VIOLATION: Input 'signal.ping' belongs to restricted Control Zone Signal.");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(e.version(), 1u);
  e.set_strict_guards(false);
  ASSERT_TRUE(e.execute("f").is_ok());
  EXPECT_EQ(calls, 1);
}

TEST(ExecuteTest, ArgsReachTheProcessAndTheResultIsReturned) {
  Engine e;
  seed(e);
  ASSERT_TRUE(
      e.register_process({"f", C({}, {"domain.n"})}, [](ProcessContext& ctx) -> Result<Value> {
         return *ctx.arg("v");
       }).is_ok());
  auto r = e.execute("f", Map{{"v", 9}});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value(), Value(9));
  EXPECT_EQ(e.snapshot()->get("domain.n").value(), Value(9));
}

TEST(ExecuteTest, BodyErrorsPropagateUnchangedAndCommitNothing) {
  Engine e;
  seed(e);
  int calls = 0;
  ASSERT_TRUE(
      e.register_process({"f", C({}, {"domain.n"})}, [&](ProcessContext& ctx) -> Result<Value> {
         ++calls;
         THEUS_RETURN_IF_ERROR(ctx.set("domain.n", 5));
         return Status(ErrorCode::kInvalidArgument, "boom");
       }).is_ok());
  auto r = e.execute("f");
  EXPECT_EQ(r.status(), Status(ErrorCode::kInvalidArgument, "boom"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(e.version(), 1u);
}

TEST(ExecuteTest, BodyConflictIsRetriedAndTheAttemptDiscarded) {
  Engine e;
  seed(e);
  int calls = 0;
  ASSERT_TRUE(
      e.register_process({"f", C({}, {"domain.log"})}, [&](ProcessContext& ctx) -> Result<Value> {
         ++calls;
         THEUS_RETURN_IF_ERROR(ctx.list_append(Path::parse("domain.log").value(), calls));
         ctx.add_outbox({"attempt", Value(calls)});
         if (calls < 3) return conflict_status();
         return Value();
       }).is_ok());
  ASSERT_TRUE(e.execute("f").is_ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(e.version(), 2u);  // exactly one version
  EXPECT_EQ(e.snapshot()->get("domain.log").value(), Value(List{3}));
  auto out = e.drain_outbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, Value(3));
  EXPECT_EQ(e.stats().retries, 2u);
}

// A body that commits a conflicting CAS of its own output while its attempt is open, `times` times.
ProcessFn interfering(Engine& e, int times, std::atomic<int>* calls, std::atomic<int>* busy) {
  return [&e, times, calls, busy](ProcessContext& ctx) -> Result<Value> {
    int call = ++*calls;
    if (call <= times) {
      Status st = e.compare_and_swap(e.version(), Map{{"domain.n", -call}});
      if (st.code() == ErrorCode::kBusy) ++*busy;
    }
    THEUS_RETURN_IF_ERROR(ctx.set("domain.n", 42));
    return Value("done");
  };
}

TEST(ExecuteTest, ConflictsNTimesThenCommitsExactlyOneVersion) {
  Engine e;
  seed(e);
  std::atomic<int> calls{0}, busy{0};
  ASSERT_TRUE(
      e.register_process({"f", C({}, {"domain.n"})}, interfering(e, 3, &calls, &busy)).is_ok());
  auto r = e.execute("f");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r.value(), Value("done"));
  EXPECT_EQ(calls.load(), 4);
  EXPECT_EQ(e.version(), 1u + 3u + 1u);  // three interfering commits plus ours
  EXPECT_EQ(e.snapshot()->get("domain.n").value(), Value(42));
  EXPECT_EQ(e.stats().retries, 3u);
  EXPECT_EQ(e.stats().conflicts, 3u);
  EXPECT_EQ(e.conflicts().failure_count("f"), 0u);  // success reported after the commit
}

TEST(ExecuteTest, ExhaustedAttemptsReturnTheConflictError) {
  Engine e(with_attempts(3));
  seed(e);
  std::atomic<int> calls{0}, busy{0};
  ASSERT_TRUE(
      e.register_process({"f", C({}, {"domain.n"})}, interfering(e, 1000, &calls, &busy)).is_ok());
  auto r = e.execute("f");
  EXPECT_EQ(r.code(), ErrorCode::kConflict);
  EXPECT_THAT(r.status().message(), HasSubstr("CAS Version Mismatch (Conflict Detected)"));
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(e.version(), 1u + 3u);  // only the interfering commits
  EXPECT_EQ(e.snapshot()->get("domain.n").value(), Value(-3));
  EXPECT_EQ(e.stats().gave_up, 1u);
  EXPECT_FALSE(e.conflicts().vip_holder().has_value());
}

TEST(ExecuteTest, StarvingExecutionGetsTheVipTicketAndFinishes) {
  Engine e;
  seed(e);
  std::atomic<int> calls{0}, busy{0};
  ASSERT_TRUE(
      e.register_process({"f", C({}, {"domain.n"})}, interfering(e, 1000, &calls, &busy)).is_ok());
  auto r = e.execute("f");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  // Five backoffs, then the sixth conflict hands out the ticket; the next attempt's rival is
  // refused.
  EXPECT_EQ(calls.load(), 7);
  EXPECT_EQ(busy.load(), 1);
  EXPECT_EQ(e.stats().vip_grants, 1u);
  EXPECT_EQ(e.snapshot()->get("domain.n").value(), Value(42));
  EXPECT_FALSE(e.conflicts().vip_holder().has_value());
  EXPECT_EQ(e.conflicts().failure_count("f"), 0u);
}

TEST(ExecuteTest, VipTicketIsReleasedWhenTheExecutionFails) {
  Engine e;
  seed(e);
  ASSERT_TRUE(e.register_process({"f", C({}, {"domain.n"})}, [](ProcessContext&) -> Result<Value> {
                 return Status(ErrorCode::kInvalidArgument, "boom");
               }).is_ok());
  for (int i = 0; i < 6; ++i) (void)e.conflicts().report_conflict("f");
  ASSERT_EQ(e.conflicts().vip_holder(), std::string("f"));
  EXPECT_EQ(e.execute("f").code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(e.conflicts().vip_holder().has_value());
  EXPECT_TRUE(e.compare_and_swap(1, Map{{"x", 1}}).is_ok());
}

TEST(ExecuteTest, VipTicketIsReleasedWhenTheExecutionGivesUp) {
  Engine e(with_attempts(1));
  seed(e);
  ASSERT_TRUE(e.register_process({"f", C({}, {"domain.n"})}, [](ProcessContext&) -> Result<Value> {
                 return conflict_status();
               }).is_ok());
  for (int i = 0; i < 6; ++i) (void)e.conflicts().report_conflict("f");
  EXPECT_EQ(e.execute("f").code(), ErrorCode::kConflict);
  EXPECT_FALSE(e.conflicts().vip_holder().has_value());
  EXPECT_EQ(e.stats().gave_up, 1u);
}

TEST(ExecuteTest, VipRefusalsDoNotConsumeTheAttemptBudget) {
  Engine e(with_attempts(2));
  seed(e);
  std::atomic<int> calls{0};
  ASSERT_TRUE(
      e.register_process({"f", C({}, {"domain.n"})}, [&](ProcessContext& ctx) -> Result<Value> {
         ++calls;
         THEUS_RETURN_IF_ERROR(ctx.set("domain.n", 1));
         return Value();
       }).is_ok());
  for (int i = 0; i < 6; ++i) (void)e.conflicts().report_conflict("hog");
  Result<Value> result = Status(ErrorCode::kInternal, "not run");
  std::thread runner([&] { result = e.execute("f"); });
  // Let the execution be refused by the VIP gate more often than its budget allows.
  while (calls.load() < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  e.conflicts().report_success("hog");
  runner.join();
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_GE(calls.load(), 4);  // at least three refused attempts against a budget of two
  EXPECT_GE(e.stats().busy, 3u);
  EXPECT_EQ(e.stats().gave_up, 0u);
  EXPECT_EQ(e.snapshot()->get("domain.n").value(), Value(1));
}

TEST(ExecutionTest, ConcludeClassifiesOutcomes) {
  Engine e;
  {
    Execution exec(e, "p");
    Transaction tx = exec.begin_attempt();
    EXPECT_EQ(tx.requester(), std::optional<std::string>("p"));
    EXPECT_EQ(tx.write_timeout(), e.options().write_timeout);
    AttemptOutcome retry = exec.conclude(conflict_status());
    EXPECT_EQ(retry.action, AttemptAction::kRetry);
    EXPECT_LE(retry.wait.count(), 2);
    EXPECT_EQ(exec.conflicts(), 1u);
    AttemptOutcome busy = exec.conclude({ErrorCode::kBusy, "System Busy (VIP Access Only)"});
    EXPECT_EQ(busy.action, AttemptAction::kRetry);
    AttemptOutcome done = exec.conclude(Status::ok());
    EXPECT_EQ(done.action, AttemptAction::kDone);
    EXPECT_EQ(e.conflicts().failure_count("p"), 0u);
    EXPECT_EQ(exec.attempts(), 1u);
  }
  Execution failing(e, "q");
  AttemptOutcome fail = failing.conclude({ErrorCode::kSchemaViolation, "Schema Violation: x"});
  EXPECT_EQ(fail.action, AttemptAction::kFail);
  EXPECT_EQ(fail.error.code(), ErrorCode::kSchemaViolation);
}

TEST(ExecutionTest, MinAttemptsRaisesTheBudgetAndBackoffIsCapped) {
  EngineOptions o = with_attempts(1);
  o.retry.max_backoff_ms = 1;
  Engine e(o);
  Execution exec(e, "p", /*min_attempts=*/4);
  for (int i = 0; i < 3; ++i) {
    AttemptOutcome out = exec.conclude(conflict_status());
    ASSERT_EQ(out.action, AttemptAction::kRetry) << i;
    EXPECT_LE(out.wait.count(), 1);
  }
  AttemptOutcome last = exec.conclude(conflict_status());
  EXPECT_EQ(last.action, AttemptAction::kFail);
  EXPECT_EQ(last.error.code(), ErrorCode::kConflict);
}

TEST(ExecutionTest, ExpiredDeadlineGivesUp) {
  EngineOptions o;
  o.retry.deadline = std::chrono::milliseconds(0);
  Engine e(o);
  Execution exec(e, "p");
  EXPECT_EQ(exec.conclude(conflict_status()).action, AttemptAction::kFail);
  EXPECT_EQ(e.stats().gave_up, 1u);
}

TEST(ExecutionTest, UnfinishedExecutionReleasesItsTicket) {
  Engine e;
  {
    Execution exec(e, "p");
    for (int i = 0; i < 6; ++i) (void)exec.conclude(conflict_status());
    EXPECT_EQ(e.conflicts().vip_holder(), std::string("p"));
    EXPECT_EQ(e.stats().vip_grants, 1u);
  }
  EXPECT_FALSE(e.conflicts().vip_holder().has_value());
}

}  // namespace
}  // namespace theus

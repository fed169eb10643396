// Tests for the audit layer (spec: workflow §3): grading by level and thresholds, the log ring,
// recipe parsing and refusal of malformed recipes, every rule kind, and the engine wiring (input
// gate, output gate on the final delta, failure counting, success resets, Flux).
#include "theus/audit.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "theus/engine.hpp"
#include "theus/flux/interpreter.hpp"
#include "theus/flux/workflow.hpp"
#include "theus/process_context.hpp"

namespace theus::audit {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- AuditSystem ------------------------------------------------------------------------------

TEST(AuditSystemTest, StopAndAbortRefuseEveryFailure) {
  AuditSystem sys(Recipe{Level::kStop, 3, 0, true});
  FailResult r = sys.log_fail("k");
  EXPECT_EQ(r.refusal.code(), ErrorCode::kAuditStop);
  EXPECT_EQ(r.refusal.message(), "Audit Stop: k triggered immediate halt");
  r = sys.log_fail("k", Level::kAbort);
  EXPECT_EQ(r.refusal.code(), ErrorCode::kAuditAbort);
  EXPECT_EQ(r.refusal.message(), "Audit Abort: k operation cancelled");
  EXPECT_EQ(sys.count("k"), 2);
}

TEST(AuditSystemTest, BlockRefusesAfterTheThresholdAndKeepsRefusingUntilReset) {
  AuditSystem sys(Recipe{Level::kBlock, 2, 0, true});
  EXPECT_TRUE(sys.log_fail("k").refusal.is_ok());
  EXPECT_TRUE(sys.log_fail("k").refusal.is_ok());
  FailResult r = sys.log_fail("k");  // the (t+1)-th failure
  EXPECT_EQ(r.refusal.code(), ErrorCode::kAuditBlock);
  EXPECT_EQ(r.refusal.message(), "Audit Blocked: k exceeded threshold 2");
  EXPECT_EQ(sys.log_fail("k").refusal.code(), ErrorCode::kAuditBlock);
  sys.log_success("k");
  EXPECT_EQ(sys.count("k"), 0);
  EXPECT_TRUE(sys.log_fail("k").refusal.is_ok());
}

TEST(AuditSystemTest, ThresholdOverrideAndCountLevel) {
  AuditSystem sys(Recipe{Level::kCount, 1, 0, true});
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(sys.log_fail("c").refusal.is_ok());
  EXPECT_EQ(sys.count("c"), 10);
  EXPECT_TRUE(sys.log_fail("b", Level::kBlock, 1).refusal.is_ok());
  EXPECT_EQ(sys.log_fail("b", Level::kBlock, 1).refusal.message(),
            "Audit Blocked: b exceeded threshold 1");
}

TEST(AuditSystemTest, WarnsFromThresholdMinAndLogsTheWarning) {
  AuditSystem sys(Recipe{Level::kBlock, 3, 2, true});
  EXPECT_FALSE(sys.log_fail("w").warning);
  FailResult r = sys.log_fail("w");
  ASSERT_TRUE(r.warning);
  EXPECT_EQ(*r.warning, "WARNING: Approaching threshold (2/3)");
  EXPECT_EQ(sys.logs().back().message, "WARN: Approaching threshold (2/3)");
  EXPECT_EQ(*sys.log_fail("w").warning, "WARNING: Approaching threshold (3/3)");
  EXPECT_FALSE(sys.log_fail("w").refusal.is_ok());
}

TEST(AuditSystemTest, SuccessWithoutResetKeepsCounting) {
  AuditSystem sys(Recipe{Level::kBlock, 1, 0, false});
  EXPECT_TRUE(sys.log_fail("k").refusal.is_ok());
  sys.log_success("k");
  EXPECT_EQ(sys.count("k"), 1);
  EXPECT_FALSE(sys.log_fail("k").refusal.is_ok());
}

TEST(AuditSystemTest, RingWrapsKeepingTheNewestEntries) {
  AuditSystem sys(Recipe{}, 3);
  for (int i = 0; i < 5; ++i) sys.log("k" + std::to_string(i), "m");
  std::vector<LogEntry> logs = sys.logs();
  ASSERT_EQ(logs.size(), 3u);
  EXPECT_EQ(logs[0].key, "k2");
  EXPECT_EQ(logs[2].key, "k4");
  EXPECT_EQ(sys.count_all(), 5u);
  EXPECT_EQ(sys.ring_size(), 3u);
  EXPECT_LE(logs[0].timestamp, logs[2].timestamp);
  EXPECT_TRUE(contains(logs[2].to_string(), "] k4: m"));
}

TEST(AuditSystemTest, ConcurrentFailuresAreAllCounted) {
  AuditSystem sys(Recipe{Level::kCount, 3, 0, true}, 64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) sys.log_fail("k");
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(sys.count("k"), 4000);
  EXPECT_EQ(sys.count_all(), 4000u);
  EXPECT_EQ(sys.logs().size(), 64u);
}

TEST(AuditSystemTest, ParsesLevelNamesAndLetters) {
  EXPECT_EQ(parse_level("S"), Level::kStop);
  EXPECT_EQ(parse_level("Abort"), Level::kAbort);
  EXPECT_EQ(parse_level("B"), Level::kBlock);
  EXPECT_EQ(parse_level("Count"), Level::kCount);
  EXPECT_FALSE(parse_level("I"));
  EXPECT_EQ(level_name(Level::kAbort), "Abort");
}

// ---- recipes ----------------------------------------------------------------------------------

const char* kRecipe = R"(
audit:
  level: A
  threshold_max: 5
  threshold_min: 2
  reset_on_success: false
process_recipes:
  pay:
    inputs:
      - {field: amount, min: 1, max: 100}
      - {field: currency, eq: EUR, level: C}
      - {field: note, max_len: 5, message: "note too long"}
    outputs:
      - {field: domain.balance, min: 0, level: Block, max_threshold: 1}
    side_effects: [email]
    errors: [ValueError]
  other:
)";

TEST(RecipeBookTest, ParsesGlobalDefaultsAndRules) {
  Result<RecipeBook> book = RecipeBook::parse(kRecipe, "r.yaml");
  ASSERT_TRUE(book.is_ok()) << book.status().to_string();
  EXPECT_EQ(book->recipe().level, Level::kAbort);
  EXPECT_EQ(book->recipe().threshold_max, 5);
  EXPECT_EQ(book->recipe().threshold_min, 2);
  EXPECT_FALSE(book->recipe().reset_on_success);
  const ProcessRules* pay = book->rules_for("pay");
  ASSERT_NE(pay, nullptr);
  ASSERT_EQ(pay->inputs.size(), 3u);
  EXPECT_EQ(pay->inputs[1].level, Level::kCount);
  EXPECT_EQ(pay->inputs[0].line, 10);
  EXPECT_EQ(pay->outputs[0].threshold_max, 1);
  EXPECT_EQ(pay->outputs[0].path.to_string(), "domain.balance");
  EXPECT_EQ(pay->side_effects, std::vector<std::string>{"email"});
  ASSERT_NE(book->rules_for("other"), nullptr);
  EXPECT_EQ(book->rules_for("missing"), nullptr);
}

TEST(RecipeBookTest, RootMappingWithoutWrapperAndFallbacks) {
  Result<RecipeBook> book = RecipeBook::parse("level: X\nmax_retries: 7\n");
  ASSERT_TRUE(book.is_ok());
  EXPECT_EQ(book->recipe().level, Level::kBlock);  // unknown -> Block
  EXPECT_EQ(book->recipe().threshold_max, 7);
  EXPECT_TRUE(book->processes().empty());
  EXPECT_TRUE(RecipeBook::parse("").is_ok());
}

TEST(RecipeBookTest, MalformedRecipesNameSourceLineRuleAndReason) {
  struct Case {
    const char* text;
    const char* fragment;
  };
  const Case cases[] = {
      {"process_recipes:\n  p:\n    inputs:\n      - {field: x, between: 3}\n",
       "r.yaml:4: process 'p' inputs[0]: unknown rule key 'between'"},
      {"process_recipes:\n  p:\n    inputs:\n      - {min: 3}\n", "'field' is required"},
      {"process_recipes:\n  p:\n    outputs:\n      - {field: domain.x, min: abc}\n",
       "process 'p' outputs[0]: 'min' must be a number"},
      {"process_recipes:\n  p:\n    inputs:\n      - {field: x, regex: '([a-z'}\n",
       "invalid regex '([a-z'"},
      {"process_recipes:\n  p:\n    inputs:\n      - {field: x, min_len: -1}\n",
       "'min_len' must not be negative"},
      {"process_recipes:\n  p:\n    outputs:\n      - {field: 'domain..x'}\n",
       "'field' is not a valid path"},
      {"process_recipes:\n  p:\n    inputs: {field: x}\n", "'inputs' must be a list of rules"},
      {"process_recipes: [1]\n", "'process_recipes' must be a mapping"},
      {"process_recipes:\n  p: 3\n", "process 'p' must map to a mapping"},
      {"audit:\n  threshold_max: many\n", "'threshold_max' must be an integer"},
      {"- a\n- b\n", "the document must be a mapping"},
      {"a: [1,\n", "Invalid YAML in audit recipe"},
  };
  for (const Case& c : cases) {
    Result<RecipeBook> book = RecipeBook::parse(c.text, "r.yaml");
    ASSERT_FALSE(book.is_ok()) << c.text;
    EXPECT_EQ(book.code(), ErrorCode::kInvalidArgument) << c.text;
    EXPECT_TRUE(contains(book.status().message(), c.fragment)) << book.status().message();
  }
}

TEST(RecipeBookTest, LoadFileReportsMissingFiles) {
  Result<RecipeBook> book = RecipeBook::load_file("/nonexistent/recipe.yaml");
  EXPECT_EQ(book.code(), ErrorCode::kNotFound);
  EXPECT_EQ(book.status().message(), "Recipe not found: /nonexistent/recipe.yaml");
  std::string path = ::testing::TempDir() + "theus_recipe_test.yaml";
  std::ofstream(path) << kRecipe;
  Result<RecipeBook> ok = RecipeBook::load_file(path);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_NE(ok->rules_for("pay"), nullptr);
}

Rule rule_from(const std::string& yaml_rule) {
  Result<RecipeBook> book =
      RecipeBook::parse("process_recipes:\n  p:\n    inputs:\n      - " + yaml_rule + "\n");
  EXPECT_TRUE(book.is_ok()) << book.status().to_string();
  return book->rules_for("p")->inputs.at(0);
}

TEST(RuleTest, EveryRuleKindPassesAndFails) {
  struct Case {
    const char* rule;
    Value pass;
    Value fail;
    const char* message;
  };
  const Case cases[] = {
      {"{field: x, min: 10}", 10, 9, "x=9 is below min 10"},
      {"{field: x, max: 2.5}", 2.5, 3, "x=3 is above max 2.5"},
      {"{field: x, min: 1}", true, false, "x=False is below min 1"},  // bool counts as int
      {"{field: x, eq: ok}", "ok", "no", "x='no' must equal 'ok'"},
      {"{field: x, eq: 3}", 3.0, 4, "x=4 must equal 3"},
      {"{field: x, neq: bad}", "good", "bad", "x='bad' must not equal 'bad'"},
      {"{field: x, min_len: 2}", "h\xc3\xa9", "\xc3\xa9", "len(x)=1 is below min_len 2"},
      {"{field: x, max_len: 2}", Value(List{1, 2}), Value(List{1, 2, 3}),
       "len(x)=3 is above max_len 2"},
      {"{field: x, regex: '[a-z]+@'}", "bob@x.org", "Bob@x", "x='Bob@x' does not match regex"},
      {"{field: x, regex: 'a'}", "abc", "cab", "does not match"},  // anchored at the start only
      {"{field: x, max: 1, message: custom text}", 1, 2, "custom text"},
  };
  for (const Case& c : cases) {
    Rule r = rule_from(c.rule);
    EXPECT_FALSE(r.check(c.pass)) << c.rule;
    std::optional<std::string> msg = r.check(c.fail);
    ASSERT_TRUE(msg) << c.rule;
    EXPECT_TRUE(contains(*msg, c.message)) << *msg;
  }
}

TEST(RuleTest, ChecksThatDoNotApplyPass) {
  EXPECT_FALSE(rule_from("{field: x, min: 1}").check("text"));         // not a number
  EXPECT_FALSE(rule_from("{field: x, max_len: 1}").check(42));         // unsized
  EXPECT_FALSE(rule_from("{field: x, regex: '^a$'}").check(Value()));  // not a string
}

TEST(RuleTest, LaterChecksOverrideEarlierMessages) {
  Rule r = rule_from("{field: x, max: 1, max_len: 0, regex: 'z'}");
  // eq/min/max do not apply to strings; max_len fails, then regex fails and wins.
  EXPECT_TRUE(contains(*r.check("ab"), "does not match regex 'z'"));
  Rule n = rule_from("{field: x, min: 5, eq: 7}");
  EXPECT_TRUE(contains(*n.check(1), "below min 5"));  // first failure of the chain
}

// ---- engine wiring ----------------------------------------------------------------------------

struct AuditedEngine {
  Engine engine;
  std::shared_ptr<AuditSystem> system;

  explicit AuditedEngine(const std::string& recipe) {
    (void)engine.compare_and_swap(0, Map{{"domain", Map{{"balance", 10}, {"log", List{}}}}});
    Result<RecipeBook> book = RecipeBook::parse(recipe, "test-recipe");
    EXPECT_TRUE(book.is_ok()) << book.status().to_string();
    system = std::make_shared<AuditSystem>(book->recipe());
    engine.set_auditor(std::make_shared<Auditor>(
        Auditor{system, std::make_shared<RecipeBook>(std::move(book).value())}));
    auto contract = Contract::make({"domain.balance"}, {"domain.balance"}).value();
    (void)engine.register_process({"withdraw", contract}, [](ProcessContext& ctx) -> Result<Value> {
      THEUS_ASSIGN_OR_RETURN(Value b, ctx.get("domain.balance"));
      const Value* amount = ctx.arg("amount");
      return Value(b.as_int() - (amount ? amount->as_int() : 1));
    });
    (void)engine.register_process({"boom", contract}, [](ProcessContext&) -> Result<Value> {
      return Status(ErrorCode::kInternal, "boom");
    });
  }
  int64_t balance() const { return engine.snapshot()->get("domain.balance").value().as_int(); }
};

const char* kEngineRecipe = R"(
audit: {level: B, threshold_max: 1}
process_recipes:
  withdraw:
    inputs:
      - {field: amount, max: 5}
    outputs:
      - {field: domain.balance, min: 0, level: A}
)";

TEST(AuditEngineTest, InputGateRefusesBeforeTheProcessRuns) {
  AuditedEngine a(kEngineRecipe);
  uint64_t v = a.engine.version();
  EXPECT_TRUE(a.engine.execute("withdraw", Map{{"amount", 6}}).is_ok());  // count 1 <= 1
  EXPECT_EQ(a.engine.version(), v + 1);
  EXPECT_EQ(a.system->count("withdraw:input:amount"), 0);  // reset by the success
  // Counted (1 <= 1) so it runs, but 4 - 9 < 0 is refused by the output rule (Abort).
  EXPECT_EQ(a.engine.execute("withdraw", Map{{"amount", 9}}).code(), ErrorCode::kAuditAbort);
  Result<Value> r = a.engine.execute("withdraw", Map{{"amount", 9}});
  EXPECT_EQ(r.code(), ErrorCode::kAuditBlock);
  EXPECT_TRUE(contains(r.status().message(),
                       "Audit Blocked: withdraw:input:amount exceeded "
                       "threshold 1 (VIOLATION: amount=9 is above max 5)"));
  bool logged = false;
  for (const LogEntry& e : a.system->logs())
    logged = logged || (e.key == "withdraw:input:amount" &&
                        e.message == "VIOLATION: amount=9 is above max 5 (level Block, version " +
                                         std::to_string(v + 1) + ")");
  EXPECT_TRUE(logged);
  EXPECT_EQ(a.engine.version(), v + 1);  // the refused calls committed nothing
  EXPECT_EQ(a.balance(), 4);
}

TEST(AuditEngineTest, OutputGateChecksTheMappedReturnValueOnce) {
  AuditedEngine a(kEngineRecipe);
  uint64_t v = a.engine.version();
  Result<Value> r = a.engine.execute("withdraw", Map{{"amount", 5}});  // 10 -> 5
  ASSERT_TRUE(r.is_ok());
  r = a.engine.execute("withdraw", Map{{"amount", 5}});  // 5 -> 0
  ASSERT_TRUE(r.is_ok());
  r = a.engine.execute("withdraw", Map{{"amount", 5}});  // 0 -> -5: Abort on the output rule
  EXPECT_EQ(r.code(), ErrorCode::kAuditAbort);
  EXPECT_TRUE(contains(r.status().message(), "domain.balance=-5 is below min 0"));
  EXPECT_EQ(a.balance(), 0);
  EXPECT_EQ(a.engine.version(), v + 2);
  EXPECT_EQ(a.system->count("withdraw:output:domain.balance"), 1);  // once per execution (D9)
  EXPECT_EQ(a.system->count("withdraw"), 1);  // the failed execution is reported too
}

TEST(AuditEngineTest, BodyFailuresAreCountedUntilBlocked) {
  AuditedEngine a(kEngineRecipe);
  Result<Value> r = a.engine.execute("boom");
  EXPECT_EQ(r.code(), ErrorCode::kInternal);  // first failure: counted, original error
  r = a.engine.execute("boom");
  EXPECT_EQ(r.code(), ErrorCode::kAuditBlock);
  EXPECT_EQ(r.status().message(), "Audit Blocked: boom exceeded threshold 1");
  EXPECT_EQ(a.system->count("boom"), 2);
}

TEST(AuditEngineTest, WorkflowsRunTheOutputGate) {
  AuditedEngine a(kEngineRecipe);
  auto wf = flux::Workflow::parse(
      "steps:\n  - flux: while\n    condition: 'domain.balance > -100'\n    do: [withdraw]\n");
  ASSERT_TRUE(wf.is_ok());
  auto shared = std::make_shared<const flux::Workflow>(std::move(wf).value());
  Result<std::vector<std::string>> steps = flux::run_workflow(a.engine, shared, {});
  EXPECT_EQ(steps.code(), ErrorCode::kAuditAbort);
  EXPECT_EQ(a.balance(), 0);  // ten withdrawals of 1 committed, the eleventh refused
}

TEST(AuditEngineTest, WithoutAuditorNothingIsChecked) {
  AuditedEngine a(kEngineRecipe);
  a.engine.set_auditor(nullptr);
  EXPECT_TRUE(a.engine.execute("withdraw", Map{{"amount", 50}}).is_ok());
  EXPECT_EQ(a.balance(), -40);
}

}  // namespace
}  // namespace theus::audit

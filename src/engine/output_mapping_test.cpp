// Output mapping (spec §4.6): how execute() turns a return value into writes of declared outputs.
#include "theus/output_mapping.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "theus/engine.hpp"
#include "theus/process_context.hpp"
#include "txn/test_printers.hpp"

namespace theus {
namespace {

using ::testing::HasSubstr;

Contract C(std::vector<std::string> in, std::vector<std::string> out) {
  return Contract::make(in, out).value();
}

class OutputMappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(e_.compare_and_swap(0, Map{{"domain", Map{{"a", 0},
                                                          {"b", 0},
                                                          {"c", 0},
                                                          {"status", "idle"},
                                                          {"cfg", Map{{"x", 0}, {"y", 0}}}}}})
                    .is_ok());
  }

  // Registers and runs a process with `outputs` whose body calls `body` and returns `result`.
  Result<Value> run(std::vector<std::string> outputs, Value result,
                    std::function<Status(ProcessContext&)> body = nullptr) {
    EXPECT_TRUE(e_.register_process({"f", C({}, outputs)},
                                    [result, body](ProcessContext& ctx) -> Result<Value> {
                                      if (body) THEUS_RETURN_IF_ERROR(body(ctx));
                                      return result;
                                    })
                    .is_ok());
    return e_.execute("f");
  }

  Value at(std::string_view path) const { return e_.snapshot()->get(path).value(); }

  Engine e_;
};

TEST_F(OutputMappingTest, MapKeyedByOutputPath) {
  ASSERT_TRUE(run({"domain.a", "domain.b"}, Map{{"domain.a", 1}, {"domain.b", 2}}).is_ok());
  EXPECT_EQ(at("domain.a"), Value(1));
  EXPECT_EQ(at("domain.b"), Value(2));
}

TEST_F(OutputMappingTest, MapKeyedByLeafName) {
  ASSERT_TRUE(run({"domain.a", "domain.b", "domain.c"}, Map{{"a", 1}, {"c", 3}}).is_ok());
  EXPECT_EQ(at("domain.a"), Value(1));
  EXPECT_EQ(at("domain.b"), Value(0));  // missing key: untouched
  EXPECT_EQ(at("domain.c"), Value(3));
}

TEST_F(OutputMappingTest, MapKeyedByDeclaredAliasText) {
  ASSERT_TRUE(run({"domain_ctx.a", "domain.b"}, Map{{"domain_ctx.a", 5}}).is_ok());
  EXPECT_EQ(at("domain.a"), Value(5));
  EXPECT_EQ(e_.snapshot()->data.find(std::string_view("domain_ctx")), nullptr);
}

TEST_F(OutputMappingTest, UnkeyedMapGoesWholeToASingleOutput) {
  ASSERT_TRUE(run({"domain.cfg"}, Map{{"z", 1}}).is_ok());
  EXPECT_EQ(at("domain.cfg"), Value(Map{{"z", 1}}));
}

TEST_F(OutputMappingTest, UnkeyedMapWritesNothingForSeveralOutputs) {
  ASSERT_TRUE(run({"domain.a", "domain.b"}, Map{{"z", 1}}).is_ok());
  EXPECT_EQ(at("domain.a"), Value(0));
  EXPECT_EQ(at("domain.b"), Value(0));
  EXPECT_EQ(e_.version(), 2u);  // still one (empty) commit
}

TEST_F(OutputMappingTest, SingleOutputUnpacksItsLeafKey) {
  ASSERT_TRUE(run({"domain.status"}, Map{{"status", "x"}, {"n", 1}}).is_ok());
  EXPECT_EQ(at("domain.status"), Value("x"));
}

TEST_F(OutputMappingTest, PositionalListForSeveralOutputs) {
  ASSERT_TRUE(run({"domain.a", "domain.b", "domain.c"}, List{1, 2}).is_ok());
  EXPECT_EQ(at("domain.a"), Value(1));
  EXPECT_EQ(at("domain.b"), Value(2));
  EXPECT_EQ(at("domain.c"), Value(0));  // missing: untouched
}

TEST_F(OutputMappingTest, ExtraPositionalValuesAreIgnored) {
  ASSERT_TRUE(run({"domain.a", "domain.b"}, List{1, 2, 3, 4}).is_ok());
  EXPECT_EQ(at("domain.a"), Value(1));
  EXPECT_EQ(at("domain.b"), Value(2));
  EXPECT_EQ(at("domain.c"), Value(0));
}

TEST_F(OutputMappingTest, SingleOutputTakesTheWholeValue) {
  ASSERT_TRUE(run({"domain.a"}, List{1, 2}).is_ok());
  EXPECT_EQ(at("domain.a"), Value(List{1, 2}));
}

TEST_F(OutputMappingTest, NoneIsSkipped) {
  ASSERT_TRUE(run({"domain.a"}, Value()).is_ok());
  EXPECT_EQ(at("domain.a"), Value(0));
  ASSERT_TRUE(run({"domain.a", "domain.b"}, Map{{"a", Value()}, {"b", 2}}).is_ok());
  EXPECT_EQ(at("domain.a"), Value(0));
  EXPECT_EQ(at("domain.b"), Value(2));
  ASSERT_TRUE(run({"domain.a", "domain.b"}, List{Value(), 3}).is_ok());
  EXPECT_EQ(at("domain.a"), Value(0));
  EXPECT_EQ(at("domain.b"), Value(3));
}

TEST_F(OutputMappingTest, GuardedWriteWinsOverTheReturnValue) {
  auto set_a = [](ProcessContext& ctx) { return ctx.set("domain.a", 5); };
  ASSERT_TRUE(run({"domain.a"}, Value("ok"), set_a).is_ok());
  EXPECT_EQ(at("domain.a"), Value(5));
  // Descendant and ancestor writes count as well; unrelated outputs are still mapped.
  auto set_cfg_x = [](ProcessContext& ctx) { return ctx.set("domain.cfg.x", 1); };
  ASSERT_TRUE(run({"domain.cfg", "domain.b"}, List{Map{{"q", 1}}, 7}, set_cfg_x).is_ok());
  EXPECT_EQ(at("domain.cfg"), Value(Map{{"x", 1}, {"y", 0}}));
  EXPECT_EQ(at("domain.b"), Value(7));
  auto set_cfg = [](ProcessContext& ctx) { return ctx.set("domain.cfg", Map{{"w", 1}}); };
  ASSERT_TRUE(run({"domain.cfg.x", "domain"}, List{9, Value()}, set_cfg).is_ok());
  EXPECT_EQ(at("domain.cfg"), Value(Map{{"w", 1}}));
}

TEST_F(OutputMappingTest, HeavyOutputsWriteTheHeavyZone) {
  ASSERT_TRUE(run({"heavy.tensor.part", "heavy"}, List{42, 1}).is_ok());
  EXPECT_EQ(at("heavy.tensor"), Value(42));    // deeper segments are ignored
  EXPECT_EQ(e_.snapshot()->heavy.size(), 1u);  // a bare `heavy` output is skipped
  EXPECT_EQ(e_.snapshot()->data.find(std::string_view("heavy")), nullptr);
}

TEST_F(OutputMappingTest, SignalOutputsAreLatched) {
  ASSERT_TRUE(run({"signal.ping", "cmd.stop"}, List{1, true}).is_ok());
  EXPECT_EQ(e_.snapshot()->signals, (Map{{"ping", "1"}, {"stop", "True"}}));
  EXPECT_EQ(e_.snapshot()->data.find(std::string_view("signal")), nullptr);
}

TEST_F(OutputMappingTest, OtherRootsAreSetWithIntermediateMaps) {
  ASSERT_TRUE(run({"counter", "ns.deep.key"}, List{1, "v"}).is_ok());
  EXPECT_EQ(at("counter"), Value(1));
  EXPECT_EQ(at("ns"), Value(Map{{"deep", Map{{"key", "v"}}}}));
}

TEST_F(OutputMappingTest, LocalOutputsAreNeverCommitted) {
  ASSERT_TRUE(run({"local.tmp", "domain.a"}, List{1, 2}).is_ok());
  EXPECT_EQ(e_.snapshot()->data.find(std::string_view("local")), nullptr);
  EXPECT_EQ(at("domain.a"), Value(2));
}

TEST_F(OutputMappingTest, WildcardOutputsAreNotMapped) {
  ASSERT_TRUE(run({"domain.*"}, Value(5)).is_ok());
  EXPECT_EQ(at("domain.a"), Value(0));
}

TEST_F(OutputMappingTest, MultiOutputScalarIsAContractViolation) {
  SnapshotPtr before = e_.snapshot();
  auto r = run({"domain.a", "domain.b"}, Value(3));
  EXPECT_EQ(r.code(), ErrorCode::kContractViolation);
  EXPECT_THAT(r.status().message(), HasSubstr("Process 'f' declares 2 outputs"));
  EXPECT_THAT(r.status().message(), HasSubstr("['domain.a', 'domain.b']"));
  EXPECT_THAT(r.status().message(), HasSubstr("returned a single int"));
  EXPECT_EQ(e_.snapshot().get(), before.get());
}

TEST(OutputValuesTest, AlignsValuesWithOutputs) {
  Contract c = C({}, {"domain.a", "domain.b"});
  auto keyed = output_values(c, "f", Map{{"b", 2}});
  ASSERT_TRUE(keyed.is_ok());
  ASSERT_EQ(keyed->size(), 2u);
  EXPECT_TRUE((*keyed)[0].is_null());
  EXPECT_EQ((*keyed)[1], Value(2));
  EXPECT_TRUE(output_values(c, "f", Value())->at(0).is_null());
  EXPECT_EQ(output_values(c, "f", List{1})->at(0), Value(1));
  EXPECT_EQ(output_values(c, "f", Value("s")).code(), ErrorCode::kContractViolation);
  EXPECT_TRUE(output_values(Contract(), "f", Value(1))->empty());
}

}  // namespace
}  // namespace theus

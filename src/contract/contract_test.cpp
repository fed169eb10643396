// Contract: construction, error reporting per list entry, semantics, and the PURE input firewall.
#include "theus/contract.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "txn/test_printers.hpp"

namespace theus {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ContractTest, MakeParsesEveryPathAndKeepsTheTexts) {
  auto c = Contract::make({"domain_ctx.a", "domain[items]"}, {"global_.x"}).value();
  ASSERT_EQ(c.inputs().size(), 2u);
  EXPECT_EQ(c.inputs()[0].text(), "domain.a");
  EXPECT_EQ(c.inputs()[1].text(), "domain.items");
  EXPECT_EQ(c.outputs()[0].text(), "global.x");
  EXPECT_THAT(c.input_texts(), ElementsAre("domain_ctx.a", "domain[items]"));
  EXPECT_THAT(c.output_texts(), ElementsAre("global_.x"));
  EXPECT_EQ(c.semantic(), Semantic::kEffect);
  EXPECT_FALSE(c.is_pure());
}

TEST(ContractTest, DefaultContractIsEmptyEffect) {
  Contract c;
  EXPECT_TRUE(c.inputs().empty());
  EXPECT_TRUE(c.outputs().empty());
  EXPECT_EQ(c.semantic(), Semantic::kEffect);
}

TEST(ContractTest, MakeNamesTheBadInputEntry) {
  auto c = Contract::make({"domain.a", "domain..b"}, {"domain.c"});
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              StartsWith("Invalid contract: inputs[1]: Invalid contract path 'domain..b'"));
}

TEST(ContractTest, MakeNamesTheBadOutputEntry) {
  auto c = Contract::make({"domain.a"}, {"", "domain.ok"});
  ASSERT_FALSE(c.is_ok());
  EXPECT_THAT(c.status().message(), StartsWith("Invalid contract: outputs[0]: "));
  auto d = Contract::make({}, {"domain.ok", "domain[x"});
  EXPECT_THAT(d.status().message(), HasSubstr("outputs[1]"));
  EXPECT_THAT(d.status().message(), HasSubstr("domain[x"));
}

TEST(ContractTest, KeepsMetadataAndDeclaresVerbatimNames) {
  auto c = Contract::make({"transaction", "domain.a"}, {"domain.b"}, Semantic::kGuide,
                          {"ValueError"}, {"email"})
               .value();
  EXPECT_TRUE(c.declares("transaction"));
  EXPECT_TRUE(c.declares("domain.b"));
  EXPECT_FALSE(c.declares("domain"));
  EXPECT_THAT(c.errors(), ElementsAre("ValueError"));
  EXPECT_THAT(c.side_effects(), ElementsAre("email"));
  EXPECT_EQ(c.semantic(), Semantic::kGuide);
}

TEST(ContractTest, PureInputsFromSignalOrMetaAreRefused) {
  for (const char* bad : {"signal.ping", "domain.meta_x", "domain.sig_x", "cmd.stop", "meta"}) {
    auto c = Contract::make({"domain.ok", bad}, {}, Semantic::kPure).value();
    Status st = c.check_pure_inputs();
    EXPECT_EQ(st.code(), ErrorCode::kContractViolation) << bad;
    EXPECT_EQ(st.message(), "Pure process cannot take inputs from Zone: Signal/Meta (Found: " +
                                std::string(bad) + ")");
  }
}

TEST(ContractTest, PureFirewallIgnoresOtherZonesAndNonPure) {
  EXPECT_TRUE(Contract::make({"domain.log_x", "heavy.t", "domain.a"}, {}, Semantic::kPure)
                  .value()
                  .check_pure_inputs()
                  .is_ok());
  EXPECT_TRUE(
      Contract::make({"signal.ping"}, {}, Semantic::kEffect).value().check_pure_inputs().is_ok());
  // Outputs are not inputs.
  EXPECT_TRUE(
      Contract::make({}, {"signal.ping"}, Semantic::kPure).value().check_pure_inputs().is_ok());
}

TEST(SemanticTest, ParseAndName) {
  EXPECT_EQ(parse_semantic("PURE").value(), Semantic::kPure);
  EXPECT_EQ(parse_semantic("Effect").value(), Semantic::kEffect);
  EXPECT_EQ(parse_semantic("guide").value(), Semantic::kGuide);
  auto bad = parse_semantic("pur");
  EXPECT_EQ(bad.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'pur'"));
  EXPECT_EQ(semantic_name(Semantic::kPure), "pure");
  EXPECT_EQ(semantic_name(Semantic::kEffect), "effect");
  EXPECT_EQ(semantic_name(Semantic::kGuide), "guide");
}

}  // namespace
}  // namespace theus

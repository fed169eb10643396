// Tests for the zone resolver, the capability table and physics overrides (spec §5.2, §5.3).
#include "theus/zone.hpp"

#include <gtest/gtest.h>

#include <string>

namespace theus {
namespace {

Path P(std::string_view text) {
  Result<Path> r = Path::parse(text);
  EXPECT_TRUE(r.is_ok()) << text;
  return r.is_ok() ? r.value() : Path();
}

Zone Z(std::string_view text) { return resolve_zone(P(text)); }

// Clears the process-wide table when a test that touches it ends, even on failure.
class GlobalOverridesTest : public ::testing::Test {
 protected:
  void SetUp() override { PhysicsOverrides::global().clear(); }
  void TearDown() override { PhysicsOverrides::global().clear(); }
};

TEST(ZoneTest, SpecExamples) {
  EXPECT_EQ(Z("domain.log_ops.x"), Zone::kLog);
  EXPECT_EQ(Z("heavy[buffer]"), Zone::kHeavy);
  EXPECT_EQ(Z("domain.meta"), Zone::kMeta);
  EXPECT_EQ(Z("signal.ping"), Zone::kSignal);
  EXPECT_EQ(Z("domain.const_cfg[0]"), Zone::kConstant);
  EXPECT_EQ(Z("domain.user"), Zone::kData);
  EXPECT_EQ(Z("domain.audit_"), Zone::kLog);
  EXPECT_EQ(Z("domain.internal_"), Zone::kPrivate);
}

TEST(ZoneTest, EachSegmentRule) {
  struct Case {
    const char* segment;
    std::optional<Zone> zone;
  };
  const Case cases[] = {
      {"const_x", Zone::kConstant},
      {"const_", Zone::kConstant},
      {"internal_x", Zone::kPrivate},
      {"sig_x", Zone::kSignal},
      {"cmd_x", Zone::kSignal},
      {"sig", Zone::kSignal},
      {"signal", Zone::kSignal},
      {"cmd", Zone::kSignal},
      {"meta_x", Zone::kMeta},
      {"meta", Zone::kMeta},
      {"heavy_x", Zone::kHeavy},
      {"heavy", Zone::kHeavy},
      {"log_x", Zone::kLog},
      {"audit_x", Zone::kLog},
      {"log", Zone::kLog},
      {"audit_", Zone::kLog},
      {"internal_", Zone::kPrivate},
      {"user", std::nullopt},
      // Only exact names or the listed prefixes match.
      {"signals", std::nullopt},
      {"sigma", std::nullopt},
      {"metadata", std::nullopt},
      {"heavyweight", std::nullopt},
      {"logs", std::nullopt},
      {"audit", std::nullopt},
      {"catalog_", std::nullopt},
      {"internal", std::nullopt},
      {"constant", std::nullopt},
      {"command", std::nullopt},
      {"", std::nullopt},
      {"x_const_", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(zone_of_segment(c.segment), c.zone) << c.segment;
}

TEST(ZoneTest, RuleOrderWithinOneSegment) {
  // const_ is checked before everything else, internal_ before the rest.
  EXPECT_EQ(zone_of_segment("const_log"), Zone::kConstant);
  EXPECT_EQ(zone_of_segment("internal_meta"), Zone::kPrivate);
  EXPECT_EQ(zone_of_segment("log_const_x"), Zone::kLog);
  EXPECT_EQ(zone_of_segment("meta_log"), Zone::kMeta);
}

TEST(ZoneTest, FirstMatchingSegmentDecides) {
  EXPECT_EQ(Z("domain.log_a.const_b"), Zone::kLog);
  EXPECT_EQ(Z("domain.const_b.log_a"), Zone::kConstant);
  EXPECT_EQ(Z("heavy.meta"), Zone::kHeavy);
  EXPECT_EQ(Z("meta.heavy"), Zone::kMeta);
  EXPECT_EQ(Z("signal.internal_x"), Zone::kSignal);
  EXPECT_EQ(Z("domain.a.b.c.sig_x"), Zone::kSignal);
  EXPECT_EQ(Z("domain['log_x']"), Zone::kLog);
  EXPECT_EQ(Z("domain.items[3].name"), Zone::kData);
  EXPECT_EQ(resolve_zone(Path()), Zone::kData);
  EXPECT_EQ(resolve_zone(Path{"domain", 5, "meta"}), Zone::kMeta);
}

TEST(ZoneTest, CapabilityTable) {
  EXPECT_EQ(zone_capabilities(Zone::kData), 15);
  EXPECT_EQ(zone_capabilities(Zone::kSignal), 3);
  EXPECT_EQ(zone_capabilities(Zone::kMeta), 5);
  EXPECT_EQ(zone_capabilities(Zone::kHeavy), 5);
  EXPECT_EQ(zone_capabilities(Zone::kLog), 3);
  EXPECT_EQ(zone_capabilities(Zone::kConstant), 1);
  EXPECT_EQ(zone_capabilities(Zone::kPrivate), 0);
  EXPECT_EQ(cap::kRead | cap::kAppend | cap::kUpdate | cap::kDelete, cap::kAllData);
  EXPECT_EQ(cap::kAllData | cap::kAdmin, cap::kAll);
}

TEST(ZoneTest, ZoneAndCapabilityNames) {
  EXPECT_EQ(zone_name(Zone::kData), "Data");
  EXPECT_EQ(zone_name(Zone::kSignal), "Signal");
  EXPECT_EQ(zone_name(Zone::kMeta), "Meta");
  EXPECT_EQ(zone_name(Zone::kHeavy), "Heavy");
  EXPECT_EQ(zone_name(Zone::kLog), "Log");
  EXPECT_EQ(zone_name(Zone::kConstant), "Constant");
  EXPECT_EQ(zone_name(Zone::kPrivate), "Private");
  EXPECT_EQ(capability_name(cap::kRead), "READ");
  EXPECT_EQ(capability_name(cap::kAppend), "APPEND");
  EXPECT_EQ(capability_name(cap::kUpdate), "UPDATE");
  EXPECT_EQ(capability_name(cap::kDelete), "DELETE");
  EXPECT_EQ(capability_name(cap::kAdmin), "ADMIN");
}

TEST(ZoneTest, CapabilityLensIsFourBitBinary) {
  EXPECT_EQ(capability_lens(0), "0000");
  EXPECT_EQ(capability_lens(1), "0001");
  EXPECT_EQ(capability_lens(3), "0011");
  EXPECT_EQ(capability_lens(5), "0101");
  EXPECT_EQ(capability_lens(8), "1000");
  EXPECT_EQ(capability_lens(15), "1111");
  EXPECT_EQ(capability_lens(31), "1111");  // the admin flag is not part of the lens
  EXPECT_EQ(capability_lens(16), "0000");
}

TEST(ZoneTest, HasConstantSegmentAnywhere) {
  EXPECT_TRUE(has_constant_segment(P("domain.const_cfg")));
  EXPECT_TRUE(has_constant_segment(P("domain.log_x.const_y[0]")));
  EXPECT_TRUE(has_constant_segment(P("const_root")));
  EXPECT_FALSE(has_constant_segment(P("domain.constant")));
  EXPECT_FALSE(has_constant_segment(P("domain.x_const_")));
  EXPECT_FALSE(has_constant_segment(Path()));
}

TEST(PhysicsOverridesTest, ExactMatch) {
  PhysicsOverrides t;
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.lookup(P("domain.x")), std::nullopt);
  t.register_override(P("domain.const_data"), 15);
  EXPECT_FALSE(t.empty());
  EXPECT_EQ(t.lookup(P("domain.const_data")), 15);
  EXPECT_EQ(t.lookup(P("domain")), std::nullopt);  // overrides do not apply upwards
  EXPECT_EQ(t.lookup(P("domain.const_data2")), std::nullopt);
  t.register_override(P("domain.const_data"), 3);  // re-registering replaces
  EXPECT_EQ(t.lookup(P("domain.const_data")), 3);
}

TEST(PhysicsOverridesTest, LongestPrefixWins) {
  PhysicsOverrides t;
  t.register_override(P("a"), 1);
  t.register_override(P("a.b"), 3);
  EXPECT_EQ(t.lookup(P("a.b.c.d")), 3);
  EXPECT_EQ(t.lookup(P("a.b")), 3);
  EXPECT_EQ(t.lookup(P("a.bc")), 1);  // prefixes are whole segments
  EXPECT_EQ(t.lookup(P("a.x")), 1);
  EXPECT_EQ(t.lookup(P("ab")), std::nullopt);
  EXPECT_EQ(t.lookup(Path()), std::nullopt);
}

TEST(PhysicsOverridesTest, BracketsAreNormalised) {
  PhysicsOverrides t;
  t.register_override(P("domain.items[0]"), 1);
  EXPECT_EQ(t.lookup(P("domain.items['0'].name")), 1);
  EXPECT_EQ(t.lookup(P("domain[items][0]")), 1);
  t.register_override(P("domain_ctx.log_x"), 15);  // aliases are canonicalised
  EXPECT_EQ(t.lookup(P("domain.log_x[3]")), 15);
}

TEST(PhysicsOverridesTest, ClearEmptiesTheTable) {
  PhysicsOverrides t;
  t.register_override(P("a"), 1);
  t.register_override(P("b"), 1);
  t.clear();
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.lookup(P("a")), std::nullopt);
  t.register_override(P("c"), 5);
  EXPECT_EQ(t.lookup(P("c")), 5);
}

TEST_F(GlobalOverridesTest, GlobalTableIsShared) {
  EXPECT_EQ(&PhysicsOverrides::global(), &PhysicsOverrides::global());
  PhysicsOverrides::global().register_override(P("domain.log_x"), 15);
  EXPECT_EQ(PhysicsOverrides::global().lookup(P("domain.log_x.y")), 15);
  PhysicsOverrides::global().clear();
  EXPECT_TRUE(PhysicsOverrides::global().empty());
}

TEST_F(GlobalOverridesTest, PhysicsFallsBackToZone) {
  EXPECT_EQ(physics(P("domain.user"), nullptr), 15);
  EXPECT_EQ(physics(P("domain.log_x"), nullptr), 3);
  EXPECT_EQ(physics(P("domain.const_x.y"), nullptr), 1);
  EXPECT_EQ(physics(P("domain.internal_x"), nullptr), 0);
  PhysicsOverrides empty;
  EXPECT_EQ(physics(P("signal.x"), &empty), 3);
}

TEST_F(GlobalOverridesTest, PhysicsPrefersEngineThenGlobalThenZone) {
  PhysicsOverrides engine;
  engine.register_override(P("domain.const_a"), 15);
  PhysicsOverrides::global().register_override(P("domain.const_a"), 3);
  PhysicsOverrides::global().register_override(P("domain.const_b"), 7);
  EXPECT_EQ(physics(P("domain.const_a.k"), &engine), 15);  // engine table first
  EXPECT_EQ(physics(P("domain.const_a.k"), nullptr), 3);   // no engine table: global
  EXPECT_EQ(physics(P("domain.const_b"), &engine), 7);     // engine miss: global
  EXPECT_EQ(physics(P("domain.const_c"), &engine), 1);     // both miss: zone
  // An engine override on a shorter prefix still beats a global exact match.
  PhysicsOverrides coarse;
  coarse.register_override(P("domain"), 5);
  EXPECT_EQ(physics(P("domain.const_b"), &coarse), 5);
}

}  // namespace
}  // namespace theus

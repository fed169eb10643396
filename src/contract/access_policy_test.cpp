// AccessPolicy: rules A, A', B (strict / non-strict / key-checked roots), capabilities, the
// CONSTANT ceiling with overrides, write checks, output compliance (rule C) and input zones.
#include "theus/access_policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "txn/test_printers.hpp"

namespace theus {
namespace {

using ::testing::HasSubstr;

Path P(std::string_view text) { return Path::parse(text).value(); }

Contract C(std::vector<std::string> in, std::vector<std::string> out,
           Semantic s = Semantic::kEffect) {
  return Contract::make(in, out, s).value();
}

AccessOptions Opts(bool strict, bool admin = false) {
  AccessOptions o;
  o.strict_guards = strict;
  o.admin = admin;
  return o;
}

// Clears the process-wide override table around tests that use it.
class GlobalOverrides : public ::testing::Test {
 protected:
  void SetUp() override { PhysicsOverrides::global().clear(); }
  void TearDown() override { PhysicsOverrides::global().clear(); }
};

TEST(AccessPolicyTest, RuleARootReadNeedsADeclarationUnderTheRoot) {
  Contract c = C({"domain.user.name"}, {"global.limit"});
  AccessPolicy pol(c, Opts(true));
  EXPECT_TRUE(pol.check_root_read("domain").is_ok());
  EXPECT_TRUE(pol.check_root_read("domain_ctx").is_ok());  // alias
  EXPECT_TRUE(pol.check_root_read("global").is_ok());      // outputs grant read
  EXPECT_TRUE(pol.check_root_read("global_ctx").is_ok());
  Status st = pol.check_root_read("heavy");
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "Illegal Read: 'heavy'");
  EXPECT_EQ(AccessPolicy(c, Opts(true, true)).check_root_read("heavy").code(), ErrorCode::kOk);
}

TEST(AccessPolicyTest, EmptyContractReadsNothing) {
  Contract c;
  AccessPolicy pol(c, Opts(false));
  EXPECT_EQ(pol.check_root_read("domain").message(), "Illegal Read: 'domain'");
  EXPECT_EQ(pol.read_access(P("domain.x")), ReadAccess::kDenied);
}

TEST(AccessPolicyTest, RuleAPrimeRootWritableOnlyWithAnOutputThere) {
  Contract c = C({"domain.a", "global.x"}, {"domain.b.c"});
  AccessPolicy pol(c, Opts(true));
  EXPECT_TRUE(pol.root_writable("domain"));
  EXPECT_TRUE(pol.root_writable("domain_ctx"));
  EXPECT_FALSE(pol.root_writable("global"));
  EXPECT_TRUE(AccessPolicy(c, Opts(true, true)).root_writable("global"));
}

TEST(AccessPolicyTest, RuleBStrictChecksEveryKey) {
  Contract c = C({"domain.counter", "domain.user.name"}, {"domain.out"});
  AccessPolicy pol(c, Opts(true));
  EXPECT_EQ(pol.read_access(P("domain.counter")), ReadAccess::kAllowed);
  EXPECT_EQ(pol.read_access(P("domain.counter.deep")), ReadAccess::kAllowed);
  EXPECT_EQ(pol.read_access(P("domain.out.x")), ReadAccess::kAllowed);
  EXPECT_EQ(pol.read_access(P("domain")), ReadAccess::kNavigate);
  EXPECT_EQ(pol.read_access(P("domain.user")), ReadAccess::kNavigate);
  EXPECT_EQ(pol.read_access(P("domain.secret")), ReadAccess::kDenied);
  EXPECT_EQ(pol.read_access(P("global.x")), ReadAccess::kDenied);
  EXPECT_EQ(pol.read_access(Path{}), ReadAccess::kNavigate);

  EXPECT_TRUE(pol.check_read(P("domain.user.name")).is_ok());
  EXPECT_EQ(pol.check_read(P("domain.secret")).message(),
            "Illegal Read: Path 'domain.secret' is restricted by Process Contract.");
  // Navigation-only nodes cannot be read as values.
  EXPECT_EQ(pol.check_read(P("domain.user")).message(),
            "Illegal Read: Path 'domain.user' is restricted by Process Contract.");
  EXPECT_EQ(pol.check_read(P("global")).message(), "Illegal Read: 'global'");
}

TEST(AccessPolicyTest, RuleBWithWildcards) {
  Contract c = C({"domain.*.name"}, {});
  AccessPolicy pol(c, Opts(true));
  EXPECT_EQ(pol.read_access(P("domain.a.name")), ReadAccess::kAllowed);
  EXPECT_EQ(pol.read_access(P("domain.a")), ReadAccess::kNavigate);
  EXPECT_EQ(pol.read_access(P("domain.a.age")), ReadAccess::kNavigate);  // `*` may span segments
  EXPECT_EQ(pol.read_access(P("global.a")), ReadAccess::kDenied);
}

TEST(AccessPolicyTest, RuleBNonStrictChecksOnlyTheRoot) {
  Contract c = C({"domain.counter"}, {});
  AccessPolicy pol(c, Opts(false));
  EXPECT_EQ(pol.read_access(P("domain.secret")), ReadAccess::kAllowed);
  EXPECT_TRUE(pol.check_read(P("domain.secret")).is_ok());
  EXPECT_EQ(pol.read_access(P("global.x")), ReadAccess::kDenied);
}

TEST(AccessPolicyTest, KeyCheckedRootsStayCheckedWhenNotStrict) {
  Contract c = C({"ns.ok", "domain.a"}, {});
  AccessOptions o = Opts(false);
  o.key_checked_roots = {"ns"};
  AccessPolicy pol(c, o);
  EXPECT_EQ(pol.read_access(P("ns.ok.x")), ReadAccess::kAllowed);
  EXPECT_EQ(pol.read_access(P("ns.secret")), ReadAccess::kDenied);
  EXPECT_EQ(pol.read_access(P("domain.secret")), ReadAccess::kAllowed);
}

TEST(AccessPolicyTest, AdminReadsEverything) {
  Contract c;
  AccessPolicy pol(c, Opts(true));
  pol.set_admin(true);
  EXPECT_TRUE(pol.admin());
  EXPECT_EQ(pol.read_access(P("anything.at.all")), ReadAccess::kAllowed);
  pol.set_admin(false);
  EXPECT_EQ(pol.read_access(P("anything.at.all")), ReadAccess::kDenied);
}

TEST(AccessPolicyTest, CapabilitiesFollowZonePhysics) {
  Contract c = C({}, {"domain"});
  AccessPolicy pol(c, Opts(true));
  EXPECT_EQ(pol.capabilities(P("domain.x"), true), 15);
  EXPECT_EQ(pol.capabilities(P("domain.x"), false), 1);
  EXPECT_EQ(pol.capabilities(P("domain.log_x"), true), 3);
  EXPECT_EQ(pol.capabilities(P("domain.meta_x"), true), 5);
  EXPECT_EQ(pol.capabilities(P("heavy.t"), true), 5);
  EXPECT_EQ(pol.capabilities(P("domain.sig_x"), true), 3);
  EXPECT_EQ(pol.capabilities(P("domain.const_x"), true), 1);
  EXPECT_EQ(pol.capabilities(P("domain.internal_x"), true), 0);
  EXPECT_EQ(pol.capabilities(P("domain.log_x"), false), 1);
}

TEST(AccessPolicyTest, AdminHasAllCapabilitiesExceptOnConstants) {
  Contract c;
  AccessPolicy pol(c, Opts(true, true));
  EXPECT_EQ(pol.capabilities(P("domain.x"), false), 31);
  EXPECT_EQ(pol.capabilities(P("domain.log_x"), true), 31);
  EXPECT_EQ(pol.capabilities(P("domain.internal_x"), true), 31);
  EXPECT_EQ(pol.capabilities(P("domain.const_x"), true), 1);
  EXPECT_EQ(pol.check_write(P("domain.const_x"), cap::kUpdate, WriteMode::kWrite).message(),
            "Illegal Write: 'const_' field 'domain.const_x' is CONSTANT and cannot be modified.");
  EXPECT_TRUE(pol.check_write(P("global.log_x"), cap::kDelete, WriteMode::kDelete).is_ok());
}

TEST(AccessPolicyTest, CapabilityMessagesShowTheLens) {
  Contract c = C({}, {"domain"});
  AccessPolicy pol(c, Opts(true));
  Status st = pol.check_capability(P("domain.log_x"), cap::kUpdate, true);
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(
      st.message(),
      "Permission Denied: UPDATE capability required for 'domain.log_x'. (Current Lens: 0011)");
  EXPECT_EQ(
      pol.check_capability(P("domain.meta_x"), cap::kAppend, true).message(),
      "Permission Denied: APPEND capability required for 'domain.meta_x'. (Current Lens: 0101)");
  EXPECT_EQ(
      pol.check_capability(P("domain.log_x[0]"), cap::kDelete, true).message(),
      "Permission Denied: DELETE capability required for 'domain.log_x[0]'. (Current Lens: 0011)");
  EXPECT_EQ(pol.check_capability(P("domain.x"), cap::kAppend, false).message(),
            "Permission Denied: APPEND capability required for 'domain.x'. (Current Lens: 0001)");
  EXPECT_TRUE(pol.check_capability(P("domain.log_x"), cap::kAppend, true).is_ok());
}

TEST(AccessPolicyTest, CheckWriteOrderIsConstantThenRootThenCapability) {
  Contract c = C({"global.const_k", "global.log_x"}, {"domain.a"});
  AccessPolicy pol(c, Opts(true));
  EXPECT_THAT(pol.check_write(P("global.const_k"), cap::kUpdate, WriteMode::kWrite).message(),
              HasSubstr("Illegal Write: 'const_' field 'global.const_k' is CONSTANT"));
  EXPECT_EQ(pol.check_write(P("global.log_x"), cap::kUpdate, WriteMode::kWrite).message(),
            "PURE process cannot write to 'global.log_x'");
  EXPECT_THAT(pol.check_write(P("domain.log_y"), cap::kUpdate, WriteMode::kWrite).message(),
              HasSubstr("Permission Denied: UPDATE capability required"));
  EXPECT_TRUE(pol.check_write(P("domain.log_y"), cap::kAppend, WriteMode::kAppend).is_ok());
}

TEST_F(GlobalOverrides, ConstantCeilingAndOverrides) {
  Contract c = C({}, {"domain"});
  PhysicsOverrides engine_table;
  AccessOptions o = Opts(true);
  o.overrides = &engine_table;
  AccessPolicy pol(c, o);
  EXPECT_EQ(
      pol.check_constant(P("domain.const_cfg"), WriteMode::kAppend).message(),
      "Illegal Append: 'const_' field 'domain.const_cfg' is CONSTANT and cannot be modified.");
  EXPECT_THAT(pol.check_constant(P("domain.const_cfg.k"), WriteMode::kDelete).message(),
              HasSubstr("Illegal Delete: 'const_' field 'domain.const_cfg.k'"));
  EXPECT_TRUE(pol.check_constant(P("domain.x"), WriteMode::kWrite).is_ok());

  engine_table.register_override(P("domain.const_cfg"), 15);
  EXPECT_TRUE(pol.check_constant(P("domain.const_cfg.k"), WriteMode::kWrite).is_ok());
  EXPECT_EQ(pol.capabilities(P("domain.const_cfg.k"), true), 15);
  EXPECT_TRUE(pol.check_write(P("domain.const_cfg.k"), cap::kUpdate, WriteMode::kWrite).is_ok());
  EXPECT_FALSE(pol.check_constant(P("domain.const_other"), WriteMode::kWrite).is_ok());

  PhysicsOverrides::global().register_override(P("domain.const_other"), 3);
  EXPECT_TRUE(pol.check_constant(P("domain.const_other"), WriteMode::kWrite).is_ok());
  EXPECT_EQ(pol.capabilities(P("domain.const_other"), true), 3);
  // With an override the admin gets everything, CONSTANT included.
  pol.set_admin(true);
  EXPECT_EQ(pol.capabilities(P("domain.const_other"), true), 31);
}

TEST_F(GlobalOverrides, OverridesReplaceZoneCapabilities) {
  Contract c = C({}, {"domain"});
  PhysicsOverrides engine_table;
  engine_table.register_override(P("domain.log_x"), 15);
  AccessOptions o = Opts(true);
  o.overrides = &engine_table;
  AccessPolicy pol(c, o);
  EXPECT_TRUE(pol.check_capability(P("domain.log_x[0]"), cap::kDelete, true).is_ok());
  EXPECT_FALSE(pol.check_capability(P("domain.log_y"), cap::kDelete, true).is_ok());
  EXPECT_EQ(pol.capabilities(P("domain.log_x"), false), 1);  // read-only proxy stays read-only
}

TEST(AccessPolicyTest, OutputCompliancePureSideEffects) {
  Contract c = C({"domain.x"}, {}, Semantic::kPure);
  AccessPolicy pol(c, Opts(true));
  EXPECT_TRUE(pol.check_output_compliance("f", {}).is_ok());
  Status st = pol.check_output_compliance("f", {P("domain.x"), P("domain.q[0]")});
  EXPECT_EQ(st.code(), ErrorCode::kContractViolation);
  EXPECT_EQ(st.message(),
            "Process 'f' is PURE but produced side-effects: ['domain.x', 'domain.q[0]']");
}

TEST(AccessPolicyTest, OutputComplianceUndeclaredWrite) {
  Contract c = C({}, {"domain.allowed", "global.*"});
  AccessPolicy pol(c, Opts(true));
  EXPECT_TRUE(pol.check_output_compliance("f", {P("domain.allowed"), P("domain.allowed.k"),
                                                P("global.any.thing"), P("local.tmp")})
                  .is_ok());
  Status st = pol.check_output_compliance("f", {P("domain.allowed"), P("domain.x")});
  EXPECT_EQ(st.code(), ErrorCode::kContractViolation);
  EXPECT_EQ(st.message(), "Process 'f' modified 'domain.x' which is NOT declared in outputs.");
  // An ancestor of an output is not covered (no coarse leniency).
  EXPECT_EQ(pol.check_output_compliance("f", {P("domain")}).message(),
            "Process 'f' modified 'domain' which is NOT declared in outputs.");
  EXPECT_TRUE(pol.output_covers(P("domain.allowed.deep")));
  EXPECT_FALSE(pol.output_covers(P("domain.allowedx")));
}

TEST(AccessPolicyTest, OutputComplianceIsSkippedWhenNotStrict) {
  Contract c = C({}, {"domain.allowed"});
  EXPECT_TRUE(AccessPolicy(c, Opts(false)).check_output_compliance("f", {P("domain.x")}).is_ok());
  Contract pure = C({}, {}, Semantic::kPure);
  EXPECT_TRUE(
      AccessPolicy(pure, Opts(false)).check_output_compliance("f", {P("domain.x")}).is_ok());
}

TEST(AccessPolicyTest, StrictRefusesSignalAndMetaInputs) {
  Contract sig = C({"domain.a", "signal.ping"}, {});
  Status st = AccessPolicy(sig, Opts(true)).check_input_zones();
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(st.message(),
            "SECURITY VIOLATION: Input 'signal.ping' belongs to restricted Control Zone Signal.");
  Contract meta = C({"domain.meta_x"}, {});
  EXPECT_EQ(AccessPolicy(meta, Opts(true)).check_input_zones().message(),
            "SECURITY VIOLATION: Input 'domain.meta_x' belongs to restricted Control Zone Meta.");
  EXPECT_TRUE(AccessPolicy(sig, Opts(false)).check_input_zones().is_ok());
  // Outputs in the signal zone are fine.
  EXPECT_TRUE(
      AccessPolicy(C({"domain.a"}, {"signal.ping"}), Opts(true)).check_input_zones().is_ok());
}

}  // namespace
}  // namespace theus

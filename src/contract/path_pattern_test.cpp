// PathPattern: normalisation (brackets, aliases), validation, and the covers / is_ancestor
// relations for exact and wildcard patterns (spec §4.3).
#include "theus/path_pattern.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "txn/test_printers.hpp"

namespace theus {
namespace {

using ::testing::HasSubstr;

PathPattern Pat(std::string_view text) {
  auto p = PathPattern::parse(text);
  EXPECT_TRUE(p.is_ok()) << text << ": " << p.status().to_string();
  return std::move(p).value();
}

Path P(std::string_view text) { return Path::parse(text).value(); }

TEST(PathPatternTest, NormalisesBracketsToDots) {
  EXPECT_EQ(Pat("domain[items]").text(), "domain.items");
  EXPECT_EQ(Pat("domain.users[0].name").text(), "domain.users.0.name");
  EXPECT_EQ(Pat("domain['a']").text(), "domain.a");
  EXPECT_EQ(Pat("domain[\"b\"][c]").text(), "domain.b.c");
  EXPECT_FALSE(Pat("domain[items]").has_wildcards());
  EXPECT_EQ(Pat("domain.x[abc]").text(), "domain.x.abc");  // a key, not a glob class
}

TEST(PathPatternTest, CanonicalisesRootAliases) {
  EXPECT_EQ(Pat("domain_ctx.x").text(), "domain.x");
  EXPECT_EQ(Pat("domain_ctx.x").root(), "domain");
  EXPECT_EQ(Pat("global_ctx").text(), "global");
  EXPECT_EQ(Pat("global_.y").text(), "global.y");
  EXPECT_EQ(Pat("domain_ctx[k]").text(), "domain.k");
  // Only the root is an alias.
  EXPECT_EQ(Pat("domain.domain_ctx").text(), "domain.domain_ctx");
  EXPECT_TRUE(Pat("global_ctx.limit").covers(P("global.limit")));
  EXPECT_TRUE(Pat("global.limit").covers(P("global_.limit")));
}

TEST(PathPatternTest, RejectsMalformedPatterns) {
  for (std::string_view bad : {"", "domain..x", ".domain", "domain.", "domain[x", "domain[a][]"}) {
    auto p = PathPattern::parse(bad);
    ASSERT_FALSE(p.is_ok()) << bad;
    EXPECT_EQ(p.code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(p.status().message(),
                HasSubstr("Invalid contract path '" + std::string(bad) + "'"));
  }
  EXPECT_THAT(PathPattern::parse("domain..x").status().message(), HasSubstr("position 7"));
  EXPECT_THAT(PathPattern::parse("domain[x").status().message(), HasSubstr("unterminated '['"));
}

TEST(PathPatternTest, ExactPatternCoversItselfAndDescendants) {
  PathPattern p = Pat("domain.user");
  EXPECT_TRUE(p.covers(P("domain.user")));
  EXPECT_TRUE(p.covers(P("domain.user.name")));
  EXPECT_TRUE(p.covers(P("domain.user[0]")));
  EXPECT_TRUE(p.covers(Path{"domain", "user", 3}));
  EXPECT_FALSE(p.covers(P("domain.username")));
  EXPECT_FALSE(p.covers(P("domain")));
  EXPECT_FALSE(p.covers(P("global.user")));
  EXPECT_TRUE(p.covers_normalized("domain.user.x"));
  EXPECT_FALSE(p.covers_normalized("domain.users"));
}

TEST(PathPatternTest, IndexSegmentsMatchTheirDecimalText) {
  PathPattern p = Pat("domain.items[0]");
  EXPECT_TRUE(p.covers(Path{"domain", "items", 0}));
  EXPECT_TRUE(p.covers(P("domain.items[0].name")));
  EXPECT_FALSE(p.covers(Path{"domain", "items", 1}));
  EXPECT_TRUE(p.is_ancestor(P("domain.items")));
  EXPECT_FALSE(p.is_ancestor(Path{"domain", "items", 0}));
  EXPECT_TRUE(p.is_ancestor(P("domain")));
}

TEST(PathPatternTest, ExactIsAncestorIsAProperSegmentPrefix) {
  PathPattern p = Pat("domain.user.name");
  EXPECT_TRUE(p.is_ancestor(P("domain")));
  EXPECT_TRUE(p.is_ancestor(P("domain.user")));
  EXPECT_FALSE(p.is_ancestor(P("domain.user.name")));  // equal, not an ancestor
  EXPECT_FALSE(p.is_ancestor(P("domain.user.name.x")));
  EXPECT_FALSE(p.is_ancestor(P("domain.use")));
  EXPECT_FALSE(p.is_ancestor(P("domain.other")));
  EXPECT_TRUE(p.is_ancestor_normalized("domain.user"));
  EXPECT_FALSE(p.is_ancestor_normalized("domain.us"));
}

TEST(PathPatternTest, StarSpansSegments) {
  PathPattern p = Pat("domain.*.name");
  EXPECT_TRUE(p.has_wildcards());
  EXPECT_TRUE(p.covers(P("domain.user.name")));
  EXPECT_TRUE(p.covers(P("domain.a.b.name")));
  EXPECT_TRUE(p.covers(P("domain.a.name.first")));  // descendant of a match
  EXPECT_FALSE(p.covers(P("domain.user.age")));
  EXPECT_FALSE(p.covers(P("domain.user")));
  EXPECT_TRUE(p.is_ancestor(P("domain")));
  EXPECT_TRUE(p.is_ancestor(P("domain.users")));
  EXPECT_TRUE(p.is_ancestor(P("domain.a.b")));
  EXPECT_FALSE(p.is_ancestor(P("global")));
}

TEST(PathPatternTest, TrailingStarCoversEverythingBelowButNotTheRoot) {
  PathPattern p = Pat("domain.*");
  EXPECT_TRUE(p.covers(P("domain.a")));
  EXPECT_TRUE(p.covers(P("domain.a.b[2]")));
  EXPECT_FALSE(p.covers(P("domain")));
  EXPECT_TRUE(p.is_ancestor(P("domain")));
  EXPECT_FALSE(p.covers(P("domainx.a")));
}

TEST(PathPatternTest, QuestionMarkMatchesOneCharacter) {
  PathPattern p = Pat("domain.item?");
  EXPECT_TRUE(p.covers(P("domain.item1")));
  EXPECT_TRUE(p.covers(P("domain.itemX.sub")));
  EXPECT_FALSE(p.covers(P("domain.item12")));
  EXPECT_FALSE(p.covers(P("domain.item")));
}

TEST(PathPatternTest, CharacterClasses) {
  PathPattern set = Pat("domain.[abc]x");
  EXPECT_TRUE(set.has_wildcards());
  EXPECT_EQ(set.text(), "domain.[abc]x");
  EXPECT_TRUE(set.covers(P("domain.ax")));
  EXPECT_TRUE(set.covers(P("domain.cx.deep")));
  EXPECT_FALSE(set.covers(P("domain.dx")));

  PathPattern negated = Pat("domain.slot_[!a]");
  EXPECT_TRUE(negated.covers(P("domain.slot_b")));
  EXPECT_FALSE(negated.covers(P("domain.slot_a")));

  PathPattern range = Pat("domain.v[0-2]");
  EXPECT_TRUE(range.covers(P("domain.v1")));
  EXPECT_FALSE(range.covers(P("domain.v5")));
  EXPECT_TRUE(range.is_ancestor(P("domain")));
}

TEST(PathPatternTest, ZoneOfTheDeclaredPath) {
  EXPECT_EQ(Pat("domain.user").zone(), Zone::kData);
  EXPECT_EQ(Pat("domain.log_x").zone(), Zone::kLog);
  EXPECT_EQ(Pat("signal.ping").zone(), Zone::kSignal);
  EXPECT_EQ(Pat("domain.meta_x.y").zone(), Zone::kMeta);
  EXPECT_EQ(Pat("domain.sig_x").zone(), Zone::kSignal);
  EXPECT_EQ(Pat("domain.const_cfg").zone(), Zone::kConstant);
  EXPECT_EQ(Pat("heavy.tensor").zone(), Zone::kHeavy);
  EXPECT_EQ(Pat("domain.internal_k").zone(), Zone::kPrivate);
}

TEST(GlobTest, WholeStringMatch) {
  EXPECT_TRUE(glob_match("a*c", "abbbc"));
  EXPECT_TRUE(glob_match("a*c", "a.b.c"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("a*c", "abcd"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("a?c", "ac"));
  EXPECT_TRUE(glob_match("[ab]x", "bx"));
  EXPECT_FALSE(glob_match("[!ab]x", "bx"));
  EXPECT_TRUE(glob_match("[a-c]", "b"));
  EXPECT_TRUE(glob_match("a[", "a["));  // a malformed class is literal
}

TEST(GlobTest, PrefixMatch) {
  EXPECT_TRUE(glob_prefix_match("domain.*.name", "domain.users."));
  EXPECT_TRUE(glob_prefix_match("dom?in.x.y", "domain.x."));
  EXPECT_FALSE(glob_prefix_match("dom?in.x", "domain.x."));
  EXPECT_FALSE(glob_prefix_match("domain.a*", "domain.b"));
}

}  // namespace
}  // namespace theus

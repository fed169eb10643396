// Tests for Path: parsing, error positions, root aliases, printing round trips, relations.
#include "theus/path.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace theus {
namespace {

using ::testing::HasSubstr;

Path parse_ok(std::string_view text) {
  Result<Path> r = Path::parse(text);
  EXPECT_TRUE(r.is_ok()) << text << ": " << r.status().to_string();
  return r.is_ok() ? r.value() : Path();
}

std::vector<std::string> reprs(const Path& p) {
  std::vector<std::string> out;
  for (const Value& s : p.segments()) out.push_back(s.repr());
  return out;
}

using Strings = std::vector<std::string>;

TEST(PathTest, ParsesDottedNames) {
  Path p = parse_ok("domain.user.name");
  EXPECT_EQ(reprs(p), (Strings{"'domain'", "'user'", "'name'"}));
  EXPECT_TRUE(p.loose());
  EXPECT_EQ(p.root(), "domain");
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(p.back(), Value("name"));
  EXPECT_EQ(p[1], Value("user"));
}

TEST(PathTest, ParsesListIndexAsInt) {
  Path p = parse_ok("domain.users[0].name");
  EXPECT_EQ(reprs(p), (Strings{"'domain'", "'users'", "0", "'name'"}));
  EXPECT_TRUE(p[2].is_int());
  EXPECT_EQ(reprs(parse_ok("a[0][12]")), (Strings{"'a'", "0", "12"}));
}

TEST(PathTest, ParsesNegativeIndex) {
  Path p = parse_ok("domain.log[-1]");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[2], Value(-1));
  EXPECT_TRUE(p[2].is_int());
  EXPECT_EQ(parse_ok("a[-]")[1], Value("-"));  // a lone minus is a key, not an index
}

TEST(PathTest, ParsesBareBracketKeyAsString) {
  EXPECT_EQ(reprs(parse_ok("domain[items]")), (Strings{"'domain'", "'items'"}));
  EXPECT_EQ(reprs(parse_ok("a[b.c]")), (Strings{"'a'", "'b.c'"}));
  EXPECT_EQ(reprs(parse_ok("a[x].y")), (Strings{"'a'", "'x'", "'y'"}));
}

TEST(PathTest, ParsesQuotedKeys) {
  EXPECT_EQ(reprs(parse_ok("domain['a.b']")), (Strings{"'domain'", "'a.b'"}));
  EXPECT_EQ(reprs(parse_ok("a[\"b\"]")), (Strings{"'a'", "'b'"}));
  EXPECT_EQ(reprs(parse_ok("a['0']")), (Strings{"'a'", "'0'"}));  // quoted digits stay a key
  EXPECT_EQ(reprs(parse_ok("a['x]y'].z")), (Strings{"'a'", "'x]y'", "'z'"}));
  EXPECT_EQ(reprs(parse_ok("a['']")), (Strings{"'a'", "''"}));
  EXPECT_EQ(reprs(parse_ok("a[\"it's\"]")), (Strings{"'a'", "\"it's\""}));
}

TEST(PathTest, ParsesEscapesInsideQuotes) {
  EXPECT_EQ(parse_ok("a['it\\'s']")[1], Value("it's"));
  EXPECT_EQ(parse_ok("a[\"q\\\"q\"]")[1], Value("q\"q"));
  EXPECT_EQ(parse_ok("a['x\\\\y']")[1], Value("x\\y"));
}

TEST(PathTest, CanonicalisesRootAliases) {
  EXPECT_EQ(parse_ok("domain_ctx.x"), parse_ok("domain.x"));
  EXPECT_EQ(parse_ok("global_ctx.limit").root(), "global");
  EXPECT_EQ(parse_ok("global_.limit").root(), "global");
  EXPECT_EQ(parse_ok("domain_ctx").root(), "domain");
  // Only the root is an alias position.
  EXPECT_EQ(parse_ok("domain.domain_ctx")[1], Value("domain_ctx"));
  EXPECT_EQ(parse_ok("globals.x").root(), "globals");
  EXPECT_EQ((Path{"domain_ctx", "a"}).root(), "domain");
  EXPECT_EQ(Path(std::vector<Value>{"global_ctx"}).root(), "global");
  EXPECT_EQ(Path().child("global_").root(), "global");
  EXPECT_EQ(Path().concat(Path{"domain_ctx", 1}).to_string(), "domain[1]");
  EXPECT_EQ(canonical_root("domain_ctx"), "domain");
  EXPECT_EQ(canonical_root("global_ctx"), "global");
  EXPECT_EQ(canonical_root("global_"), "global");
  EXPECT_EQ(canonical_root("heavy"), "heavy");
}

struct BadPath {
  const char* text;
  size_t position;
};

TEST(PathTest, MalformedPathsNameThePathAndPosition) {
  const BadPath cases[] = {
      {"", 0},
      {"a..b", 2},
      {"a.", 2},
      {".a", 0},
      {"[0]", 0},
      {"a[", 1},
      {"a[]", 1},
      {"a]", 1},
      {"a[0]b", 4},
      {"a['b", 2},
      {"a[\"b", 2},
      {"a['b'", 5},
      {"a['b'x]", 5},
      {"a[0", 1},
      {"a.b]", 3},
      {"a[0].", 5},
      {"a[x]]", 4},
      {"a.[0]", 2},
      {"a[99999999999999999999]", 2},
  };
  for (const BadPath& c : cases) {
    Result<Path> r = Path::parse(c.text);
    ASSERT_FALSE(r.is_ok()) << "'" << c.text << "' parsed";
    EXPECT_EQ(r.code(), ErrorCode::kInvalidArgument) << c.text;
    EXPECT_THAT(r.status().message(), HasSubstr("'" + std::string(c.text) + "'"));
    EXPECT_THAT(r.status().message(), HasSubstr("position " + std::to_string(c.position)))
        << c.text;
  }
}

TEST(PathTest, ToStringRoundTrips) {
  const char* canonical[] = {
      "domain",          "domain.users[0].name",
      "domain['a.b']",   "a['0']",
      "a[-1]",           "a['']",
      "a['x y']",        "a[\"it's\"]",
      "a[0][1]",         "a['it\\'s \"q\"']",
      "a['-5'].b",       "heavy.frames",
      "a['x]y']['p[q']",
  };
  for (const char* text : canonical) {
    Path p = parse_ok(text);
    EXPECT_EQ(p.to_string(), text);
    EXPECT_EQ(parse_ok(p.to_string()), p) << text;
  }
  EXPECT_EQ(parse_ok("domain[items]").to_string(), "domain.items");
  EXPECT_EQ(parse_ok("a[\"b\"]").to_string(), "a.b");
  EXPECT_EQ(parse_ok("domain_ctx.x").to_string(), "domain.x");
  EXPECT_EQ(Path().to_string(), "");
  EXPECT_EQ((Path{"a", 2.5, true, Value()}).to_string(), "a[2.5][True][None]");
}

// Regression: to_string() quotes keys with repr(), which escapes control characters (`\n`,
// `\x01`); parse() read `\n` back as a plain `n`, so such keys did not round-trip.
TEST(PathTest, ToStringRoundTripsKeysWithControlCharacters) {
  const char* keys[] = {"a.\nb", "tab\t[x]", "cr\r.", "\x01 \x7f", "it's \"q\"\\", "\n"};
  for (const char* key : keys) {
    Path p{"domain", key, "tail"};
    Result<Path> back = Path::parse(p.to_string());
    ASSERT_TRUE(back.is_ok()) << p.to_string();
    EXPECT_EQ(back.value(), p) << p.to_string();
  }
  EXPECT_EQ(parse_ok("a['\\x41\\x62']")[1], Value("Ab"));
  EXPECT_EQ(parse_ok("a['\\\\x41']")[1], Value("\\x41"));  // an escaped backslash stays literal
  EXPECT_EQ(parse_ok("a['\\x4']")[1], Value("x4"));        // incomplete \x: the letter itself
  EXPECT_EQ(parse_ok("a['\\q']")[1], Value("q"));          // unknown escapes keep the character
}

TEST(PathTest, NormalizedUsesDotsOnly) {
  EXPECT_EQ(parse_ok("domain.users[0].name").normalized(), "domain.users.0.name");
  EXPECT_EQ(parse_ok("domain[items]").normalized(), "domain.items");
  EXPECT_EQ(parse_ok("domain['a.b']").normalized(), "domain.a.b");
  EXPECT_EQ(parse_ok("global_ctx.x[-2]").normalized(), "global.x.-2");
  EXPECT_EQ(Path().normalized(), "");
}

TEST(PathTest, SegmentTextOfEachKind) {
  EXPECT_EQ(segment_text(Value("k")), "k");
  EXPECT_EQ(segment_text(Value(-3)), "-3");
  EXPECT_EQ(segment_text(Value(1.5)), "1.5");
  EXPECT_EQ(segment_text(Value(true)), "True");
}

TEST(PathTest, ChildParentPrefixConcat) {
  Path p = parse_ok("domain.a");
  Path c = p.child(3);
  EXPECT_EQ(c.to_string(), "domain.a[3]");
  EXPECT_TRUE(c.loose());
  EXPECT_EQ(c.parent(), p);
  EXPECT_EQ(c.prefix(1).to_string(), "domain");
  EXPECT_TRUE(c.prefix(1).loose());
  EXPECT_EQ(c.prefix(0), Path());
  EXPECT_EQ(c.prefix(99), c);
  Path strict{"x"};
  EXPECT_FALSE(strict.loose());
  EXPECT_FALSE(strict.concat(Path{"y"}).loose());
  EXPECT_TRUE(strict.concat(parse_ok("y")).loose());
  EXPECT_EQ(strict.concat(Path{"y", 0}).to_string(), "x.y[0]");
  EXPECT_EQ(p.concat(Path()), p);
  EXPECT_TRUE(Path().empty());
  EXPECT_EQ(Path().root(), "");
  EXPECT_EQ((Path{1, "a"}).root(), "");
}

TEST(PathTest, EqualityAndHash) {
  EXPECT_EQ(parse_ok("a.b[0]"), (Path{"a", "b", 0}));
  EXPECT_NE(parse_ok("a.b"), parse_ok("a.c"));
  EXPECT_NE(parse_ok("a.b"), parse_ok("a"));
  EXPECT_EQ(std::hash<Path>{}(parse_ok("a.b[0]")), std::hash<Path>{}(Path{"a", "b", 0}));
}

TEST(PathTest, RelationCases) {
  Path ab = parse_ok("domain.a.b");
  EXPECT_EQ(ab.relation(parse_ok("domain.a.b")), PathRelation::kEqual);
  EXPECT_EQ(parse_ok("domain.a").relation(ab), PathRelation::kAncestor);
  EXPECT_EQ(ab.relation(parse_ok("domain.a")), PathRelation::kDescendant);
  EXPECT_EQ(ab.relation(parse_ok("domain.a.c")), PathRelation::kUnrelated);
  EXPECT_EQ(ab.relation(parse_ok("domain.a.bc")), PathRelation::kUnrelated);
  EXPECT_EQ(parse_ok("dom").relation(parse_ok("domain")), PathRelation::kUnrelated);
  EXPECT_EQ(parse_ok("global.x").relation(parse_ok("global_ctx.x.y")), PathRelation::kAncestor);
  EXPECT_EQ(Path().relation(ab), PathRelation::kAncestor);
  EXPECT_EQ(Path().relation(Path()), PathRelation::kEqual);
  // A list index and its decimal key address the same node.
  EXPECT_EQ(parse_ok("a[0]").relation(parse_ok("a['0']")), PathRelation::kEqual);
  EXPECT_EQ(parse_ok("a[0]").relation(parse_ok("a['0'].x")), PathRelation::kAncestor);
  EXPECT_EQ(parse_ok("a[0]").relation(parse_ok("a[1]")), PathRelation::kUnrelated);
  EXPECT_TRUE(ab.overlaps(parse_ok("domain")));
  EXPECT_FALSE(ab.overlaps(parse_ok("global")));
}

}  // namespace
}  // namespace theus

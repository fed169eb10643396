// Tests for Value: kinds, Python equality/hash/truthiness, repr/str, lifetime, foreign handles.
#include "theus/value.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace theus {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kTwo53 = int64_t{1} << 53;

TEST(ValueTest, DefaultIsNull) {
  Value v;
  EXPECT_EQ(v.kind(), Kind::kNull);
  EXPECT_TRUE(v.is_null());
  EXPECT_EQ(Value(nullptr).kind(), Kind::kNull);
  EXPECT_FALSE(v.is_tombstone());
}

TEST(ValueTest, ConstructorsSetKinds) {
  EXPECT_EQ(Value(true).kind(), Kind::kBool);
  EXPECT_EQ(Value(7).kind(), Kind::kInt);
  EXPECT_EQ(Value(7L).kind(), Kind::kInt);
  EXPECT_EQ(Value(7LL).kind(), Kind::kInt);
  EXPECT_EQ(Value(7u).kind(), Kind::kInt);
  EXPECT_EQ(Value(7UL).kind(), Kind::kInt);
  EXPECT_EQ(Value(7ULL).kind(), Kind::kInt);
  EXPECT_EQ(Value(7.5).kind(), Kind::kDouble);
  EXPECT_EQ(Value("s").kind(), Kind::kString);
  EXPECT_EQ(Value(std::string("s")).kind(), Kind::kString);
  EXPECT_EQ(Value(std::string_view("s")).kind(), Kind::kString);
  EXPECT_EQ(Value::bytes("b").kind(), Kind::kBytes);
  EXPECT_EQ(Value(List{}).kind(), Kind::kList);
  EXPECT_EQ(Value(Map{}).kind(), Kind::kMap);
  EXPECT_EQ(Value::buffer(BufferRef{}).kind(), Kind::kBuffer);
  EXPECT_EQ(Value::foreign(nullptr, nullptr).kind(), Kind::kForeign);
}

TEST(ValueTest, AccessorsReturnPayload) {
  EXPECT_TRUE(Value(true).as_bool());
  EXPECT_EQ(Value(-42).as_int(), -42);
  EXPECT_EQ(Value(std::numeric_limits<int64_t>::min()).as_int(),
            std::numeric_limits<int64_t>::min());
  EXPECT_DOUBLE_EQ(Value(2.5).as_double(), 2.5);
  EXPECT_EQ(Value("hello").as_string(), "hello");
  EXPECT_EQ(Value::bytes(std::string_view("a\0b", 3)).as_bytes(), std::string_view("a\0b", 3));
  EXPECT_EQ(Value(List{1, 2}).as_list().size(), 2u);
  EXPECT_EQ(Value(Map{{"k", 1}}).as_map().size(), 1u);
  BufferRef ref{"seg", 8, 16, "float64", {2}};
  EXPECT_EQ(Value::buffer(ref).as_buffer(), ref);
}

TEST(ValueTest, AsNumberPromotesBoolIntDouble) {
  EXPECT_EQ(Value(true).as_number(), 1.0);
  EXPECT_EQ(Value(false).as_number(), 0.0);
  EXPECT_EQ(Value(3).as_number(), 3.0);
  EXPECT_EQ(Value(3.25).as_number(), 3.25);
}

TEST(ValueTest, KindPredicates) {
  EXPECT_TRUE(Value(true).is_number());
  EXPECT_TRUE(Value(1).is_number());
  EXPECT_TRUE(Value(1.0).is_number());
  EXPECT_FALSE(Value("1").is_number());
  EXPECT_TRUE(Value(List{}).is_container());
  EXPECT_TRUE(Value(Map{}).is_container());
  EXPECT_FALSE(Value("x").is_container());
  EXPECT_TRUE(Value::bytes("").is_bytes());
  EXPECT_FALSE(Value::bytes("").is_string());
}

TEST(ValueTest, TypeNameOfEveryKind) {
  EXPECT_EQ(Value().type_name(), "NoneType");
  EXPECT_EQ(Value(false).type_name(), "bool");
  EXPECT_EQ(Value(1).type_name(), "int");
  EXPECT_EQ(Value(1.0).type_name(), "float");
  EXPECT_EQ(Value("a").type_name(), "str");
  EXPECT_EQ(Value::bytes("a").type_name(), "bytes");
  EXPECT_EQ(Value(List{}).type_name(), "list");
  EXPECT_EQ(Value(Map{}).type_name(), "dict");
  EXPECT_EQ(Value::buffer(BufferRef{}).type_name(), "buffer");
  static const ForeignHooks kNamed{.type_name = "ndarray"};
  static const ForeignHooks kUnnamed{.type_name = nullptr};
  EXPECT_EQ(Value::foreign(nullptr, &kNamed).type_name(), "ndarray");
  EXPECT_EQ(Value::foreign(nullptr, &kUnnamed).type_name(), "object");
  EXPECT_EQ(Value::foreign(nullptr, nullptr).type_name(), "object");
}

TEST(ValueTest, BoolIntDoubleCompareLikePython) {
  EXPECT_EQ(Value(1), Value(1.0));
  EXPECT_EQ(Value(1), Value(true));
  EXPECT_EQ(Value(1.0), Value(true));
  EXPECT_EQ(Value(0), Value(false));
  EXPECT_EQ(Value(0.0), Value(false));
  EXPECT_EQ(Value(-0.0), Value(0));
  EXPECT_NE(Value(2), Value(true));
  EXPECT_NE(Value(1.5), Value(1));
  EXPECT_NE(Value(true), Value(false));
  EXPECT_EQ(Value(-7), Value(-7.0));
}

TEST(ValueTest, IntDoubleEqualityIsExactAroundTwoTo53) {
  EXPECT_EQ(Value(kTwo53), Value(static_cast<double>(kTwo53)));
  // 2**53 + 1 is not representable: the double rounds to 2**53, and Python says they differ.
  EXPECT_NE(Value(kTwo53 + 1), Value(static_cast<double>(kTwo53 + 1)));
  EXPECT_NE(Value(kTwo53 + 1), Value(static_cast<double>(kTwo53)));
  EXPECT_EQ(Value(-kTwo53), Value(-static_cast<double>(kTwo53)));
  // int64 max vs 2**63 (the nearest double): unequal; int64 min == -2**63 exactly.
  EXPECT_NE(Value(std::numeric_limits<int64_t>::max()), Value(9223372036854775808.0));
  EXPECT_EQ(Value(std::numeric_limits<int64_t>::min()), Value(-9223372036854775808.0));
}

TEST(ValueTest, NanNeverEqualsAnything) {
  Value nan(kNan);
  EXPECT_NE(nan, Value(kNan));
  EXPECT_NE(nan, nan);
  EXPECT_NE(nan, Value(0));
  EXPECT_NE(Value(kInf), Value(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(Value(kInf), Value(kInf));
  EXPECT_NE(Value(kInf), Value(-kInf));
}

TEST(ValueTest, DifferentKindsAreUnequal) {
  EXPECT_EQ(Value(), Value());
  EXPECT_NE(Value(), Value(0));
  EXPECT_NE(Value(), Value(""));
  EXPECT_NE(Value("1"), Value(1));
  EXPECT_NE(Value("ab"), Value::bytes("ab"));
  EXPECT_EQ(Value::bytes("ab"), Value::bytes("ab"));
  EXPECT_NE(Value(List{}), Value(Map{}));
  EXPECT_NE(Value(List{}), Value());
  EXPECT_NE(Value("a"), Value("b"));
  EXPECT_NE(Value("a"), Value("a "));
}

TEST(ValueTest, ContainersCompareByContent) {
  EXPECT_EQ(Value(List{1, 2}), Value(List{1.0, 2.0}));
  EXPECT_EQ(Value(List{true}), Value(List{1}));
  EXPECT_NE(Value(List{1, 2}), Value(List{2, 1}));
  EXPECT_NE(Value(List{1}), Value(List{1, 1}));
  EXPECT_EQ(Value(Map{{"a", 1}, {"b", 2}}), Value(Map{{"b", 2.0}, {"a", true}}));
  EXPECT_NE(Value(Map{{"a", 1}}), Value(Map{{"a", 2}}));
  EXPECT_NE(Value(Map{{"a", 1}}), Value(Map{{"b", 1}}));
  EXPECT_NE(Value(Map{{"a", 1}}), Value(Map{{"a", 1}, {"b", 1}}));
  EXPECT_EQ(Value(Map{{1, "x"}}), Value(Map{{1.0, "x"}}));
  Value nested(Map{{"l", List{Map{{"z", List{}}}}}});
  EXPECT_EQ(nested, Value(Map{{"l", List{Map{{"z", List{}}}}}}));
  EXPECT_NE(nested, Value(Map{{"l", List{Map{{"z", List{0}}}}}}));
}

TEST(ValueTest, BuffersCompareByReference) {
  BufferRef a{"seg", 0, 24, "float64", {3}};
  BufferRef b = a;
  EXPECT_EQ(Value::buffer(a), Value::buffer(b));
  b.offset = 8;
  EXPECT_NE(Value::buffer(a), Value::buffer(b));
  b = a;
  b.shape = {1, 3};
  EXPECT_NE(Value::buffer(a), Value::buffer(b));
}

TEST(ValueTest, HashConsistentWithEquality) {
  EXPECT_EQ(Value(1).hash(), Value(1.0).hash());
  EXPECT_EQ(Value(1).hash(), Value(true).hash());
  EXPECT_EQ(Value(0).hash(), Value(false).hash());
  EXPECT_EQ(Value(0).hash(), Value(-0.0).hash());
  EXPECT_EQ(Value(0.0).hash(), Value(-0.0).hash());
  EXPECT_EQ(Value(kTwo53).hash(), Value(static_cast<double>(kTwo53)).hash());
  EXPECT_EQ(Value(-12345).hash(), Value(-12345.0).hash());
  EXPECT_EQ(Value(std::numeric_limits<int64_t>::min()).hash(),
            Value(-9223372036854775808.0).hash());
  EXPECT_EQ(Value(std::string("abc")).hash(), Value("abc").hash());
  EXPECT_EQ(Value::bytes("abc").hash(), Value::bytes("abc").hash());
  EXPECT_EQ(Value(List{1, 2}).hash(), Value(List{1.0, true + 1}).hash());
  EXPECT_EQ(Value(Map{{"a", 1}, {"b", 2}}).hash(), Value(Map{{"b", 2}, {"a", 1.0}}).hash());
  EXPECT_EQ(std::hash<Value>{}(Value(3)), Value(3.0).hash());
  // Not required by ==, but a hash that ignored the payload would make maps degenerate.
  EXPECT_NE(Value(1).hash(), Value(2).hash());
  EXPECT_NE(Value("a").hash(), Value("b").hash());
  EXPECT_NE(Value(List{1, 2}).hash(), Value(List{2, 1}).hash());
}

// Brute force over numbers near the interesting edges: == must agree with exact arithmetic
// (long double holds every int64 and double exactly here), be symmetric, and imply equal hashes.
TEST(ValueTest, PropertyNumericEqualityIsExactAndHashConsistent) {
  std::vector<Value> values;
  const int64_t ints[] = {0,
                          1,
                          -1,
                          2,
                          kTwo53 - 1,
                          kTwo53,
                          kTwo53 + 1,
                          -kTwo53 - 1,
                          std::numeric_limits<int64_t>::max(),
                          std::numeric_limits<int64_t>::min(),
                          std::numeric_limits<int64_t>::max() - 1023};
  for (int64_t i : ints) {
    values.emplace_back(i);
    values.emplace_back(static_cast<double>(i));
  }
  for (double d : {0.5, -0.0, 1e300, -1e300, 9223372036854775808.0, kInf, -kInf})
    values.emplace_back(d);
  values.emplace_back(true);
  values.emplace_back(false);
  auto exact = [](const Value& v) -> long double {
    if (v.is_double()) return v.as_double();
    if (v.is_bool()) return v.as_bool() ? 1 : 0;
    return static_cast<long double>(v.as_int());
  };
  for (const Value& a : values) {
    for (const Value& b : values) {
      bool eq = a == b;
      EXPECT_EQ(eq, exact(a) == exact(b)) << a.repr() << " vs " << b.repr();
      EXPECT_EQ(eq, b == a) << a.repr() << " vs " << b.repr();
      if (eq) {
        EXPECT_EQ(a.hash(), b.hash()) << a.repr() << " vs " << b.repr();
      }
    }
  }
}

TEST(ValueTest, TruthinessFollowsPython) {
  EXPECT_FALSE(Value().truthy());
  EXPECT_FALSE(Value(false).truthy());
  EXPECT_TRUE(Value(true).truthy());
  EXPECT_FALSE(Value(0).truthy());
  EXPECT_TRUE(Value(-1).truthy());
  EXPECT_FALSE(Value(0.0).truthy());
  EXPECT_FALSE(Value(-0.0).truthy());
  EXPECT_TRUE(Value(kNan).truthy());
  EXPECT_TRUE(Value(0.001).truthy());
  EXPECT_FALSE(Value("").truthy());
  EXPECT_TRUE(Value("0").truthy());
  EXPECT_FALSE(Value::bytes("").truthy());
  EXPECT_TRUE(Value::bytes(std::string_view("\0", 1)).truthy());
  EXPECT_FALSE(Value(List{}).truthy());
  EXPECT_TRUE(Value(List{Value()}).truthy());
  EXPECT_FALSE(Value(Map{}).truthy());
  EXPECT_TRUE(Value(Map{{"a", Value()}}).truthy());
  EXPECT_FALSE(Value(Map{{"a", 1}}.erase("a")).truthy());
  EXPECT_TRUE(Value::buffer(BufferRef{}).truthy());
  EXPECT_TRUE(Value::foreign(nullptr, nullptr).truthy());
}

TEST(ValueTest, ReprOfScalars) {
  EXPECT_EQ(Value().repr(), "None");
  EXPECT_EQ(Value(true).repr(), "True");
  EXPECT_EQ(Value(false).repr(), "False");
  EXPECT_EQ(Value(0).repr(), "0");
  EXPECT_EQ(Value(-17).repr(), "-17");
  EXPECT_EQ(Value(std::numeric_limits<int64_t>::min()).repr(), "-9223372036854775808");
  EXPECT_EQ(Value(std::numeric_limits<int64_t>::max()).repr(), "9223372036854775807");
}

TEST(ValueTest, ReprOfFloatsMatchesPython) {
  const std::pair<double, const char*> cases[] = {
      {1e16, "1e+16"},
      {1e15, "1000000000000000.0"},
      {9999999999999998.0, "9999999999999998.0"},
      {0.1, "0.1"},
      {-0.0, "-0.0"},
      {0.0, "0.0"},
      {1.0, "1.0"},
      {100.0, "100.0"},
      {-2.5, "-2.5"},
      {123.456, "123.456"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {1.5e-7, "1.5e-07"},
      {1.2345e20, "1.2345e+20"},
      {1e100, "1e+100"},
      {-1e-100, "-1e-100"},
      {1.0 / 3.0, "0.3333333333333333"},
      {0.1 + 0.2, "0.30000000000000004"},
      {12345678901234567890.0, "1.2345678901234567e+19"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {5e-324, "5e-324"},
      {kNan, "nan"},
      {kInf, "inf"},
      {-kInf, "-inf"},
  };
  for (const auto& [d, text] : cases) EXPECT_EQ(Value(d).repr(), text) << "for " << text;
}

TEST(ValueTest, ReprOfStringsPicksQuotesAndEscapes) {
  EXPECT_EQ(Value("").repr(), "''");
  EXPECT_EQ(Value("abc").repr(), "'abc'");
  EXPECT_EQ(Value("it's").repr(), "\"it's\"");
  EXPECT_EQ(Value("say \"hi\"").repr(), "'say \"hi\"'");
  EXPECT_EQ(Value("it's \"x\"").repr(), "'it\\'s \"x\"'");
  EXPECT_EQ(Value("a\\b").repr(), "'a\\\\b'");
  EXPECT_EQ(Value("l1\nl2\tt\rr").repr(), "'l1\\nl2\\tt\\rr'");
  EXPECT_EQ(Value(std::string_view("\x01\x1f\x7f", 3)).repr(), "'\\x01\\x1f\\x7f'");
  EXPECT_EQ(Value(std::string_view("a\0b", 3)).repr(), "'a\\x00b'");
  EXPECT_EQ(Value("caf\xc3\xa9").repr(), "'caf\xc3\xa9'");  // UTF-8 text is kept as is
}

TEST(ValueTest, ReprOfBytes) {
  EXPECT_EQ(Value::bytes("").repr(), "b''");
  EXPECT_EQ(Value::bytes("abc").repr(), "b'abc'");
  EXPECT_EQ(Value::bytes(std::string_view("\x00\xff\x80\n", 4)).repr(), "b'\\x00\\xff\\x80\\n'");
  EXPECT_EQ(Value::bytes("it's").repr(), "b\"it's\"");
  EXPECT_EQ(Value::bytes("'\"").repr(), "b'\\'\"'");
}

TEST(ValueTest, ReprOfContainers) {
  EXPECT_EQ(Value(List{}).repr(), "[]");
  EXPECT_EQ(Value(Map{}).repr(), "{}");
  EXPECT_EQ(Value(List{1, "a", Value(), List{true, 2.5}}).repr(), "[1, 'a', None, [True, 2.5]]");
  EXPECT_EQ(Value(Map{{"a", 1}, {"b", List{2.5, Value(), true}}}).repr(),
            "{'a': 1, 'b': [2.5, None, True]}");
  EXPECT_EQ(Value(Map{{1, "x"}, {Value(), Map{}}, {2.0, List{List{}}}}).repr(),
            "{1: 'x', None: {}, 2.0: [[]]}");
  EXPECT_EQ(Value(List{Value::bytes("b"), Map{{"k", "it's"}}}).repr(), "[b'b', {'k': \"it's\"}]");
}

TEST(ValueTest, ReprOfBuffers) {
  EXPECT_EQ(Value::buffer(BufferRef{"seg", 0, 24, "float64", {3}}).repr(),
            "<buffer 'seg' float64 (3,) offset=0 length=24>");
  EXPECT_EQ(Value::buffer(BufferRef{"s2", 16, 48, "int32", {2, 6}}).repr(),
            "<buffer 's2' int32 (2, 6) offset=16 length=48>");
  EXPECT_EQ(Value::buffer(BufferRef{"s3", 0, 8, "uint8", {}}).repr(),
            "<buffer 's3' uint8 () offset=0 length=8>");
}

TEST(ValueTest, StrLeavesStringsUnquoted) {
  EXPECT_EQ(Value("it's").str(), "it's");
  EXPECT_EQ(Value("").str(), "");
  EXPECT_EQ(Value(5).str(), "5");
  EXPECT_EQ(Value(0.5).str(), "0.5");
  EXPECT_EQ(Value().str(), "None");
  EXPECT_EQ(Value::bytes("x").str(), "b'x'");
  EXPECT_EQ(Value(List{"a"}).str(), "['a']");
}

TEST(ValueTest, CopySharesNodesAndIsIdentical) {
  Value s("a string too long to be stored inline");
  Value c = s;
  EXPECT_TRUE(c.identical(s));
  EXPECT_EQ(c, s);
  Value other("a string too long to be stored inline");
  EXPECT_EQ(other, s);
  EXPECT_FALSE(other.identical(s));
  Value list(List{1, 2, 3});
  Value list_copy = list;
  EXPECT_TRUE(list_copy.identical(list));
  EXPECT_FALSE(Value(List{1, 2, 3}).identical(list));
  Value map(Map{{"a", 1}});
  Value map_copy(map);
  EXPECT_TRUE(map_copy.identical(map));
  EXPECT_FALSE(Value(Map{{"a", 1}}).identical(map));
}

TEST(ValueTest, IdenticalComparesKindAndBits) {
  EXPECT_TRUE(Value().identical(Value()));
  EXPECT_TRUE(Value(3).identical(Value(3)));
  EXPECT_FALSE(Value(3).identical(Value(3.0)));  // equal, but not the same kind
  EXPECT_FALSE(Value(1).identical(Value(true)));
  EXPECT_FALSE(Value(0.0).identical(Value(-0.0)));
  Value nan(kNan);
  Value nan_copy = nan;
  EXPECT_TRUE(nan_copy.identical(nan));                 // identical although not ==
  EXPECT_TRUE(Value(List{}).identical(Value(List{})));  // both empty: no node at all
}

// Strings and bytes of up to 14 bytes live inside the Value; longer ones in a shared heap node.
// Both must behave alike: content, equality, hashing (equal to Value::hash_of_text, which
// Map::find(std::string_view) relies on), truthiness, copies, moves and assignment.
TEST(ValueTest, InlineAndHeapStringsBehaveAlike) {
  std::string text;
  for (size_t len = 0; len <= 40; ++len) {
    SCOPED_TRACE(len);
    Value s(text);
    Value b = Value::bytes(text);
    EXPECT_EQ(s.as_string(), text);
    EXPECT_EQ(b.as_bytes(), text);
    EXPECT_EQ(s.node_id() == nullptr, len <= 14);  // inline: no node
    EXPECT_EQ(s.hash(), Value::hash_of_text(text));
    EXPECT_EQ(b.hash(), Value::hash_of_text(text) ^ 0x5bd1e995u);
    EXPECT_EQ(s.truthy(), len > 0);
    EXPECT_EQ(s, Value(text));
    EXPECT_TRUE(s.identical(Value(text)) == (len <= 14));  // heap strings: distinct nodes
    EXPECT_NE(s, b);
    if (len > 0) {
      std::string changed = text;
      changed.back() = 'X';
      EXPECT_NE(s, Value(changed));
      EXPECT_NE(s, Value(text.substr(0, len - 1)));  // a prefix
      EXPECT_NE(Value(text.substr(0, len - 1)), s);
    }
    Value copy = s;
    EXPECT_TRUE(copy.identical(s));
    Value moved = std::move(copy);
    EXPECT_TRUE(copy.is_null());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(moved.as_string(), text);
    Value assigned(List{1});
    assigned = moved;
    EXPECT_EQ(assigned.as_string(), text);
    assigned = Value("a heap string replacing whatever was there");
    assigned = s;
    EXPECT_EQ(assigned, s);
    text += static_cast<char>('a' + len % 26);
  }
}

// Short strings are hashed from their inline words: every one- to three-character string over a
// 64-letter alphabet, and "key0".."key99999", get distinct hashes (and distinct 32-bit index
// hashes, bar a handful at most).
TEST(ValueTest, ShortStringHashesSpreadWell) {
  std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.";
  std::vector<std::string> texts;
  for (char a : alphabet) {
    texts.emplace_back(1, a);
    for (char b : alphabet) {
      texts.push_back({a, b});
      for (char c : alphabet) texts.push_back({a, b, c});
    }
  }
  for (int i = 0; i < 100000; ++i) texts.push_back("key" + std::to_string(i));
  std::unordered_set<size_t> full;
  std::unordered_set<uint32_t> low;
  for (const std::string& t : texts) {
    size_t h = Value(t).hash();
    full.insert(h);
    low.insert(static_cast<uint32_t>(h ^ (h >> 32)));
  }
  EXPECT_EQ(full.size(), texts.size());
  EXPECT_GE(low.size() + 80, texts.size());  // ~370k values in 2^32: a few dozen expected
}

TEST(ValueTest, InlineStringsKeepEmbeddedNulBytes) {
  using namespace std::string_view_literals;
  Value a("a\0"sv);
  Value b("a"sv);
  Value c("a\0\0"sv);
  EXPECT_EQ(a.as_string(), "a\0"sv);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a.hash(), b.hash());
  EXPECT_EQ(Value::bytes("\0\0\0"sv).as_bytes().size(), 3u);
  EXPECT_EQ(Value::bytes("\0\0\0"sv).repr(), "b'\\x00\\x00\\x00'");
}

TEST(ValueTest, InlineStringKeysInLargeMaps) {
  // Past the index threshold the map hashes keys; short keys are inline, long ones are not.
  Map m;
  for (int i = 0; i < 200; ++i) {
    m = m.set(Value("k" + std::to_string(i)), Value(i));
    m = m.set(Value("a longer key, stored on the heap " + std::to_string(i)), Value(-i));
  }
  for (int i = 0; i < 200; ++i) {
    std::string k = "k" + std::to_string(i);
    ASSERT_NE(m.find(Value(k)), nullptr);
    EXPECT_EQ(*m.find(Value(k)), Value(i));
    EXPECT_EQ(*m.find(std::string_view(k)), Value(i));
    std::string longer = "a longer key, stored on the heap " + std::to_string(i);
    EXPECT_EQ(*m.find(std::string_view(longer)), Value(-i));
  }
  EXPECT_EQ(m.find(Value::bytes("k1")), nullptr);  // bytes never equal str
}

TEST(ValueTest, MovedFromValueIsNull) {
  Value s("text");
  Value t = std::move(s);
  EXPECT_TRUE(s.is_null());  // NOLINT(bugprone-use-after-move): documented moved-from state
  EXPECT_EQ(t, Value("text"));
  Value l(List{1, 2});
  Value m = std::move(l);
  EXPECT_TRUE(l.is_null());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(m.as_list().size(), 2u);
  Value mp(Map{{"a", 1}});
  Value dst(5);
  dst = std::move(mp);
  EXPECT_TRUE(mp.is_null());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(*dst.as_map().find(Value("a")), Value(1));
}

TEST(ValueTest, AssignmentAcrossKinds) {
  Value v("string");
  v = Value(List{1});
  EXPECT_EQ(v, Value(List{1}));
  v = Value(Map{{"k", "v"}});
  EXPECT_EQ(v.repr(), "{'k': 'v'}");
  v = 2.5;
  EXPECT_EQ(v, Value(2.5));
  Value src("copied");
  v = src;
  EXPECT_TRUE(v.identical(src));
  v = v;  // self-assignment keeps the value
  EXPECT_EQ(v, Value("copied"));
  // Assigning a child of the value to the value itself must not free the child first.
  Value outer(List{List{"inner"}});
  outer = outer.as_list()[0];
  EXPECT_EQ(outer, Value(List{"inner"}));
}

TEST(ValueTest, ContainersKeepElementsAliveAfterSourceDies) {
  List l;
  {
    Value s("payload that lives on the heap");
    l = l.push_back(s);
  }
  EXPECT_EQ(l[0], Value("payload that lives on the heap"));
}

}  // namespace
}  // namespace theus

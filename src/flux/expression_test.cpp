// Tests for Expression, the Flux condition language (spec §1.3, D11): Python's results for every
// operator and builtin, short-circuit and chained comparisons, parse-time refusals, error codes
// and messages, resource limits, and randomized inputs that must never crash.
#include "theus/flux/expression.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace theus::flux {
namespace {

// The names most tests see: x = 3, s = 'héllo', domain = {'user': {...}, 'items': [...]}.
Map default_scope() {
  Map user{{"name", "bob"}, {"age", 42}, {"tags", Value(List{"admin", "ops"})}};
  Map domain{{"user", Value(user)},
             {"items", Value(List{1, 2, 3})},
             {"limit", 10},
             {"ratio", 0.5},
             {"empty", Value(Map())}};
  return Map{{"x", 3},
             {"s", "h\xc3\xa9llo"},
             {"domain", Value(domain)},
             {"global", Value(Map{{"limit", 5}})},
             {"signal", Value(Map{{"cmd", "go"}})}};
}

NameLookup lookup_in(Map scope) {
  return [scope = std::move(scope)](std::string_view name) -> Result<Value> {
    if (const Value* v = scope.find(name)) return *v;
    return Status(ErrorCode::kNameError, "unknown");
  };
}

Result<Value> run(std::string_view text, const Map& scope = default_scope()) {
  Result<Expression> e = Expression::parse(text, "test");
  if (!e.is_ok()) return e.status();
  return e->evaluate(lookup_in(scope));
}

// repr() of the result, or "<Code: message>" on failure, so tables read like Python sessions.
std::string repr_of(std::string_view text) {
  Result<Value> r = run(text);
  if (!r.is_ok()) return "<" + r.status().to_string() + ">";
  return r->repr();
}

struct Case {
  const char* text;
  const char* repr;
};

void expect_reprs(const std::vector<Case>& cases) {
  for (const Case& c : cases) EXPECT_EQ(repr_of(c.text), c.repr) << "expression: " << c.text;
}

std::string parse_error(std::string_view text) {
  Result<Expression> e = Expression::parse(text, "steps[0]");
  EXPECT_FALSE(e.is_ok()) << "parsed: " << text;
  if (e.is_ok()) return "";
  EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  return e.status().message();
}

TEST(ExpressionTest, EvaluatesLiterals) {
  expect_reprs({{"42", "42"},
                {"1_000_000", "1000000"},
                {"0x1F", "31"},
                {"0o17", "15"},
                {"0b101", "5"},
                {"1.5", "1.5"},
                {".5", "0.5"},
                {"5.", "5.0"},
                {"1.5e3", "1500.0"},
                {"1E-3", "0.001"},
                {"1e400", "inf"},
                {"'it''s'", "'its'"},
                {"\"it's\"", "\"it's\""},
                {"'a\\tb\\n'", "'a\\tb\\n'"},
                {"'\\x41\\u00e9\\101'",
                 "'A\xc3\xa9"
                 "A'"},
                {"r'\\n'", "'\\\\n'"},
                {"'''tri'ple'''", "\"tri'ple\""},
                {"'a' \"b\"", "'ab'"},
                {"b'ab' b'c'", "b'abc'"},
                {"True", "True"},
                {"False", "False"},
                {"None", "None"},
                {"[1, 'a', None]", "[1, 'a', None]"},
                {"[x, x + 1]", "[3, 4]"},
                {"(1, 2)", "[1, 2]"},
                {"(1,)", "[1]"},
                {"()", "[]"},
                {"[]", "[]"},
                {"{'a': 1, 'b': [x]}", "{'a': 1, 'b': [3]}"},
                {"{'a': 1, 'a': 2}", "{'a': 2}"},
                {"{}", "{}"},
                {"  x  # a comment", "3"}});
}

TEST(ExpressionTest, ArithmeticMatchesPython) {
  expect_reprs({{"1 + 2", "3"},
                {"True + 1", "2"},
                {"1 + 2.5", "3.5"},
                {"5 - 7", "-2"},
                {"3 * 4", "12"},
                {"0.1 + 0.2", "0.30000000000000004"},
                {"7 / 2", "3.5"},
                {"6 / 3", "2.0"},
                {"1 / 3", "0.3333333333333333"},
                {"-7 // 2", "-4"},
                {"7 // -2", "-4"},
                {"7 // 2", "3"},
                {"-7 % 2", "1"},
                {"7 % -2", "-1"},
                {"-7 % -2", "-1"},
                {"7.5 // -2", "-4.0"},
                {"-7.5 % 2", "0.5"},
                {"5 % 3.0", "2.0"},
                {"-5 % 3.0", "1.0"},
                {"5.0 // -3", "-2.0"},
                {"0.0 // -1", "-0.0"},
                {"1.5 % 1", "0.5"},
                {"2 ** 10", "1024"},
                {"2 ** -1", "0.5"},
                {"2 ** 0.5", "1.4142135623730951"},
                {"-2 ** 2", "-4"},
                {"(-2) ** 3", "-8"},
                {"2 ** 3 ** 2", "512"},
                {"0 ** 0", "1"},
                {"-x", "-3"},
                {"+x", "3"},
                {"-True", "-1"},
                {"+True", "1"},
                {"--x", "3"},
                {"-0.0", "-0.0"},
                {"x * 2 + 1", "7"},
                {"(x + 1) * 2", "8"},
                {"10 - 2 - 3", "5"},
                {"2 * 3 % 4", "2"},
                {"1e308 * 10", "inf"}});
}

TEST(ExpressionTest, IntOverflowFallsBackToFloat) {
  expect_reprs({{"9223372036854775807", "9223372036854775807"},
                {"-9223372036854775808", "-9223372036854775808"},
                {"9223372036854775807 + 1", "9.223372036854776e+18"},
                {"-9223372036854775807 - 2", "-9.223372036854776e+18"},
                {"9223372036854775807 * 2", "1.8446744073709552e+19"},
                {"2 ** 62", "4611686018427387904"},
                {"2 ** 63", "9.223372036854776e+18"},
                {"(-2) ** 63", "-9223372036854775808"},
                {"(-9223372036854775807 - 1) // -1", "9.223372036854776e+18"},
                {"(-9223372036854775807 - 1) % -1", "0"},
                {"-(-9223372036854775807 - 1)", "9.223372036854776e+18"},
                {"99999999999999999999", "1e+20"},
                {"0xffffffffffffffff", "1.8446744073709552e+19"}});
}

TEST(ExpressionTest, PowerWithHugeExponentTerminates) {
  expect_reprs({{"2 ** 9223372036854775807", "inf"},
                {"1 ** 9223372036854775807", "1"},
                {"(-1) ** 9223372036854775807", "-1"},
                {"0 ** 9223372036854775807", "0"},
                {"0.5 ** 1e308", "0.0"},
                {"10.0 ** 400", "inf"}});
}

TEST(ExpressionTest, SequenceArithmetic) {
  expect_reprs({{"'ab' * 3", "'ababab'"},
                {"3 * 'ab'", "'ababab'"},
                {"'ab' * -1", "''"},
                {"'a' * True", "'a'"},
                {"'ab' + 'cd'", "'abcd'"},
                {"[1] + [2]", "[1, 2]"},
                {"[1, 2] * 2", "[1, 2, 1, 2]"},
                {"2 * [[1]]", "[[1], [1]]"},
                {"[] * 5", "[]"},
                {"b'a' + b'b'", "b'ab'"},
                {"b'ab' * 2", "b'abab'"}});
}

TEST(ExpressionTest, RepetitionAndConcatenationAreBounded) {
  for (const char* text :
       {"'a' * 10 ** 8", "'ab' * 9223372036854775807", "'a' * 6000000 + 'b' * 6000000",
        "[0] * 10 ** 7", "[[0] * 1000] * 10000", "[1, 2] * 9223372036854775807",
        "[0] * 600000 + [1] * 600000", "sum([[0] * 100000] * 11, [])"}) {
    Result<Value> r = run(text);
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.code(), ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(r.status().message().find("result too large"), std::string::npos)
        << text << ": " << r.status().message();
  }
  Result<Value> r = run("str([1.5] * 100001)");
  EXPECT_EQ(r.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("value too large for str() (more than 100000 items)"),
            std::string::npos);
  EXPECT_EQ(repr_of("len(str([1.5] * 100000))"), "500000");
  EXPECT_EQ(repr_of("len('a' * 10 ** 7)"), "10000000");
  EXPECT_EQ(repr_of("len([0] * 10 ** 6)"), "1000000");
  EXPECT_EQ(repr_of("len([[0] * 1000] * 999)"), "999");
  // Many large-but-allowed results in one evaluation exhaust the work budget.
  for (const char* text : {"['a' * 9000000, 'b' * 9000000, 'c' * 9000000]",
                           "[[0] * 900000, [1] * 900000, [2] * 900000]", "min('a' * 3000000)"}) {
    r = run(text);
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.code(), ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(r.status().message().find("evaluation too expensive"), std::string::npos)
        << text << ": " << r.status().message();
  }
}

TEST(ExpressionTest, ComparisonsMatchPython) {
  expect_reprs({{"1 == 1.0", "True"},
                {"True == 1", "True"},
                {"0 == False", "True"},
                {"None == 0", "False"},
                {"1 != 2", "True"},
                {"[1] != [1]", "False"},
                {"'a' == 'a'", "True"},
                {"1 < 2 < 3", "True"},
                {"1 < 2 > 1.5", "True"},
                {"3 < 2 < 1", "False"},
                {"0 < x <= 10", "True"},
                {"5 > x > 1", "True"},
                {"x == 3 == 3.0", "True"},
                {"1 < 1.5", "True"},
                {"2.5 >= 2", "True"},
                {"'abc' < 'abd'", "True"},
                {"'B' < 'a'", "True"},
                {"'' < 'a'", "True"},
                {"[1, 2] < [1, 3]", "True"},
                {"[1, 2] < [1, 2, 0]", "True"},
                {"[1, 2] <= [1, 2]", "True"},
                {"[] < [1]", "True"},
                {"[1, [2, 3]] < [1, [2, 4]]", "True"},
                {"2 ** 53 + 1 > 2.0 ** 53", "True"},
                {"9007199254740993 == 9007199254740992.0", "False"},
                {"float('nan') < 1", "False"},
                {"float('nan') == float('nan')", "False"},
                {"True > False", "True"}});
}

TEST(ExpressionTest, ChainedComparisonEvaluatesMiddleOnce) {
  std::map<std::string, int> lookups;
  NameLookup names = [&](std::string_view name) -> Result<Value> {
    ++lookups[std::string(name)];
    return Value(5);
  };
  Result<Expression> e = Expression::parse("0 < x <= 10");
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(e->test(names).value(), true);
  EXPECT_EQ(lookups["x"], 1);
  e = Expression::parse("1 < x < 3 < y");  // stops after the first false link
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(e->test(names).value(), false);
  EXPECT_EQ(lookups["x"], 2);
  EXPECT_EQ(lookups.count("y"), 0u);
}

TEST(ExpressionTest, OrderingMismatchedTypesIsTypeError) {
  for (const char* text : {"'a' < 1", "None < None", "{} < {}", "[1, 'a'] < [1, 2]", "1 >= [1]"}) {
    Result<Value> r = run(text);
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.code(), ErrorCode::kTypeMismatch) << text;
  }
  EXPECT_EQ(run("'a' < 1").status().message(),
            "Flux condition error in test: ''a' < 1' ('<' not supported between instances of "
            "'str' and 'int')");
}

TEST(ExpressionTest, MembershipMatchesPython) {
  expect_reprs({{"'a' in 'cat'", "True"},
                {"'ct' in 'cat'", "False"},
                {"'' in 'cat'", "True"},
                {"'k' in {'k': 1}", "True"},
                {"1 in {'k': 1}", "False"},
                {"1 in [1, 2]", "True"},
                {"1.0 in [1, 2]", "True"},
                {"3 not in [1, 2]", "True"},
                {"'admin' in domain.user.tags", "True"},
                {"'user' in domain", "True"},
                {"b'b' in b'abc'", "True"},
                {"97 in b'abc'", "True"},
                {"'ab' * 40 + 'c' in 'ab' * 1000 + 'c'", "True"},
                {"'ab' * 40 + 'd' in 'ab' * 1000 + 'c'", "False"}});
  EXPECT_EQ(run("1 in 1").code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(run("1 in 'a'").code(), ErrorCode::kTypeMismatch);
}

TEST(ExpressionTest, IdentityComparesSingletonsAndNodes) {
  expect_reprs({{"None is None", "True"},
                {"x is None", "False"},
                {"x is not None", "True"},
                {"True is True", "True"},
                {"1 is True", "False"},
                {"False is not False", "False"},
                {"0 is None", "False"},
                {"domain is domain", "True"},
                {"domain.items is domain.items", "True"},
                {"[1] is [1]", "False"}});
}

TEST(ExpressionTest, BooleanOperatorsReturnOperands) {
  expect_reprs({{"0 or 'x'", "'x'"},
                {"'' or [] or 0", "0"},
                {"1 and 2", "2"},
                {"0 and 2", "0"},
                {"[] and 1", "[]"},
                {"None or None", "None"},
                {"x > 2 and x < 4", "True"},
                {"not x", "False"},
                {"not 0", "True"},
                {"not ''", "True"},
                {"not not []", "False"},
                {"not x == 4", "True"},
                {"1 or 0 and 0", "1"}});
}

TEST(ExpressionTest, ShortCircuitSkipsTheRightSide) {
  int undefined_lookups = 0;
  NameLookup names = [&](std::string_view name) -> Result<Value> {
    if (name == "undefined_name") ++undefined_lookups;
    return Status(ErrorCode::kNameError, "unknown");
  };
  for (const char* text : {"False and undefined_name", "True or undefined_name",
                           "0 and undefined_name.a[1]", "1 or undefined_name()"}) {
    Result<Expression> e = Expression::parse(text);
    if (!e.is_ok()) continue;  // `undefined_name()` is refused at parse time
    EXPECT_TRUE(e->evaluate(names).is_ok()) << text;
  }
  EXPECT_EQ(undefined_lookups, 0);
  Result<Expression> e = Expression::parse("True and undefined_name");
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(e->evaluate(names).code(), ErrorCode::kNameError);
  EXPECT_EQ(undefined_lookups, 1);
}

TEST(ExpressionTest, BuiltinsMatchPython) {
  expect_reprs({{"len('abc')", "3"},
                {"len(s)", "5"},
                {"len('')", "0"},
                {"len([1, 2, 3])", "3"},
                {"len({'a': 1})", "1"},
                {"len(b'ab')", "2"},
                {"int(3.9)", "3"},
                {"int(-3.9)", "-3"},
                {"int('  42 ')", "42"},
                {"int('-1_000')", "-1000"},
                {"int('+5')", "5"},
                {"int('007')", "7"},
                {"int(True)", "1"},
                {"int()", "0"},
                {"int(1e20)", "1e+20"},
                {"float('1.5')", "1.5"},
                {"float(' -inf ')", "-inf"},
                {"float('nan')", "nan"},
                {"float('1e5')", "100000.0"},
                {"float('1_000.5')", "1000.5"},
                {"float('Infinity')", "inf"},
                {"float(2)", "2.0"},
                {"float()", "0.0"},
                {"str(1)", "'1'"},
                {"str(1.5)", "'1.5'"},
                {"str(1e16)", "'1e+16'"},
                {"str(0.1)", "'0.1'"},
                {"str([1, 'a'])", "\"[1, 'a']\""},
                {"str(None)", "'None'"},
                {"str(True)", "'True'"},
                {"str('x')", "'x'"},
                {"str()", "''"},
                {"str(b'x')", "\"b'x'\""},
                {"bool([])", "False"},
                {"bool('a')", "True"},
                {"bool()", "False"},
                {"abs(-3)", "3"},
                {"abs(-3.5)", "3.5"},
                {"abs(True)", "1"},
                {"abs(-9223372036854775807 - 1)", "9.223372036854776e+18"},
                {"min(3, 1, 2)", "1"},
                {"max(3, 1, 2)", "3"},
                {"min([3, 1, 2])", "1"},
                {"max('abc')", "'c'"},
                {"min({'b': 1, 'a': 2})", "'a'"},
                {"max([1, 2.5, 2])", "2.5"},
                {"max([2, 2.0])", "2"},
                {"min([2.0, 2])", "2.0"},
                {"max(domain.items)", "3"},
                {"sum([1, 2, 3])", "6"},
                {"sum([1.5, 2])", "3.5"},
                {"sum([True, True])", "2"},
                {"sum([0.1] * 10)", "0.9999999999999999"},
                {"sum([[1], [2]], [])", "[1, 2]"},
                {"sum([], 5)", "5"}});
}

TEST(ExpressionTest, BuiltinErrorsMatchPythonClasses) {
  struct ErrorCase {
    const char* text;
    ErrorCode code;
    const char* detail;
  };
  const std::vector<ErrorCase> cases = {
      {"len(1)", ErrorCode::kTypeMismatch, "object of type 'int' has no len()"},
      {"int('x')", ErrorCode::kInvalidArgument, "invalid literal for int() with base 10: 'x'"},
      {"int('1.5')", ErrorCode::kInvalidArgument, "invalid literal for int() with base 10: '1.5'"},
      {"int('')", ErrorCode::kInvalidArgument, "invalid literal for int() with base 10: ''"},
      {"int([])", ErrorCode::kTypeMismatch,
       "int() argument must be a string, a bytes-like object or a real number, not 'list'"},
      {"int(float('nan'))", ErrorCode::kInvalidArgument, "cannot convert float NaN to integer"},
      {"int(float('inf'))", ErrorCode::kInvalidArgument,
       "cannot convert float infinity to integer"},
      {"float('x')", ErrorCode::kInvalidArgument, "could not convert string to float: 'x'"},
      {"float('1__0')", ErrorCode::kInvalidArgument, "could not convert string to float: '1__0'"},
      {"float([])", ErrorCode::kTypeMismatch,
       "float() argument must be a string or a real number, not 'list'"},
      {"abs('a')", ErrorCode::kTypeMismatch, "bad operand type for abs(): 'str'"},
      {"min([])", ErrorCode::kInvalidArgument, "min() arg is an empty sequence"},
      {"max({})", ErrorCode::kInvalidArgument, "max() arg is an empty sequence"},
      {"max(1, 'a')", ErrorCode::kTypeMismatch,
       "'>' not supported between instances of 'str' and 'int'"},
      {"min(1)", ErrorCode::kTypeMismatch, "'int' object is not iterable"},
      {"sum(1)", ErrorCode::kTypeMismatch, "'int' object is not iterable"},
      {"sum(['a'])", ErrorCode::kTypeMismatch,
       "unsupported operand type(s) for +: 'int' and 'str'"},
      {"sum([1], 'a')", ErrorCode::kTypeMismatch,
       "sum() can't sum strings [use ''.join(seq) instead]"},
      {"[1].get(1)", ErrorCode::kAttributeError, "'list' object has no attribute 'get'"},
      {"x.keys()", ErrorCode::kAttributeError, "'int' object has no attribute 'keys'"},
  };
  for (const ErrorCase& c : cases) {
    Result<Value> r = run(c.text);
    ASSERT_FALSE(r.is_ok()) << c.text;
    EXPECT_EQ(r.code(), c.code) << c.text;
    EXPECT_EQ(r.status().message(),
              "Flux condition error in test: '" + std::string(c.text) + "' (" + c.detail + ")");
  }
}

TEST(ExpressionTest, MappingMethods) {
  expect_reprs({{"{'a': 1}.get('a')", "1"},
                {"{'a': 1}.get('b')", "None"},
                {"{'a': 1}.get('b', 5)", "5"},
                {"domain.get('limit', 0) > 5", "True"},
                {"domain.get('missing', {}).get('x')", "None"},
                {"{'a': 1, 'b': 2}.keys()", "['a', 'b']"},
                {"{'a': 1, 'b': 2}.values()", "[1, 2]"},
                {"{'a': 1, 'b': 2}.items()", "[['a', 1], ['b', 2]]"},
                {"'a' in {'a': 1}.keys()", "True"},
                {"len(domain.keys())", "5"},
                {"domain.empty.items()", "[]"},
                {"{'get': 7}.get", "7"}});
}

TEST(ExpressionTest, AttributeAccessOnMapIsKeyAccess) {
  expect_reprs({{"domain.user.name", "'bob'"},
                {"domain['user']['name']", "'bob'"},
                {"domain.user.tags[-1]", "'ops'"},
                {"domain.limit", "10"},
                {"global.limit", "5"},
                {"global['limit']", "5"},
                {"signal.cmd == 'go'", "True"},
                {"{'if': 1}.if", "1"}});
  Result<Value> r = run("domain.nope");
  EXPECT_EQ(r.code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "Flux condition error in test: 'domain.nope' (key 'nope' not found)");
  r = run("x.real");
  EXPECT_EQ(r.code(), ErrorCode::kAttributeError);
  EXPECT_EQ(r.status().message(),
            "Flux condition error in test: 'x.real' ('int' object has no attribute 'real')");
  EXPECT_EQ(run("domain.items.count").code(), ErrorCode::kAttributeError);
  EXPECT_EQ(run("'s'.upper").code(), ErrorCode::kAttributeError);
}

struct Point {
  int x;
};

const ForeignHooks kPointHooks{
    .type_name = "Point",
    .release = [](void*) {},
    .get_attribute =
        [](void* object, const Value& name, Value* out) {
          if (name.as_string() != "x") return false;
          *out = Value(static_cast<Point*>(object)->x);
          return true;
        },
};
const ForeignHooks kOpaqueHooks{.type_name = "Opaque", .release = [](void*) {}};

TEST(ExpressionTest, AttributeOnForeignValueUsesItsHook) {
  Point p{7};
  Map scope{{"p", Value::foreign(&p, &kPointHooks)}, {"o", Value::foreign(&p, &kOpaqueHooks)}};
  EXPECT_EQ(run("p.x * 2", scope)->repr(), "14");
  Result<Value> r = run("p.y", scope);
  EXPECT_EQ(r.code(), ErrorCode::kAttributeError);
  EXPECT_NE(r.status().message().find("'Point' object has no attribute 'y'"), std::string::npos);
  EXPECT_EQ(run("o.x", scope).code(), ErrorCode::kAttributeError);
  EXPECT_EQ(run("p._x", scope).code(), ErrorCode::kInvalidArgument);  // refused at parse time
  EXPECT_EQ(run("p is p", scope)->repr(), "True");
  EXPECT_EQ(run("p[0]", scope).code(), ErrorCode::kTypeMismatch);
}

// An embedder type with its own ordering and truth value (cents; comparable with ints only).
struct Money {
  int64_t cents;
};
const ForeignHooks kMoneyHooks{
    .type_name = "Money",
    .release = [](void*) {},
    .truthy = [](void* object) { return static_cast<Money*>(object)->cents != 0; },
    .compare = [](void* object, const Value& other, int op, bool* result,
                  std::string* error) -> bool {
      if (!other.is_int()) {
        *error = "Money compares with int only";
        return false;
      }
      int64_t a = static_cast<Money*>(object)->cents, b = other.as_int();
      switch (op) {
        case kForeignLt:
          *result = a < b;
          break;
        case kForeignLe:
          *result = a <= b;
          break;
        case kForeignEq:
          *result = a == b;
          break;
        case kForeignNe:
          *result = a != b;
          break;
        case kForeignGt:
          *result = a > b;
          break;
        default:
          *result = a >= b;
          break;
      }
      return true;
    },
};

TEST(ExpressionTest, ComparisonsWithForeignValuesUseItsHook) {
  Money m{150}, zero{0};
  Point p{1};
  Map scope{{"m", Value::foreign(&m, &kMoneyHooks)},
            {"z", Value::foreign(&zero, &kMoneyHooks)},
            {"p", Value::foreign(&p, &kPointHooks)}};
  for (const char* text : {"m > 100", "m >= 150", "m == 150", "m != 149", "100 < m", "200 > m",
                           "150 == m", "100 < m < 200", "not z", "m and True"}) {
    EXPECT_EQ(run(text, scope)->repr(), "True") << text;
  }
  for (const char* text : {"m < 100", "100 > m", "m == 151", "bool(z)", "z or False"}) {
    EXPECT_EQ(run(text, scope)->repr(), "False") << text;
  }
  Result<Value> r = run("m < 'x'", scope);
  EXPECT_EQ(r.code(), ErrorCode::kTypeMismatch);
  EXPECT_NE(r.status().message().find("Money compares with int only"), std::string::npos);
  // Without a compare hook: ordering is a TypeError naming both types, equality is identity.
  r = run("p < 1", scope);
  EXPECT_EQ(r.code(), ErrorCode::kTypeMismatch);
  EXPECT_NE(r.status().message().find("'<' not supported between instances of 'Point' and 'int'"),
            std::string::npos);
  EXPECT_EQ(run("p == 1", scope)->repr(), "False");
  EXPECT_EQ(run("m in [1, 150]", scope)->repr(), "True");  // membership asks the hook too
  EXPECT_EQ(run("m in [1, 2]", scope)->repr(), "False");
}

TEST(ExpressionTest, Subscripts) {
  expect_reprs({{"[10, 20, 30][0]", "10"},
                {"[10, 20, 30][-1]", "30"},
                {"[10, 20, 30][True]", "20"},
                {"domain['items'][2]", "3"},
                {"{'a': [1, {'b': 2}]}['a'][1]['b']", "2"},
                {"{1: 'one'}[1.0]", "'one'"},
                {"'abc'[1]", "'b'"},
                {"'abc'[-1]", "'c'"},
                {"s[1]", "'\xc3\xa9'"},
                {"s[-4]", "'\xc3\xa9'"},
                {"b'ab'[0]", "97"},
                {"[[1, 2], [3]][0][-1]", "2"}});
}

TEST(ExpressionTest, EvaluationErrorCodes) {
  struct ErrorCase {
    const char* text;
    ErrorCode code;
    const char* detail;
  };
  const std::vector<ErrorCase> cases = {
      {"undefined", ErrorCode::kNameError, "name 'undefined' is not defined"},
      {"domain['nope']", ErrorCode::kNotFound, "key 'nope' not found"},
      {"{}[1]", ErrorCode::kNotFound, "key 1 not found"},
      {"domain.user.tags[5]", ErrorCode::kIndexError, "list index out of range"},
      {"[1][-2]", ErrorCode::kIndexError, "list index out of range"},
      {"'abc'[3]", ErrorCode::kIndexError, "string index out of range"},
      {"b''[0]", ErrorCode::kIndexError, "index out of range"},
      {"[1, 2][1.0]", ErrorCode::kTypeMismatch,
       "list indices must be integers or slices, not float"},
      {"'a'[1.0]", ErrorCode::kTypeMismatch, "string indices must be integers, not 'float'"},
      {"1[0]", ErrorCode::kTypeMismatch, "'int' object is not subscriptable"},
      {"'a' + 1", ErrorCode::kTypeMismatch, "can only concatenate str (not \"int\") to str"},
      {"[1] + 1", ErrorCode::kTypeMismatch, "can only concatenate list (not \"int\") to list"},
      {"1 + 'a'", ErrorCode::kTypeMismatch, "unsupported operand type(s) for +: 'int' and 'str'"},
      {"1 - 'a'", ErrorCode::kTypeMismatch, "unsupported operand type(s) for -: 'int' and 'str'"},
      {"'a' ** 2", ErrorCode::kTypeMismatch,
       "unsupported operand type(s) for ** or pow(): 'str' and 'int'"},
      {"None * 2", ErrorCode::kTypeMismatch,
       "unsupported operand type(s) for *: 'NoneType' and 'int'"},
      {"'a' * 1.5", ErrorCode::kTypeMismatch, "can't multiply sequence by non-int of type 'float'"},
      {"-'a'", ErrorCode::kTypeMismatch, "bad operand type for unary -: 'str'"},
      {"+None", ErrorCode::kTypeMismatch, "bad operand type for unary +: 'NoneType'"},
      {"1 in 1", ErrorCode::kTypeMismatch, "argument of type 'int' is not iterable"},
      {"1 in 'a'", ErrorCode::kTypeMismatch,
       "'in <string>' requires string as left operand, not int"},
      {"1 / 0", ErrorCode::kZeroDivision, "division by zero"},
      {"1 / False", ErrorCode::kZeroDivision, "division by zero"},
      {"1 // 0", ErrorCode::kZeroDivision, "integer division or modulo by zero"},
      {"1 % 0", ErrorCode::kZeroDivision, "integer modulo by zero"},
      {"1.0 / 0", ErrorCode::kZeroDivision, "float division by zero"},
      {"1.0 // 0", ErrorCode::kZeroDivision, "float floor division by zero"},
      {"1.0 % 0.0", ErrorCode::kZeroDivision, "float modulo"},
      {"0 ** -1", ErrorCode::kZeroDivision, "0.0 cannot be raised to a negative power"},
      {"0.0 ** -1.5", ErrorCode::kZeroDivision, "0.0 cannot be raised to a negative power"},
      {"x.y", ErrorCode::kAttributeError, "'int' object has no attribute 'y'"},
      {"domain.user.tags.first", ErrorCode::kAttributeError,
       "'list' object has no attribute 'first'"},
      {"(-8) ** 0.5", ErrorCode::kInvalidArgument,
       "negative number cannot be raised to a fractional power (complex results are not "
       "supported)"},
  };
  for (const ErrorCase& c : cases) {
    Result<Value> r = run(c.text);
    ASSERT_FALSE(r.is_ok()) << c.text;
    EXPECT_EQ(r.code(), c.code) << c.text;
    EXPECT_EQ(r.status().message(),
              "Flux condition error in test: '" + std::string(c.text) + "' (" + c.detail + ")");
  }
}

TEST(ExpressionTest, ErrorMessageNamesLocation) {
  Result<Expression> e = Expression::parse("domain.count / 0", "steps[1].do[0]");
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(e->location(), "steps[1].do[0]");
  EXPECT_EQ(e->text(), "domain.count / 0");
  Map scope{{"domain", Value(Map{{"count", 4}})}};
  Result<bool> r = e->test(lookup_in(scope));
  EXPECT_EQ(r.code(), ErrorCode::kZeroDivision);
  EXPECT_EQ(r.status().message(),
            "Flux condition error in steps[1].do[0]: 'domain.count / 0' (division by zero)");
  EXPECT_EQ(Expression::parse("1 +", "steps[2]").status().message(),
            "invalid condition at steps[2]: '1 +' (unexpected end of expression at column 4)");
}

TEST(ExpressionTest, NameLookupErrorsKeepTheirCode) {
  NameLookup names = [](std::string_view) -> Result<Value> {
    return Status(ErrorCode::kPermissionDenied, "no reading of secrets");
  };
  Result<Expression> e = Expression::parse("secret == 1");
  ASSERT_TRUE(e.is_ok());
  Result<Value> r = e->evaluate(names);
  EXPECT_EQ(r.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("(no reading of secrets)"), std::string::npos);
  EXPECT_EQ(e->evaluate(NameLookup()).code(), ErrorCode::kNameError);  // no lookup at all
}

TEST(ExpressionTest, TestCoercesWithPythonTruthiness) {
  Map scope = default_scope();
  for (const char* text : {"''", "0", "0.0", "[]", "{}", "None", "False", "domain.empty"}) {
    Result<Expression> e = Expression::parse(text);
    ASSERT_TRUE(e.is_ok()) << text;
    EXPECT_EQ(e->test(lookup_in(scope)).value(), false) << text;
  }
  for (const char* text : {"'a'", "1", "-0.5", "[0]", "{'a': None}", "True", "domain"}) {
    Result<Expression> e = Expression::parse(text);
    ASSERT_TRUE(e.is_ok()) << text;
    EXPECT_EQ(e->test(lookup_in(scope)).value(), true) << text;
  }
}

TEST(ExpressionTest, RefusesDisallowedConstructsAtParseTime) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"f(x)", "calls to 'f' are not allowed at column 1"},
      {"open(1)", "calls to 'open' are not allowed at column 1"},
      {"x.update(1)", "calls to 'update' are not allowed at column 3"},
      {"(len)(x)", "only builtin functions and mapping methods may be called"},
      {"lambda: 1", "lambda expressions are not allowed at column 1"},
      {"[x for x in y]", "comprehensions are not allowed at column 4"},
      {"(x for x in y)", "comprehensions are not allowed"},
      {"{k: 1 for k in y}", "comprehensions are not allowed"},
      {"len(x for x in y)", "comprehensions are not allowed"},
      {"a if b else c", "conditional expressions are not allowed at column 3"},
      {"(y := 1)", "assignment expressions are not allowed at column 4"},
      {"a[1:2]", "slicing is not allowed at column 4"},
      {"a[:2]", "slicing is not allowed"},
      {"a.__class__", "attribute '__class__' is not allowed at column 3"},
      {"_private", "names starting with '_' are not allowed at column 1"},
      {"__import__('os')", "names starting with '_' are not allowed"},
      {"len(x=1)", "keyword arguments are not allowed at column 5"},
      {"len(*x)", "argument unpacking is not allowed"},
      {"len(1, 2)", "len() takes exactly one argument (2 given)"},
      {"min()", "min() takes at least 1 argument (0 given)"},
      {"{}.keys(1)", "keys() takes no arguments (1 given)"},
      {"{1, 2}", "set displays are not allowed"},
      {"{**x}", "dict unpacking is not allowed"},
      {"f'{x}'", "f-strings are not allowed"},
      {"await x", "'await' expressions are not allowed"},
      {"1 & 2", "operator '&' is not supported at column 3"},
      {"~1", "operator '~' is not supported"},
      {"1j", "complex numbers are not supported"},
      {"import os", "unexpected 'import' at column 1"},
      {"x = 1", "unexpected '=' at column 3"},
      {"1, 2", "unexpected ',' at column 2"},
      {"x + 1 )", "unexpected ')' at column 7"},
      {"(1", "expected ')' but found end of expression at column 3"},
      {"a[1, 2]", "expected ']' but found ',' at column 4"},
      {"'abc", "unterminated string literal at column 1"},
      {"0123", "leading zeros in decimal integer literals are not permitted"},
      {"1abc", "invalid decimal literal"},
      {"$", "invalid character '$' at column 1"},
      {"", "unexpected end of expression at column 1"},
      {"x +\n  )", "unexpected ')' at line 2, column 3"},
      {"'\xc3\xa9' + )", "unexpected ')' at column 7"},
  };
  for (const auto& [text, fragment] : cases) {
    std::string msg = parse_error(text);
    EXPECT_EQ(msg.rfind("invalid condition at steps[0]: '" + std::string(text) + "' (", 0), 0u)
        << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << text << " -> " << msg;
  }
}

TEST(ExpressionTest, GlobalIsAnOrdinaryName) {
  EXPECT_EQ(repr_of("global['limit'] + global.limit"), "10");
  EXPECT_NE(parse_error("nonlocal").find("unexpected 'nonlocal'"), std::string::npos);
}

TEST(ExpressionTest, RefusesDeepNesting) {
  auto nested = [](int n, const std::string& open, const std::string& mid,
                   const std::string& close) {
    std::string s;
    for (int i = 0; i < n; ++i) s += open;
    s += mid;
    for (int i = 0; i < n; ++i) s += close;
    return s;
  };
  EXPECT_TRUE(Expression::parse(nested(150, "(", "1", ")")).is_ok());
  EXPECT_TRUE(Expression::parse(nested(100, "[", "x", "]")).is_ok());
  const std::vector<std::string> deep = {
      nested(201, "(", "1", ")"),   nested(300, "[", "", "]"),   nested(300, "-", "1", ""),
      nested(300, "not ", "x", ""), nested(300, "", "1", "+1"),  nested(300, "2**", "2", ""),
      nested(300, "", "x", ".a"),   nested(300, "", "x", "[0]"), nested(100000, "(", "", ""),
      nested(300, "len(", "x", ")")};
  for (const std::string& text : deep) {
    Result<Expression> e = Expression::parse(text);
    ASSERT_FALSE(e.is_ok()) << text.substr(0, 40);
    EXPECT_NE(e.status().message().find("expression nested too deeply"), std::string::npos)
        << text.substr(0, 40);
  }
}

TEST(ExpressionTest, SurvivesHostileText) {
  const std::string nul("x == '\0'", 8);
  EXPECT_NE(parse_error(std::string("a\0b", 3)).find("invalid character '\\x00' at column 2"),
            std::string::npos);
  Result<Expression> e = Expression::parse(nul);
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(e->test(lookup_in(default_scope())).value(), false);
  for (const char* text : {"'",  "\"", "'''", "'\\", "b'\\", "r'\\'", "'\\x", "'\\u12", "0x",
                           "1e", "1_", "0b2", "..",  "...",  "a.",    "[",    "{",      "(",
                           ")",  "]",  "}",   "not", "x is", "x not", "\\",   "#",      "'\n'"}) {
    EXPECT_FALSE(Expression::parse(text).is_ok()) << text;
  }
  EXPECT_EQ(repr_of("1" + std::string(400, '0')), "inf");
  EXPECT_EQ(repr_of("1" + std::string(400, '0') + ".5e-800"), "0.0");
  std::string too_long(std::size_t{1} << 20, ' ');
  too_long += "1";
  EXPECT_NE(parse_error(too_long).find("expression too long"), std::string::npos);
  std::string long_or;
  for (int i = 0; i < 20000; ++i) long_or += "x == " + std::to_string(i) + " or ";
  long_or += "False";
  EXPECT_EQ(repr_of(long_or), "True");
}

TEST(ExpressionTest, DefaultConstructedExpressionFailsCleanly) {
  Expression e;
  EXPECT_EQ(e.evaluate(lookup_in(Map())).code(), ErrorCode::kFailedPrecondition);
}

TEST(ExpressionTest, EvaluatesConcurrently) {
  Result<Expression> e = Expression::parse("domain.limit > x and 'admin' in domain.user.tags");
  ASSERT_TRUE(e.is_ok());
  const Expression& expr = *e;
  NameLookup names = lookup_in(default_scope());
  std::atomic<int> trues{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i)
        if (expr.test(names).value()) ++trues;
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(trues.load(), 8000);
}

// ---- randomized tests ----

// A random integer expression printed with full parentheses, and its value computed by a naive
// model of Python's integer semantics (small operands, so no overflow).
struct Generated {
  std::string text;
  int64_t value;
  bool valid;  // false when Python would raise (division by zero)
};

Generated generate_int_expr(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> pick(0, 9);
  if (depth == 0 || pick(rng) < 3) {
    int64_t v = std::uniform_int_distribution<int>(-20, 20)(rng);
    return {"(" + std::to_string(v) + ")", v, true};
  }
  Generated a = generate_int_expr(rng, depth - 1);
  Generated b = generate_int_expr(rng, depth - 1);
  static const char* kOps[] = {"+", "-", "*", "//", "%", "<", "==", "and", "or"};
  const std::string op = kOps[std::uniform_int_distribution<int>(0, 8)(rng)];
  Generated out{"(" + a.text + " " + op + " " + b.text + ")", 0, a.valid};
  auto floor_div = [](int64_t x, int64_t y) {
    return static_cast<int64_t>(std::floor(static_cast<long double>(x) / y));
  };
  if (op == "and") {  // short-circuit: `b` only matters (and may only fail) when `a` is truthy
    out.value = a.value != 0 ? b.value : a.value;
    out.valid = a.valid && (a.value == 0 || b.valid);
    return out;
  }
  if (op == "or") {
    out.value = a.value != 0 ? a.value : b.value;
    out.valid = a.valid && (a.value != 0 || b.valid);
    return out;
  }
  out.valid = a.valid && b.valid;
  if (op == "+") out.value = a.value + b.value;
  if (op == "-") out.value = a.value - b.value;
  if (op == "*") out.value = a.value * b.value;
  if (op == "<") out.value = a.value < b.value;
  if (op == "==") out.value = a.value == b.value;
  if (op == "//" || op == "%") {
    if (b.value == 0) {
      out.valid = false;
    } else {
      int64_t q = floor_div(a.value, b.value);
      out.value = op == "//" ? q : a.value - b.value * q;
    }
  }
  // Keep magnitudes small so the model never overflows.
  if (out.value > 1'000'000 || out.value < -1'000'000) return {"(1)", 1, true};
  return out;
}

TEST(ExpressionTest, RandomIntegerExpressionsMatchModel) {
  std::mt19937 rng(20240611);
  for (int i = 0; i < 3000; ++i) {
    Generated g = generate_int_expr(rng, 5);
    Result<Expression> e = Expression::parse(g.text);
    ASSERT_TRUE(e.is_ok()) << g.text << ": " << e.status().message();
    Result<Value> r = e->evaluate(lookup_in(Map()));
    if (!g.valid) {
      EXPECT_EQ(r.code(), ErrorCode::kZeroDivision) << g.text;
      continue;
    }
    ASSERT_TRUE(r.is_ok()) << g.text << ": " << r.status().message();
    EXPECT_EQ(*r, Value(g.value)) << g.text << " -> " << r->repr();
  }
}

// Random token soup and random bytes: parsing and evaluation may fail, but must not crash.
TEST(ExpressionTest, RandomTextNeverCrashes) {
  static const char* kTokens[] = {"x",
                                  "domain",
                                  "signal",
                                  "global",
                                  "s",
                                  "y",
                                  "_a",
                                  "1",
                                  "0",
                                  "-1",
                                  "2.5",
                                  "1e308",
                                  "9223372036854775807",
                                  "'a'",
                                  "\"b\"",
                                  "b'c'",
                                  "''",
                                  "True",
                                  "False",
                                  "None",
                                  "+",
                                  "-",
                                  "*",
                                  "/",
                                  "//",
                                  "%",
                                  "**",
                                  "==",
                                  "!=",
                                  "<",
                                  "<=",
                                  ">",
                                  ">=",
                                  "in",
                                  "not",
                                  "is",
                                  "and",
                                  "or",
                                  "(",
                                  ")",
                                  "[",
                                  "]",
                                  "{",
                                  "}",
                                  ",",
                                  ":",
                                  ".",
                                  "len",
                                  "int",
                                  "float",
                                  "str",
                                  "bool",
                                  "abs",
                                  "min",
                                  "max",
                                  "sum",
                                  "get",
                                  "keys",
                                  "items",
                                  "values",
                                  "user",
                                  "items",
                                  "lambda",
                                  "if",
                                  "else",
                                  "for",
                                  ":=",
                                  "=",
                                  "'\\x",
                                  "\\",
                                  "#",
                                  "\n",
                                  "10 ** 7",
                                  "[0] * 1000",
                                  "'ab' * 1000"};
  constexpr size_t kTokenCount = sizeof(kTokens) / sizeof(kTokens[0]);
  std::mt19937 rng(7);
  NameLookup names = lookup_in(default_scope());
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    int n = std::uniform_int_distribution<int>(1, 12)(rng);
    for (int t = 0; t < n; ++t) {
      text += kTokens[std::uniform_int_distribution<size_t>(0, kTokenCount - 1)(rng)];
      if (rng() % 3 != 0) text += ' ';
    }
    Result<Expression> e = Expression::parse(text);
    if (!e.is_ok()) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << text;
      continue;
    }
    ++parsed;
    Result<Value> r = e->evaluate(names);
    if (!r.is_ok()) {
      EXPECT_EQ(r.status().message().rfind("Flux condition error in <expression>: '", 0), 0u)
          << r.status().message();
    }
  }
  EXPECT_GT(parsed, 500);
  for (int i = 0; i < 5000; ++i) {
    std::string bytes(std::uniform_int_distribution<int>(0, 40)(rng), '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    Result<Expression> e = Expression::parse(bytes);
    if (e.is_ok()) (void)e->evaluate(names);
  }
}

}  // namespace
}  // namespace theus::flux

// Tests for the tree functions: lookup/find errors, set (creating maps, extending lists), erase,
// deep merge and the write paths of a merge.
#include "theus/tree.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace theus {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

Path P(std::string_view text) {
  Result<Path> r = Path::parse(text);
  EXPECT_TRUE(r.is_ok()) << text;
  return r.is_ok() ? r.value() : Path();
}

// {'domain': {'user': {'name': 'ann', 'age': 3}, 'items': [10, 20, 30], 'n': 5, 'none': None}}
Value sample() {
  return Value(Map{{"domain", Map{{"user", Map{{"name", "ann"}, {"age", 3}}},
                                  {"items", List{10, 20, 30}},
                                  {"n", 5},
                                  {"none", Value()}}}});
}

Value get(const Value& root, std::string_view path) {
  Result<Value> r = tree::lookup(root, P(path));
  EXPECT_TRUE(r.is_ok()) << path << ": " << r.status().to_string();
  return r.is_ok() ? r.value() : Value("<error>");
}

Value set_ok(const Value& root, std::string_view path, Value v) {
  Result<Value> r = tree::set(root, P(path), std::move(v));
  EXPECT_TRUE(r.is_ok()) << path << ": " << r.status().to_string();
  return r.is_ok() ? r.value() : Value();
}

TEST(TreeTest, LookupFindsNestedValues) {
  Value root = sample();
  EXPECT_EQ(get(root, "domain.user.name"), Value("ann"));
  EXPECT_EQ(get(root, "domain.items[1]"), Value(20));
  EXPECT_EQ(get(root, "domain[items][2]"), Value(30));
  EXPECT_EQ(get(root, "domain_ctx.n"), Value(5));
  EXPECT_TRUE(get(root, "domain.none").is_null());
  EXPECT_TRUE(tree::lookup(root, Path()).value().identical(root));
}

TEST(TreeTest, LookupSkipsSegmentsBeforeFrom) {
  Value domain = get(sample(), "domain");
  EXPECT_EQ(tree::lookup(domain, P("whatever.user.age"), 1).value(), Value(3));
  EXPECT_EQ(tree::lookup(domain, P("x.items[0]"), 1).value(), Value(10));
  EXPECT_TRUE(tree::lookup(domain, P("x"), 1).value().identical(domain));
}

TEST(TreeTest, LookupMissingKeyIsNotFoundNamingPath) {
  Result<Value> r = tree::lookup(sample(), P("domain.user.email"));
  ASSERT_EQ(r.code(), ErrorCode::kNotFound);
  EXPECT_THAT(r.status().message(), AllOf(HasSubstr("domain.user.email"), HasSubstr("'email'"),
                                          HasSubstr("domain.user")));
  Result<Value> top = tree::lookup(sample(), P("nothing.here"));
  ASSERT_EQ(top.code(), ErrorCode::kNotFound);
  EXPECT_THAT(top.status().message(), AllOf(HasSubstr("nothing.here"), HasSubstr("<root>")));
}

TEST(TreeTest, LookupIndexingScalarIsTypeMismatch) {
  Result<Value> r = tree::lookup(sample(), P("domain.n.x"));
  ASSERT_EQ(r.code(), ErrorCode::kTypeMismatch);
  EXPECT_THAT(r.status().message(), AllOf(HasSubstr("domain.n.x"), HasSubstr("int")));
  EXPECT_EQ(tree::lookup(sample(), P("domain.user.name[0]")).code(), ErrorCode::kTypeMismatch);
  Result<Value> none = tree::lookup(sample(), P("domain.none.x"));
  ASSERT_EQ(none.code(), ErrorCode::kTypeMismatch);
  EXPECT_THAT(none.status().message(), HasSubstr("NoneType"));
}

TEST(TreeTest, LookupStringKeyOnListIsTypeMismatch) {
  Result<Value> r = tree::lookup(sample(), P("domain.items.first"));
  ASSERT_EQ(r.code(), ErrorCode::kTypeMismatch);
  EXPECT_THAT(r.status().message(),
              AllOf(HasSubstr("domain.items.first"), HasSubstr("list indices must be integers")));
  // A digit-only key addresses the element, as a bracket index would.
  EXPECT_EQ(get(sample(), "domain.items['1']"), Value(20));
  EXPECT_EQ(get(sample(), "domain.items.2"), Value(30));
}

TEST(TreeTest, LookupListIndexOutOfRangeIsNotFound) {
  EXPECT_EQ(tree::lookup(sample(), P("domain.items[3]")).code(), ErrorCode::kNotFound);
  EXPECT_EQ(tree::lookup(sample(), P("domain.items[-4]")).code(), ErrorCode::kNotFound);
  EXPECT_THAT(tree::lookup(sample(), P("domain.items[7]")).status().message(),
              HasSubstr("domain.items[7]"));
}

TEST(TreeTest, LookupNegativeIndexCountsFromEnd) {
  EXPECT_EQ(get(sample(), "domain.items[-1]"), Value(30));
  EXPECT_EQ(get(sample(), "domain.items[-3]"), Value(10));
}

TEST(TreeTest, FindReturnsEmptyForMissingButReportsTypeErrors) {
  Value root = sample();
  auto present = tree::find(root, P("domain.user.age"));
  ASSERT_TRUE(present.is_ok());
  EXPECT_EQ(*present.value(), Value(3));
  auto missing = tree::find(root, P("domain.user.email.x"));
  ASSERT_TRUE(missing.is_ok());
  EXPECT_FALSE(missing.value().has_value());
  auto past_end = tree::find(root, P("domain.items[9]"));
  ASSERT_TRUE(past_end.is_ok());
  EXPECT_FALSE(past_end.value().has_value());
  EXPECT_EQ(tree::find(root, P("domain.n.x")).code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(tree::find(root, P("domain.items.x")).code(), ErrorCode::kTypeMismatch);
}

TEST(TreeTest, LooseIntSegmentOnMapUsesDecimalKey) {
  Value root(Map{{"a", Map{{"0", "str"}, {"1", "one"}}}});
  EXPECT_EQ(get(root, "a[0]"), Value("str"));
  // A Path built from Values is strict: the int 0 is not the key "0".
  EXPECT_EQ(tree::lookup(root, Path{"a", 0}).code(), ErrorCode::kNotFound);
  // When the map has a real int key, that key wins.
  Value mixed(Map{{"a", Map{{0, "int"}, {"0", "str"}}}});
  EXPECT_EQ(get(mixed, "a[0]"), Value("int"));
  EXPECT_EQ(tree::lookup(mixed, Path{"a", 0}).value(), Value("int"));
}

TEST(TreeTest, MapKeyAndListIndexHelpers) {
  Map m{{"7", 1}};
  EXPECT_EQ(tree::map_key(m, Value(7), true, false).repr(), "'7'");
  EXPECT_EQ(tree::map_key(m, Value(8), true, false).repr(), "8");   // read: no such key either way
  EXPECT_EQ(tree::map_key(m, Value(8), true, true).repr(), "'8'");  // write: decimal string key
  EXPECT_EQ(tree::map_key(m, Value(7), false, true).repr(), "7");   // strict path: int key
  EXPECT_EQ(tree::map_key(m, Value("x"), true, true).repr(), "'x'");
  Path p = P("a.l[0]");
  EXPECT_EQ(tree::list_index(Value(-1), 3, p, 2, false).value(), 2u);
  EXPECT_EQ(tree::list_index(Value(5), 3, p, 2, true).value(), 5u);
  EXPECT_EQ(tree::list_index(Value(3), 3, p, 2, false).code(), ErrorCode::kNotFound);
  EXPECT_EQ(tree::list_index(Value(-4), 3, p, 2, true).code(), ErrorCode::kNotFound);
  EXPECT_EQ(tree::list_index(Value("2"), 3, p, 2, false).value(), 2u);
  EXPECT_EQ(tree::list_index(Value("2x"), 3, p, 2, false).code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(tree::list_index(Value(1.0), 3, p, 2, false).code(), ErrorCode::kTypeMismatch);
}

TEST(TreeTest, SetCreatesMissingMaps) {
  Value root = set_ok(Value(Map{}), "domain.a.b", 1);
  EXPECT_EQ(root, Value(Map{{"domain", Map{{"a", Map{{"b", 1}}}}}}));
  EXPECT_EQ(set_ok(Value(), "x.y", 2), Value(Map{{"x", Map{{"y", 2}}}}));
}

TEST(TreeTest, SetReplacesNullIntermediates) {
  Value root = set_ok(sample(), "domain.none.deep.key", "v");
  EXPECT_EQ(get(root, "domain.none"), Value(Map{{"deep", Map{{"key", "v"}}}}));
}

TEST(TreeTest, SetLeavesOldRootAndSiblingsShared) {
  Value old = sample();
  Value updated = set_ok(old, "domain.user.age", 4);
  EXPECT_EQ(get(old, "domain.user.age"), Value(3));
  EXPECT_EQ(get(updated, "domain.user.age"), Value(4));
  EXPECT_TRUE(get(updated, "domain.items").identical(get(old, "domain.items")));
  // The key keeps its position.
  EXPECT_EQ(get(updated, "domain.user").repr(), "{'name': 'ann', 'age': 4}");
  EXPECT_EQ(tree::set(old, Path(), 9).value(), Value(9));  // the empty path replaces the root
}

TEST(TreeTest, SetListIndexPastEndExtendsWithNulls) {
  Value root = set_ok(sample(), "domain.items[5]", 60);
  EXPECT_EQ(get(root, "domain.items").repr(), "[10, 20, 30, None, None, 60]");
  Value appended = set_ok(sample(), "domain.items[3]", 40);
  EXPECT_EQ(get(appended, "domain.items").repr(), "[10, 20, 30, 40]");
  Value nested = set_ok(sample(), "domain.items[4].x", 1);
  EXPECT_EQ(get(nested, "domain.items").repr(), "[10, 20, 30, None, {'x': 1}]");
}

TEST(TreeTest, SetNegativeIndexCountsFromEnd) {
  EXPECT_EQ(get(set_ok(sample(), "domain.items[-1]", 0), "domain.items").repr(), "[10, 20, 0]");
  EXPECT_EQ(get(set_ok(sample(), "domain.items[-3]", 0), "domain.items").repr(), "[0, 20, 30]");
  Result<Value> r = tree::set(sample(), P("domain.items[-4]"), 0);
  EXPECT_EQ(r.code(), ErrorCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("domain.items[-4]"));
}

TEST(TreeTest, SetIntoScalarIsTypeMismatch) {
  Result<Value> r = tree::set(sample(), P("domain.n.x"), 1);
  ASSERT_EQ(r.code(), ErrorCode::kTypeMismatch);
  EXPECT_THAT(r.status().message(), AllOf(HasSubstr("domain.n.x"), HasSubstr("int")));
  EXPECT_EQ(tree::set(sample(), P("domain.items.x"), 1).code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(tree::set(sample(), P("domain.user.name.first"), 1).code(), ErrorCode::kTypeMismatch);
}

TEST(TreeTest, SetLooseIntSegmentOnMapWritesDecimalKey) {
  Value root = set_ok(Value(Map{}), "a[0]", "x");
  EXPECT_EQ(root.repr(), "{'a': {'0': 'x'}}");
  Value strict = tree::set(Value(Map{}), Path{"a", 0}, "x").value();
  EXPECT_EQ(strict.repr(), "{'a': {0: 'x'}}");
  Value has_int(Map{{"a", Map{{0, "old"}}}});
  EXPECT_EQ(set_ok(has_int, "a[0]", "new").repr(), "{'a': {0: 'new'}}");
}

TEST(TreeTest, SetInsideListElement) {
  Value root(Map{{"l", List{Map{{"x", 1}}}}});
  EXPECT_EQ(set_ok(root, "l[0].y", 2).repr(), "{'l': [{'x': 1, 'y': 2}]}");
}

TEST(TreeTest, EraseRemovesKeyAndKeepsOldRoot) {
  Value old = sample();
  Value root = tree::erase(old, P("domain.user.name"), false).value();
  EXPECT_EQ(get(root, "domain.user").repr(), "{'age': 3}");
  EXPECT_EQ(get(old, "domain.user.name"), Value("ann"));
  EXPECT_TRUE(get(root, "domain.items").identical(get(old, "domain.items")));
}

TEST(TreeTest, EraseListElementShiftsTheRest) {
  Value root = tree::erase(sample(), P("domain.items[0]"), false).value();
  EXPECT_EQ(get(root, "domain.items").repr(), "[20, 30]");
  Value last = tree::erase(sample(), P("domain.items[-1]"), false).value();
  EXPECT_EQ(get(last, "domain.items").repr(), "[10, 20]");
}

TEST(TreeTest, EraseMissingIsNotFoundUnlessMissingOk) {
  Value root = sample();
  for (const char* path : {"domain.user.email", "nothing", "domain.items[3]", "domain.missing.deep",
                           "domain.none.x"}) {
    Result<Value> r = tree::erase(root, P(path), false);
    EXPECT_EQ(r.code(), ErrorCode::kNotFound) << path;
    EXPECT_THAT(r.status().message(), HasSubstr(path));
    Result<Value> ok = tree::erase(root, P(path), true);
    ASSERT_TRUE(ok.is_ok()) << path;
    EXPECT_EQ(ok.value(), root) << path;
  }
  EXPECT_TRUE(tree::erase(root, P("nothing"), true).value().identical(root));
}

TEST(TreeTest, EraseThroughWrongKindIsTypeMismatchEvenWhenMissingOk) {
  for (bool missing_ok : {false, true}) {
    EXPECT_EQ(tree::erase(sample(), P("domain.n.x"), missing_ok).code(), ErrorCode::kTypeMismatch);
    EXPECT_EQ(tree::erase(sample(), P("domain.items.x"), missing_ok).code(),
              ErrorCode::kTypeMismatch);
  }
}

TEST(TreeTest, EraseRootIsInvalid) {
  EXPECT_EQ(tree::erase(sample(), Path(), true).code(), ErrorCode::kInvalidArgument);
  // Regression: `from` at the end of the path addressed the root too, and indexed past the end.
  EXPECT_EQ(tree::erase(sample(), P("domain"), true, 1).code(), ErrorCode::kInvalidArgument);
}

TEST(TreeTest, EraseFromSkipsLeadingSegments) {
  Value domain = get(sample(), "domain");
  Value out = tree::erase(domain, P("x.user"), false, 1).value();
  EXPECT_FALSE(out.as_map().contains("user"));
}

TEST(TreeTest, MergeIsDeepAndNeverDeletes) {
  Value base(Map{{"a", Map{{"x", 1}, {"y", 2}}}, {"b", 3}});
  Value patch(Map{{"a", Map{{"y", 20}, {"z", 30}}}, {"c", 4}});
  EXPECT_EQ(tree::merge(base, patch).repr(), "{'a': {'x': 1, 'y': 20, 'z': 30}, 'b': 3, 'c': 4}");
  EXPECT_EQ(tree::merge(base, Value(Map{})), base);
}

TEST(TreeTest, MergeNonMapReplaces) {
  Value base(Map{{"a", Map{{"x", 1}}}, {"l", List{1, 2}}, {"s", 1}});
  Value patch(Map{{"a", 5}, {"l", List{3}}, {"s", Map{{"k", 1}}}});
  EXPECT_EQ(tree::merge(base, patch).repr(), "{'a': 5, 'l': [3], 's': {'k': 1}}");
  EXPECT_EQ(tree::merge(Value(7), patch), patch);
  EXPECT_EQ(tree::merge(base, Value(List{})), Value(List{}));
  EXPECT_TRUE(tree::merge(Value(), Value()).is_null());
}

std::vector<std::string> write_paths(const Value* existing, const Value& patch,
                                     std::string_view at) {
  std::vector<Path> out;
  tree::merge_write_paths(existing, patch, P(at), &out);
  std::vector<std::string> text;
  for (const Path& p : out) text.push_back(p.to_string());
  return text;
}

using Strings = std::vector<std::string>;

TEST(TreeTest, MergeWritePathsAreLeavesWhereMapMeetsMap) {
  Value existing(Map{{"a", Map{{"x", 1}}}, {"b", 2}});
  Value patch(Map{{"a", Map{{"x", 5}, {"y", Map{{"deep", 1}}}}}, {"b", Map{{"k", 1}}}, {"c", 3}});
  EXPECT_EQ(write_paths(&existing, patch, "domain"),
            (Strings{"domain.a.x", "domain.a.y", "domain.b", "domain.c"}));
}

TEST(TreeTest, MergeWritePathsOfNonMergingWrites) {
  Value patch(Map{{"k", 1}});
  EXPECT_EQ(write_paths(nullptr, patch, "domain.new"), (Strings{"domain.new"}));
  Value scalar(5);
  EXPECT_EQ(write_paths(&scalar, patch, "domain.s"), (Strings{"domain.s"}));
  Value map(Map{{"k", 0}});
  EXPECT_EQ(write_paths(&map, Value(7), "domain.m"), (Strings{"domain.m"}));
  EXPECT_EQ(write_paths(&map, Value(Map{}), "domain.m"), Strings{});  // nothing is written
}

// ---- foreign attribute navigation -----------------------------------------------------------

struct Obj {
  Map attrs;
};

ForeignHooks obj_hooks();

Value make_obj(Map attrs) {
  static const ForeignHooks kHooks = obj_hooks();
  return Value::foreign(new Obj{std::move(attrs)}, &kHooks);
}

ForeignHooks obj_hooks() {
  ForeignHooks h;
  h.type_name = "Obj";
  h.release = [](void* o) { delete static_cast<Obj*>(o); };
  h.get_attribute = [](void* o, const Value& name, Value* out) {
    const Value* v = static_cast<Obj*>(o)->attrs.find(name);
    if (v) *out = *v;
    return v != nullptr;
  };
  h.with_attribute = [](void* o, const Value& name, const Value& value, Value* out) {
    *out = make_obj(static_cast<Obj*>(o)->attrs.set(name, value));
    return true;
  };
  return h;
}

TEST(TreeTest, NavigatesForeignAttributes) {
  Value root(Map{{"o", make_obj(Map{{"inner", Map{{"v", 1}}}})}});
  EXPECT_EQ(get(root, "o.inner.v"), Value(1));
  EXPECT_EQ(tree::lookup(root, P("o.missing")).code(), ErrorCode::kNotFound);
  Value updated = set_ok(root, "o.inner.w", 2);
  EXPECT_EQ(get(updated, "o.inner").repr(), "{'v': 1, 'w': 2}");
  EXPECT_FALSE(tree::find(root, P("o.inner.w")).value().has_value());  // old object unchanged
  EXPECT_EQ(tree::erase(root, P("o.inner"), true).code(), ErrorCode::kTypeMismatch);
}

TEST(TreeTest, ForeignWithoutHooksIsTypeMismatch) {
  Value root(Map{{"o", Value::foreign(nullptr, nullptr)}});
  Result<Value> r = tree::lookup(root, P("o.x"));
  ASSERT_EQ(r.code(), ErrorCode::kTypeMismatch);
  EXPECT_THAT(r.status().message(), AllOf(HasSubstr("o.x"), HasSubstr("object")));
  EXPECT_EQ(tree::set(root, P("o.x"), 1).code(), ErrorCode::kTypeMismatch);
}

// ---- set_in_place
// ---------------------------------------------------------------------------------

TEST(TreeSetInPlaceTest, EqualsThePersistentSetForEveryKindOfPath) {
  for (const char* text : {"domain.user.name", "domain.n", "domain.new.deep.key", "domain.none.x",
                           "domain.items[1]", "domain.items[5]", "domain.items[-1]", "top"}) {
    Value root = sample();
    Value expected = tree::set(root, P(text), Value("v")).value();
    ASSERT_TRUE(tree::set_in_place(&root, P(text), Value("v")).is_ok()) << text;
    EXPECT_EQ(root, expected) << text;
  }
}

TEST(TreeSetInPlaceTest, OtherHoldersOfTheTreeAreUnaffected) {
  Value root = sample();
  Value held = root;                                          // shares every node
  Value user = tree::lookup(root, P("domain.user")).value();  // shares a subtree
  ASSERT_TRUE(tree::set_in_place(&root, P("domain.user.name"), Value("bob")).is_ok());
  EXPECT_EQ(tree::lookup(root, P("domain.user.name")).value(), Value("bob"));
  EXPECT_EQ(held, sample());
  EXPECT_EQ(user.as_map().find("name")->as_string(), "ann");
  // A second write reuses what the first one copied: the root node stays the same.
  const void* root_node = root.node_id();
  ASSERT_TRUE(tree::set_in_place(&root, P("domain.user.age"), Value(4)).is_ok());
  EXPECT_EQ(root.node_id(), root_node);
  EXPECT_EQ(tree::lookup(root, P("domain.user.age")).value(), Value(4));
  EXPECT_EQ(held, sample());
}

TEST(TreeSetInPlaceTest, ErrorsAreThoseOfSetAndLeaveTheRootEqual) {
  Value root = sample();
  Status st = tree::set_in_place(&root, P("domain.n.x"), Value(1));
  EXPECT_EQ(st.code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(st.message(), tree::set(sample(), P("domain.n.x"), Value(1)).status().message());
  EXPECT_EQ(tree::set_in_place(&root, P("domain.items.x"), Value(1)).code(),
            ErrorCode::kTypeMismatch);
  EXPECT_EQ(root, sample());
}

}  // namespace
}  // namespace theus

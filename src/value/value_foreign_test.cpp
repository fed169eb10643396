// Tests for foreign values (embedder objects behind ForeignHooks): lifetime and the
// equals/hash/repr hooks with their identity fallbacks.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "theus/value.hpp"

namespace theus {
namespace {

struct FakeObject {
  int id;
  int releases = 0;
};

int g_equals_calls = 0;

const ForeignHooks kFakeHooks{
    .type_name = "Fake",
    .release = [](void* o) { ++static_cast<FakeObject*>(o)->releases; },
    .equals =
        [](void* a, void* b) {
          ++g_equals_calls;
          return static_cast<FakeObject*>(a)->id == static_cast<FakeObject*>(b)->id;
        },
    .hash = [](void* o) { return static_cast<size_t>(static_cast<FakeObject*>(o)->id) * 7919u; },
    .repr = [](void* o) { return "Fake(" + std::to_string(static_cast<FakeObject*>(o)->id) + ")"; },
};

const ForeignHooks kBareHooks{
    .type_name = "Bare",
    .release = [](void* o) { ++static_cast<FakeObject*>(o)->releases; },
};

TEST(ValueTest, ForeignReleasedOnceWhenLastCopyDies) {
  FakeObject obj{1};
  {
    Value v = Value::foreign(&obj, &kFakeHooks);
    EXPECT_EQ(v.foreign_object(), &obj);
    EXPECT_EQ(v.foreign_hooks(), &kFakeHooks);
    Value copy = v;
    {
      Value moved = std::move(copy);
      Value assigned;
      assigned = v;
      EXPECT_EQ(obj.releases, 0);
    }
    EXPECT_EQ(obj.releases, 0);
    List holder = List{v, v};
    v = Value();
    EXPECT_EQ(obj.releases, 0);  // the list still holds two references
    holder = holder.pop_back();
    EXPECT_EQ(obj.releases, 0);
  }
  EXPECT_EQ(obj.releases, 1);
}

TEST(ValueTest, ForeignReleasedWhenOverwritten) {
  FakeObject a{1}, b{2};
  Value v = Value::foreign(&a, &kFakeHooks);
  v = Value::foreign(&b, &kFakeHooks);
  EXPECT_EQ(a.releases, 1);
  EXPECT_EQ(b.releases, 0);
  v = Value(3);
  EXPECT_EQ(b.releases, 1);
  Map m = Map{{"x", Value::foreign(&a, &kFakeHooks)}};
  m = m.erase("x");
  EXPECT_EQ(a.releases, 2);
}

TEST(ValueTest, ForeignWithoutReleaseHookIsFine) {
  FakeObject obj{1};
  { Value v = Value::foreign(&obj, nullptr); }
  EXPECT_EQ(obj.releases, 0);
}

TEST(ValueTest, ForeignUsesEqualsHashAndReprHooks) {
  FakeObject a{5}, b{5}, c{6};
  Value va = Value::foreign(&a, &kFakeHooks);
  Value vb = Value::foreign(&b, &kFakeHooks);
  Value vc = Value::foreign(&c, &kFakeHooks);
  g_equals_calls = 0;
  EXPECT_EQ(va, vb);
  EXPECT_NE(va, vc);
  EXPECT_EQ(g_equals_calls, 2);
  EXPECT_EQ(va.hash(), 5u * 7919u);
  EXPECT_EQ(va.hash(), vb.hash());
  EXPECT_EQ(va.repr(), "Fake(5)");
  EXPECT_EQ(va.str(), "Fake(5)");
  EXPECT_EQ(Value(List{va, 1}).repr(), "[Fake(5), 1]");
  EXPECT_EQ(va.type_name(), "Fake");
  EXPECT_NE(va, Value(5));
}

TEST(ValueTest, ForeignFallsBackToIdentity) {
  FakeObject a{1}, b{1};
  Value va = Value::foreign(&a, &kBareHooks);
  Value va2 = Value::foreign(&a, &kBareHooks);  // a second handle on the same object
  Value vb = Value::foreign(&b, &kBareHooks);
  EXPECT_EQ(va, va2);
  EXPECT_EQ(va.hash(), va2.hash());
  EXPECT_NE(va, vb);
  EXPECT_EQ(va.repr(), "<Bare object>");
  EXPECT_FALSE(va.identical(va2));  // different handles
  EXPECT_TRUE(va.identical(Value(va)));
  // Objects with different hooks are never equal, even if one side has an equals hook.
  FakeObject c{1};
  EXPECT_NE(Value::foreign(&c, &kFakeHooks), vb);
  va = Value();
  va2 = Value();
  vb = Value();
  EXPECT_EQ(a.releases, 2);  // one per handle
  EXPECT_EQ(b.releases, 1);
}

}  // namespace
}  // namespace theus

// Tests for List, the persistent 32-way vector: every operation, trie levels, sharing, iteration,
// and a property test against std::vector.
#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <random>
#include <utility>
#include <vector>

#include "theus/value.hpp"

namespace theus {
namespace {

// Sizes at which the trie changes shape: tail only, one level, two levels, three levels.
constexpr size_t kShapeSizes[] = {0,    1,    31,   32,   33,   64,    65,    1024,  1025,
                                  1056, 1057, 1088, 2048, 2049, 32768, 32800, 32801, 33825};

List iota_list(size_t n, int64_t start = 0) {
  List l;
  for (size_t i = 0; i < n; ++i) l = l.push_back(Value(start + static_cast<int64_t>(i)));
  return l;
}

std::vector<int64_t> ints_of(const List& l) {
  std::vector<int64_t> out;
  for (const Value& v : l) out.push_back(v.as_int());
  return out;
}

// Checks size, operator[], get() and iteration against the model.
void expect_list_is(const List& l, const std::vector<int64_t>& model) {
  ASSERT_EQ(l.size(), model.size());
  ASSERT_EQ(l.empty(), model.empty());
  for (size_t i = 0; i < model.size(); ++i) ASSERT_EQ(l[i].as_int(), model[i]) << "index " << i;
  ASSERT_EQ(ints_of(l), model);
  ASSERT_EQ(l.get(model.size()), nullptr);
}

std::vector<int64_t> iota_vec(size_t n, int64_t start = 0) {
  std::vector<int64_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + static_cast<int64_t>(i);
  return v;
}

TEST(ListTest, EmptyListHasNoElements) {
  List l;
  EXPECT_EQ(l.size(), 0u);
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.get(0), nullptr);
  EXPECT_TRUE(l.begin() == l.end());
  EXPECT_TRUE(l.to_vector().empty());
  EXPECT_EQ(l, List());
  EXPECT_TRUE(l.same_as(List()));
}

TEST(ListTest, InitializerListKeepsOrder) {
  List l{1, "two", 3.0, Value()};
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0], Value(1));
  EXPECT_EQ(l[1], Value("two"));
  EXPECT_EQ(l[2], Value(3.0));
  EXPECT_TRUE(l[3].is_null());
  EXPECT_EQ(*l.get(1), Value("two"));
  EXPECT_EQ(l.get(4), nullptr);
  EXPECT_EQ(l.get(static_cast<size_t>(-1)), nullptr);
}

TEST(ListTest, PushBackLeavesOriginalUnchanged) {
  List a{1, 2};
  List b = a.push_back(3);
  expect_list_is(a, {1, 2});
  expect_list_is(b, {1, 2, 3});
  EXPECT_FALSE(a.same_as(b));
}

TEST(ListTest, PushBackPastThirtyTwoGrowsTrie) {
  List l = iota_list(32);
  List grown = l.push_back(32);
  expect_list_is(l, iota_vec(32));
  expect_list_is(grown, iota_vec(33));
}

TEST(ListTest, PushBackThroughEveryLevelKeepsAllElements) {
  List l;
  std::vector<int64_t> model;
  for (size_t target : kShapeSizes) {
    while (model.size() < target) {
      model.push_back(static_cast<int64_t>(model.size()) * 3);
      l = l.push_back(model.back());
    }
    expect_list_is(l, model);
  }
}

TEST(ListTest, FromVectorMatchesPushBackAtEveryShape) {
  for (size_t n : kShapeSizes) {
    std::vector<Value> items;
    for (size_t i = 0; i < n; ++i) items.emplace_back(static_cast<int64_t>(i));
    List built = List::from_vector(std::move(items));
    expect_list_is(built, iota_vec(n));
    EXPECT_EQ(built, iota_list(n));
    // The built trie must accept further pushes and pops like a pushed one.
    List more = built.push_back(-1).push_back(-2);
    std::vector<int64_t> model = iota_vec(n);
    model.push_back(-1);
    model.push_back(-2);
    expect_list_is(more, model);
    if (n > 0) {
      model = iota_vec(n - 1);
      expect_list_is(built.pop_back(), model);
    }
  }
}

TEST(ListTest, SetInTailAndInTrie) {
  List l = iota_list(100);
  List in_tail = l.set(99, -99);
  List in_trie = l.set(5, -5);
  List first = l.set(0, "zero");
  std::vector<int64_t> model = iota_vec(100);
  expect_list_is(l, model);
  model[99] = -99;
  expect_list_is(in_tail, model);
  model[99] = 99;
  model[5] = -5;
  expect_list_is(in_trie, model);
  EXPECT_EQ(first[0], Value("zero"));
  EXPECT_EQ(first[1], Value(1));
}

TEST(ListTest, SetInDeepTrieCopiesOnlyThatElement) {
  List l = iota_list(40000);
  List changed = l.set(1234, -1).set(33000, -2).set(39999, -3);
  EXPECT_EQ(l[1234], Value(1234));
  EXPECT_EQ(l[33000], Value(33000));
  EXPECT_EQ(l[39999], Value(39999));
  EXPECT_EQ(changed[1234], Value(-1));
  EXPECT_EQ(changed[33000], Value(-2));
  EXPECT_EQ(changed[39999], Value(-3));
  EXPECT_EQ(changed[1235], Value(1235));
  EXPECT_NE(changed, l);
}

TEST(ListTest, PopBackToEmpty) {
  List l{1, 2};
  List one = l.pop_back();
  List none = one.pop_back();
  expect_list_is(one, {1});
  expect_list_is(none, {});
  EXPECT_TRUE(none.same_as(List()));
  expect_list_is(l, {1, 2});
}

TEST(ListTest, PopBackCollapsesTrieLevels) {
  constexpr size_t kN = 33825;  // three levels (shift 15)
  List l = iota_list(kN);
  std::vector<std::pair<size_t, List>> checkpoints;
  for (size_t n = kN; n > 0; --n) {
    ASSERT_EQ(l.size(), n);
    ASSERT_EQ(l[n - 1], Value(static_cast<int64_t>(n - 1)));
    ASSERT_EQ(l[0], Value(0));
    for (size_t shape : kShapeSizes)
      if (shape == n) checkpoints.emplace_back(n, l);
    l = l.pop_back();
  }
  EXPECT_TRUE(l.empty());
  for (const auto& [n, version] : checkpoints) expect_list_is(version, iota_vec(n));
}

TEST(ListTest, PopAndPushAcrossLevelBoundaries) {
  for (size_t n : {33u, 1057u, 32801u}) {
    List l = iota_list(n);
    List down = l.pop_back().pop_back();
    List up = down.push_back(-1).push_back(-2).push_back(-3);
    std::vector<int64_t> model = iota_vec(n - 2);
    expect_list_is(down, model);
    model.insert(model.end(), {-1, -2, -3});
    expect_list_is(up, model);
    expect_list_is(l, iota_vec(n));
  }
}

TEST(ListTest, InsertAtFrontMiddleAndEnd) {
  List l{1, 2, 3};
  expect_list_is(l.insert(0, 0), {0, 1, 2, 3});
  expect_list_is(l.insert(1, 9), {1, 9, 2, 3});
  expect_list_is(l.insert(3, 4), {1, 2, 3, 4});
  expect_list_is(List().insert(0, 7), {7});
  expect_list_is(l, {1, 2, 3});
}

TEST(ListTest, InsertIntoLargeListShiftsTail) {
  List l = iota_list(1100);
  List ins = l.insert(500, -1);
  std::vector<int64_t> model = iota_vec(1100);
  model.insert(model.begin() + 500, -1);
  expect_list_is(ins, model);
  expect_list_is(l, iota_vec(1100));
}

TEST(ListTest, EraseAtFrontMiddleAndEnd) {
  List l{1, 2, 3, 4};
  expect_list_is(l.erase(0), {2, 3, 4});
  expect_list_is(l.erase(2), {1, 2, 4});
  expect_list_is(l.erase(3), {1, 2, 3});
  expect_list_is(List{1}.erase(0), {});
  List big = iota_list(1057);
  std::vector<int64_t> model = iota_vec(1057);
  model.erase(model.begin() + 40);
  expect_list_is(big.erase(40), model);
  expect_list_is(big, iota_vec(1057));
}

TEST(ListTest, IterationCrossesChunks) {
  List l = iota_list(1000);
  int64_t expected = 0;
  for (auto it = l.begin(); it != l.end(); ++it) {
    EXPECT_EQ(it->as_int(), expected);
    EXPECT_EQ((*it).as_int(), expected);
    ++expected;
  }
  EXPECT_EQ(expected, 1000);
  EXPECT_EQ(std::distance(l.begin(), l.end()), 1000);
  auto it = l.begin();
  auto prev = it++;
  EXPECT_EQ(prev->as_int(), 0);
  EXPECT_EQ(it->as_int(), 1);
}

TEST(ListTest, ToVectorCopiesInOrder) {
  List l = iota_list(70);
  std::vector<Value> v = l.to_vector();
  ASSERT_EQ(v.size(), 70u);
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], Value(static_cast<int64_t>(i)));
}

TEST(ListTest, EqualityIsElementwisePython) {
  EXPECT_EQ((List{1, 2}), (List{1.0, 2.0}));
  EXPECT_EQ((List{true, 0}), (List{1, false}));
  EXPECT_NE((List{1, 2}), (List{1, 2, 3}));
  EXPECT_NE((List{1, 2}), (List{1, 3}));
  EXPECT_NE(List{Value()}, List());
  List a = iota_list(2000);
  List b = iota_list(2000);
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.same_as(b));
  EXPECT_NE(a, b.set(1999, -1));
}

TEST(ListTest, CopyAndMoveShareOrTransferTheRoot) {
  List a = iota_list(50);
  List b = a;
  EXPECT_TRUE(b.same_as(a));
  List c = std::move(b);
  EXPECT_TRUE(c.same_as(a));
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  List d;
  d = c;
  EXPECT_TRUE(d.same_as(a));
  d = d;
  EXPECT_TRUE(d.same_as(a));
  d = List{1};
  expect_list_is(d, {1});
  expect_list_is(a, iota_vec(50));
}

TEST(ListTest, NestedListsAreValues) {
  List inner{1, 2};
  List outer{Value(inner), Value(inner)};
  List changed = outer.set(0, Value(inner.push_back(3)));
  EXPECT_EQ(outer[0], Value(List{1, 2}));
  EXPECT_EQ(changed[0], Value(List{1, 2, 3}));
  EXPECT_TRUE(changed[1].identical(outer[1]));
}

// ---- property tests against std::vector -----------------------------------------------------

struct Version {
  List list;
  std::vector<int64_t> model;
};

TEST(ListTest, PropertyRandomOpsMatchVectorSmall) {
  std::mt19937_64 rng(20240611);
  List l;
  std::vector<int64_t> model;
  std::vector<Version> kept;
  int64_t next = 0;
  for (int step = 0; step < 6000; ++step) {
    unsigned op = rng() % 10;
    size_t n = model.size();
    if (n > 300) op = 9;  // keep it small: full checks every step stay cheap
    if (op <= 3 || n == 0) {
      l = l.push_back(next);
      model.push_back(next++);
    } else if (op == 4) {
      size_t i = rng() % n;
      l = l.set(i, next);
      model[i] = next++;
    } else if (op == 5) {
      size_t i = rng() % (n + 1);
      l = l.insert(i, next);
      model.insert(model.begin() + static_cast<std::ptrdiff_t>(i), next++);
    } else if (op == 6) {
      size_t i = rng() % n;
      l = l.erase(i);
      model.erase(model.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      l = l.pop_back();
      model.pop_back();
    }
    expect_list_is(l, model);
    if (step % 500 == 0) kept.push_back({l, model});
  }
  for (const Version& v : kept) expect_list_is(v.list, v.model);
}

TEST(ListTest, PropertyRandomOpsMatchVectorLarge) {
  std::mt19937_64 rng(7);
  List l;
  std::vector<int64_t> model;
  std::vector<Version> kept;
  int64_t next = 0;
  // Grow past three trie levels, then shrink back to empty; sets and pops/pushes are mixed in.
  for (int phase = 0; phase < 2; ++phase) {
    bool growing = phase == 0;
    for (int step = 0; growing ? model.size() < 36000 : !model.empty(); ++step) {
      unsigned op = rng() % 8;
      size_t n = model.size();
      bool push = growing ? op < 5 : op == 0;
      if (push || n == 0) {
        l = l.push_back(next);
        model.push_back(next++);
      } else if (op < 7) {
        l = l.pop_back();
        model.pop_back();
      } else {
        size_t i = rng() % n;
        l = l.set(i, next);
        model[i] = next++;
      }
      ASSERT_EQ(l.size(), model.size());
      if (!model.empty()) {
        ASSERT_EQ(l[model.size() - 1].as_int(), model.back());
      }
      if (step % 4000 == 0) {
        expect_list_is(l, model);
        kept.push_back({l, model});
      }
    }
  }
  expect_list_is(l, model);
  for (const Version& v : kept) expect_list_is(v.list, v.model);
}

}  // namespace
}  // namespace theus

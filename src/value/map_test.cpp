// Tests for Map, the insertion-ordered persistent map: order, sharing, the hash index threshold,
// tombstone compaction, Python key equality, hash collisions, and a property test against a
// naive insertion-ordered map.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "theus/value.hpp"

namespace theus {
namespace {

using Entries = std::vector<std::pair<Value, Value>>;

Entries entries_of(const Map& m) {
  Entries out;
  for (auto item : m) out.emplace_back(item.key, item.value);
  return out;
}

// Full check: size, iteration order (keys compared by repr so 1 and 1.0 differ), and find().
void expect_map_is(const Map& m, const Entries& model) {
  ASSERT_EQ(m.size(), model.size());
  ASSERT_EQ(m.empty(), model.empty());
  Entries got = entries_of(m);
  ASSERT_EQ(got.size(), model.size());
  for (size_t i = 0; i < model.size(); ++i) {
    ASSERT_EQ(got[i].first.repr(), model[i].first.repr()) << "slot " << i;
    ASSERT_EQ(got[i].second.repr(), model[i].second.repr()) << "slot " << i;
    const Value* found = m.find(model[i].first);
    ASSERT_NE(found, nullptr) << model[i].first.repr();
    ASSERT_EQ(found->repr(), model[i].second.repr());
    if (model[i].first.is_string()) {
      const Value* by_view = m.find(model[i].first.as_string());
      ASSERT_EQ(by_view, found);
    }
  }
}

Value key(int i) { return Value("k" + std::to_string(i)); }

Map keyed_map(int n) {
  Map m;
  for (int i = 0; i < n; ++i) m = m.set(key(i), i);
  return m;
}

Entries keyed_entries(int n) {
  Entries e;
  for (int i = 0; i < n; ++i) e.emplace_back(key(i), i);
  return e;
}

TEST(MapTest, EmptyMapFindsNothing) {
  Map m;
  EXPECT_EQ(m.size(), 0u);
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.find(std::string_view("a")), nullptr);
  EXPECT_EQ(m.find(Value(1)), nullptr);
  EXPECT_FALSE(m.contains(Value()));
  EXPECT_TRUE(m.begin() == m.end());
  EXPECT_TRUE(m.keys().empty());
  EXPECT_TRUE(m.erase("a").empty());
}

TEST(MapTest, SetAddsAndFinds) {
  Map m = Map().set("a", 1).set("b", 2);
  expect_map_is(m, {{"a", 1}, {"b", 2}});
  EXPECT_TRUE(m.contains("a"));
  EXPECT_FALSE(m.contains("c"));
  EXPECT_EQ(*m.find(std::string_view("b")), Value(2));
}

TEST(MapTest, InitializerListKeepsFirstPositionAndLastValue) {
  Map m{{"x", 1}, {"y", 2}, {"x", 3}};
  expect_map_is(m, {{"x", 3}, {"y", 2}});
}

TEST(MapTest, UpdateKeepsPosition) {
  Map m = keyed_map(5).set(key(1), "updated");
  Entries model = keyed_entries(5);
  model[1].second = "updated";
  expect_map_is(m, model);
}

TEST(MapTest, EraseThenReAddMovesToEnd) {
  Map m = keyed_map(4).erase(key(1)).set(key(1), "back");
  expect_map_is(m, {{key(0), 0}, {key(2), 2}, {key(3), 3}, {key(1), "back"}});
  Map big = keyed_map(20).erase(key(3)).set(key(3), "back");
  Entries model = keyed_entries(20);
  model.erase(model.begin() + 3);
  model.emplace_back(key(3), "back");
  expect_map_is(big, model);
}

TEST(MapTest, OldVersionsAreUnchanged) {
  Map v1 = keyed_map(3);
  Map v2 = v1.set(key(1), "x");
  Map v3 = v2.erase(key(0));
  Map v4 = v3.set("new", 9);
  expect_map_is(v1, keyed_entries(3));
  expect_map_is(v2, {{key(0), 0}, {key(1), "x"}, {key(2), 2}});
  expect_map_is(v3, {{key(1), "x"}, {key(2), 2}});
  expect_map_is(v4, {{key(1), "x"}, {key(2), 2}, {"new", 9}});
}

TEST(MapTest, EraseAbsentKeyReturnsSameMap) {
  Map m = keyed_map(3);
  EXPECT_TRUE(m.erase("missing").same_as(m));
  Map big = keyed_map(30);
  EXPECT_TRUE(big.erase(Value(5)).same_as(big));
}

TEST(MapTest, EraseLastKeyGivesEmptyMap) {
  Map m = Map().set("only", 1).erase("only");
  EXPECT_TRUE(m.empty());
  EXPECT_TRUE(m.begin() == m.end());
  expect_map_is(m.set("again", 2), {{"again", 2}});
}

TEST(MapTest, IndexThresholdCrossedUpward) {
  Map m;
  Entries model;
  for (int i = 0; i < 20; ++i) {
    m = m.set(key(i), i);
    model.emplace_back(key(i), i);
    expect_map_is(m, model);
    EXPECT_EQ(m.find(key(i + 1)), nullptr);
  }
}

TEST(MapTest, IndexThresholdCrossedDownward) {
  Map m = keyed_map(12);
  Entries model = keyed_entries(12);
  // Erase from the middle until a single key is left; every intermediate state must be consistent.
  while (model.size() > 1) {
    size_t victim = model.size() / 2;
    m = m.erase(model[victim].first);
    EXPECT_EQ(m.find(model[victim].first), nullptr);
    model.erase(model.begin() + static_cast<std::ptrdiff_t>(victim));
    expect_map_is(m, model);
  }
  // And back up again past the threshold.
  for (int i = 100; i < 115; ++i) {
    m = m.set(key(i), i);
    model.emplace_back(key(i), i);
    expect_map_is(m, model);
  }
}

TEST(MapTest, ManyErasesCompactTombstones) {
  Map m = keyed_map(1000);
  Entries model = keyed_entries(1000);
  Map before = m;
  for (int i = 0; i < 1000; ++i) {
    if (i % 100 == 7) continue;
    m = m.erase(key(i));
  }
  Entries kept;
  for (auto& e : model)
    if (e.second.as_int() % 100 == 7) kept.push_back(e);
  expect_map_is(m, kept);
  for (int i = 0; i < 1000; ++i)
    if (i % 100 != 7) {
      EXPECT_FALSE(m.contains(key(i)));
    }
  m = m.set("after", 1).set(key(7), "updated");
  kept.emplace_back("after", 1);
  kept[0].second = "updated";
  expect_map_is(m, kept);
  expect_map_is(before, model);
}

TEST(MapTest, EraseEverythingThenRefill) {
  Map m = keyed_map(300);
  for (int i = 299; i >= 0; --i) m = m.erase(key(i));
  EXPECT_TRUE(m.empty());
  m = keyed_map(0);
  for (int i = 0; i < 40; ++i) m = m.set(key(i), i);
  expect_map_is(m, keyed_entries(40));
}

TEST(MapTest, FindByStringViewMatchesOnlyStrings) {
  Map m = Map().set("1", "str").set(1, "int").set(Value::bytes("b"), "bytes");
  EXPECT_EQ(*m.find(std::string_view("1")), Value("str"));
  EXPECT_EQ(m.find(std::string_view("b")), nullptr);
  Map big = keyed_map(20).set(Value::bytes("bb"), 1).set(5, 2);
  EXPECT_EQ(big.find(std::string_view("bb")), nullptr);
  EXPECT_EQ(big.find(std::string_view("5")), nullptr);
  EXPECT_EQ(*big.find(std::string_view("k19")), Value(19));
}

TEST(MapTest, IntAndStringKeysAreDistinct) {
  for (int extra : {0, 20}) {
    Map m = keyed_map(extra).set(1, "int").set("1", "str");
    EXPECT_EQ(m.size(), static_cast<size_t>(extra) + 2);
    EXPECT_EQ(*m.find(Value(1)), Value("int"));
    EXPECT_EQ(*m.find(Value("1")), Value("str"));
    Map e = m.erase(Value(1));
    EXPECT_FALSE(e.contains(Value(1)));
    EXPECT_TRUE(e.contains(Value("1")));
  }
}

TEST(MapTest, NumericKeysEqualAcrossBoolIntDouble) {
  for (int extra : {0, 20}) {  // linear search and hash index
    Map m = keyed_map(extra).set(1, "a").set(1.0, "b").set(true, "c");
    EXPECT_EQ(m.size(), static_cast<size_t>(extra) + 1);
    EXPECT_EQ(*m.find(Value(1.0)), Value("c"));
    EXPECT_EQ(*m.find(Value(true)), Value("c"));
    // Python keeps the first key object: the key is still the int 1.
    EXPECT_EQ(m.keys().back().repr(), "1");
    EXPECT_EQ(m.find(Value(1.5)), nullptr);
    EXPECT_TRUE(m.erase(Value(1.0)).find(Value(1)) == nullptr);
    Map z = keyed_map(extra).set(0.0, "zero");
    EXPECT_EQ(*z.find(Value(false)), Value("zero"));
    EXPECT_EQ(*z.find(Value(-0.0)), Value("zero"));
  }
}

TEST(MapTest, NoneIsAnOrdinaryKey) {
  for (int extra : {0, 20}) {
    Map m = keyed_map(extra).erase(key(0)).set(Value(), "none");
    EXPECT_EQ(*m.find(Value()), Value("none"));
    EXPECT_EQ(m.keys().back().repr(), "None");
    EXPECT_EQ(m.size(), static_cast<size_t>(extra > 0 ? extra : 1));
    m = m.erase(Value());
    EXPECT_FALSE(m.contains(Value()));
  }
}

TEST(MapTest, KeysAndIterationFollowInsertionOrder) {
  Map m = Map().set("z", 1).set(3, 2).set("a", 3);
  std::vector<Value> keys = m.keys();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0], Value("z"));
  EXPECT_EQ(keys[1], Value(3));
  EXPECT_EQ(keys[2], Value("a"));
  auto it = m.begin();
  EXPECT_EQ((*it).key, Value("z"));
  EXPECT_EQ((*it).value, Value(1));
  ++it;
  ++it;
  EXPECT_EQ((*it).key, Value("a"));
  ++it;
  EXPECT_TRUE(it == m.end());
}

TEST(MapTest, IterationSkipsTrailingAndLeadingTombstones) {
  Map m = keyed_map(40);
  for (int i = 0; i < 10; ++i) m = m.erase(key(i));
  for (int i = 39; i >= 30; --i) m = m.erase(key(i));
  Entries model;
  for (int i = 10; i < 30; ++i) model.emplace_back(key(i), i);
  expect_map_is(m, model);
}

TEST(MapTest, EqualityIgnoresOrder) {
  Map a = Map().set("x", 1).set("y", 2);
  Map b = Map().set("y", 2.0).set("x", true);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, a.set("z", 3));
  EXPECT_NE(a, a.set("x", 2));
  EXPECT_EQ(keyed_map(50), keyed_map(50));
  EXPECT_FALSE(keyed_map(50).same_as(keyed_map(50)));
  Map c = keyed_map(50);
  EXPECT_TRUE(Map(c).same_as(c));
  Map via_erase = keyed_map(51).erase(key(50));
  EXPECT_EQ(via_erase, c);
  EXPECT_EQ(Value(via_erase).hash(), Value(c).hash());
}

TEST(MapTest, CopyAndMoveShareOrTransferTheRoot) {
  Map a = keyed_map(10);
  Map b = a;
  EXPECT_TRUE(b.same_as(a));
  Map c = std::move(b);
  EXPECT_TRUE(c.same_as(a));
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  c = Map{{"q", 1}};
  expect_map_is(c, {{"q", 1}});
  expect_map_is(a, keyed_entries(10));
}

// ---- hash collisions (foreign keys with a hash hook) ------------------------------------------

struct Key {
  int id;
  size_t hash;
};

const ForeignHooks kKeyHooks{
    .type_name = "Key",
    .equals = [](void* a, void* b) { return static_cast<Key*>(a)->id == static_cast<Key*>(b)->id; },
    .hash = [](void* k) { return static_cast<Key*>(k)->hash; },
    .repr = [](void* k) { return "Key(" + std::to_string(static_cast<Key*>(k)->id) + ")"; },
};

// Full 32-bit collisions (collision nodes) and partial ones: hashes that share their low 27 bits
// build deep single-child chains in the index before they split.
TEST(MapTest, CollidingHashesStayDistinct) {
  for (size_t mod : {size_t{1}, size_t{3}}) {
    std::vector<Key> objs;
    for (int i = 0; i < 60; ++i) objs.push_back({i, (static_cast<size_t>(i) % mod) << 27});
    Map m;
    Entries model;
    for (Key& k : objs) {
      m = m.set(Value::foreign(&k, &kKeyHooks), k.id);
      model.emplace_back(Value::foreign(&k, &kKeyHooks), k.id);
    }
    expect_map_is(m, model);
    Key probe{59, objs[59].hash};
    EXPECT_EQ(*m.find(Value::foreign(&probe, &kKeyHooks)), Value(59));
    for (int i = 0; i < 60; i += 2) {
      m = m.erase(model[static_cast<size_t>(i)].first);
      EXPECT_FALSE(m.contains(model[static_cast<size_t>(i)].first));
    }
    Entries odd;
    for (size_t i = 1; i < model.size(); i += 2) odd.push_back(model[i]);
    expect_map_is(m, odd);
    for (const auto& e : odd) m = m.erase(e.first);
    EXPECT_TRUE(m.empty());
  }
}

// ---- property test against an insertion-ordered naive map -------------------------------------

struct NaiveMap {
  Entries items;
  long find(const Value& k) const {
    for (size_t i = 0; i < items.size(); ++i)
      if (items[i].first == k) return static_cast<long>(i);
    return -1;
  }
  void set(const Value& k, const Value& v) {
    long i = find(k);
    if (i >= 0) {
      items[static_cast<size_t>(i)].second = v;  // keeps the original key object
    } else {
      items.emplace_back(k, v);
    }
  }
  void erase(const Value& k) {
    long i = find(k);
    if (i >= 0) items.erase(items.begin() + i);
  }
};

// Keys from a mixed domain where several spellings denote the same key (3, 3.0, True == 1).
Value random_key(std::mt19937_64& rng, int range) {
  int k = static_cast<int>(rng() % static_cast<unsigned>(range));
  switch (rng() % 4) {
    case 0:
      return Value(k);
    case 1:
      return Value(static_cast<double>(k));
    case 2:
      return k <= 1 ? Value(k == 1) : Value("s" + std::to_string(k));
    default:
      return Value("s" + std::to_string(k));
  }
}

void run_map_property(uint64_t seed, int steps, int range, int full_check_every) {
  std::mt19937_64 rng(seed);
  Map m;
  NaiveMap model;
  std::vector<std::pair<Map, Entries>> kept;
  for (int step = 0; step < steps; ++step) {
    Value k = random_key(rng, range);
    // Bias towards inserts early and erases late so sizes sweep up and down.
    bool erase = rng() % 100 < static_cast<unsigned>(step * 100 / steps < 50 ? 30 : 70);
    if (erase) {
      m = m.erase(k);
      model.erase(k);
      ASSERT_FALSE(m.contains(k));
    } else {
      Value v(static_cast<int64_t>(step));
      m = m.set(k, v);
      model.set(k, v);
      ASSERT_EQ(*m.find(k), v);
    }
    ASSERT_EQ(m.size(), model.items.size());
    if (model.items.size() < 40 || step % full_check_every == 0) expect_map_is(m, model.items);
    if (step % (steps / 10) == 0) kept.emplace_back(m, model.items);
  }
  expect_map_is(m, model.items);
  for (const auto& [version, items] : kept) expect_map_is(version, items);
}

TEST(MapTest, PropertyRandomOpsMatchNaiveMapSmall) { run_map_property(1, 6000, 24, 1); }

TEST(MapTest, PropertyRandomOpsMatchNaiveMapLarge) { run_map_property(2, 12000, 1000, 500); }

// Random sets and erases over keys whose hashes collide in full (collision nodes: keys told apart
// by their slots) or in their low bits (deep chains), past compactions that renumber slots.
TEST(MapTest, PropertyRandomOpsWithCollidingHashes) {
  std::vector<Key> objs;
  for (int i = 0; i < 300; ++i) {
    size_t hash = i % 3 == 0 ? 7 : (static_cast<size_t>(i % 5) << 27) | 1;
    objs.push_back({i, hash});
  }
  std::mt19937_64 rng(7);
  Map m;
  NaiveMap model;
  for (int step = 0; step < 8000; ++step) {
    Key& k = objs[rng() % objs.size()];
    Value key = Value::foreign(&k, &kKeyHooks);
    if (rng() % 100 < (step < 4000 ? 35u : 65u)) {
      m = m.erase(key);
      model.erase(key);
      ASSERT_FALSE(m.contains(key)) << "step " << step;
    } else {
      m = m.set(key, Value(step));
      model.set(key, Value(step));
      ASSERT_EQ(*m.find(key), Value(step)) << "step " << step;
    }
    ASSERT_EQ(m.size(), model.items.size());
    if (step % 97 == 0) expect_map_is(m, model.items);
  }
  expect_map_is(m, model.items);
}

// ---- copy-on-write access (mutable_find)
// ---------------------------------------------------------

Map numbered(int n) {
  std::vector<std::pair<Value, Value>> items;
  for (int i = 0; i < n; ++i) items.emplace_back(Value("k" + std::to_string(i)), Value(i));
  return Map::from_items(std::move(items));
}

TEST(MapTest, MutableFindLeavesEveryMapSharingNodesUnchanged) {
  Map m = numbered(2000);  // a trie several levels deep, with an index
  Map shared = m;
  Value* slot = m.mutable_find(Value("k1234"));
  ASSERT_NE(slot, nullptr);
  *slot = Value("changed");
  EXPECT_EQ(*m.find("k1234"), Value("changed"));
  EXPECT_EQ(*shared.find("k1234"), Value(1234));  // the other holder sees the old value
  EXPECT_FALSE(Value(m).identical(Value(shared)));
  EXPECT_EQ(m.size(), 2000u);
  EXPECT_EQ(m.keys(), shared.keys());  // order and keys untouched
}

TEST(MapTest, MutableFindReusesNodesThisMapAlreadyOwns) {
  Map m = numbered(2000);
  Map shared = m;
  *m.mutable_find(Value("k7")) = Value(-7);  // copies the root and the path to k7
  const void* root_after_first = Value(m).node_id();
  *m.mutable_find(Value("k8")) = Value(-8);  // same leaf: private now, updated in place
  *m.mutable_find(Value("k1999")) = Value(-1999);
  EXPECT_EQ(Value(m).node_id(), root_after_first);
  EXPECT_EQ(*m.find("k7"), Value(-7));
  EXPECT_EQ(*m.find("k8"), Value(-8));
  EXPECT_EQ(*m.find("k1999"), Value(-1999));
  EXPECT_EQ(*shared.find("k7"), Value(7));
  EXPECT_EQ(*shared.find("k8"), Value(8));
  EXPECT_EQ(*shared.find("k1999"), Value(1999));
}

TEST(MapTest, MutableFindOfAnAbsentKeyCopiesNothing) {
  Map m = numbered(50);
  Map shared = m;
  EXPECT_EQ(m.mutable_find(Value("nope")), nullptr);
  EXPECT_TRUE(m.same_as(shared));
  EXPECT_TRUE(Value(m).identical(Value(shared)));
  Map empty;
  EXPECT_EQ(empty.mutable_find(Value("x")), nullptr);
}

TEST(MapTest, PropertyMutableFindMatchesPersistentSetAndKeepsSnapshots) {
  // Random in-place updates against a model, with snapshots taken along the way: every snapshot
  // must keep exactly the content it had when it was taken.
  std::mt19937 rng(7);
  const int n = 3000;
  Map m = numbered(n);
  std::vector<int64_t> model(n);
  for (int i = 0; i < n; ++i) model[i] = i;
  std::vector<std::pair<Map, std::vector<int64_t>>> snapshots;
  for (int step = 0; step < 20000; ++step) {
    int k = static_cast<int>(rng() % n);
    int64_t v = static_cast<int64_t>(rng() % 100000);
    Value* slot = m.mutable_find(Value("k" + std::to_string(k)));
    ASSERT_NE(slot, nullptr);
    *slot = Value(v);
    model[k] = v;
    if (step % 997 == 0) snapshots.emplace_back(m, model);
  }
  for (int i = 0; i < n; ++i) ASSERT_EQ(*m.find(Value("k" + std::to_string(i))), Value(model[i]));
  for (const auto& [snap, expect] : snapshots)
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(*snap.find(Value("k" + std::to_string(i))), Value(expect[i])) << i;
}

}  // namespace
}  // namespace theus

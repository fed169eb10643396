// Tests for Snapshot reads: data paths, heavy paths and errors.
#include "theus/snapshot.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace theus {
namespace {

using ::testing::HasSubstr;

Snapshot sample() {
  Snapshot s;
  s.version = 7;
  s.data = Map{{"domain", Map{{"a", List{1, 2}}}}, {"heavy", "shadowed"}};
  s.heavy = Map{{"frames", Value::buffer(BufferRef{"seg", 0, 8, "uint8", {8}})}};
  return s;
}

TEST(SnapshotTest, ReadsDataPaths) {
  Snapshot s = sample();
  EXPECT_EQ(s.get("domain.a[1]").value(), Value(2));
  EXPECT_EQ(s.get(Path{"domain", "a", 0}).value(), Value(1));
  EXPECT_EQ(s.get("domain_ctx.a").value(), Value(List{1, 2}));
  EXPECT_TRUE(s.get(Path()).value().is_map());
}

TEST(SnapshotTest, HeavyRootReadsTheHeavyMap) {
  Snapshot s = sample();
  EXPECT_TRUE(is_heavy_root(Path{"heavy", "frames"}));
  EXPECT_FALSE(is_heavy_root(Path{"domain", "heavy"}));
  EXPECT_TRUE(s.get("heavy.frames").value().is_buffer());
  EXPECT_EQ(s.get("heavy").value(), Value(s.heavy));
  Result<Value> missing = s.get("heavy.nothing");
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("heavy.nothing"));
}

TEST(SnapshotTest, ReportsParseAndLookupErrors) {
  Snapshot s = sample();
  EXPECT_EQ(s.get("domain..a").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.get("domain.b").code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.get("domain.a.x").code(), ErrorCode::kTypeMismatch);
}

TEST(SnapshotTest, CopiesShareTheTree) {
  Snapshot s = sample();
  Snapshot copy = s;
  EXPECT_TRUE(copy.data.same_as(s.data));
  EXPECT_TRUE(copy.heavy.same_as(s.heavy));
  EXPECT_EQ(copy.version, 7u);
}

}  // namespace
}  // namespace theus

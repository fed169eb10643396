// The heavy zone from C++: buffer references to shared-memory segments committed into the
// engine's heavy map by reference, resolved with ShmSegment::view in another process, and
// following the per-path CAS rules.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "theus/engine.hpp"
#include "theus/heavy/shm_segment.hpp"

namespace theus {
namespace {

class HeavyZoneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = "theus_gtest_heavy_" + std::to_string(::getpid());
    auto seg = ShmSegment::create(name_, 8 * 16);
    ASSERT_TRUE(seg.is_ok()) << seg.status().message();
    seg_ = std::move(seg).value();
  }
  void TearDown() override { (void)ShmSegment::unlink(name_); }
  BufferRef ref(uint64_t offset, int64_t count) const {
    return BufferRef{name_, offset, static_cast<uint64_t>(count) * 8, "float64", {count}};
  }

  std::string name_;
  ShmSegment seg_;
};

TEST_F(HeavyZoneTest, CommittedBufferReferenceResolvesInAnotherProcess) {
  Engine engine;
  ASSERT_TRUE(engine.compare_and_swap(0, {}, Map{{"frames", Value::buffer(ref(16, 4))}}).is_ok());
  const Value* stored = engine.snapshot()->heavy.find("frames");
  ASSERT_NE(stored, nullptr);
  ASSERT_TRUE(stored->is_buffer());
  BufferRef committed = stored->as_buffer();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // a worker: attach by name, write through the reference
    auto mine = ShmSegment::attach(committed.name);
    if (!mine.is_ok()) ::_exit(1);
    auto bytes = mine->view(committed);
    if (!bytes.is_ok()) ::_exit(2);
    double v = 2.5;
    std::memcpy(bytes->data(), &v, sizeof v);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  double seen = 0;
  std::memcpy(&seen, seg_.data() + 16, sizeof seen);
  EXPECT_EQ(seen, 2.5);
}

TEST_F(HeavyZoneTest, HeavyKeysFollowPerPathCas) {
  Engine engine;
  ASSERT_TRUE(engine.compare_and_swap(0, {}, Map{{"a", Value::buffer(ref(0, 2))}}).is_ok());
  ASSERT_TRUE(engine.compare_and_swap(1, {}, Map{{"a", Value::buffer(ref(16, 2))}}).is_ok());
  // Same key from the stale base: conflict; another key from the same base: fine.
  Status st = engine.compare_and_swap(1, {}, Map{{"a", Value::buffer(ref(32, 2))}});
  EXPECT_EQ(st.code(), ErrorCode::kConflict);
  ASSERT_TRUE(engine.compare_and_swap(1, {}, Map{{"b", Value::buffer(ref(64, 2))}}).is_ok());
  EXPECT_EQ(engine.snapshot()->heavy.find("a")->as_buffer().offset, 16u);
  EXPECT_EQ(engine.snapshot()->heavy.find("b")->as_buffer().offset, 64u);
}

}  // namespace
}  // namespace theus

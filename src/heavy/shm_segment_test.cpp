// ShmSegment: create / attach / unlink, sharing between mappings and across fork(), name rules,
// buffer-reference views, and RAII unmapping.
#include "theus/heavy/shm_segment.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace theus {
namespace {

// A segment name no other test run uses, removed when the test ends.
class ScopedName {
 public:
  explicit ScopedName(const std::string& tag)
      : name_("theus_gtest_" + std::to_string(::getpid()) + "_" + tag) {}
  ~ScopedName() { (void)ShmSegment::unlink(name_); }
  const std::string& str() const { return name_; }

 private:
  std::string name_;
};

TEST(ShmSegmentTest, CreateMapsZeroFilledBytes) {
  ScopedName name("zero");
  auto seg = ShmSegment::create(name.str(), 4096);
  ASSERT_TRUE(seg.is_ok()) << seg.status().message();
  EXPECT_TRUE(seg->mapped());
  EXPECT_EQ(seg->name(), name.str());
  EXPECT_EQ(seg->size(), 4096u);
  for (std::byte b : seg->bytes()) ASSERT_EQ(b, std::byte{0});
  EXPECT_TRUE(ShmSegment::exists(name.str()));
}

TEST(ShmSegmentTest, AttachSeesTheSameBytes) {
  ScopedName name("shared");
  auto a = ShmSegment::create(name.str(), 64);
  ASSERT_TRUE(a.is_ok());
  std::memcpy(a->data(), "hello", 5);
  auto b = ShmSegment::attach(name.str());
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  EXPECT_EQ(b->size(), 64u);
  EXPECT_EQ(std::memcmp(b->data(), "hello", 5), 0);
  std::memcpy(b->data() + 10, "back", 4);
  EXPECT_EQ(std::memcmp(a->data() + 10, "back", 4), 0);
}

TEST(ShmSegmentTest, LeadingSlashNamesTheSameSegment) {
  ScopedName name("slash");
  ASSERT_TRUE(ShmSegment::create(name.str(), 8).is_ok());
  auto b = ShmSegment::attach("/" + name.str());
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->name(), name.str());
}

TEST(ShmSegmentTest, CreateRefusesAnExistingName) {
  ScopedName name("dup");
  ASSERT_TRUE(ShmSegment::create(name.str(), 8).is_ok());
  auto again = ShmSegment::create(name.str(), 8);
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find(name.str()), std::string::npos);
}

TEST(ShmSegmentTest, AttachOfMissingSegmentIsNotFound) {
  auto r = ShmSegment::attach("theus_gtest_no_such_segment");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.code(), ErrorCode::kNotFound);
  EXPECT_NE(r.status().message().find("theus_gtest_no_such_segment"), std::string::npos);
}

TEST(ShmSegmentTest, UnlinkRemovesTheNameButNotLiveMappings) {
  ScopedName name("unlink");
  auto a = ShmSegment::create(name.str(), 16);
  ASSERT_TRUE(a.is_ok());
  a->data()[3] = std::byte{42};
  ASSERT_TRUE(ShmSegment::unlink(name.str()).is_ok());
  EXPECT_FALSE(ShmSegment::exists(name.str()));
  EXPECT_EQ(a->data()[3], std::byte{42});  // still mapped
  EXPECT_EQ(ShmSegment::unlink(name.str()).code(), ErrorCode::kNotFound);
}

TEST(ShmSegmentTest, RejectsBadNamesAndSizes) {
  EXPECT_EQ(ShmSegment::create("", 8).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ShmSegment::create("a/b", 8).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ShmSegment::create(std::string(300, 'x'), 8).code(), ErrorCode::kInvalidArgument);
  ScopedName name("zero_size");
  auto r = ShmSegment::create(name.str(), 0);
  EXPECT_EQ(r.code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(ShmSegment::exists(name.str()));
}

TEST(ShmSegmentTest, MoveTransfersTheMappingAndCloseUnmaps) {
  ScopedName name("move");
  auto a = ShmSegment::create(name.str(), 32);
  ASSERT_TRUE(a.is_ok());
  ShmSegment moved = std::move(a).value();
  EXPECT_TRUE(moved.mapped());
  ShmSegment target;
  target = std::move(moved);
  EXPECT_FALSE(moved.mapped());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(target.mapped());
  target.close();
  EXPECT_FALSE(target.mapped());
  EXPECT_EQ(target.size(), 0u);
  EXPECT_TRUE(ShmSegment::exists(name.str()));  // closing never unlinks
}

TEST(ShmSegmentTest, ViewOfABufferReferenceIsRangeChecked) {
  ScopedName name("view");
  auto seg = ShmSegment::create(name.str(), 64);
  ASSERT_TRUE(seg.is_ok());
  auto v = seg->view(BufferRef{name.str(), 16, 24, "float64", {3}});
  ASSERT_TRUE(v.is_ok()) << v.status().message();
  EXPECT_EQ(v->data(), seg->data() + 16);
  EXPECT_EQ(v->size(), 24u);
  auto out = seg->view(BufferRef{name.str(), 48, 24, "float64", {3}});
  EXPECT_EQ(out.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find(name.str()), std::string::npos);
  EXPECT_EQ(seg->view(BufferRef{"other", 0, 8, "uint8", {8}}).code(), ErrorCode::kInvalidArgument);
}

TEST(ShmSegmentTest, ChildProcessWritesAreVisibleToTheParent) {
  ScopedName name("fork");
  auto seg = ShmSegment::create(name.str(), 8);
  ASSERT_TRUE(seg.is_ok());
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto mine = ShmSegment::attach(name.str());
    if (!mine.is_ok()) ::_exit(1);
    mine->data()[0] = std::byte{7};
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(seg->data()[0], std::byte{7});
}

}  // namespace
}  // namespace theus

// MemoryRegistry and ProcessIdentity: record format, appends, zombie scans (dead, unreaped and
// pid-reused owners), cleanup (also after fork), torn lines, and concurrent writers in threads and
// processes.
#include "theus/heavy/memory_registry.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "theus/heavy/shm_segment.hpp"

namespace theus {
namespace {

std::string unique(const std::string& tag) {
  static int counter = 0;
  return "theus_gtest_" + std::to_string(::getpid()) + "_" + tag + "_" + std::to_string(++counter);
}

// A registry file in the test temp dir, removed (with any segment named in it) at the end.
class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = ::testing::TempDir() + unique("registry") + ".jsonl"; }
  void TearDown() override {
    for (const auto& name : created_) (void)ShmSegment::unlink(name);
    std::remove(path_.c_str());
  }
  MemoryRegistry registry(const std::string& session = "s1") {
    return MemoryRegistry(session, MemoryRegistry::Options{path_});
  }
  std::string make_segment(const std::string& tag) {
    std::string name = unique(tag);
    EXPECT_TRUE(ShmSegment::create(name, 64).is_ok());
    created_.push_back(name);
    return name;
  }
  std::vector<std::string> lines() const {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  void append_raw(const std::string& text) {
    std::ofstream out(path_, std::ios::app);
    out << text;
  }

  std::string path_;
  std::vector<std::string> created_;
};

TEST(ProcessIdentityTest, CurrentProcessIsAliveWithItsStartTime) {
  ProcessIdentity me = ProcessIdentity::current();
  EXPECT_EQ(me.pid, ::getpid());
  EXPECT_GT(me.start_time, 0u);
  EXPECT_TRUE(me.alive());
  EXPECT_EQ(ProcessIdentity::of(me.pid), me);
}

TEST(ProcessIdentityTest, SamePidWithAnotherStartTimeIsNotAlive) {
  ProcessIdentity me = ProcessIdentity::current();
  EXPECT_FALSE((ProcessIdentity{me.pid, me.start_time + 1}).alive());
  EXPECT_TRUE((ProcessIdentity{me.pid, 0}).alive());  // unknown start time: pid only
}

TEST(ProcessIdentityTest, ExitedChildIsGoneEvenBeforeItIsReaped) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  // Wait for the exit without reaping: the child stays a zombie (state Z) until waitpid().
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_FALSE(ProcessIdentity::of(child).has_value());
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_FALSE((ProcessIdentity{child, 0}).alive());
  EXPECT_FALSE(ProcessIdentity::of(-1).has_value());
}

TEST(RegistryRecordTest, SerialisesCompactJsonInFieldOrder) {
  RegistryRecord r{"theus_ab12cd34_4242_frames", 4242, "ab12cd34", 4096, 0.0, 77};
  EXPECT_EQ(r.to_json(), R"({"name":"theus_ab12cd34_4242_frames","pid":4242,"session":"ab12cd34",)"
                         R"("size":4096,"ts":0.0,"start":77})");
  auto back = RegistryRecord::parse(r.to_json());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->name, r.name);
  EXPECT_EQ(back->pid, 4242);
  EXPECT_EQ(back->session, "ab12cd34");
  EXPECT_EQ(back->size, 4096u);
  EXPECT_EQ(back->start_time, 77u);
}

TEST(RegistryRecordTest, ParsesLinesWithoutStartTime) {
  auto r = RegistryRecord::parse(
      R"({"name":"theus_x","pid":12,"session":"s","size":8,"ts":1700000000.5})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->start_time, 0u);
  EXPECT_DOUBLE_EQ(r->ts, 1700000000.5);
}

TEST(RegistryRecordTest, RejectsBlankTornAndMalformedLines) {
  EXPECT_FALSE(RegistryRecord::parse("").has_value());
  EXPECT_FALSE(RegistryRecord::parse("   ").has_value());
  EXPECT_FALSE(RegistryRecord::parse(R"({"name":"theus_x","pid":1)").has_value());
  EXPECT_FALSE(RegistryRecord::parse(R"(["theus_x", 1])").has_value());
  EXPECT_FALSE(RegistryRecord::parse(R"({"name":"theus_x"})").has_value());
  EXPECT_FALSE(RegistryRecord::parse(R"({"name":5,"pid":1})").has_value());
  EXPECT_FALSE(RegistryRecord::parse(R"({"name":"x","pid":"1"})").has_value());
}

TEST_F(RegistryTest, LogAllocationAppendsARecordOwnedByThisProcess) {
  auto reg = registry("sess");
  ASSERT_TRUE(reg.log_allocation("theus_a", 100).is_ok());
  ASSERT_TRUE(reg.log_allocation("theus_b", 200).is_ok());
  auto recs = reg.records();
  ASSERT_TRUE(recs.is_ok());
  ASSERT_EQ(recs->size(), 2u);
  EXPECT_EQ((*recs)[0].name, "theus_a");
  EXPECT_EQ((*recs)[1].size, 200u);
  EXPECT_EQ((*recs)[1].session, "sess");
  EXPECT_EQ((*recs)[0].owner(), ProcessIdentity::current());
  EXPECT_EQ(reg.allocations().at("theus_b"), 200u);
  EXPECT_EQ(lines().size(), 2u);
}

TEST_F(RegistryTest, ScanOfAMissingFileFindsNothing) {
  auto report = registry().scan_zombies();
  ASSERT_TRUE(report.is_ok());
  EXPECT_EQ(report->lines_read, 0u);
  EXPECT_FALSE(report->rewritten);
}

TEST_F(RegistryTest, ScanKeepsLiveOwnersWithoutRewriting) {
  auto reg = registry();
  std::string name = make_segment("live");
  ASSERT_TRUE(reg.log_allocation(name, 64).is_ok());
  auto report = registry("other").scan_zombies();
  ASSERT_TRUE(report.is_ok());
  EXPECT_EQ(report->lines_read, 1u);
  EXPECT_EQ(report->kept, 1u);
  EXPECT_FALSE(report->rewritten);
  EXPECT_TRUE(ShmSegment::exists(name));
}

TEST_F(RegistryTest, ScanReclaimsSegmentsOfADeadProcess) {
  std::string name = unique("dead");
  created_.push_back(name);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto seg = ShmSegment::create(name, 64);
    auto reg = registry("child");
    ::_exit(seg.is_ok() && reg.log_allocation(name, 64).is_ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  std::string mine = make_segment("mine");
  auto reg = registry();
  ASSERT_TRUE(reg.log_allocation(mine, 64).is_ok());
  ASSERT_TRUE(ShmSegment::exists(name));

  auto report = reg.scan_zombies();
  ASSERT_TRUE(report.is_ok());
  EXPECT_EQ(report->reclaimed, std::vector<std::string>{name});
  EXPECT_EQ(report->kept, 1u);
  EXPECT_TRUE(report->rewritten);
  EXPECT_FALSE(ShmSegment::exists(name));
  EXPECT_TRUE(ShmSegment::exists(mine));
  ASSERT_EQ(lines().size(), 1u);
  EXPECT_NE(lines()[0].find(mine), std::string::npos);
}

TEST_F(RegistryTest, ScanTreatsAReusedPidAsDead) {
  // A record carrying this process's pid but another start time was written by an earlier
  // process the kernel gave the same pid: its segment is a zombie.
  std::string name = make_segment("reused");
  ProcessIdentity me = ProcessIdentity::current();
  append_raw(RegistryRecord{name, me.pid, "old", 64, 0.0, me.start_time + 1}.to_json() + "\n");
  auto report = registry().scan_zombies();
  ASSERT_TRUE(report.is_ok());
  EXPECT_EQ(report->reclaimed, std::vector<std::string>{name});
  EXPECT_FALSE(ShmSegment::exists(name));
}

TEST_F(RegistryTest, ScanDropsUnparsableLinesAndRemovesAnEmptyFile) {
  append_raw("not json\n\n{\"name\":\"theus_torn\",\"pi");
  auto report = registry().scan_zombies();
  ASSERT_TRUE(report.is_ok());
  EXPECT_EQ(report->lines_read, 3u);
  EXPECT_EQ(report->kept, 0u);
  EXPECT_TRUE(report->reclaimed.empty());
  EXPECT_TRUE(report->rewritten);
  EXPECT_FALSE(std::ifstream(path_).good());
}

TEST_F(RegistryTest, AppendAfterATornLineStartsOnAFreshLine) {
  append_raw("{\"name\":\"theus_torn\",\"pid\":1");  // a writer died mid-line
  auto reg = registry();
  ASSERT_TRUE(reg.log_allocation("theus_whole", 8).is_ok());
  auto recs = reg.records();
  ASSERT_TRUE(recs.is_ok());
  ASSERT_EQ(recs->size(), 1u);
  EXPECT_EQ((*recs)[0].name, "theus_whole");
}

TEST_F(RegistryTest, CleanupUnlinksOwnSegmentsAndRemovesTheirRecords) {
  auto keep = registry("keep");
  std::string other = make_segment("other");
  ASSERT_TRUE(keep.log_allocation(other, 64).is_ok());
  auto reg = registry();
  std::string a = make_segment("a"), b = make_segment("b");
  ASSERT_TRUE(reg.log_allocation(a, 64).is_ok());
  ASSERT_TRUE(reg.log_allocation(b, 64).is_ok());
  ASSERT_TRUE(ShmSegment::unlink(b).is_ok());  // already gone: not an error
  ASSERT_TRUE(reg.cleanup().is_ok());
  EXPECT_FALSE(ShmSegment::exists(a));
  EXPECT_TRUE(ShmSegment::exists(other));
  EXPECT_TRUE(reg.allocations().empty());
  ASSERT_EQ(lines().size(), 1u);
  EXPECT_NE(lines()[0].find(other), std::string::npos);
  ASSERT_TRUE(keep.cleanup().is_ok());
  EXPECT_FALSE(std::ifstream(path_).good());  // nothing left: the file is removed
}

TEST_F(RegistryTest, CleanupInAForkedChildLeavesTheParentsSegments) {
  auto reg = registry();
  std::string name = make_segment("parent");
  ASSERT_TRUE(reg.log_allocation(name, 64).is_ok());
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(reg.cleanup().is_ok() ? 0 : 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(ShmSegment::exists(name));
  EXPECT_EQ(lines().size(), 1u);
}

TEST_F(RegistryTest, ConcurrentThreadsNeverTearOrLoseRecords) {
  constexpr int kWriters = 4, kEach = 150;
  std::atomic<bool> done{false};
  std::thread scanner([&] {
    auto reg = registry("scanner");
    while (!done.load()) ASSERT_TRUE(reg.scan_zombies().is_ok());
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      auto reg = registry("w" + std::to_string(w));
      for (int i = 0; i < kEach; ++i)
        ASSERT_TRUE(
            reg.log_allocation("theus_t" + std::to_string(w) + "_" + std::to_string(i), 8).is_ok());
    });
  for (auto& t : writers) t.join();
  done = true;
  scanner.join();
  auto all = lines();
  EXPECT_EQ(all.size(), static_cast<size_t>(kWriters * kEach));
  for (const auto& l : all) ASSERT_TRUE(RegistryRecord::parse(l).has_value()) << l;
}

TEST_F(RegistryTest, ConcurrentProcessesNeverTearOrLoseRecords) {
  constexpr int kChildren = 3, kEach = 200;
  int release[2];
  ASSERT_EQ(::pipe(release), 0);
  int finished[2];
  ASSERT_EQ(::pipe(finished), 0);
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(release[1]);
      auto reg = registry("p" + std::to_string(c));
      bool ok = true;
      for (int i = 0; i < kEach; ++i)
        ok = ok &&
             reg.log_allocation("theus_p" + std::to_string(c) + "_" + std::to_string(i), 8).is_ok();
      char byte = ok ? 1 : 0;
      (void)!::write(finished[1], &byte, 1);
      char buf;
      (void)!::read(release[0], &buf, 1);  // stay alive (records kept) until the parent checked
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(release[0]);
  ::close(finished[1]);
  // Scan (and so rewrite) while the children append; stop once every child reported.
  auto reg = registry("scanner");
  int reported = 0, ok = 0;
  while (reported < kChildren) {
    ASSERT_TRUE(reg.scan_zombies().is_ok());
    char byte;
    fd_set set;
    FD_ZERO(&set);
    FD_SET(finished[0], &set);
    timeval tv{0, 0};
    if (::select(finished[0] + 1, &set, nullptr, nullptr, &tv) > 0 &&
        ::read(finished[0], &byte, 1) == 1) {
      ++reported;
      ok += byte;
    }
  }
  auto all = lines();
  ::close(release[1]);
  for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
  ::close(finished[0]);
  EXPECT_EQ(ok, kChildren);
  EXPECT_EQ(all.size(), static_cast<size_t>(kChildren * kEach));
  for (const auto& l : all) ASSERT_TRUE(RegistryRecord::parse(l).has_value()) << l;
}

}  // namespace
}  // namespace theus

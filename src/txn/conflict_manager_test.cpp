// ConflictManager (spec §9.1): backoff ranges, VIP hand-out, other requesters, success/release,
// blocking queries and waiting for a release.
#include "theus/conflict_manager.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace theus {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kTrials = 200;  // fresh managers per range check (the jitter is random)

TEST(ConflictManagerTest, DefaultBackoffRangesPerAttempt) {
  const int64_t lo[] = {1, 3, 6, 12, 25};
  const int64_t hi[] = {2, 4, 9, 19, 38};
  for (int trial = 0; trial < kTrials; ++trial) {
    ConflictManager cm;
    for (int attempt = 0; attempt < 5; ++attempt) {
      RetryDecision d = cm.report_conflict("p");
      EXPECT_TRUE(d.should_retry);
      EXPECT_GE(d.wait_ms, lo[attempt]) << "attempt " << attempt + 1;
      EXPECT_LE(d.wait_ms, hi[attempt]) << "attempt " << attempt + 1;
      EXPECT_EQ(cm.failure_count("p"), static_cast<uint32_t>(attempt + 1));
    }
  }
}

TEST(ConflictManagerTest, DefaultsMatchTheSpec) {
  ConflictManager cm;
  EXPECT_EQ(cm.max_retries(), 5u);
  EXPECT_EQ(cm.base_backoff_ms(), 2u);
  EXPECT_EQ(cm.failure_count("unknown"), 0u);
  EXPECT_FALSE(cm.vip_holder().has_value());
  EXPECT_FALSE(cm.is_blocked(std::nullopt));
}

TEST(ConflictManagerTest, CustomBaseScalesTheBackoff) {
  for (int trial = 0; trial < kTrials; ++trial) {
    ConflictManager cm(3, 10);
    RetryDecision first = cm.report_conflict("p");
    EXPECT_GE(first.wait_ms, 8);  // 10 * [0.8, 1.2)
    EXPECT_LE(first.wait_ms, 11);
    RetryDecision second = cm.report_conflict("p");
    EXPECT_GE(second.wait_ms, 16);
    EXPECT_LE(second.wait_ms, 23);
  }
}

TEST(ConflictManagerTest, ExponentIsCappedAtTen) {
  ConflictManager cm(100, 1);
  for (int i = 0; i < 10; ++i) (void)cm.report_conflict("p");
  for (int i = 0; i < 5; ++i) {
    RetryDecision d = cm.report_conflict("p");  // count 11.. -> 1 * 2^10 * jitter
    EXPECT_GE(d.wait_ms, 819);
    EXPECT_LE(d.wait_ms, 1228);
  }
}

TEST(ConflictManagerTest, GrantsVipAfterFiveFailures) {
  ConflictManager cm;
  for (int i = 0; i < 5; ++i) (void)cm.report_conflict("p");
  EXPECT_FALSE(cm.vip_holder().has_value());
  RetryDecision d = cm.report_conflict("p");
  EXPECT_TRUE(d.should_retry);
  EXPECT_EQ(d.wait_ms, 1);
  EXPECT_EQ(cm.vip_holder(), "p");
  EXPECT_EQ(cm.failure_count("p"), 5u);  // not incremented further
  d = cm.report_conflict("p");           // stays VIP
  EXPECT_EQ(d.wait_ms, 1);
  EXPECT_EQ(cm.failure_count("p"), 5u);
  EXPECT_EQ(cm.vip_holder(), "p");
}

TEST(ConflictManagerTest, OtherRequestersWaitFiftyWithCountersUnchanged) {
  ConflictManager cm;
  for (int i = 0; i < 6; ++i) (void)cm.report_conflict("vip");
  (void)cm.report_conflict("p");  // before: no effect on the VIP's counter either
  for (int i = 0; i < 3; ++i) {
    RetryDecision d = cm.report_conflict("other");
    EXPECT_TRUE(d.should_retry);
    EXPECT_EQ(d.wait_ms, 50);
  }
  EXPECT_EQ(cm.failure_count("other"), 0u);
  EXPECT_EQ(cm.failure_count("p"), 0u);
  EXPECT_EQ(cm.failure_count("vip"), 5u);
  EXPECT_EQ(cm.vip_holder(), "vip");
}

TEST(ConflictManagerTest, IsBlockedHonoursTheHolder) {
  ConflictManager cm;
  for (int i = 0; i < 6; ++i) (void)cm.report_conflict("vip");
  EXPECT_TRUE(cm.is_blocked(std::nullopt));
  EXPECT_TRUE(cm.is_blocked(std::optional<std::string>("other")));
  EXPECT_TRUE(cm.is_blocked(std::string_view("other")));
  EXPECT_FALSE(cm.is_blocked(std::optional<std::string>("vip")));
  EXPECT_FALSE(cm.is_blocked(std::string_view("vip")));
}

TEST(ConflictManagerTest, ReportSuccessDropsCounterAndReleasesVip) {
  ConflictManager cm;
  for (int i = 0; i < 6; ++i) (void)cm.report_conflict("vip");
  (void)cm.report_conflict("other");
  cm.report_success("other");  // not the holder: ticket stays
  EXPECT_EQ(cm.vip_holder(), "vip");
  cm.report_success("vip");
  EXPECT_FALSE(cm.vip_holder().has_value());
  EXPECT_EQ(cm.failure_count("vip"), 0u);
  EXPECT_FALSE(cm.is_blocked(std::nullopt));
  cm.report_success("never-seen");  // no-op
  // The backoff restarts from the first step.
  RetryDecision d = cm.report_conflict("vip");
  EXPECT_LE(d.wait_ms, 2);
  EXPECT_EQ(cm.failure_count("vip"), 1u);
}

TEST(ConflictManagerTest, ReleaseVipKeepsTheCounter) {
  ConflictManager cm;
  for (int i = 0; i < 6; ++i) (void)cm.report_conflict("vip");
  cm.release_vip("someone-else");
  EXPECT_EQ(cm.vip_holder(), "vip");
  cm.release_vip("vip");
  EXPECT_FALSE(cm.vip_holder().has_value());
  EXPECT_EQ(cm.failure_count("vip"), 5u);
  // Still at the threshold: the next conflict hands the ticket out again.
  EXPECT_EQ(cm.report_conflict("vip").wait_ms, 1);
  EXPECT_EQ(cm.vip_holder(), "vip");
}

TEST(ConflictManagerTest, WaitUntilUnblockedReturnsAtOnceWhenFree) {
  ConflictManager cm;
  EXPECT_TRUE(cm.wait_until_unblocked(std::nullopt, Clock::now() + std::chrono::hours(1)));
  for (int i = 0; i < 6; ++i) (void)cm.report_conflict("vip");
  EXPECT_TRUE(cm.wait_until_unblocked(std::string("vip"), Clock::now() + std::chrono::hours(1)));
}

TEST(ConflictManagerTest, WaitUntilUnblockedWakesOnRelease) {
  ConflictManager cm;
  for (int i = 0; i < 6; ++i) (void)cm.report_conflict("vip");
  std::atomic<int> woke{-1};
  std::thread waiter([&] {
    bool ok = cm.wait_until_unblocked(std::string("other"), Clock::now() + std::chrono::hours(1));
    woke.store(ok ? 1 : 0);
  });
  cm.report_success("vip");
  waiter.join();
  EXPECT_EQ(woke.load(), 1);
}

TEST(ConflictManagerTest, WaitUntilUnblockedWakesOnReleaseVip) {
  ConflictManager cm;
  for (int i = 0; i < 6; ++i) (void)cm.report_conflict("vip");
  std::atomic<int> woke{-1};
  std::thread waiter([&] {
    woke.store(cm.wait_until_unblocked(std::nullopt, Clock::now() + std::chrono::hours(1)) ? 1 : 0);
  });
  cm.release_vip("vip");
  waiter.join();
  EXPECT_EQ(woke.load(), 1);
}

TEST(ConflictManagerTest, WaitUntilUnblockedTimesOut) {
  ConflictManager cm;
  for (int i = 0; i < 6; ++i) (void)cm.report_conflict("vip");
  EXPECT_FALSE(cm.wait_until_unblocked(std::nullopt, Clock::now() + std::chrono::milliseconds(5)));
  EXPECT_FALSE(cm.wait_until_unblocked(std::string("other"), Clock::now()));
  EXPECT_EQ(cm.vip_holder(), "vip");
}

TEST(ConflictManagerTest, ConcurrentReportsKeepPerKeyCounts) {
  ConflictManager cm(1000, 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cm, t] {
      std::string key = "k" + std::to_string(t);
      for (int i = 0; i < 200; ++i) (void)cm.report_conflict(key);
      (void)cm.is_blocked(std::optional<std::string>(key));
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(cm.failure_count("k" + std::to_string(t)), 200u);
  EXPECT_FALSE(cm.vip_holder().has_value());
}

TEST(RetryDecisionTest, Repr) {
  EXPECT_EQ((RetryDecision{true, 3}).repr(), "RetryDecision(retry=True, wait=3ms)");
  EXPECT_EQ((RetryDecision{false, 0}).repr(), "RetryDecision(retry=False, wait=0ms)");
}

TEST(RetryPolicyTest, DefaultsMatchTheSpec) {
  RetryPolicy p;
  EXPECT_EQ(p.max_attempts, 64u);
  ASSERT_TRUE(p.deadline.has_value());
  EXPECT_EQ(p.deadline->count(), 30000);
  EXPECT_EQ(p.vip_after, 5u);
  EXPECT_EQ(p.base_backoff_ms, 2u);
  EXPECT_EQ(p.max_backoff_ms, 1000u);
}

}  // namespace
}  // namespace theus

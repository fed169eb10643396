// SignalHub / SignalReceiver (workflow_signals_audit.md §2): fan-out, subscription point, receiver
// counting, capacity rounding, lag detection and recovery, close, timeouts, cross-thread wake-ups,
// concurrent publishers and receivers, the event-loop descriptor, and payload round-trips.
#include "theus/signal_hub.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace theus {
namespace {

using std::chrono::milliseconds;

// A long prefix keeps messages out of the small-string buffer, so copies and moves really differ.
std::string msg(int i) { return "message-with-a-heap-allocated-body-" + std::to_string(i); }

std::string recv_ok(SignalReceiver& rx) {
  auto r = rx.recv_for(milliseconds(10000));
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  if (!r.is_ok() || !*r) return "<nothing>";
  return **r;
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

TEST(SignalHubTest, FansOutEveryMessageToEveryReceiverInOrder) {
  SignalHub hub;
  std::vector<SignalReceiver> rxs;
  for (int i = 0; i < 3; ++i) rxs.push_back(hub.subscribe());
  for (int i = 0; i < 50; ++i) hub.publish(msg(i));
  for (auto& rx : rxs) {
    for (int i = 0; i < 50; ++i) ASSERT_EQ(recv_ok(rx), msg(i));
    auto none = rx.try_recv();
    ASSERT_TRUE(none.is_ok());
    EXPECT_FALSE(*none);
  }
}

TEST(SignalHubTest, SubscriberSeesOnlyLaterMessages) {
  SignalHub hub;
  auto early = hub.subscribe();
  hub.publish("before");
  auto late = hub.subscribe();
  hub.publish("after");
  EXPECT_EQ(recv_ok(early), "before");
  EXPECT_EQ(recv_ok(early), "after");
  EXPECT_EQ(recv_ok(late), "after");
  EXPECT_FALSE(*late.try_recv());
}

TEST(SignalHubTest, PublishReturnsLiveReceiverCount) {
  SignalHub hub;
  EXPECT_EQ(hub.publish("nobody"), 0u);
  auto a = hub.subscribe();
  {
    auto b = hub.subscribe();
    auto c = hub.subscribe();
    EXPECT_EQ(hub.publish("three"), 3u);
    EXPECT_EQ(hub.receiver_count(), 3u);
  }
  EXPECT_EQ(hub.publish("one"), 1u);
  EXPECT_EQ(hub.receiver_count(), 1u);
  EXPECT_EQ(recv_ok(a), "three");  // "nobody" went to no one
  EXPECT_EQ(recv_ok(a), "one");
}

TEST(SignalHubTest, MovedReceiverCountsOnce) {
  SignalHub hub;
  auto a = hub.subscribe();
  SignalReceiver b = std::move(a);
  EXPECT_EQ(hub.publish("m"), 1u);
  EXPECT_EQ(recv_ok(b), "m");
}

TEST(SignalHubTest, DroppedReceiverDoesNotDisturbOthers) {
  SignalHub hub;
  auto keep = hub.subscribe();
  auto drop = std::make_unique<SignalReceiver>(hub.subscribe());
  hub.publish(msg(1));
  hub.publish(msg(2));
  EXPECT_EQ(recv_ok(*drop), msg(1));
  drop.reset();  // leaves msg(2) unread by a receiver that no longer exists
  EXPECT_EQ(recv_ok(keep), msg(1));
  EXPECT_EQ(recv_ok(keep), msg(2));
}

TEST(SignalHubTest, CapacityRoundsUpToAPowerOfTwo) {
  EXPECT_EQ(SignalHub().capacity(), 128u);
  EXPECT_EQ(SignalHub(100).capacity(), 128u);
  EXPECT_EQ(SignalHub(128).capacity(), 128u);
  EXPECT_EQ(SignalHub(129).capacity(), 256u);
  EXPECT_EQ(SignalHub(1).capacity(), 1u);
  EXPECT_EQ(SignalHub(0).capacity(), 1u);
}

TEST(SignalHubTest, CapacityUnreadMessagesNeverLag) {
  SignalHub hub;
  auto rx = hub.subscribe();
  for (int i = 0; i < 128; ++i) hub.publish(msg(i));
  for (int i = 0; i < 128; ++i) ASSERT_EQ(recv_ok(rx), msg(i));
}

TEST(SignalHubTest, OverrunLagsOnceWithMissedCountThenResumesFromOldest) {
  SignalHub hub;
  auto rx = hub.subscribe();
  for (int i = 0; i < 129; ++i) hub.publish(msg(i));
  auto lagged = rx.recv();
  ASSERT_FALSE(lagged.is_ok());
  EXPECT_EQ(lagged.code(), ErrorCode::kLagged);
  EXPECT_EQ(lagged.status().message(), "Channel Lagged: missed 1 messages");
  for (int i = 1; i < 129; ++i) ASSERT_EQ(recv_ok(rx), msg(i));  // no second error
  EXPECT_FALSE(*rx.try_recv());
}

TEST(SignalHubTest, LagReportsExactMissedCountAndCanLagAgain) {
  SignalHub hub;
  auto rx = hub.subscribe();
  for (int i = 0; i < 200; ++i) hub.publish(msg(i));
  auto first = rx.try_recv();
  ASSERT_EQ(first.code(), ErrorCode::kLagged);
  EXPECT_EQ(first.status().message(), "Channel Lagged: missed 72 messages");
  EXPECT_EQ(recv_ok(rx), msg(72));
  EXPECT_EQ(recv_ok(rx), msg(73));
  // 126 left unread; 300 more puts the receiver 426 behind: 298 lost.
  for (int i = 200; i < 500; ++i) hub.publish(msg(i));
  auto second = rx.recv();
  ASSERT_EQ(second.code(), ErrorCode::kLagged);
  EXPECT_EQ(second.status().message(), "Channel Lagged: missed 298 messages");
  for (int i = 372; i < 500; ++i) ASSERT_EQ(recv_ok(rx), msg(i));
}

TEST(SignalHubTest, LagIsPerReceiver) {
  SignalHub hub;
  auto slow = hub.subscribe();
  auto fast = hub.subscribe();
  for (int i = 0; i < 150; ++i) {
    hub.publish(msg(i));
    ASSERT_EQ(recv_ok(fast), msg(i));
  }
  EXPECT_EQ(slow.recv().status().message(), "Channel Lagged: missed 22 messages");
  EXPECT_EQ(recv_ok(slow), msg(22));
}

TEST(SignalHubTest, ClosedChannelDrainsThenReportsClosed) {
  std::optional<SignalReceiver> rx;
  {
    SignalHub hub;
    rx.emplace(hub.subscribe());
    {
      SignalHub copy = hub;
      copy.publish("a");
    }
    hub.publish("b");  // a destroyed copy does not close the channel
  }
  EXPECT_EQ(recv_ok(*rx), "a");
  EXPECT_EQ(recv_ok(*rx), "b");
  for (int i = 0; i < 2; ++i) {  // stays closed
    auto closed = rx->recv();
    ASSERT_FALSE(closed.is_ok());
    EXPECT_EQ(closed.code(), ErrorCode::kClosed);
    EXPECT_EQ(closed.status().message(), "Channel Closed");
  }
  EXPECT_EQ(rx->try_recv().code(), ErrorCode::kClosed);
  EXPECT_EQ(rx->recv_for(milliseconds(1)).code(), ErrorCode::kClosed);
}

TEST(SignalHubTest, AssignedHubKeepsTheChannelOpen) {
  SignalHub other;
  std::optional<SignalReceiver> rx;
  {
    SignalHub hub;
    rx.emplace(hub.subscribe());
    other = hub;  // `other` releases its own channel and joins this one
  }
  other.publish("still open");
  EXPECT_EQ(recv_ok(*rx), "still open");
}

TEST(SignalHubTest, BlockedRecvIsWokenByClose) {
  auto hub = std::make_unique<SignalHub>();
  auto rx = hub->subscribe();
  std::thread closer([&] {
    std::this_thread::sleep_for(milliseconds(20));
    hub.reset();
  });
  auto r = rx.recv();
  closer.join();
  EXPECT_EQ(r.code(), ErrorCode::kClosed);
}

TEST(SignalHubTest, RecvForTimesOutWithNothing) {
  SignalHub hub;
  auto rx = hub.subscribe();
  auto r = rx.recv_for(milliseconds(5));
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(*r);
  hub.publish("later");
  EXPECT_EQ(recv_ok(rx), "later");  // the timed-out wait consumed nothing
}

TEST(SignalHubTest, BlockingRecvIsWokenByPublishFromAnotherThread) {
  SignalHub hub;
  auto rx = hub.subscribe();
  std::atomic<bool> waiting{false};
  std::string got;
  std::thread reader([&] {
    waiting = true;
    auto r = rx.recv();
    if (r.is_ok()) got = *r;
  });
  while (!waiting) std::this_thread::yield();
  std::this_thread::sleep_for(milliseconds(10));  // most likely blocked by now; correct either way
  hub.publish("wake up");
  reader.join();
  EXPECT_EQ(got, "wake up");
}

// Bounds how far publishers may run ahead of the slowest receiver, so no receiver lags.
class Window {
 public:
  Window(size_t limit, size_t receivers) : limit_(limit), received_(receivers, 0) {}
  void acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] {
      return reserved_ - *std::min_element(received_.begin(), received_.end()) < limit_;
    });
    ++reserved_;
  }
  void consumed(size_t receiver) {
    {
      std::lock_guard lock(mu_);
      ++received_[receiver];
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t limit_;
  size_t reserved_ = 0;
  std::vector<size_t> received_;
};

TEST(SignalHubTest, ConcurrentPublishersKeepPerPublisherOrderWithoutLoss) {
  constexpr int kPublishers = 4, kReceivers = 3, kEach = 3000;
  SignalHub hub;
  std::vector<SignalReceiver> rxs;
  for (int r = 0; r < kReceivers; ++r) rxs.push_back(hub.subscribe());
  Window window(hub.capacity(), kReceivers);
  std::vector<std::vector<std::string>> got(kReceivers);
  std::vector<std::thread> threads;
  for (int r = 0; r < kReceivers; ++r) {
    threads.emplace_back([&, r] {
      for (int n = 0; n < kPublishers * kEach; ++n) {
        auto m = rxs[r].recv();
        if (!m.is_ok()) {
          got[r].push_back("error: " + m.status().message());
          return;
        }
        got[r].push_back(std::move(*m));
        window.consumed(r);
      }
    });
  }
  for (int p = 0; p < kPublishers; ++p) {
    threads.emplace_back([&, p] {
      SignalHub mine = hub;  // each publisher on its own handle
      for (int i = 0; i < kEach; ++i) {
        window.acquire();
        mine.publish(std::to_string(p) + ":" + std::to_string(i));
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < kReceivers; ++r) {
    ASSERT_EQ(got[r].size(), size_t{kPublishers * kEach}) << got[r].back();
    std::vector<int> next(kPublishers, 0);
    for (const std::string& m : got[r]) {
      size_t colon = m.find(':');
      ASSERT_NE(colon, std::string::npos) << m;
      int p = std::stoi(m.substr(0, colon));
      ASSERT_EQ(std::stoi(m.substr(colon + 1)), next[p]++)
          << "receiver " << r << " publisher " << p;
    }
    for (int p = 0; p < kPublishers; ++p) EXPECT_EQ(next[p], kEach);
  }
}

TEST(SignalHubTest, ConcurrentRecvOnOneReceiverDeliversEachMessageOnce) {
  constexpr int kThreads = 4, kMessages = 20000;
  SignalHub hub;
  auto rx = hub.subscribe();
  Window window(hub.capacity(), 1);
  std::vector<std::vector<std::string>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        auto m = rx.recv();
        if (!m.is_ok()) {
          got[t].push_back("error: " + m.status().message());
          return;
        }
        if (*m == "stop") return;
        got[t].push_back(std::move(*m));
        window.consumed(0);
      }
    });
  }
  for (int i = 0; i < kMessages; ++i) {
    window.acquire();
    hub.publish(msg(i));
  }
  // The stops go through the window too: published unchecked behind a full ring they would
  // overwrite the oldest unread messages (the receiver then reports Lagged).
  for (int t = 0; t < kThreads; ++t) {
    window.acquire();
    hub.publish("stop");
  }
  for (auto& t : threads) t.join();
  std::multiset<std::string> all;
  for (auto& g : got) all.insert(g.begin(), g.end());
  ASSERT_EQ(all.size(), size_t{kMessages});
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(all.count(msg(i)), 1u) << msg(i);
}

TEST(SignalHubTest, WakeupFdBecomesReadableOnPublishOnlyWhenArmed) {
  SignalHub hub;
  auto rx = hub.subscribe();
  int fd = rx.wakeup_fd();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(rx.wakeup_fd(), fd);  // one descriptor per receiver
  hub.publish("unarmed");
  EXPECT_FALSE(readable(fd));  // nobody waits: publish skips the write
  EXPECT_EQ(**rx.try_recv(), "unarmed");

  auto none = rx.try_recv_or_arm();
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(*none);
  EXPECT_FALSE(readable(fd));
  hub.publish("armed");
  EXPECT_TRUE(readable(fd));
  rx.drain_wakeup();
  EXPECT_FALSE(readable(fd));
  hub.publish("one-shot");  // the first publish disarmed it
  EXPECT_FALSE(readable(fd));
  EXPECT_EQ(**rx.try_recv_or_arm(), "armed");
  EXPECT_EQ(**rx.try_recv_or_arm(), "one-shot");
}

TEST(SignalHubTest, TryRecvOrArmReturnsPendingMessageWithoutArming) {
  SignalHub hub;
  auto rx = hub.subscribe();
  hub.publish("pending");
  EXPECT_EQ(**rx.try_recv_or_arm(), "pending");
  int fd = rx.wakeup_fd();
  hub.publish("next");
  EXPECT_FALSE(readable(fd));
}

TEST(SignalHubTest, DisarmStopsSignalling) {
  SignalHub hub;
  auto rx = hub.subscribe();
  ASSERT_FALSE(*rx.try_recv_or_arm());
  rx.disarm();
  hub.publish("m");
  EXPECT_FALSE(readable(rx.wakeup_fd()));
  EXPECT_EQ(recv_ok(rx), "m");
}

TEST(SignalHubTest, WakeupFdBecomesReadableOnClose) {
  auto hub = std::make_unique<SignalHub>();
  auto rx = hub->subscribe();
  ASSERT_FALSE(*rx.try_recv_or_arm());
  int fd = rx.wakeup_fd();
  EXPECT_FALSE(readable(fd));
  hub.reset();
  EXPECT_TRUE(readable(fd));
  rx.drain_wakeup();
  EXPECT_EQ(rx.try_recv_or_arm().code(), ErrorCode::kClosed);  // never arms a closed channel
}

TEST(SignalHubTest, ArmedReceiverIsWokenByPublishFromAnotherThread) {
  SignalHub hub;
  auto rx = hub.subscribe();
  ASSERT_FALSE(*rx.try_recv_or_arm());
  std::thread publisher([&] { hub.publish("from afar"); });
  pollfd p{rx.wakeup_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  publisher.join();
  rx.drain_wakeup();
  EXPECT_EQ(**rx.try_recv_or_arm(), "from afar");
}

TEST(SignalHubTest, PayloadsRoundTripUnchanged) {
  SignalHub hub;
  auto a = hub.subscribe();
  auto b = hub.subscribe();
  const std::string nul("a\0b\0", 4);
  std::string big(8 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  const std::string utf8 = "\xF0\x9F\x98\x80 \xE2\x82\xAC";
  for (const std::string& m : {nul, big, utf8}) hub.publish(m);
  hub.publish("");
  for (SignalReceiver* rx : {&a, &b}) {  // the first copies, the last takes the string
    EXPECT_EQ(recv_ok(*rx), nul);
    EXPECT_TRUE(recv_ok(*rx) == big);
    EXPECT_EQ(recv_ok(*rx), utf8);
    EXPECT_EQ(recv_ok(*rx), "");
  }
}

}  // namespace
}  // namespace theus

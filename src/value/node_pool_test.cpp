// Tests for NodePool: block sizes and alignment, reuse through thread caches and the shared pool,
// no block handed out twice, blocks freed on other threads, caches returning everything, the
// huge-page advice on chunks, and the process-wide node_alloc / THEUS_NODE_POOL switch.
#include "value/node_pool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "theus/value.hpp"

namespace theus::detail {
namespace {

// A live block: its size and the byte pattern written into all of it.
struct Live {
  size_t bytes;
  unsigned char fill;
};

void fill(void* p, size_t bytes, unsigned char f) { std::memset(p, f, bytes); }
bool intact(const void* p, size_t bytes, unsigned char f) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < bytes; ++i)
    if (b[i] != f) return false;
  return true;
}

TEST(NodePoolTest, ClassesRoundUpToSixteenBytes) {
  EXPECT_EQ(NodePool::class_of(1), 0u);
  EXPECT_EQ(NodePool::class_of(16), 0u);
  EXPECT_EQ(NodePool::class_of(17), 1u);
  EXPECT_EQ(NodePool::class_bytes(NodePool::class_of(1040)), 1040u);
  EXPECT_TRUE(NodePool::pooled(1040));
  EXPECT_FALSE(NodePool::pooled(1041));
  EXPECT_FALSE(NodePool::pooled(0));
  for (size_t c = 0; c < NodePool::kClasses; ++c) {
    EXPECT_GE(NodePool::cache_limit(c), 16u);
    EXPECT_LE(NodePool::cache_limit(c), 128u);
  }
}

TEST(NodePoolTest, BlocksAreAlignedWritableAndDistinct) {
  NodePool pool(true);
  NodePool::Cache cache(pool);
  std::vector<std::pair<void*, size_t>> blocks;
  for (size_t bytes = 1; bytes <= 1200; bytes += 7) {
    void* p = cache.allocate(bytes);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << bytes;
    fill(p, bytes, static_cast<unsigned char>(bytes));
    blocks.emplace_back(p, bytes);
  }
  for (auto [p, bytes] : blocks) EXPECT_TRUE(intact(p, bytes, static_cast<unsigned char>(bytes)));
  for (auto [p, bytes] : blocks) cache.deallocate(p, bytes);
}

TEST(NodePoolTest, FreedBlocksAreReusedByTheSameClass) {
  NodePool pool(true);
  NodePool::Cache cache(pool);
  void* a = cache.allocate(100);
  cache.deallocate(a, 100);
  EXPECT_EQ(cache.allocate(112), a);  // 100 and 112 bytes share the 112-byte class
  void* b = cache.allocate(100);
  EXPECT_NE(b, a);
  cache.deallocate(a, 112);
  cache.deallocate(b, 100);
}

// A random mix of sizes against a model of live blocks: a block is never handed out while it is
// live, and no allocation writes into another live block.
TEST(NodePoolTest, PropertyNoBlockIsHandedOutTwice) {
  NodePool pool(true);
  NodePool::Cache cache(pool);
  std::mt19937_64 rng(42);
  std::unordered_map<void*, Live> live;
  std::vector<void*> order;
  for (int step = 0; step < 200000; ++step) {
    if (order.empty() || rng() % 100 < 55) {
      size_t bytes = 1 + rng() % 1100;
      void* p = cache.allocate(bytes);
      ASSERT_EQ(live.count(p), 0u) << "block handed out twice at step " << step;
      auto f = static_cast<unsigned char>(rng());
      fill(p, bytes, f);
      live[p] = {bytes, f};
      order.push_back(p);
    } else {
      size_t i = rng() % order.size();
      void* p = order[i];
      order[i] = order.back();
      order.pop_back();
      Live l = live[p];
      ASSERT_TRUE(intact(p, l.bytes, l.fill)) << "block overwritten at step " << step;
      live.erase(p);
      cache.deallocate(p, l.bytes);
    }
  }
  for (void* p : order) {
    ASSERT_TRUE(intact(p, live[p].bytes, live[p].fill));
    cache.deallocate(p, live[p].bytes);
  }
}

TEST(NodePoolTest, OverfullCachesHandBlocksBackAndOtherCachesTakeThem) {
  NodePool pool(true);
  const size_t limit = NodePool::cache_limit(NodePool::class_of(64));
  std::vector<void*> blocks;
  {
    NodePool::Cache a(pool);
    for (size_t i = 0; i < 4 * limit; ++i) blocks.push_back(a.allocate(64));
    for (void* p : blocks) a.deallocate(p, 64);
    EXPECT_GT(pool.stats().free_blocks, 0u);  // overflow went back to the pool
  }
  // Cache `a` is gone: every block it held is in the pool now, and a new cache reuses them
  // instead of carving new ones.
  NodePool::Stats after = pool.stats();
  EXPECT_EQ(after.free_blocks, after.carved_blocks);
  NodePool::Cache b(pool);
  std::set<void*> original(blocks.begin(), blocks.end());
  for (size_t i = 0; i < blocks.size(); ++i) {
    void* p = b.allocate(64);
    EXPECT_EQ(original.count(p), 1u);
    b.deallocate(p, 64);
  }
  EXPECT_EQ(pool.stats().carved_blocks, after.carved_blocks);
}

TEST(NodePoolTest, GrowsByChunksAndLargeBlocksBypassThePool) {
  NodePool pool(true);
  NodePool::Cache cache(pool);
  std::vector<void*> blocks;
  size_t total = 0;
  while (total < 5 * NodePool::kChunkBytes) {
    blocks.push_back(cache.allocate(1040));
    total += 1040;
  }
  EXPECT_GE(pool.stats().chunks, 3u);
  size_t chunks = pool.stats().chunks;
  void* big = cache.allocate(64 << 10);  // not pooled
  std::memset(big, 1, 64 << 10);
  cache.deallocate(big, 64 << 10);
  EXPECT_EQ(pool.stats().chunks, chunks);
  for (void* p : blocks) cache.deallocate(p, 1040);
}

// The VmFlags line of the mapping that contains `p` in /proc/self/smaps.
std::string vm_flags_of(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  auto addr = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = addr >= lo && addr < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

bool has_flag(const std::string& vm_flags, const std::string& flag) {
  std::istringstream in(vm_flags);
  std::string word;
  while (in >> word)
    if (word == flag) return true;
  return false;
}

TEST(NodePoolTest, ChunksAreAdvisedForHugePagesAndAligned) {
  NodePool huge(true), plain(false);
  NodePool::Cache hc(huge), pc(plain);
  void* h = hc.allocate(32);
  void* p = pc.allocate(32);
  std::string hflags = vm_flags_of(h), pflags = vm_flags_of(p);
  ASSERT_FALSE(hflags.empty());
  EXPECT_TRUE(has_flag(hflags, "hg")) << hflags;  // MADV_HUGEPAGE
  EXPECT_FALSE(has_flag(pflags, "hg")) << pflags;
  // The first blocks of a fresh pool sit at the start of a 2 MiB-aligned chunk.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(h) % NodePool::kChunkBytes, 0u);
  hc.deallocate(h, 32);
  pc.deallocate(p, 32);
}

// Blocks allocated on one thread and freed on another, with patterns checked on both sides.
TEST(NodePoolTest, ThreadsFreeEachOthersBlocks) {
  NodePool pool(true);
  constexpr int kThreads = 4, kRounds = 20000;
  std::mutex mu;
  std::vector<std::pair<void*, Live>> exchange;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      NodePool::Cache cache(pool);
      std::mt19937_64 rng(static_cast<uint64_t>(t) + 1);
      for (int i = 0; i < kRounds; ++i) {
        size_t bytes = 1 + rng() % 600;
        void* p = cache.allocate(bytes);
        auto f = static_cast<unsigned char>(rng());
        fill(p, bytes, f);
        std::pair<void*, Live> other{nullptr, {0, 0}};
        {
          std::lock_guard lock(mu);
          exchange.emplace_back(p, Live{bytes, f});
          if (exchange.size() > 64) {
            size_t k = rng() % exchange.size();
            other = exchange[k];
            exchange[k] = exchange.back();
            exchange.pop_back();
          }
        }
        if (other.first) {
          if (!intact(other.first, other.second.bytes, other.second.fill)) ++failures[t];
          cache.deallocate(other.first, other.second.bytes);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  NodePool::Cache last(pool);
  for (auto& [p, l] : exchange) {
    EXPECT_TRUE(intact(p, l.bytes, l.fill));
    last.deallocate(p, l.bytes);
  }
}

// ---- the process-wide pool -----------------------------------------------------------------

bool pool_switched_off() {
#if defined(__SANITIZE_ADDRESS__)
  return true;  // AddressSanitizer builds always use operator new
#else
  const char* env = std::getenv("THEUS_NODE_POOL");
  return env && std::string(env) == "0";
#endif
}

TEST(NodePoolTest, ValuesLiveInThePoolUnlessSwitchedOff) {
  // Enough nodes for at least one chunk (a map of 20,000 keys).
  Map m;
  for (int i = 0; i < 20000; ++i) m = m.set(Value(i), Value(i));
  NodePoolStats s = node_pool_stats();
  EXPECT_EQ(s.enabled, !pool_switched_off());
  if (s.enabled) {
    EXPECT_GE(s.reserved_bytes, NodePool::kChunkBytes);
  } else {
    EXPECT_EQ(s.reserved_bytes, 0u);
  }
  EXPECT_EQ(*m.find(Value(19999)), Value(19999));
}

// The switch is read once per process: run this test binary again with THEUS_NODE_POOL=0.
TEST(NodePoolTest, EnvironmentSwitchTurnsThePoolOff) {
  std::string self(4096, '\0');
  ssize_t n = readlink("/proc/self/exe", self.data(), self.size() - 1);
  ASSERT_GT(n, 0);
  self.resize(static_cast<size_t>(n));
  std::string cmd = "THEUS_NODE_POOL=0 '" + self +
                    "' --gtest_filter=NodePoolTest.ValuesLiveInThePoolUnlessSwitchedOff "
                    "> /dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace theus::detail

// NodePool: size-classed node memory in huge-page chunks, with per-thread caches.
#include "value/node_pool.hpp"

#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace theus::detail {

namespace {

void* next_of(void* block) noexcept {
  void* next;
  std::memcpy(&next, block, sizeof next);
  return next;
}
void set_next(void* block, void* next) noexcept { std::memcpy(block, &next, sizeof next); }

// Sized where the compiler has sized deallocation (AddressSanitizer then checks the size).
void delete_unpooled(void* p, [[maybe_unused]] size_t bytes) noexcept {
#if defined(__cpp_sized_deallocation)
  ::operator delete(p, bytes);
#else
  ::operator delete(p);
#endif
}

}  // namespace

uint32_t NodePool::cache_limit(size_t c) noexcept {
  // About 32 KiB per class, at least 16 and at most 128 blocks.
  size_t n = (size_t{32} << 10) / class_bytes(c);
  return static_cast<uint32_t>(std::clamp<size_t>(n, 16, 128));
}

NodePool::NodePool(bool huge_pages) : huge_pages_(huge_pages) {}

NodePool::~NodePool() {
  for (void* chunk : chunks_) munmap(chunk, kChunkBytes);
}

NodePool::Stats NodePool::stats() const {
  std::lock_guard lock(mu_);
  return {chunks_.size(), free_blocks_, carved_blocks_};
}

char* NodePool::map_chunk() {
  // Map twice the size and keep the 2 MiB-aligned middle: a huge page needs the alignment.
  size_t span = 2 * kChunkBytes;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto base = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (base + kChunkBytes - 1) & ~(uintptr_t{kChunkBytes} - 1);
  if (aligned > base) munmap(raw, aligned - base);
  uintptr_t end = base + span, chunk_end = aligned + kChunkBytes;
  if (end > chunk_end) munmap(reinterpret_cast<void*>(chunk_end), end - chunk_end);
  auto* chunk = reinterpret_cast<char*>(aligned);
  // Advice only: without THP support the chunk is simply backed by ordinary pages.
  if (huge_pages_) madvise(chunk, kChunkBytes, MADV_HUGEPAGE);
  chunks_.push_back(chunk);
  return chunk;
}

NodePool::Chain NodePool::take(size_t c) {
  std::lock_guard lock(mu_);
  if (!free_[c].empty()) {
    Chain chain = free_[c].back();
    free_[c].pop_back();
    free_blocks_ -= chain.count;
    return chain;
  }
  // Carve a batch (half a cache) from the newest chunk; a rest too small for one block is left.
  const size_t size = class_bytes(c);
  if (static_cast<size_t>(bump_end_ - bump_) < size) {
    chunks_.reserve(chunks_.size() + 1);  // may throw before anything changes
    bump_ = map_chunk();
    bump_end_ = bump_ + kChunkBytes;
  }
  size_t n = std::min<size_t>(cache_limit(c) / 2, static_cast<size_t>(bump_end_ - bump_) / size);
  Chain chain{bump_, static_cast<uint32_t>(n)};
  for (size_t i = 0; i < n; ++i)
    set_next(bump_ + i * size, i + 1 < n ? bump_ + (i + 1) * size : nullptr);
  bump_ += n * size;
  carved_blocks_ += n;
  return chain;
}

void NodePool::give(size_t c, Chain chain) noexcept {
  std::lock_guard lock(mu_);
  try {
    free_[c].push_back(chain);
    free_blocks_ += chain.count;
  } catch (...) {
    // Out of memory for the bookkeeping: the blocks are lost to reuse (their chunk stays mapped).
  }
}

void* NodePool::allocate_one(size_t bytes) {
  if (!pooled(bytes)) return ::operator new(bytes);
  size_t c = class_of(bytes);
  Chain chain = take(c);
  void* p = chain.head;
  if (chain.count > 1) give(c, Chain{next_of(p), chain.count - 1});
  return p;
}

void NodePool::deallocate_one(void* p, size_t bytes) noexcept {
  if (!pooled(bytes)) {
    delete_unpooled(p, bytes);
    return;
  }
  set_next(p, nullptr);
  give(class_of(bytes), Chain{p, 1});
}

NodePool::Cache::~Cache() {
  for (size_t c = 0; c < kClasses; ++c)
    if (lists_[c].count) flush(c, lists_[c].count);
}

void* NodePool::Cache::allocate(size_t bytes) {
  if (!pooled(bytes)) return ::operator new(bytes);
  size_t c = class_of(bytes);
  List& l = lists_[c];
  if (!l.head) refill(c);
  void* p = l.head;
  l.head = next_of(p);
  --l.count;
  return p;
}

void NodePool::Cache::deallocate(void* p, size_t bytes) noexcept {
  if (!pooled(bytes)) {
    delete_unpooled(p, bytes);
    return;
  }
  size_t c = class_of(bytes);
  List& l = lists_[c];
  set_next(p, l.head);
  l.head = p;
  if (++l.count > cache_limit(c)) flush(c, l.count / 2);
}

void NodePool::Cache::refill(size_t c) {
  Chain chain = pool_->take(c);
  lists_[c].head = chain.head;
  lists_[c].count = chain.count;
}

void NodePool::Cache::flush(size_t c, uint32_t n) noexcept {
  List& l = lists_[c];
  void* head = l.head;
  void* last = head;
  for (uint32_t i = 1; i < n; ++i) last = next_of(last);
  l.head = next_of(last);
  l.count -= n;
  set_next(last, nullptr);
  pool_->give(c, Chain{head, n});
}

// ---- the process-wide pool ---------------------------------------------------------------------

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizedBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitizedBuild = true;
#else
constexpr bool kSanitizedBuild = false;
#endif
#else
constexpr bool kSanitizedBuild = false;
#endif

bool pool_enabled() {
  static const bool enabled = [] {
    if (kSanitizedBuild) return false;
    const char* env = std::getenv("THEUS_NODE_POOL");
    return !(env && std::strcmp(env, "0") == 0);
  }();
  return enabled;
}

// Never destroyed: nodes may be freed by static destructors and thread exits after main.
NodePool& global_pool() {
  static NodePool* pool = [] {
    auto* p = new NodePool(/*huge_pages=*/true);
    pthread_atfork([] { global_pool().lock_for_fork(); }, [] { global_pool().unlock_after_fork(); },
                   [] { global_pool().unlock_after_fork(); });
    return p;
  }();
  return *pool;
}

// The calling thread's cache. Plain thread_local pointers (no destructor of their own, so they
// stay usable while other thread_local objects are destroyed); a guard object frees the cache at
// thread exit, after which the thread's remaining node traffic goes to the pool directly.
thread_local NodePool::Cache* tls_cache = nullptr;
thread_local bool tls_exited = false;

struct CacheGuard {
  ~CacheGuard() {
    delete tls_cache;  // hands the cached blocks back
    tls_cache = nullptr;
    tls_exited = true;
  }
};

NodePool::Cache* thread_cache() {
  if (tls_cache) return tls_cache;
  if (tls_exited) return nullptr;
  thread_local CacheGuard guard;
  tls_cache = new NodePool::Cache(global_pool());
  return tls_cache;
}

}  // namespace

void* node_alloc(size_t bytes) {
  if (!pool_enabled()) return ::operator new(bytes);
  if (NodePool::Cache* cache = thread_cache()) return cache->allocate(bytes);
  return global_pool().allocate_one(bytes);
}

void node_free(void* p, size_t bytes) noexcept {
  if (!pool_enabled()) {
    delete_unpooled(p, bytes);
    return;
  }
  if (NodePool::Cache* cache = thread_cache()) {
    cache->deallocate(p, bytes);
  } else {
    global_pool().deallocate_one(p, bytes);
  }
}

NodePoolStats node_pool_stats() {
  if (!pool_enabled()) return {};
  NodePool::Stats s = global_pool().stats();
  return {true, s.chunks * NodePool::kChunkBytes, s.free_blocks};
}

}  // namespace theus::detail

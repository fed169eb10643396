// NodePool: the memory of the value tree's nodes (persistent vector and index nodes, map and list
// roots, strings). Large states are walked at random (a lookup at 10^6 keys touches a handful of
// nodes spread over tens of megabytes), so with 4 KiB pages nearly every node visited costs a TLB
// miss on top of the cache miss. The pool carves nodes out of 2 MiB chunks that it asks the kernel
// to back with transparent huge pages (madvise MADV_HUGEPAGE), which removes most of those misses
// (a 1-key commit into 10^6 keys: a quarter to a third faster), and keeps nodes of one size
// together.
//
// * Size classes of 16 bytes up to kMaxBytes; larger requests go to ::operator new.
// * Each thread allocates from and frees into its own cache (no lock, no atomic); a cache hands
//   batches back to the shared pool when it holds too many blocks of a class, and takes batches
//   (or carves fresh blocks) when it runs dry. A block may be freed on another thread than the one
//   that allocated it.
// * Freed blocks are reused for nodes, not returned to the operating system: the pool keeps the
//   peak of the state's node memory (reported by node_pool_stats()).
// * THEUS_NODE_POOL=0 in the environment (read once, at the first node allocation) makes nodes
//   come from ::operator new instead; builds with AddressSanitizer do so always, so that the
//   sanitizer sees every node (and checks the sizes given to node_free).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace theus::detail {

class NodePool {
 public:
  static constexpr size_t kGranule = 16;  // class sizes are multiples of this; blocks are aligned
  static constexpr size_t kMaxBytes = 1040;  // largest pooled block (a full leaf of map entries)
  static constexpr size_t kClasses = kMaxBytes / kGranule;
  static constexpr size_t kChunkBytes = size_t{2} << 20;  // one huge page

  static bool pooled(size_t bytes) noexcept { return bytes - 1 < kMaxBytes; }
  static size_t class_of(size_t bytes) noexcept { return (bytes - 1) / kGranule; }
  static size_t class_bytes(size_t c) noexcept { return (c + 1) * kGranule; }
  // Blocks of class c a thread cache keeps before it hands half of them back.
  static uint32_t cache_limit(size_t c) noexcept;

  explicit NodePool(bool huge_pages);
  ~NodePool();  // unmaps every chunk: no block may be in use
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;

  struct Stats {
    size_t chunks = 0;         // 2 MiB chunks mapped
    size_t free_blocks = 0;    // blocks handed back to the pool and not taken again
    size_t carved_blocks = 0;  // blocks ever carved out of chunks
  };
  Stats stats() const;

  // A thread's cache of free blocks. Not thread-safe: one per thread (or per test).
  class Cache {
   public:
    explicit Cache(NodePool& pool) noexcept : pool_(&pool) {}
    ~Cache();  // hands every cached block back to the pool
    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;

    void* allocate(size_t bytes);
    // `bytes` must be the size given to allocate.
    void deallocate(void* p, size_t bytes) noexcept;

   private:
    struct List {
      void* head = nullptr;
      uint32_t count = 0;
    };
    void refill(size_t c);
    void flush(size_t c, uint32_t n) noexcept;  // hands the first n blocks of class c back
    NodePool* pool_;
    List lists_[kClasses];
  };

  // Without a cache (a thread past its exit): one block at a time, under the pool's lock.
  void* allocate_one(size_t bytes);
  void deallocate_one(void* p, size_t bytes) noexcept;

  // Locks the pool across fork() (the child then finds it unlocked and consistent).
  void lock_for_fork() { mu_.lock(); }
  void unlock_after_fork() { mu_.unlock(); }

 private:
  struct Chain {
    void* head = nullptr;  // blocks linked through their first word
    uint32_t count = 0;
  };
  Chain take(size_t c);  // a batch of class c: freed blocks, or fresh ones
  void give(size_t c, Chain chain) noexcept;
  char* map_chunk();

  const bool huge_pages_;
  mutable std::mutex mu_;
  std::vector<Chain> free_[kClasses];
  std::vector<void*> chunks_;
  char* bump_ = nullptr;  // the unused rest of the newest chunk
  char* bump_end_ = nullptr;
  size_t free_blocks_ = 0;
  size_t carved_blocks_ = 0;
};

// Memory for one node of `bytes` bytes (16-byte aligned), from the calling thread's cache of the
// process-wide pool (or ::operator new when the pool is off).
void* node_alloc(size_t bytes);
// Frees a node; `bytes` must be the size it was allocated with.
void node_free(void* p, size_t bytes) noexcept;

struct NodePoolStats {
  bool enabled = false;       // false: THEUS_NODE_POOL=0 or an AddressSanitizer build
  size_t reserved_bytes = 0;  // chunk memory mapped by the pool
  size_t free_blocks = 0;     // blocks in the shared pool (thread caches not counted)
};
NodePoolStats node_pool_stats();

}  // namespace theus::detail

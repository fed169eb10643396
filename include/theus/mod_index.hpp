// ModIndex: the per-path modification index of a snapshot. A persistent trie over path segments;
// each node knows the version of the last write *at* it and the last write *at or below* it, so
// "was any path equal to, above or below P written after version b?" costs O(depth * log32 n).
// Writing a path collapses the subtree below it (older descendant writes can no longer decide a
// conflict); erased keys are folded into their parent once they pile up, which keeps the index
// bounded by the size of the state (a fold makes later checks conservative, never unsafe).
// Thread-safety: immutable value type (copy = share).
#pragma once

#include <cstdint>
#include <vector>

#include "theus/path.hpp"

namespace theus {

namespace detail {
struct ModNode;
}

// One written path of a commit; `erased` marks deletes (used for pruning only).
struct WriteRecord {
  Path path;
  bool erased = false;
};

class ModIndex {
 public:
  ModIndex() noexcept = default;
  ModIndex(const ModIndex& other) noexcept;
  ModIndex(ModIndex&& other) noexcept;
  ModIndex& operator=(ModIndex other) noexcept;
  ~ModIndex();

  // Version of the newest write to a path equal to, an ancestor of, or a descendant of `path`
  // (0 when none). Conservative (never smaller than the truth) where erased keys were folded.
  uint64_t last_overlapping_write(const Path& path) const;
  bool conflicts(const Path& path, uint64_t base_version) const {
    return last_overlapping_write(path) > base_version;
  }

  // New index with `writes` recorded at `version`.
  [[nodiscard]] ModIndex record(const std::vector<WriteRecord>& writes, uint64_t version) const;

  // Number of trie nodes (diagnostics and tests of the pruning bound).
  size_t node_count() const;

 private:
  detail::ModNode* root_ = nullptr;
};

}  // namespace theus

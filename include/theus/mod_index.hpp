// ModIndex: the per-path modification index behind conflict detection. A trie over path segments;
// each node knows the version of the last write *at* it and the last write *at or below* it, so
// "was any path equal to, above or below P written after version b?" costs O(depth).
// Writing a path collapses the subtree below it (older descendant writes can no longer decide a
// conflict); erased keys are folded into their parent once they pile up, which keeps the index
// bounded by the size of the state (a fold makes later checks conservative, never unsafe).
// The engine owns one index, updated in place under its commit lock (conflicts are always checked
// against the head, so older versions of the index are never needed).
// Thread-safety: not synchronised; the owner serialises access. Copies are deep.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "theus/path.hpp"

namespace theus {

namespace detail {
struct ModNode;
}

// One written path of a commit; `erased` marks deletes (used for pruning). `appended` marks list
// appends, which lets mirrors of the state (user objects) extend a list instead of copying it.
struct WriteRecord {
  Path path;
  bool erased = false;
  bool appended = false;
};

class ModIndex {
 public:
  ModIndex() noexcept;
  ModIndex(const ModIndex& other);  // deep copy, O(size)
  ModIndex(ModIndex&& other) noexcept;
  ModIndex& operator=(const ModIndex& other);
  ModIndex& operator=(ModIndex&& other) noexcept;
  ~ModIndex();

  // Version of the newest write to a path equal to, an ancestor of, or a descendant of `path`
  // (0 when none). Conservative (never smaller than the truth) where erased keys were folded.
  uint64_t last_overlapping_write(const Path& path) const;
  bool conflicts(const Path& path, uint64_t base_version) const {
    return last_overlapping_write(path) > base_version;
  }

  // Records `writes` at `version`, in place. O(depth) per write (plus the subtrees a write
  // collapses). Returns *this so records can be chained.
  ModIndex& record(const std::vector<WriteRecord>& writes, uint64_t version);

  // Number of trie nodes (diagnostics and tests of the pruning bound).
  size_t node_count() const;

 private:
  std::unique_ptr<detail::ModNode> root_;
};

}  // namespace theus

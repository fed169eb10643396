// ModIndex implementation: a trie of version stamps keyed by segment text, updated in place.
#include "theus/mod_index.hpp"

#include <algorithm>
#include <unordered_map>

namespace theus {
namespace detail {

struct ModNode {
  uint64_t self = 0;     // last write of exactly this path
  uint64_t subtree = 0;  // last write of this path or any descendant
  uint64_t pruned = 0;   // newest subtree version of folded (removed) erased children
  bool erased = false;   // the last write here was a delete
  uint32_t erased_children = 0;
  std::unordered_map<Value, std::unique_ptr<ModNode>> children;

  std::unique_ptr<ModNode> clone() const {
    auto n = std::make_unique<ModNode>();
    n->self = self;
    n->subtree = subtree;
    n->pruned = pruned;
    n->erased = erased;
    n->erased_children = erased_children;
    n->children.reserve(children.size());
    for (const auto& [k, c] : children) n->children.emplace(k, c->clone());
    return n;
  }
};

}  // namespace detail

using detail::ModNode;

namespace {

// Erased children kept per node before they are folded into the node's `pruned` stamp. A fold
// scans every child, so it also waits until erased children are a quarter of all children: the
// scan is then paid for by as many erases (amortised O(1)), and erased nodes stay below
// max(64, live children / 3), still bounded by the size of the state.
constexpr uint32_t kFoldErasedChildren = 64;
constexpr uint32_t kFoldErasedShare = 4;  // fold when erased * 4 > all children

// Index key of a segment: its text, so list index 0 and key "0" address the same node.
Value key_of(const Value& segment) {
  if (segment.is_string()) return segment;
  return Value(segment_text(segment));
}

void fold_erased(ModNode* n) {
  for (auto it = n->children.begin(); it != n->children.end();) {
    if (it->second->erased) {
      n->pruned = std::max(n->pruned, it->second->subtree);
      it = n->children.erase(it);
    } else {
      ++it;
    }
  }
  n->erased_children = 0;
}

void record_one(ModNode* root, const Path& p, uint64_t v, bool erased) {
  ModNode* n = root;
  ModNode* parent = nullptr;
  for (size_t i = 0; i < p.size(); ++i) {
    n->subtree = v;
    auto [it, inserted] = n->children.try_emplace(key_of(p[i]));
    if (inserted) {
      it->second = std::make_unique<ModNode>();
      // A node re-created where folded erased children may have lived inherits the fold's stamp,
      // or that history would be lost for the paths below it.
      it->second->self = n->pruned;
    }
    ModNode* child = it->second.get();
    if (child->erased && i + 1 < p.size()) {  // written below again: no longer an erased key
      child->erased = false;
      --n->erased_children;
    }
    parent = n;
    n = child;
  }
  // The written node: its own stamp, and its subtree collapses (older descendant writes can no
  // longer decide a conflict: the ancestor stamp covers them).
  bool was_erased = n->erased;
  n->self = v;
  n->subtree = v;
  n->erased = erased;
  n->pruned = 0;
  n->children.clear();
  n->erased_children = 0;
  if (parent && was_erased != erased) {
    if (erased) {
      ++parent->erased_children;
    } else {
      --parent->erased_children;
    }
    if (parent->erased_children > kFoldErasedChildren &&
        parent->erased_children * size_t{kFoldErasedShare} > parent->children.size())
      fold_erased(parent);
  }
}

size_t count_nodes(const ModNode* n) {
  if (!n) return 0;
  size_t c = 1;
  for (const auto& [k, child] : n->children) c += count_nodes(child.get());
  return c;
}

}  // namespace

ModIndex::ModIndex() noexcept = default;
ModIndex::ModIndex(const ModIndex& other) : root_(other.root_ ? other.root_->clone() : nullptr) {}
ModIndex::ModIndex(ModIndex&& other) noexcept = default;
ModIndex& ModIndex::operator=(const ModIndex& other) {
  if (this != &other) root_ = other.root_ ? other.root_->clone() : nullptr;
  return *this;
}
ModIndex& ModIndex::operator=(ModIndex&& other) noexcept = default;
ModIndex::~ModIndex() = default;

uint64_t ModIndex::last_overlapping_write(const Path& path) const {
  const ModNode* n = root_.get();
  uint64_t best = 0;
  for (size_t i = 0; n; ++i) {
    if (i == path.size()) return std::max(best, n->subtree);
    best = std::max(best, n->self);  // a write to an ancestor (or the root)
    auto it = path[i].is_string() ? n->children.find(path[i]) : n->children.find(key_of(path[i]));
    if (it == n->children.end()) return std::max(best, n->pruned);
    n = it->second.get();
  }
  return best;
}

ModIndex& ModIndex::record(const std::vector<WriteRecord>& writes, uint64_t version) {
  if (writes.empty()) return *this;
  if (!root_) root_ = std::make_unique<ModNode>();
  for (const WriteRecord& w : writes) record_one(root_.get(), w.path, version, w.erased);
  return *this;
}

size_t ModIndex::node_count() const { return count_nodes(root_.get()); }

}  // namespace theus

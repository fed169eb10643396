// ModIndex implementation: a persistent trie of version stamps keyed by segment text.
#include "theus/mod_index.hpp"

#include <algorithm>

#include "value/champ.hpp"
#include "value/nodes.hpp"

namespace theus {
namespace detail {

struct ModNode : RcBase {
  uint64_t self = 0;     // last write of exactly this path
  uint64_t subtree = 0;  // last write of this path or any descendant
  uint64_t pruned = 0;   // newest subtree version of folded (removed) erased children
  bool erased = false;   // the last write here was a delete
  uint32_t erased_children = 0;
  Champ<Value, Rc<ModNode>, ValueKeyOps> children;

  static void destroy(ModNode* n) noexcept { delete n; }
};

}  // namespace detail

using detail::ModNode;
using detail::Rc;

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

// `n` is the node for p[0..i) (nullptr when absent). `folded` is the parent's `pruned` stamp: a
// node created where a folded erased child may have lived inherits it as its own write stamp, or
// the fold's history would be lost for paths below the re-created key.
Rc<ModNode> record_one(const ModNode* n, uint64_t folded, const Path& p, size_t i, uint64_t v,
                       bool erased) {
  if (i == p.size()) {
    auto* leaf = new ModNode();
    leaf->self = v;
    leaf->subtree = v;
    leaf->erased = erased;
    return Rc<ModNode>::adopt(leaf);
  }
  auto* copy = new ModNode();
  if (n) {
    copy->self = n->self;
    copy->pruned = n->pruned;
    copy->erased_children = n->erased_children;
    copy->children = n->children;
  } else {
    copy->self = folded;
  }
  copy->subtree = v;
  Value key = key_of(p[i]);
  const Rc<ModNode>* old_child = n ? n->children.find(key) : nullptr;
  bool old_erased = old_child && (*old_child)->erased;
  Rc<ModNode> child =
      record_one(old_child ? old_child->get() : nullptr, copy->pruned, p, i + 1, v, erased);
  if (old_erased) --copy->erased_children;
  if (child->erased) ++copy->erased_children;
  copy->children = copy->children.assoc(key, std::move(child));
  if (copy->erased_children > kFoldErasedChildren &&
      copy->erased_children * size_t{kFoldErasedShare} > copy->children.size()) {
    std::vector<Value> drop;
    copy->children.for_each([&](const Value& k, const Rc<ModNode>& c) {
      if (c->erased) {
        copy->pruned = std::max(copy->pruned, c->subtree);
        drop.push_back(k);
      }
    });
    for (const Value& k : drop) copy->children = copy->children.dissoc(k);
    copy->erased_children = 0;
  }
  return Rc<ModNode>::adopt(copy);
}

size_t count_nodes(const ModNode* n) {
  if (!n) return 0;
  size_t c = 1;
  n->children.for_each([&](const Value&, const Rc<ModNode>& child) { c += count_nodes(child.get()); });
  return c;
}

}  // namespace

ModIndex::ModIndex(const ModIndex& other) noexcept : root_(other.root_) {
  if (root_) root_->retain();
}
ModIndex::ModIndex(ModIndex&& other) noexcept : root_(std::exchange(other.root_, nullptr)) {}
ModIndex& ModIndex::operator=(ModIndex other) noexcept {
  std::swap(root_, other.root_);
  return *this;
}
ModIndex::~ModIndex() {
  if (root_ && root_->release()) ModNode::destroy(root_);
}

uint64_t ModIndex::last_overlapping_write(const Path& path) const {
  const ModNode* n = root_;
  uint64_t best = 0;
  for (size_t i = 0; n; ++i) {
    if (i == path.size()) return std::max(best, n->subtree);
    best = std::max(best, n->self);  // a write to an ancestor (or the root)
    const Rc<ModNode>* child = n->children.find(key_of(path[i]));
    if (!child) return std::max(best, n->pruned);
    n = child->get();
  }
  return best;
}

ModIndex ModIndex::record(const std::vector<WriteRecord>& writes, uint64_t version) const {
  ModIndex out(*this);
  for (const WriteRecord& w : writes) {
    Rc<ModNode> root = record_one(out.root_, 0, w.path, 0, version, w.erased);
    ModIndex next;
    next.root_ = root.release_ownership();
    out = std::move(next);
  }
  return out;
}

size_t ModIndex::node_count() const { return count_nodes(root_); }

}  // namespace theus

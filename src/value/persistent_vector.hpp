// PVec<T>: a persistent vector (32-way radix trie with a tail, after Clojure's PersistentVector).
// get/set/push_back/pop_back are O(log32 n) and copy only the path they touch; insert/erase in the
// middle rebuild the vector (O(n)), as Python's list does. Nodes are immutable once shared, so any
// number of threads may read the same PVec; a PVec object itself is a value (copy = share).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "value/rc.hpp"

namespace theus::detail {

template <class T>
class PVec {
  static constexpr uint32_t kBits = 5;
  static constexpr uint32_t kWidth = 1u << kBits;
  static constexpr uint32_t kMask = kWidth - 1;

  // One node: a leaf holds up to 32 T, an inner node up to 32 child pointers. The kind is known
  // from the level at which the node sits, so the node carries no tag.
  struct alignas(16) Node : RcBase {
    uint32_t n = 0;    // used slots
    bool leaf = true;  // needed by destroy(), which does not know the level
    uint8_t cap = 0;   // slots allocated (the node's size, for node_free)

    T* items() noexcept { return std::launder(reinterpret_cast<T*>(this + 1)); }
    const T* items() const noexcept { return std::launder(reinterpret_cast<const T*>(this + 1)); }
    Node** kids() noexcept { return reinterpret_cast<Node**>(this + 1); }
    Node* const* kids() const noexcept { return reinterpret_cast<Node* const*>(this + 1); }

    static size_t bytes(bool leaf, uint32_t cap) noexcept {
      return sizeof(Node) + cap * (leaf ? sizeof(T) : sizeof(Node*));
    }
    static Node* alloc(bool leaf, uint32_t cap) {
      assert(cap <= kWidth);
      Node* nd = new (node_alloc(bytes(leaf, cap))) Node();
      nd->leaf = leaf;
      nd->cap = static_cast<uint8_t>(cap);
      return nd;
    }
    static Node* alloc_leaf(uint32_t cap) { return alloc(true, cap); }
    static Node* alloc_inner(uint32_t cap) { return alloc(false, cap); }
    static void destroy(Node* nd) noexcept {
      if (nd->leaf) {
        for (uint32_t i = 0; i < nd->n; ++i) nd->items()[i].~T();
      } else {
        for (uint32_t i = 0; i < nd->n; ++i) unref(nd->kids()[i]);
      }
      size_t size = bytes(nd->leaf, nd->cap);
      nd->~Node();
      node_free(nd, size);
    }
  };
  static_assert(sizeof(Node) % alignof(T) == 0, "node header must keep payload aligned");

  static void unref(Node* nd) noexcept {
    if (nd && nd->release()) Node::destroy(nd);
  }
  static Node* ref(Node* nd) noexcept {
    if (nd) nd->retain();
    return nd;
  }

 public:
  PVec() noexcept = default;
  PVec(const PVec& o) noexcept
      : size_(o.size_), shift_(o.shift_), root_(ref(o.root_)), tail_(ref(o.tail_)) {}
  PVec(PVec&& o) noexcept
      : size_(std::exchange(o.size_, 0)),
        shift_(std::exchange(o.shift_, kBits)),
        root_(std::exchange(o.root_, nullptr)),
        tail_(std::exchange(o.tail_, nullptr)) {}
  PVec& operator=(PVec o) noexcept {
    swap(o);
    return *this;
  }
  ~PVec() {
    unref(root_);
    unref(tail_);
  }
  void swap(PVec& o) noexcept {
    std::swap(size_, o.size_);
    std::swap(shift_, o.shift_);
    std::swap(root_, o.root_);
    std::swap(tail_, o.tail_);
  }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // True when both vectors share all their nodes (a cheap identity test, not equality).
  bool same_nodes(const PVec& o) const noexcept {
    return size_ == o.size_ && root_ == o.root_ && tail_ == o.tail_;
  }

  const T& operator[](size_t i) const noexcept {
    assert(i < size_);
    const Node* leaf = leaf_for(i);
    return leaf->items()[i & kMask];
  }

  struct Chunk {
    const T* items;  // the leaf holding index i
    size_t n;        // items in that leaf
    size_t base;     // index of items[0]
  };
  Chunk chunk_for(size_t i) const noexcept {
    const Node* leaf = leaf_for(i);
    return {leaf->items(), leaf->n, i & ~static_cast<size_t>(kMask)};
  }

  [[nodiscard]] PVec push_back(T value) const {
    PVec out(*this);
    uint32_t tail_len = size_ - tail_offset();
    if (tail_len < kWidth) {
      Node* nt = copy_leaf(tail_, tail_len, tail_len + 1);
      new (nt->items() + tail_len) T(std::move(value));
      nt->n = tail_len + 1;
      out.replace_tail(nt);
      ++out.size_;
      return out;
    }
    // Tail full: push it into the trie, start a new tail.
    Node* full_tail = ref(tail_);
    if ((size_ >> kBits) > (1u << shift_)) {  // root overflow: grow one level
      Node* nr = Node::alloc_inner(2);
      nr->kids()[0] = ref(root_);
      nr->kids()[1] = new_path(shift_, full_tail);
      nr->n = 2;
      out.replace_root(nr);
      out.shift_ = shift_ + kBits;
    } else {
      out.replace_root(push_tail(shift_, root_, full_tail));
    }
    Node* nt = Node::alloc_leaf(1);
    new (nt->items()) T(std::move(value));
    nt->n = 1;
    out.replace_tail(nt);
    ++out.size_;
    return out;
  }

  [[nodiscard]] PVec set(size_t i, T value) const {
    assert(i < size_);
    PVec out(*this);
    size_t toff = tail_offset();
    if (i >= toff) {
      Node* nt = copy_leaf(tail_, tail_->n, tail_->n);
      nt->items()[i - toff] = std::move(value);
      out.replace_tail(nt);
    } else {
      out.replace_root(assoc(shift_, root_, i, std::move(value)));
    }
    return out;
  }

  // Copy-on-write access for the sole owner of this PVec object: the slot of item i, after making
  // every node on its path private (a shared node is copied, which shares its children; a node
  // with a single reference is reused in place). A node is private only if all its ancestors
  // are: copying a shared ancestor raises its children's counts, so the walk is top-down.
  T* mutable_at(size_t i) {
    assert(i < size_);
    size_t toff = tail_offset();
    if (i >= toff) {
      if (!tail_->unique()) replace_tail(copy_leaf(tail_, tail_->n, tail_->n));
      return tail_->items() + (i - toff);
    }
    if (!root_->unique()) replace_root(copy_inner(root_, root_->n));
    Node* nd = root_;
    for (uint32_t level = shift_; level > 0; level -= kBits) {
      Node*& child = nd->kids()[(i >> level) & kMask];
      if (!child->unique()) {
        Node* copy =
            level == kBits ? copy_leaf(child, child->n, child->n) : copy_inner(child, child->n);
        unref(child);
        child = copy;
      }
      nd = child;
    }
    return nd->items() + (i & kMask);
  }

  [[nodiscard]] PVec pop_back() const {
    assert(size_ > 0);
    if (size_ == 1) return PVec();
    PVec out(*this);
    size_t toff = tail_offset();
    if (size_ - toff > 1) {
      Node* nt = copy_leaf(tail_, tail_->n - 1, tail_->n - 1);
      out.replace_tail(nt);
      --out.size_;
      return out;
    }
    // The tail becomes empty: the last leaf of the trie becomes the new tail.
    Node* new_tail = ref(const_cast<Node*>(leaf_for(size_ - 2)));
    Node* new_root = pop_tail(shift_, root_);
    uint32_t new_shift = shift_;
    if (new_root && new_shift > kBits && new_root->n == 1) {
      Node* only = ref(new_root->kids()[0]);
      unref(new_root);
      new_root = only;
      new_shift -= kBits;
    }
    out.replace_root(new_root);
    out.replace_tail(new_tail);
    out.shift_ = new_shift;
    --out.size_;
    return out;
  }

  // Builds a vector from items in O(n).
  static PVec build(std::vector<T>&& items) {
    PVec out;
    size_t n = items.size();
    if (n == 0) return out;
    size_t toff = n < kWidth ? 0 : ((n - 1) >> kBits) << kBits;
    // Tail.
    Node* tail = Node::alloc_leaf(static_cast<uint32_t>(n - toff));
    for (size_t i = toff; i < n; ++i) new (tail->items() + (i - toff)) T(std::move(items[i]));
    tail->n = static_cast<uint32_t>(n - toff);
    out.tail_ = tail;
    out.size_ = static_cast<uint32_t>(n);
    if (toff == 0) return out;
    // Full leaves, then inner levels bottom-up.
    std::vector<Node*> level;
    for (size_t base = 0; base < toff; base += kWidth) {
      Node* leaf = Node::alloc_leaf(kWidth);
      for (uint32_t j = 0; j < kWidth; ++j) new (leaf->items() + j) T(std::move(items[base + j]));
      leaf->n = kWidth;
      level.push_back(leaf);
    }
    uint32_t shift = kBits;
    for (;;) {
      std::vector<Node*> parents;
      for (size_t b = 0; b < level.size(); b += kWidth) {
        uint32_t cnt = static_cast<uint32_t>(std::min<size_t>(kWidth, level.size() - b));
        Node* inner = Node::alloc_inner(cnt);
        for (uint32_t j = 0; j < cnt; ++j) inner->kids()[j] = level[b + j];
        inner->n = cnt;
        parents.push_back(inner);
      }
      if (parents.size() == 1) {
        out.root_ = parents[0];
        out.shift_ = shift;
        return out;
      }
      level = std::move(parents);
      shift += kBits;
    }
  }

  std::vector<T> to_vector() const {
    std::vector<T> v;
    v.reserve(size_);
    for_each([&](const T& x) { v.push_back(x); });
    return v;
  }

  template <class F>
  void for_each(F&& f) const {
    size_t i = 0;
    while (i < size_) {
      Chunk c = chunk_for(i);
      for (size_t j = 0; j < c.n; ++j) f(c.items[j]);
      i += c.n;
    }
  }

 private:
  size_t tail_offset() const noexcept {
    return size_ < kWidth ? 0 : ((static_cast<size_t>(size_) - 1) >> kBits) << kBits;
  }

  const Node* leaf_for(size_t i) const noexcept {
    if (i >= tail_offset()) return tail_;
    const Node* nd = root_;
    for (uint32_t level = shift_; level > 0; level -= kBits) nd = nd->kids()[(i >> level) & kMask];
    return nd;
  }

  void replace_root(Node* nr) noexcept {
    unref(root_);
    root_ = nr;
  }
  void replace_tail(Node* nt) noexcept {
    unref(tail_);
    tail_ = nt;
  }

  // Copy of the first `count` items of `src` into a new leaf of capacity `cap`.
  static Node* copy_leaf(const Node* src, uint32_t count, uint32_t cap) {
    Node* nd = Node::alloc_leaf(cap);
    for (uint32_t i = 0; i < count; ++i) new (nd->items() + i) T(src->items()[i]);
    nd->n = count;
    return nd;
  }
  // Copy of an inner node with room for `cap` children (children are shared).
  static Node* copy_inner(const Node* src, uint32_t cap) {
    Node* nd = Node::alloc_inner(cap);
    uint32_t cnt = src ? src->n : 0;
    for (uint32_t i = 0; i < cnt; ++i) nd->kids()[i] = ref(src->kids()[i]);
    nd->n = cnt;
    return nd;
  }

  static Node* new_path(uint32_t level, Node* leaf) {
    if (level == 0) return leaf;
    Node* nd = Node::alloc_inner(1);
    nd->kids()[0] = new_path(level - kBits, leaf);
    nd->n = 1;
    return nd;
  }

  // Returns a copy of `parent` (level `level`) with the full tail leaf appended at index size_-1.
  Node* push_tail(uint32_t level, const Node* parent, Node* tail) const {
    uint32_t sub = ((size_ - 1) >> level) & kMask;
    uint32_t old_n = parent ? parent->n : 0;
    Node* nd = copy_inner(parent, std::max(old_n, sub + 1));
    Node* insert;
    if (level == kBits) {
      insert = tail;
    } else if (sub < old_n) {
      insert = push_tail(level - kBits, parent->kids()[sub], tail);
    } else {
      insert = new_path(level - kBits, tail);
    }
    if (sub < nd->n) unref(nd->kids()[sub]);
    nd->kids()[sub] = insert;
    nd->n = std::max(nd->n, sub + 1);
    return nd;
  }

  static Node* assoc(uint32_t level, const Node* nd, size_t i, T value) {
    if (level == 0) {
      Node* leaf = copy_leaf(nd, nd->n, nd->n);
      leaf->items()[i & kMask] = std::move(value);
      return leaf;
    }
    uint32_t sub = (i >> level) & kMask;
    Node* copy = copy_inner(nd, nd->n);
    Node* child = assoc(level - kBits, nd->kids()[sub], i, std::move(value));
    unref(copy->kids()[sub]);
    copy->kids()[sub] = child;
    return copy;
  }

  // Removes the last leaf (index size_-2 is the new last element); nullptr when the node empties.
  Node* pop_tail(uint32_t level, const Node* nd) const {
    uint32_t sub = ((size_ - 2) >> level) & kMask;
    if (level > kBits) {
      Node* child = pop_tail(level - kBits, nd->kids()[sub]);
      if (child == nullptr && sub == 0) return nullptr;
      Node* copy = copy_inner(nd, nd->n);
      unref(copy->kids()[sub]);
      if (child == nullptr) {
        copy->n = sub;  // the last child disappeared
      } else {
        copy->kids()[sub] = child;
      }
      return copy;
    }
    if (sub == 0) return nullptr;
    Node* copy = Node::alloc_inner(sub);
    for (uint32_t j = 0; j < sub; ++j) copy->kids()[j] = ref(nd->kids()[j]);
    copy->n = sub;
    return copy;
  }

  uint32_t size_ = 0;
  uint32_t shift_ = kBits;
  Node* root_ = nullptr;  // trie of full leaves (nullptr while everything fits the tail)
  Node* tail_ = nullptr;  // last 1..32 items (nullptr when empty)
};

}  // namespace theus::detail

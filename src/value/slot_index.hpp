// SlotIndex: the hash index of a large Map. A persistent hash trie (CHAMP layout: separate data
// and child bitmaps, 32-way, canonical after deletes) from a key's 32-bit hash to the slot of the
// key's entry in the map's entry vector. It stores no keys: an entry is 8 bytes {hash, slot}, and
// a lookup confirms a candidate slot with a caller-supplied test that compares the key stored in
// the entry vector (which the caller reads anyway, for the value). Keys with the same hash are
// told apart by their slots, so inserting and erasing never compare keys at all.
// find/insert/erase are O(log32 n); insert/erase copy only the touched path. Immutable once
// shared: any number of threads may read one index.
#pragma once

#include <cassert>
#include <cstdint>
#include <new>
#include <utility>

#include "value/rc.hpp"

namespace theus::detail {

class SlotIndex {
  static constexpr uint32_t kBits = 5;
  static constexpr uint32_t kMaxShift = 30;  // below this depth all 32 hash bits are used up

  struct Entry {
    uint32_t hash;
    uint32_t slot;
  };

  // A node stores `nd` entries followed by popcount(nodemap) child pointers. A collision node
  // (hash bits exhausted) has neither bitmap set and stores only entries, all with one hash;
  // every other node has at least one bit set.
  struct Node : RcBase {
    uint32_t datamap = 0;
    uint32_t nodemap = 0;
    uint32_t nd = 0;

    bool collision() const noexcept { return (datamap | nodemap) == 0; }
    uint32_t nn() const noexcept { return static_cast<uint32_t>(__builtin_popcount(nodemap)); }
    Entry* entries() noexcept { return reinterpret_cast<Entry*>(this + 1); }
    const Entry* entries() const noexcept { return reinterpret_cast<const Entry*>(this + 1); }
    Node** kids() noexcept { return reinterpret_cast<Node**>(entries() + nd); }
    Node* const* kids() const noexcept { return reinterpret_cast<Node* const*>(entries() + nd); }

    static size_t bytes(uint32_t nd, uint32_t nodemap) noexcept {
      return sizeof(Node) + nd * sizeof(Entry) +
             static_cast<uint32_t>(__builtin_popcount(nodemap)) * sizeof(Node*);
    }
    static Node* alloc(uint32_t nd, uint32_t datamap, uint32_t nodemap) {
      Node* n = new (node_alloc(bytes(nd, nodemap))) Node();
      n->datamap = datamap;
      n->nodemap = nodemap;
      n->nd = nd;
      return n;
    }
    static void destroy(Node* n) noexcept {
      for (uint32_t i = 0, nn = n->nn(); i < nn; ++i) unref(n->kids()[i]);
      size_t size = bytes(n->nd, n->nodemap);
      n->~Node();
      node_free(n, size);
    }
  };
  static_assert(sizeof(Node) == 16 && sizeof(Entry) == 8, "entries and child pointers aligned");

  static void unref(Node* n) noexcept {
    if (n && n->release()) Node::destroy(n);
  }
  static Node* ref(Node* n) noexcept {
    n->retain();
    return n;
  }
  static uint32_t frag(uint32_t hash, uint32_t shift) noexcept { return (hash >> shift) & 31u; }
  static uint32_t bit(uint32_t f) noexcept { return 1u << f; }
  static uint32_t index(uint32_t map, uint32_t b) noexcept {
    return static_cast<uint32_t>(__builtin_popcount(map & (b - 1)));
  }

 public:
  SlotIndex() noexcept = default;
  SlotIndex(const SlotIndex& o) noexcept : root_(o.root_), size_(o.size_) {
    if (root_) root_->retain();
  }
  SlotIndex(SlotIndex&& o) noexcept
      : root_(std::exchange(o.root_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  SlotIndex& operator=(SlotIndex o) noexcept {
    std::swap(root_, o.root_);
    std::swap(size_, o.size_);
    return *this;
  }
  ~SlotIndex() { unref(root_); }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  // The slot whose entry has `hash` and passes `is_key(slot)`, or -1.
  template <class IsKey>
  long find(uint32_t hash, const IsKey& is_key) const {
    const Node* n = root_;
    for (uint32_t shift = 0; n; shift += kBits) {
      if (n->collision()) {
        for (uint32_t i = 0; i < n->nd; ++i)
          if (n->entries()[i].hash == hash && is_key(n->entries()[i].slot))
            return n->entries()[i].slot;
        return -1;
      }
      uint32_t b = bit(frag(hash, shift));
      if (n->datamap & b) {
        const Entry& e = n->entries()[index(n->datamap, b)];
        return e.hash == hash && is_key(e.slot) ? static_cast<long>(e.slot) : -1;
      }
      if (!(n->nodemap & b)) return -1;
      n = n->kids()[index(n->nodemap, b)];
    }
    return -1;
  }

  // New index with slot -> hash added. Precondition: the slot's key is not in the index (other
  // keys may share its hash).
  [[nodiscard]] SlotIndex insert(uint32_t hash, uint32_t slot) const {
    SlotIndex out;
    out.root_ = insert_in(root_, Entry{hash, slot}, 0);
    out.size_ = size_ + 1;
    return out;
  }

  // New index without the entry {hash, slot}. Precondition: it is present.
  [[nodiscard]] SlotIndex erase(uint32_t hash, uint32_t slot) const {
    SlotIndex out;
    out.root_ = erase_in(root_, hash, slot, 0);
    out.size_ = size_ - 1;
    return out;
  }

 private:
  static Node* make_pair_node(Entry a, Entry b, uint32_t shift) {
    if (shift > kMaxShift) {  // every hash bit used: a and b have the same hash
      Node* n = Node::alloc(2, 0, 0);
      n->entries()[0] = a;
      n->entries()[1] = b;
      return n;
    }
    uint32_t fa = frag(a.hash, shift), fb = frag(b.hash, shift);
    if (fa == fb) {
      Node* n = Node::alloc(0, 0, bit(fa));
      n->kids()[0] = make_pair_node(a, b, shift + kBits);
      return n;
    }
    Node* n = Node::alloc(2, bit(fa) | bit(fb), 0);
    n->entries()[0] = fa < fb ? a : b;
    n->entries()[1] = fa < fb ? b : a;
    return n;
  }

  // Copy of `n`'s entries into `out`, with entry `skip` left out (when < n->nd) and `add` put at
  // position `at` (when `at` < out->nd); the caller fills out's children.
  static void copy_entries(const Node* n, Node* out, uint32_t skip, uint32_t at, Entry add) {
    for (uint32_t j = 0, k = 0; j < out->nd; ++j) {
      if (j == at) {
        out->entries()[j] = add;
        continue;
      }
      if (k == skip) ++k;
      out->entries()[j] = n->entries()[k++];
    }
  }
  static constexpr uint32_t kNone = ~0u;

  static Node* insert_in(const Node* n, Entry e, uint32_t shift) {
    if (!n) {
      Node* out = Node::alloc(1, bit(frag(e.hash, shift)), 0);
      out->entries()[0] = e;
      return out;
    }
    if (n->collision()) {
      Node* out = Node::alloc(n->nd + 1, 0, 0);
      copy_entries(n, out, kNone, n->nd, e);
      return out;
    }
    uint32_t b = bit(frag(e.hash, shift));
    uint32_t nn = n->nn();
    if (n->datamap & b) {  // push the resident entry and the new one one level down
      uint32_t di = index(n->datamap, b);
      Node* sub = make_pair_node(n->entries()[di], e, shift + kBits);
      Node* out = Node::alloc(n->nd - 1, n->datamap & ~b, n->nodemap | b);
      copy_entries(n, out, di, kNone, e);
      uint32_t ni = index(out->nodemap, b);
      for (uint32_t j = 0, k = 0; j <= nn; ++j)
        out->kids()[j] = j == ni ? sub : ref(n->kids()[k++]);
      return out;
    }
    if (n->nodemap & b) {
      uint32_t ni = index(n->nodemap, b);
      Node* child = insert_in(n->kids()[ni], e, shift + kBits);
      Node* out = Node::alloc(n->nd, n->datamap, n->nodemap);
      copy_entries(n, out, kNone, kNone, e);
      for (uint32_t j = 0; j < nn; ++j) out->kids()[j] = j == ni ? child : ref(n->kids()[j]);
      return out;
    }
    Node* out = Node::alloc(n->nd + 1, n->datamap | b, n->nodemap);
    copy_entries(n, out, kNone, index(out->datamap, b), e);
    for (uint32_t j = 0; j < nn; ++j) out->kids()[j] = ref(n->kids()[j]);
    return out;
  }

  // Precondition: {hash, slot} is present below n. Returns nullptr when the node becomes empty.
  static Node* erase_in(const Node* n, uint32_t hash, uint32_t slot, uint32_t shift) {
    if (n->collision()) {
      if (n->nd == 1) return nullptr;
      uint32_t at = 0;
      while (n->entries()[at].slot != slot) ++at;
      Node* out = Node::alloc(n->nd - 1, 0, 0);
      copy_entries(n, out, at, kNone, {});
      return out;
    }
    uint32_t b = bit(frag(hash, shift));
    uint32_t nn = n->nn();
    if (n->datamap & b) {
      assert(n->entries()[index(n->datamap, b)].slot == slot);
      if (n->nd == 1 && nn == 0) return nullptr;
      Node* out = Node::alloc(n->nd - 1, n->datamap & ~b, n->nodemap);
      copy_entries(n, out, index(n->datamap, b), kNone, {});
      for (uint32_t j = 0; j < nn; ++j) out->kids()[j] = ref(n->kids()[j]);
      return out;
    }
    uint32_t ni = index(n->nodemap, b);
    Node* child = erase_in(n->kids()[ni], hash, slot, shift + kBits);
    // Canonical form: a child left with a single entry and no children is inlined here.
    bool inline_child = child && child->nd == 1 && child->nodemap == 0;
    if (child == nullptr || inline_child) {
      if (child == nullptr && n->nd == 0 && nn == 1) return nullptr;
      uint32_t datamap = inline_child ? (n->datamap | b) : n->datamap;
      Node* out = Node::alloc(inline_child ? n->nd + 1 : n->nd, datamap, n->nodemap & ~b);
      copy_entries(n, out, kNone, inline_child ? index(datamap, b) : kNone,
                   inline_child ? child->entries()[0] : Entry{});
      for (uint32_t j = 0, k = 0; j < nn; ++j)
        if (j != ni) out->kids()[k++] = ref(n->kids()[j]);
      unref(child);
      return out;
    }
    Node* out = Node::alloc(n->nd, n->datamap, n->nodemap);
    copy_entries(n, out, kNone, kNone, {});
    for (uint32_t j = 0; j < nn; ++j) out->kids()[j] = j == ni ? child : ref(n->kids()[j]);
    return out;
  }

  Node* root_ = nullptr;
  size_t size_ = 0;
};

}  // namespace theus::detail

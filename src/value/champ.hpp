// Champ<K, V, Ops>: a persistent hash trie (CHAMP layout: separate data and child bitmaps, 32-way,
// canonical after deletes). find/assoc/dissoc are O(log32 n) and copy only the touched path.
// Ops provides `static uint32_t hash(const K&)` and `static bool eq(const K&, const K&)`.
// Immutable once shared: any number of threads may read one trie.
#pragma once

#include <cassert>
#include <cstdint>
#include <new>
#include <utility>

#include "value/rc.hpp"

namespace theus::detail {

template <class K, class V, class Ops>
class Champ {
  static constexpr uint32_t kBits = 5;
  static constexpr uint32_t kMaxShift = 30;  // below this depth all 32 hash bits are used up

  struct Entry {
    K key;
    V value;
  };

  // A node stores `nd` entries followed by `nn` child pointers. A collision node (hash bits
  // exhausted) has no bitmaps and stores only entries, all with the same hash.
  struct alignas(16) Node : RcBase {
    uint32_t datamap = 0;
    uint32_t nodemap = 0;
    uint32_t nd = 0;
    uint32_t nn = 0;
    bool collision = false;

    Entry* entries() noexcept { return std::launder(reinterpret_cast<Entry*>(payload())); }
    const Entry* entries() const noexcept {
      return std::launder(reinterpret_cast<const Entry*>(payload()));
    }
    Node** kids() noexcept { return reinterpret_cast<Node**>(payload() + nd * sizeof(Entry)); }
    Node* const* kids() const noexcept {
      return reinterpret_cast<Node* const*>(payload() + nd * sizeof(Entry));
    }
    unsigned char* payload() noexcept { return reinterpret_cast<unsigned char*>(this + 1); }
    const unsigned char* payload() const noexcept {
      return reinterpret_cast<const unsigned char*>(this + 1);
    }

    static Node* alloc(uint32_t nd, uint32_t nn) {
      void* mem = ::operator new(sizeof(Node) + nd * sizeof(Entry) + nn * sizeof(Node*));
      Node* n = new (mem) Node();
      n->nd = nd;
      n->nn = nn;
      return n;
    }
    static void destroy(Node* n) noexcept {
      for (uint32_t i = 0; i < n->nd; ++i) n->entries()[i].~Entry();
      for (uint32_t i = 0; i < n->nn; ++i) unref(n->kids()[i]);
      n->~Node();
      ::operator delete(n);
    }
  };
  static_assert(sizeof(Node) % alignof(Entry) == 0, "node header must keep entries aligned");
  static_assert(sizeof(Entry) % alignof(Node*) == 0, "entries must keep child pointers aligned");

  static void unref(Node* n) noexcept {
    if (n && n->release()) Node::destroy(n);
  }
  static Node* ref(Node* n) noexcept {
    if (n) n->retain();
    return n;
  }
  static uint32_t frag(uint32_t hash, uint32_t shift) noexcept { return (hash >> shift) & 31u; }
  static uint32_t bit(uint32_t f) noexcept { return 1u << f; }
  static uint32_t index(uint32_t map, uint32_t b) noexcept {
    return static_cast<uint32_t>(__builtin_popcount(map & (b - 1)));
  }

 public:
  Champ() noexcept = default;
  Champ(const Champ& o) noexcept : root_(ref(o.root_)), size_(o.size_) {}
  Champ(Champ&& o) noexcept
      : root_(std::exchange(o.root_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  Champ& operator=(Champ o) noexcept {
    std::swap(root_, o.root_);
    std::swap(size_, o.size_);
    return *this;
  }
  ~Champ() { unref(root_); }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  const V* find(const K& key) const noexcept {
    return find_in(root_, Ops::hash(key), [&](const K& k) { return Ops::eq(k, key); });
  }
  // Heterogeneous lookup: `hash` must equal Ops::hash of the matching key; `eq(k)` tests a key.
  template <class Eq>
  const V* find_hashed(uint32_t hash, Eq&& eq) const noexcept {
    return find_in(root_, hash, eq);
  }

  // New trie with key -> value (inserted or replaced).
  [[nodiscard]] Champ assoc(const K& key, V value) const {
    bool added = false;
    Champ out;
    out.root_ = assoc_in(root_, key, Ops::hash(key), 0, std::move(value), &added);
    out.size_ = size_ + (added ? 1 : 0);
    return out;
  }

  // New trie without key (or a copy of this trie if absent).
  [[nodiscard]] Champ dissoc(const K& key) const {
    if (!find(key)) return *this;
    Champ out;
    out.root_ = dissoc_in(root_, key, Ops::hash(key), 0);
    out.size_ = size_ - 1;
    return out;
  }

  template <class F>
  void for_each(F&& f) const {
    if (root_) for_each_in(root_, f);
  }

 private:
  template <class Eq>
  static const V* find_in(const Node* n, uint32_t hash, const Eq& eq) noexcept {
    uint32_t shift = 0;
    while (n) {
      if (n->collision) {
        for (uint32_t i = 0; i < n->nd; ++i)
          if (eq(n->entries()[i].key)) return &n->entries()[i].value;
        return nullptr;
      }
      uint32_t b = bit(frag(hash, shift));
      if (n->datamap & b) {
        const Entry& e = n->entries()[index(n->datamap, b)];
        return eq(e.key) ? &e.value : nullptr;
      }
      if (!(n->nodemap & b)) return nullptr;
      n = n->kids()[index(n->nodemap, b)];
      shift += kBits;
    }
    return nullptr;
  }

  // Copies `src` into a new node with the given maps/counts, skipping and inserting as told.
  static Node* rebuild(const Node* src, uint32_t datamap, uint32_t nodemap, uint32_t nd,
                       uint32_t nn) {
    Node* n = Node::alloc(nd, nn);
    n->datamap = datamap;
    n->nodemap = nodemap;
    n->collision = src ? src->collision : false;
    return n;
  }

  static Node* make_pair_node(Entry a, uint32_t ha, Entry b, uint32_t hb, uint32_t shift) {
    if (shift > kMaxShift) {
      Node* n = Node::alloc(2, 0);
      n->collision = true;
      new (&n->entries()[0]) Entry(std::move(a));
      new (&n->entries()[1]) Entry(std::move(b));
      return n;
    }
    uint32_t fa = frag(ha, shift), fb = frag(hb, shift);
    if (fa == fb) {
      Node* n = Node::alloc(0, 1);
      n->nodemap = bit(fa);
      n->kids()[0] = make_pair_node(std::move(a), ha, std::move(b), hb, shift + kBits);
      return n;
    }
    Node* n = Node::alloc(2, 0);
    n->datamap = bit(fa) | bit(fb);
    if (fa < fb) {
      new (&n->entries()[0]) Entry(std::move(a));
      new (&n->entries()[1]) Entry(std::move(b));
    } else {
      new (&n->entries()[0]) Entry(std::move(b));
      new (&n->entries()[1]) Entry(std::move(a));
    }
    return n;
  }

  static Node* assoc_in(const Node* n, const K& key, uint32_t hash, uint32_t shift, V value,
                        bool* added) {
    if (!n) {
      Node* out = Node::alloc(1, 0);
      out->datamap = bit(frag(hash, shift));
      new (&out->entries()[0]) Entry{key, std::move(value)};
      *added = true;
      return out;
    }
    if (n->collision) {
      for (uint32_t i = 0; i < n->nd; ++i) {
        if (Ops::eq(n->entries()[i].key, key)) {
          Node* out = Node::alloc(n->nd, 0);
          out->collision = true;
          for (uint32_t j = 0; j < n->nd; ++j)
            new (&out->entries()[j]) Entry(j == i ? Entry{key, std::move(value)} : n->entries()[j]);
          return out;
        }
      }
      Node* out = Node::alloc(n->nd + 1, 0);
      out->collision = true;
      for (uint32_t j = 0; j < n->nd; ++j) new (&out->entries()[j]) Entry(n->entries()[j]);
      new (&out->entries()[n->nd]) Entry{key, std::move(value)};
      *added = true;
      return out;
    }
    uint32_t b = bit(frag(hash, shift));
    if (n->datamap & b) {
      uint32_t di = index(n->datamap, b);
      const Entry& e = n->entries()[di];
      if (Ops::eq(e.key, key)) {  // replace value in place (copy of the node)
        Node* out = rebuild(n, n->datamap, n->nodemap, n->nd, n->nn);
        for (uint32_t j = 0; j < n->nd; ++j)
          new (&out->entries()[j]) Entry(j == di ? Entry{key, std::move(value)} : n->entries()[j]);
        for (uint32_t j = 0; j < n->nn; ++j) out->kids()[j] = ref(n->kids()[j]);
        return out;
      }
      // Push both entries one level down.
      Node* sub =
          make_pair_node(e, Ops::hash(e.key), Entry{key, std::move(value)}, hash, shift + kBits);
      uint32_t ni = index(n->nodemap, b);
      Node* out = rebuild(n, n->datamap & ~b, n->nodemap | b, n->nd - 1, n->nn + 1);
      for (uint32_t j = 0, k = 0; j < n->nd; ++j)
        if (j != di) new (&out->entries()[k++]) Entry(n->entries()[j]);
      for (uint32_t j = 0, k = 0; j <= n->nn; ++j) {
        if (j == ni) {
          out->kids()[j] = sub;
        } else {
          out->kids()[j] = ref(n->kids()[k++]);
        }
      }
      *added = true;
      return out;
    }
    if (n->nodemap & b) {
      uint32_t ni = index(n->nodemap, b);
      Node* child = assoc_in(n->kids()[ni], key, hash, shift + kBits, std::move(value), added);
      Node* out = rebuild(n, n->datamap, n->nodemap, n->nd, n->nn);
      for (uint32_t j = 0; j < n->nd; ++j) new (&out->entries()[j]) Entry(n->entries()[j]);
      for (uint32_t j = 0; j < n->nn; ++j) out->kids()[j] = j == ni ? child : ref(n->kids()[j]);
      return out;
    }
    // Free slot: insert a data entry.
    uint32_t di = index(n->datamap, b);
    Node* out = rebuild(n, n->datamap | b, n->nodemap, n->nd + 1, n->nn);
    for (uint32_t j = 0, k = 0; j <= n->nd; ++j) {
      if (j == di) {
        new (&out->entries()[j]) Entry{key, std::move(value)};
      } else {
        new (&out->entries()[j]) Entry(n->entries()[k++]);
      }
    }
    for (uint32_t j = 0; j < n->nn; ++j) out->kids()[j] = ref(n->kids()[j]);
    *added = true;
    return out;
  }

  // Precondition: key is present below n. Returns nullptr when the node becomes empty.
  static Node* dissoc_in(const Node* n, const K& key, uint32_t hash, uint32_t shift) {
    if (n->collision) {
      if (n->nd == 1) return nullptr;
      Node* out = Node::alloc(n->nd - 1, 0);
      out->collision = true;
      for (uint32_t j = 0, k = 0; j < n->nd; ++j)
        if (!Ops::eq(n->entries()[j].key, key)) new (&out->entries()[k++]) Entry(n->entries()[j]);
      return out;
    }
    uint32_t b = bit(frag(hash, shift));
    if (n->datamap & b) {
      if (n->nd == 1 && n->nn == 0) return nullptr;
      uint32_t di = index(n->datamap, b);
      Node* out = rebuild(n, n->datamap & ~b, n->nodemap, n->nd - 1, n->nn);
      for (uint32_t j = 0, k = 0; j < n->nd; ++j)
        if (j != di) new (&out->entries()[k++]) Entry(n->entries()[j]);
      for (uint32_t j = 0; j < n->nn; ++j) out->kids()[j] = ref(n->kids()[j]);
      return out;
    }
    uint32_t ni = index(n->nodemap, b);
    Node* child = dissoc_in(n->kids()[ni], key, hash, shift + kBits);
    // Canonical form: a child left with a single entry and no children is inlined here.
    bool inline_child = child && child->nn == 0 && child->nd == 1;
    if (child == nullptr || inline_child) {
      if (child == nullptr && n->nd == 0 && n->nn == 1) return nullptr;
      Entry moved = inline_child ? child->entries()[0] : Entry{};
      uint32_t new_datamap = inline_child ? (n->datamap | b) : n->datamap;
      uint32_t new_nd = n->nd + (inline_child ? 1 : 0);
      Node* out = rebuild(n, new_datamap, n->nodemap & ~b, new_nd, n->nn - 1);
      uint32_t di = index(new_datamap, b);
      for (uint32_t j = 0, k = 0; j < new_nd; ++j) {
        if (inline_child && j == di) {
          new (&out->entries()[j]) Entry(moved);
        } else {
          new (&out->entries()[j]) Entry(n->entries()[k++]);
        }
      }
      for (uint32_t j = 0, k = 0; j < n->nn; ++j)
        if (j != ni) out->kids()[k++] = ref(n->kids()[j]);
      unref(child);
      return out;
    }
    Node* out = rebuild(n, n->datamap, n->nodemap, n->nd, n->nn);
    for (uint32_t j = 0; j < n->nd; ++j) new (&out->entries()[j]) Entry(n->entries()[j]);
    for (uint32_t j = 0; j < n->nn; ++j) out->kids()[j] = j == ni ? child : ref(n->kids()[j]);
    return out;
  }

  template <class F>
  static void for_each_in(const Node* n, F& f) {
    for (uint32_t i = 0; i < n->nd; ++i) f(n->entries()[i].key, n->entries()[i].value);
    for (uint32_t i = 0; i < n->nn; ++i) for_each_in(n->kids()[i], f);
  }

  Node* root_ = nullptr;
  size_t size_ = 0;
};

}  // namespace theus::detail

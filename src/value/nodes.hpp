// Heap nodes behind Value: strings/bytes, list and map roots, buffer references, foreign handles.
// All are reference counted and immutable once a Value holding them has been copied.
#pragma once

#include <cstring>
#include <new>
#include <string_view>

#include "theus/value.hpp"
#include "value/persistent_vector.hpp"
#include "value/rc.hpp"
#include "value/slot_index.hpp"

namespace theus::detail {

// String or bytes payload, stored inline after the header, with its hash cached.
struct StrNode : RcBase {
  size_t hash = 0;
  size_t len = 0;

  const char* data() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  std::string_view view() const noexcept { return {data(), len}; }

  static StrNode* make(std::string_view s) {
    auto* n = new (node_alloc(sizeof(StrNode) + s.size() + 1)) StrNode();
    n->len = s.size();
    char* dst = reinterpret_cast<char*>(n + 1);
    if (!s.empty()) std::memcpy(dst, s.data(), s.size());
    dst[s.size()] = '\0';
    n->hash = Value::hash_of_text(s);
    return n;
  }
  static void destroy(StrNode* n) noexcept {
    size_t size = sizeof(StrNode) + n->len + 1;
    n->~StrNode();
    node_free(n, size);
  }
};

struct ListRoot : RcBase {
  PVec<Value> vec;
  static void destroy(ListRoot* r) noexcept { delete r; }
};

// One slot of a map's insertion-ordered entry vector; a deleted slot holds a tombstone key.
struct MapEntry {
  Value key;
  Value value;
};

// The 32 bits of a key's hash the index uses.
inline uint32_t index_hash(size_t h) noexcept { return static_cast<uint32_t>(h ^ (h >> 32)); }
inline uint32_t index_hash(const Value& key) noexcept { return index_hash(key.hash()); }

// A map is its entries in insertion order plus, once it has more than kIndexThreshold slots, a
// hash index hash -> slot. Small maps are searched linearly (cheaper than hashing into a trie).
struct MapRoot : RcBase {
  static constexpr size_t kIndexThreshold = 8;

  PVec<MapEntry> entries;  // slots, tombstones included
  SlotIndex index;         // empty while entries.size() <= kIndexThreshold
  size_t live = 0;         // entries that are not tombstones

  bool indexed() const noexcept { return entries.size() > kIndexThreshold; }
  static void destroy(MapRoot* r) noexcept { delete r; }
};

struct BufferNode : RcBase {
  BufferRef ref;
  static void destroy(BufferNode* n) noexcept { delete n; }
};

struct ForeignNode : RcBase {
  void* object = nullptr;
  const ForeignHooks* hooks = nullptr;
  static void destroy(ForeignNode* n) noexcept {
    if (n->hooks && n->hooks->release) n->hooks->release(n->object);
    delete n;
  }
};

}  // namespace theus::detail

// Map: insertion-ordered persistent map. Entries live in a persistent vector (insertion order,
// tombstones for erased slots); maps with more than MapRoot::kIndexThreshold slots also keep a
// hash index (SlotIndex) hash -> slot. Tombstones are compacted away once they outnumber live
// entries.
#include <cassert>

#include "theus/value.hpp"
#include "value/nodes.hpp"

namespace theus {

using detail::index_hash;
using detail::MapEntry;
using detail::MapRoot;
using detail::PVec;

namespace {

constexpr size_t kCompactMinTombstones = 16;

MapRoot* new_root(PVec<MapEntry> entries, size_t live) {
  auto* r = new MapRoot();
  r->entries = std::move(entries);
  r->live = live;
  if (r->indexed()) {
    uint32_t pos = 0;
    r->entries.for_each([&](const MapEntry& e) {
      if (!e.key.is_tombstone()) r->index = r->index.insert(index_hash(e.key), pos);
      ++pos;
    });
  }
  return r;
}

// Where a key lives: its slot and entry, or slot -1 and no entry.
struct Slot {
  long slot = -1;
  const MapEntry* entry = nullptr;
};

// The slot of the key for which `eq(stored key)` holds; `hash` is index_hash of that key (used by
// indexed maps only). A candidate from the index is confirmed against the entry itself, which
// the caller wants anyway (no second walk down the entry vector).
template <class Eq>
Slot find_slot(const MapRoot* r, uint32_t hash, const Eq& eq) {
  Slot found;
  if (!r) return found;
  if (r->indexed()) {
    found.slot = r->index.find(hash, [&](uint32_t slot) {
      const MapEntry& e = r->entries[slot];
      found.entry = &e;
      return eq(e.key);
    });
    if (found.slot < 0) found.entry = nullptr;
    return found;
  }
  for (size_t i = 0; i < r->entries.size(); ++i) {
    const MapEntry& e = r->entries[i];
    if (!e.key.is_tombstone() && eq(e.key)) return {static_cast<long>(i), &e};
  }
  return found;
}

Slot find_slot(const MapRoot* r, const Value& key) {
  return find_slot(r, index_hash(key), [&](const Value& k) { return k == key; });
}

}  // namespace

Map::Map(std::initializer_list<std::pair<Value, Value>> items) {
  Map m;
  for (const auto& [k, v] : items) m = m.set(k, v);
  *this = std::move(m);
}

namespace detail {
void destroy_map_root(MapRoot* root) noexcept { MapRoot::destroy(root); }
}  // namespace detail

size_t Map::size() const noexcept { return root_ ? root_->live : 0; }

const Value* Map::find(const Value& key) const noexcept {
  Slot at = find_slot(root_, key);
  return at.entry ? &at.entry->value : nullptr;
}

const Value* Map::find(std::string_view key) const noexcept {
  if (!root_) return nullptr;
  auto eq = [&](const Value& k) { return k.is_string() && k.as_string() == key; };
  if (!root_->indexed()) {  // small map: a linear scan needs no hash
    for (size_t i = 0; i < root_->entries.size(); ++i) {
      const MapEntry& e = root_->entries[i];
      if (!e.key.is_tombstone() && eq(e.key)) return &e.value;
    }
    return nullptr;
  }
  Slot at = find_slot(root_, index_hash(Value::hash_of_text(key)), eq);
  return at.entry ? &at.entry->value : nullptr;
}

Map::Found Map::lookup(const Value& key) const noexcept {
  Slot at = find_slot(root_, key);
  if (!at.entry) return {};
  return {at.slot, &at.entry->value};
}

Map Map::replace(const Found& at, Value value) const {
  assert(at.value && root_);
  // Keep the slot (and, as Python does, the originally stored key object).
  const MapEntry& old = root_->entries[static_cast<size_t>(at.slot)];
  auto* r = new MapRoot();
  r->entries =
      root_->entries.set(static_cast<size_t>(at.slot), MapEntry{old.key, std::move(value)});
  r->index = root_->index;
  r->live = root_->live;
  return Map(r);
}

Value* Map::mutable_find(const Value& key) {
  long slot = find_slot(root_, key).slot;
  if (slot < 0) return nullptr;
  if (!root_->unique()) {
    auto* r = new MapRoot();
    r->entries = root_->entries;
    r->index = root_->index;
    r->live = root_->live;
    *this = Map(r);
  }
  return &root_->entries.mutable_at(static_cast<size_t>(slot))->value;
}

Map Map::set(Value key, Value value) const {
  Found at = lookup(key);
  if (at.value) return replace(at, std::move(value));
  if (!root_) {
    return Map(new_root(PVec<MapEntry>().push_back(MapEntry{std::move(key), std::move(value)}), 1));
  }
  auto pos = static_cast<uint32_t>(root_->entries.size());
  PVec<MapEntry> entries = root_->entries.push_back(MapEntry{key, std::move(value)});
  if (entries.size() == MapRoot::kIndexThreshold + 1) {
    return Map(new_root(std::move(entries), root_->live + 1));  // first time indexed: build it
  }
  auto* r = new MapRoot();
  r->entries = std::move(entries);
  r->live = root_->live + 1;
  r->index = r->indexed() ? root_->index.insert(index_hash(key), pos) : root_->index;
  return Map(r);
}

Map Map::erase(const Value& key) const {
  long slot = find_slot(root_, key).slot;
  if (slot < 0) return *this;
  if (root_->live == 1) return Map();
  if (!root_->indexed()) {
    // Small map: rebuild without the slot (no tombstones below the index threshold).
    std::vector<MapEntry> kept;
    kept.reserve(root_->live - 1);
    root_->entries.for_each([&, i = 0L](const MapEntry& e) mutable {
      if (i++ != slot) kept.push_back(e);
    });
    return Map(new_root(PVec<MapEntry>::build(std::move(kept)), root_->live - 1));
  }
  size_t live = root_->live - 1;
  size_t tombstones = root_->entries.size() - live;
  if (tombstones >= kCompactMinTombstones && tombstones > live) {
    std::vector<MapEntry> kept;
    kept.reserve(live);
    root_->entries.for_each([&, i = 0L](const MapEntry& e) mutable {
      if (i++ != slot && !e.key.is_tombstone()) kept.push_back(e);
    });
    return Map(new_root(PVec<MapEntry>::build(std::move(kept)), live));
  }
  auto* r = new MapRoot();
  r->entries = root_->entries.set(static_cast<size_t>(slot), MapEntry{Value::tombstone(), Value()});
  r->index = root_->index.erase(index_hash(key), static_cast<uint32_t>(slot));
  r->live = live;
  return Map(r);
}

Map Map::from_items(std::vector<std::pair<Value, Value>> items) {
  if (items.empty()) return Map();
  if (items.size() <= MapRoot::kIndexThreshold) {
    Map m;
    for (auto& [k, v] : items) m = m.set(std::move(k), std::move(v));
    return m;
  }
  // One pass: slots in order, index built alongside; duplicates update their first slot.
  std::vector<MapEntry> entries;
  entries.reserve(items.size());
  detail::SlotIndex index;
  for (auto& [k, v] : items) {
    const Value& key = k;  // a structured binding cannot be captured before C++20 in clang 14
    uint32_t hash = index_hash(key);
    long pos = index.find(hash, [&](uint32_t slot) { return entries[slot].key == key; });
    if (pos >= 0) {
      entries[static_cast<size_t>(pos)].value = std::move(v);
      continue;
    }
    index = index.insert(hash, static_cast<uint32_t>(entries.size()));
    entries.push_back(MapEntry{std::move(k), std::move(v)});
  }
  auto* r = new MapRoot();
  r->live = entries.size();
  r->entries = PVec<MapEntry>::build(std::move(entries));
  if (r->indexed()) {
    r->index = std::move(index);
  }
  return Map(r);
}

std::vector<Value> Map::keys() const {
  std::vector<Value> out;
  out.reserve(size());
  for (auto item : *this) out.push_back(item.key);
  return out;
}

bool Map::same_as(const Map& other) const noexcept {
  return root_ == other.root_ ||
         (root_ && other.root_ && root_->entries.same_nodes(other.root_->entries));
}

bool operator==(const Map& a, const Map& b) {
  if (a.same_as(b)) return true;
  if (a.size() != b.size()) return false;
  for (auto item : a) {
    const Value* other = b.find(item.key);
    if (!other || !(item.value == *other)) return false;
  }
  return true;
}

Map::Iterator Map::begin() const noexcept { return Iterator(this, 0); }
Map::Iterator Map::end() const noexcept {
  return Iterator(this, root_ ? root_->entries.size() : 0);
}

Map::Iterator::Iterator(const Map* map, size_t i) noexcept
    : map_(map), i_(i), end_(map->root_ ? map->root_->entries.size() : 0) {
  settle();
}

void Map::Iterator::settle() noexcept {
  while (i_ < end_) {
    if (i_ >= base_ + chunk_len_ || chunk_ == nullptr) {
      auto c = map_->root_->entries.chunk_for(i_);
      base_ = c.base;
      chunk_ = c.items;
      chunk_len_ = c.n;
    }
    const auto* entries = static_cast<const MapEntry*>(chunk_);
    if (!entries[i_ - base_].key.is_tombstone()) return;
    ++i_;
  }
}

Map::Item Map::Iterator::operator*() const noexcept {
  const auto* entries = static_cast<const MapEntry*>(chunk_);
  const MapEntry& e = entries[i_ - base_];
  return Item{e.key, e.value};
}

Map::Iterator& Map::Iterator::operator++() noexcept {
  ++i_;
  settle();
  return *this;
}

}  // namespace theus

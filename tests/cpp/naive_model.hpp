// NaiveModel: an independent, deliberately simple re-implementation of the state tree and of the
// delta semantics of spec §7.4 (plain vectors, deep copies, no sharing), used as the oracle of the
// model-based property tests. Supports null, bool, int, string, list and string-keyed map values.
// Thread-safety: plain values; not shared between threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "theus/delta.hpp"
#include "theus/path.hpp"
#include "theus/value.hpp"

namespace theus::model {

struct Node {
  enum class Kind { kNull, kBool, kInt, kString, kMap, kList };
  Kind kind = Kind::kNull;
  int64_t i = 0;  // kBool (0/1) and kInt
  std::string s;
  std::vector<std::string> keys;  // kMap (order irrelevant)
  std::vector<Node> items;        // kMap values aligned with `keys`, or kList elements

  static Node map() {
    Node n;
    n.kind = Kind::kMap;
    return n;
  }
  Node* child(const std::string& key) {
    auto it = std::find(keys.begin(), keys.end(), key);
    return it == keys.end() ? nullptr : &items[static_cast<size_t>(it - keys.begin())];
  }
  const Node* child(const std::string& key) const { return const_cast<Node*>(this)->child(key); }

  friend bool operator==(const Node& a, const Node& b) {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
      case Kind::kNull:
        return true;
      case Kind::kBool:
      case Kind::kInt:
        return a.i == b.i;
      case Kind::kString:
        return a.s == b.s;
      case Kind::kList:
        return a.items == b.items;
      case Kind::kMap:
        if (a.keys.size() != b.keys.size()) return false;
        for (size_t k = 0; k < a.keys.size(); ++k) {
          const Node* other = b.child(a.keys[k]);
          if (!other || !(*other == a.items[k])) return false;
        }
        return true;
    }
    return false;
  }
};

// Python-like rendering for failure messages.
inline std::string repr(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kNull:
      return "None";
    case Node::Kind::kBool:
      return n.i ? "True" : "False";
    case Node::Kind::kInt:
      return std::to_string(n.i);
    case Node::Kind::kString:
      return "'" + n.s + "'";
    case Node::Kind::kList: {
      std::string out = "[";
      for (size_t k = 0; k < n.items.size(); ++k) out += (k ? ", " : "") + repr(n.items[k]);
      return out + "]";
    }
    case Node::Kind::kMap: {
      std::string out = "{";
      for (size_t k = 0; k < n.keys.size(); ++k)
        out += (k ? ", '" : "'") + n.keys[k] + "': " + repr(n.items[k]);
      return out + "}";
    }
  }
  return "?";
}

inline void PrintTo(const Node& n, std::ostream* os) { *os << repr(n); }

// One path segment: a map key or a list index.
struct Seg {
  bool index = false;
  std::string key;
  int64_t idx = 0;
};
using Segs = std::vector<Seg>;

inline Segs segs_of(const Path& p) {
  Segs out;
  for (const Value& v : p.segments()) {
    Seg s;
    if (v.is_int()) {
      s.index = true;
      s.idx = v.as_int();
    } else {
      s.key = std::string(v.as_string());
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Converts an engine value; false for kinds the model does not support.
inline bool from_value(const Value& v, Node* out) {
  Node n;
  switch (v.kind()) {
    case Kind::kNull:
      break;
    case Kind::kBool:
      n.kind = Node::Kind::kBool;
      n.i = v.as_bool() ? 1 : 0;
      break;
    case Kind::kInt:
      n.kind = Node::Kind::kInt;
      n.i = v.as_int();
      break;
    case Kind::kString:
      n.kind = Node::Kind::kString;
      n.s = std::string(v.as_string());
      break;
    case Kind::kList:
      n.kind = Node::Kind::kList;
      for (const Value& e : v.as_list()) {
        n.items.emplace_back();
        if (!from_value(e, &n.items.back())) return false;
      }
      break;
    case Kind::kMap:
      n.kind = Node::Kind::kMap;
      for (auto item : v.as_map()) {
        if (!item.key.is_string()) return false;
        n.keys.emplace_back(item.key.as_string());
        n.items.emplace_back();
        if (!from_value(item.value, &n.items.back())) return false;
      }
      break;
    default:
      return false;
  }
  *out = std::move(n);
  return true;
}

inline Node from_value(const Value& v) {
  Node n;
  if (!from_value(v, &n)) {
    n = Node();
    n.kind = Node::Kind::kString;
    n.s = "<unsupported " + std::string(v.type_name()) + ">";
  }
  return n;
}

// ---- operations (false = the operation is invalid on this state) -------------------------------

// Like tree lookup: a missing key / index -> nullopt; navigating into a scalar -> invalid.
inline bool find(const Node& root, const Segs& p, std::optional<Node>* out) {
  const Node* cur = &root;
  for (const Seg& s : p) {
    if (cur->kind == Node::Kind::kMap && !s.index) {
      cur = cur->child(s.key);
    } else if (cur->kind == Node::Kind::kList && s.index) {
      int64_t n = static_cast<int64_t>(cur->items.size());
      int64_t i = s.idx < 0 ? s.idx + n : s.idx;
      cur = (i < 0 || i >= n) ? nullptr : &cur->items[static_cast<size_t>(i)];
    } else {
      return false;
    }
    if (!cur) {
      *out = std::nullopt;
      return true;
    }
  }
  *out = *cur;
  return true;
}

inline bool set(Node& n, const Segs& p, size_t d, const Node& v) {
  if (d == p.size()) {
    n = v;
    return true;
  }
  if (n.kind == Node::Kind::kNull) n = Node::map();
  const Seg& s = p[d];
  if (n.kind == Node::Kind::kMap && !s.index) {
    Node* c = n.child(s.key);
    if (!c) {
      n.keys.push_back(s.key);
      n.items.emplace_back();
      c = &n.items.back();
    }
    return set(*c, p, d + 1, v);
  }
  if (n.kind == Node::Kind::kList && s.index) {
    int64_t i = s.idx < 0 ? s.idx + static_cast<int64_t>(n.items.size()) : s.idx;
    if (i < 0) return false;
    while (n.items.size() <= static_cast<size_t>(i)) n.items.emplace_back();
    return set(n.items[static_cast<size_t>(i)], p, d + 1, v);
  }
  return false;
}

inline bool erase(Node& n, const Segs& p, size_t d, bool missing_ok) {
  if (p.empty()) return false;
  const Seg& s = p[d];
  bool leaf = d + 1 == p.size();
  if (n.kind == Node::Kind::kMap && !s.index) {
    auto it = std::find(n.keys.begin(), n.keys.end(), s.key);
    if (it == n.keys.end()) return missing_ok;
    size_t k = static_cast<size_t>(it - n.keys.begin());
    if (!leaf) return erase(n.items[k], p, d + 1, missing_ok);
    n.keys.erase(it);
    n.items.erase(n.items.begin() + static_cast<std::ptrdiff_t>(k));
    return true;
  }
  if (n.kind == Node::Kind::kList && s.index) {
    int64_t size = static_cast<int64_t>(n.items.size());
    int64_t i = s.idx < 0 ? s.idx + size : s.idx;
    if (i < 0 || i >= size) return missing_ok;
    if (!leaf) return erase(n.items[static_cast<size_t>(i)], p, d + 1, missing_ok);
    n.items.erase(n.items.begin() + i);
    return true;
  }
  return n.kind == Node::Kind::kNull && missing_ok;
}

inline Node merge(const Node& base, const Node& patch) {
  if (base.kind != Node::Kind::kMap || patch.kind != Node::Kind::kMap) return patch;
  Node out = base;
  for (size_t k = 0; k < patch.keys.size(); ++k) {
    Node* existing = out.child(patch.keys[k]);
    if (existing) {
      *existing = merge(*existing, patch.items[k]);
    } else {
      out.keys.push_back(patch.keys[k]);
      out.items.push_back(patch.items[k]);
    }
  }
  return out;
}

// Applies one delta to a data root (no heavy paths). `replay`: erasing an absent key is a no-op.
inline bool apply(Node& root, const Delta& d, bool replay) {
  Segs p = segs_of(d.path);
  switch (d.op) {
    case DeltaOp::kSet:
      return !p.empty() && set(root, p, 0, from_value(d.value));
    case DeltaOp::kErase:
      return erase(root, p, 0, replay);
    case DeltaOp::kMerge: {
      std::optional<Node> existing;
      if (!find(root, p, &existing)) return false;
      Node merged = merge(existing ? *existing : Node(), from_value(d.value));
      if (p.empty()) {
        if (merged.kind != Node::Kind::kMap) return false;
        root = std::move(merged);
        return true;
      }
      return set(root, p, 0, merged);
    }
    case DeltaOp::kClear: {
      std::optional<Node> cur;
      if (p.empty() || !find(root, p, &cur) || !cur || cur->kind != Node::Kind::kMap) return false;
      return set(root, p, 0, Node::map());
    }
    default:
      break;
  }
  std::optional<Node> cur;
  if (p.empty() || !find(root, p, &cur) || !cur || cur->kind != Node::Kind::kList) return false;
  std::vector<Node>& l = cur->items;
  int64_t n = static_cast<int64_t>(l.size());
  switch (d.op) {
    case DeltaOp::kListAppend:
      l.push_back(from_value(d.value));
      break;
    case DeltaOp::kListInsert: {
      int64_t i = d.index < 0 ? std::max<int64_t>(0, d.index + n) : std::min(d.index, n);
      l.insert(l.begin() + i, from_value(d.value));
      break;
    }
    case DeltaOp::kListErase: {
      int64_t i = d.index < 0 ? d.index + n : d.index;
      if (i < 0 || i >= n) return false;
      l.erase(l.begin() + i);
      break;
    }
    case DeltaOp::kListReplace:
      *cur = from_value(d.value);
      break;
    case DeltaOp::kListClear:
      l.clear();
      break;
    default:
      return false;
  }
  return set(root, p, 0, *cur);
}

// The paths a delta writes, minimally: a merge writes the leaves of its patch.
inline void written_paths(const Segs& at, const Node& patch, std::vector<Segs>* out) {
  if (patch.kind != Node::Kind::kMap || patch.keys.empty()) {
    out->push_back(at);
    return;
  }
  for (size_t k = 0; k < patch.keys.size(); ++k) {
    Segs child = at;
    child.push_back(Seg{false, patch.keys[k], 0});
    written_paths(child, patch.items[k], out);
  }
}

inline std::vector<Segs> written_paths(const Delta& d) {
  std::vector<Segs> out;
  if (d.op == DeltaOp::kMerge) {
    written_paths(segs_of(d.path), from_value(d.value), &out);
  } else {
    out.push_back(segs_of(d.path));
  }
  return out;
}

inline std::string seg_text(const Seg& s) { return s.index ? std::to_string(s.idx) : s.key; }

// Equal, ancestor or descendant (segments compared by their text, as the conflict index does).
inline bool overlaps(const Segs& a, const Segs& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t k = 0; k < n; ++k)
    if (seg_text(a[k]) != seg_text(b[k])) return false;
  return true;
}

}  // namespace theus::model

// Path navigation and path-copying updates over Values.
#include "theus/tree.hpp"

#include <charconv>

namespace theus::tree {

namespace {

// Setting an index past the end pads the list with nulls; at most this many at once.
constexpr size_t kMaxListExtension = size_t{1} << 20;

std::string at_text(const Path& path, size_t depth) {
  std::string s = path.prefix(depth).to_string();
  return s.empty() ? "<root>" : s;
}

Status not_found(const Path& path, size_t depth) {
  return {ErrorCode::kNotFound, "Path '" + path.to_string() +
                                    "' not found: " + segment_text(path[depth]).insert(0, "key '") +
                                    "' missing at '" + at_text(path, depth) + "'"};
}

Status type_mismatch(const Path& path, size_t depth, const Value& node, std::string_view what) {
  return {ErrorCode::kTypeMismatch, "Path '" + path.to_string() + "': cannot " + std::string(what) +
                                        " " + std::string(node.type_name()) + " at '" +
                                        at_text(path, depth) + "' with key " + path[depth].repr()};
}

// Decimal string of an int segment, or the parsed int of a digit-only string segment.
bool parse_int(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto res = std::from_chars(s.data(), s.data() + s.size(), *out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

}  // namespace

Value map_key(const Map& map, const Value& segment, bool loose, bool for_write) {
  if (!segment.is_int() || !loose) return segment;
  if (map.contains(segment)) return segment;
  Value text(std::to_string(segment.as_int()));
  if (map.contains(text) || for_write) return text;
  return segment;
}

Result<size_t> list_index(const Value& segment, size_t size, const Path& path, size_t depth,
                          bool allow_past_end) {
  int64_t idx = 0;
  if (segment.is_int()) {
    idx = segment.as_int();
  } else if (!(segment.is_string() && parse_int(segment.as_string(), &idx))) {
    return Status(ErrorCode::kTypeMismatch,
                  "Path '" + path.to_string() + "': list indices must be integers, got " +
                      segment.repr() + " at '" + at_text(path, depth) + "'");
  }
  if (idx < 0) idx += static_cast<int64_t>(size);
  if (idx < 0 || (!allow_past_end && static_cast<size_t>(idx) >= size)) {
    return Status(ErrorCode::kNotFound,
                  "Path '" + path.to_string() + "': list index " +
                      std::to_string(segment.is_int() ? segment.as_int() : idx) +
                      " out of range (size " + std::to_string(size) + ") at '" +
                      at_text(path, depth) + "'");
  }
  return static_cast<size_t>(idx);
}

namespace {

// One navigation step; nullptr when the key is absent. Errors for non-navigable nodes.
Result<const Value*> step(const Value& node, const Path& path, size_t depth, Value* scratch) {
  const Value& seg = path[depth];
  switch (node.kind()) {
    case Kind::kMap: {
      const Map& m = node.as_map();
      return m.find(map_key(m, seg, path.loose(), false));
    }
    case Kind::kList: {
      const List& l = node.as_list();
      auto idx = list_index(seg, l.size(), path, depth, /*allow_past_end=*/true);
      if (!idx.is_ok()) {
        if (idx.code() == ErrorCode::kNotFound) return static_cast<const Value*>(nullptr);
        return idx.status();
      }
      return l.get(*idx);
    }
    case Kind::kForeign: {
      const ForeignHooks* h = node.foreign_hooks();
      if (h && h->get_attribute) {
        if (!h->get_attribute(node.foreign_object(), seg, scratch))
          return static_cast<const Value*>(nullptr);
        return static_cast<const Value*>(scratch);
      }
      return type_mismatch(path, depth, node, "navigate into");
    }
    default:
      return type_mismatch(path, depth, node, "index");
  }
}

}  // namespace

namespace {

// Walks `path` from `from`; nullopt when a key is missing, `missing_at` tells where.
Result<std::optional<Value>> walk(const Value& root, const Path& path, size_t from,
                                  size_t* missing_at) {
  const Value* cur = &root;
  Value owned;  // holds values produced by foreign attribute reads
  for (size_t i = from; i < path.size(); ++i) {
    Value scratch;
    auto next = step(*cur, path, i, &scratch);
    if (!next.is_ok()) return next.status();
    if (*next == nullptr) {
      *missing_at = i;
      return std::optional<Value>();
    }
    if (*next == &scratch) {
      owned = std::move(scratch);
      cur = &owned;
    } else {
      cur = *next;
    }
  }
  return std::optional<Value>(*cur);
}

}  // namespace

Result<std::optional<Value>> find(const Value& root, const Path& path, size_t from) {
  size_t missing_at = 0;
  return walk(root, path, from, &missing_at);
}

Result<Value> lookup(const Value& root, const Path& path, size_t from) {
  size_t missing_at = 0;
  THEUS_ASSIGN_OR_RETURN(std::optional<Value> v, walk(root, path, from, &missing_at));
  if (!v) return not_found(path, missing_at);
  return std::move(*v);
}

Result<Value> set(const Value& node, const Path& path, Value value, size_t depth) {
  if (depth == path.size()) return value;
  const Value& seg = path[depth];
  switch (node.kind()) {
    case Kind::kNull:
      // Missing or null intermediates become maps.
      return set(Value(Map()), path, std::move(value), depth);
    case Kind::kMap: {
      const Map& m = node.as_map();
      Value key = map_key(m, seg, path.loose(), true);
      Map::Found at = m.lookup(key);  // one search for the read and the write
      static const Value kNull;
      THEUS_ASSIGN_OR_RETURN(Value updated,
                             set(at.value ? *at.value : kNull, path, std::move(value), depth + 1));
      return Value(at.value ? m.replace(at, std::move(updated))
                            : m.set(std::move(key), std::move(updated)));
    }
    case Kind::kList: {
      const List& l = node.as_list();
      THEUS_ASSIGN_OR_RETURN(size_t idx, list_index(seg, l.size(), path, depth, true));
      if (idx > l.size() + kMaxListExtension)
        return Status(ErrorCode::kInvalidArgument,
                      "Path '" + path.to_string() + "': index " + std::to_string(idx) +
                          " is too far past the end of the list at '" + at_text(path, depth) +
                          "' (size " + std::to_string(l.size()) + ")");
      List out = l;
      while (out.size() <= idx) out = out.push_back(Value());  // extend with None past the end
      THEUS_ASSIGN_OR_RETURN(Value updated, set(out[idx], path, std::move(value), depth + 1));
      return Value(out.set(idx, std::move(updated)));
    }
    case Kind::kForeign: {
      const ForeignHooks* h = node.foreign_hooks();
      if (!h || !h->with_attribute) return type_mismatch(path, depth, node, "set an attribute on");
      Value child;
      bool present = h->get_attribute && h->get_attribute(node.foreign_object(), seg, &child);
      THEUS_ASSIGN_OR_RETURN(Value updated,
                             set(present ? child : Value(), path, std::move(value), depth + 1));
      Value out;
      if (!h->with_attribute(node.foreign_object(), seg, updated, &out))
        return type_mismatch(path, depth, node, "set an attribute on");
      return out;
    }
    default:
      return type_mismatch(path, depth, node, "set a key inside");
  }
}

Status set_in_place(Value* node, const Path& path, Value value, size_t depth) {
  // Descend through existing map keys, making each map on the way private to this tree.
  // (Copying a shared node changes nothing observable, so an error below leaves *root equal.)
  while (depth < path.size() && node->is_map()) {
    Map& m = node->mutable_map();
    Value* slot = m.mutable_find(map_key(m, path[depth], path.loose(), true));
    if (!slot) break;
    node = slot;
    ++depth;
  }
  if (depth == path.size()) {
    *node = std::move(value);
    return Status::ok();
  }
  // A missing key, a list, a foreign object or a scalar: the persistent update from here.
  THEUS_ASSIGN_OR_RETURN(Value next, set(*node, path, std::move(value), depth));
  *node = std::move(next);
  return Status::ok();
}

Result<Value> erase(const Value& node, const Path& path, bool missing_ok, size_t depth) {
  // `depth` past the last segment (an empty path, or `from` == size) would address the root.
  if (depth >= path.size()) return Status(ErrorCode::kInvalidArgument, "cannot erase the root");
  const Value& seg = path[depth];
  bool leaf = depth + 1 == path.size();
  switch (node.kind()) {
    case Kind::kMap: {
      const Map& m = node.as_map();
      Value key = map_key(m, seg, path.loose(), false);
      Map::Found at = m.lookup(key);
      if (!at.value) {
        if (missing_ok) return node;
        return not_found(path, depth);
      }
      if (leaf) return Value(m.erase(key));
      THEUS_ASSIGN_OR_RETURN(Value updated, erase(*at.value, path, missing_ok, depth + 1));
      return Value(m.replace(at, std::move(updated)));
    }
    case Kind::kList: {
      const List& l = node.as_list();
      auto idx = list_index(seg, l.size(), path, depth, false);
      if (!idx.is_ok()) {
        if (missing_ok && idx.code() == ErrorCode::kNotFound) return node;
        return idx.status();
      }
      if (leaf) return Value(l.erase(*idx));
      THEUS_ASSIGN_OR_RETURN(Value updated, erase(l[*idx], path, missing_ok, depth + 1));
      return Value(l.set(*idx, std::move(updated)));
    }
    case Kind::kNull:
      if (missing_ok) return node;
      return not_found(path, depth);
    default:
      return type_mismatch(path, depth, node, "delete a key from");
  }
}

Value merge(const Value& base, const Value& patch) {
  if (!base.is_map() || !patch.is_map()) return patch;
  Map out = base.as_map();
  for (auto item : patch.as_map()) {
    const Value* existing = out.find(item.key);
    out = out.set(item.key, existing ? merge(*existing, item.value) : item.value);
  }
  return Value(std::move(out));
}

void merge_write_paths(const Value* existing, const Value& patch, const Path& at,
                       std::vector<Path>* out) {
  if (existing && existing->is_map() && patch.is_map()) {
    const Map& em = existing->as_map();
    for (auto item : patch.as_map())
      merge_write_paths(em.find(item.key), item.value, at.child(item.key), out);
    return;
  }
  out->push_back(at);
}

}  // namespace theus::tree

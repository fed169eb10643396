// Path operations on the immutable value tree: lookup, set (creating missing maps), erase, list
// operations and deep merge. Every update returns a new root sharing untouched nodes with the old
// one: cost O(depth * log32 n). Errors name the full path and the segment at fault.
// Thread-safety: pure functions over immutable values.
#pragma once

#include <optional>
#include <vector>

#include "theus/path.hpp"
#include "theus/status.hpp"
#include "theus/value.hpp"

namespace theus::tree {

// The value at `path` below `root` (segments before `from` are skipped).
// Errors: kNotFound (missing key or index), kTypeMismatch (indexing a scalar, a string key on a
// list).
Result<Value> lookup(const Value& root, const Path& path, size_t from = 0);

// Like lookup but an empty optional instead of kNotFound; other errors are still reported.
Result<std::optional<Value>> find(const Value& root, const Path& path, size_t from = 0);

// Sets `path` to `value`, creating missing (or null) intermediate maps. List indices past the end
// extend the list with nulls; negative indices count from the end.
Result<Value> set(const Value& root, const Path& path, Value value, size_t from = 0);

// `set` for a root the caller owns exclusively: the maps along `path` are updated in place where
// their nodes are not shared and copied where they are (copy-on-write), so `*root` ends equal to
// set(*root, path, value, from) and every other value sharing nodes with it is unaffected.
// Errors as for `set`; on error `*root` is left equal to what it was.
Status set_in_place(Value* root, const Path& path, Value value, size_t from = 0);

// Removes the key or list element at `path`. kNotFound when it is absent unless `missing_ok`.
Result<Value> erase(const Value& root, const Path& path, bool missing_ok, size_t from = 0);

// Deep merge: maps merge key by key (recursively), anything else replaces; never deletes.
Value merge(const Value& base, const Value& patch);

// Paths written by merging `patch` at `at` into `existing` (nullptr if absent): the leaf paths of
// the patch where map meets map, else `at` itself.
void merge_write_paths(const Value* existing, const Value& patch, const Path& at,
                       std::vector<Path>* out);

// The map key a segment addresses in `map`: int segments of loose paths fall back to their decimal
// string when the map has no such int key.
Value map_key(const Map& map, const Value& segment, bool loose, bool for_write);

// Normalised list index for `segment` on a list of `size` (negative counts from the end).
// Errors: kTypeMismatch for a non-int segment, kNotFound when out of range (unless allow_past_end).
Result<size_t> list_index(const Value& segment, size_t size, const Path& path, size_t depth,
                          bool allow_past_end);

}  // namespace theus::tree

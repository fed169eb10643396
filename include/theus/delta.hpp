// Delta: one entry of a transaction's ordered change log. Commit replays the log, in order, onto
// the current head; the same log feeds conflict detection, audit, schema checks and (later) the
// durable journal. Thread-safety: immutable value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "theus/path.hpp"
#include "theus/value.hpp"

namespace theus {

enum class DeltaOp : unsigned char {
  kSet,          // path = value (creating missing maps)
  kErase,        // remove the key / element at path (if present at replay)
  kMerge,        // deep-merge a map into path (never deletes)
  kListAppend,   // append value to the list at path
  kListInsert,   // insert value at index
  kListErase,    // remove the element at index
  kListReplace,  // install a whole new list (sort, reverse, remove, extend from Python)
  kListClear,    // empty the list at path
  kClear,        // replace the map at path by an empty map
};

std::string_view delta_op_name(DeltaOp op) noexcept;  // "SET", "ERASE", "MERGE", "LIST_APPEND", ...

struct Delta {
  DeltaOp op = DeltaOp::kSet;
  Path path;
  Value value;        // kSet, kMerge, kListAppend, kListInsert, kListReplace
  int64_t index = 0;  // kListInsert, kListErase

  // One line for logs and errors: "SET domain.a = 1", "LIST_INSERT domain.q[0] = 'x'".
  std::string describe() const;
};

}  // namespace theus

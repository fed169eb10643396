// Snapshot: one committed version of the state: (data map, heavy map, version, latched signals).
// Snapshots are immutable and shared by pointer; taking one is O(1). (The per-path modification
// index used for conflict checks lives in the engine: it is only ever consulted at the head.)
// When nothing but the engine holds the head (no SnapshotPtr, no transaction based on it), a
// commit may turn that same object into the next version in place; nobody can observe it, since
// every handle is a SnapshotPtr copied from the engine. So hold snapshots by SnapshotPtr: a
// std::weak_ptr to a snapshot may lock() onto a later version.
// Thread-safety: immutable while anyone holds it; share freely across threads.
#pragma once

#include <cstdint>
#include <memory>

#include "theus/mod_index.hpp"
#include "theus/path.hpp"
#include "theus/status.hpp"
#include "theus/value.hpp"

namespace theus {

struct Snapshot {
  uint64_t version = 0;
  Map data;     // every root except the heavy zone (domain, global, namespaces, ...)
  Map heavy;    // heavy zone: name -> value (buffers, foreign arrays), shared by reference
  Map signals;  // signals latched by the commit that made this version: topic -> str(payload)

  // The value at `path`; a path rooted at `heavy` reads the heavy map.
  Result<Value> get(const Path& path) const;
  Result<Value> get(std::string_view path) const;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// True when `path` is addressed to the heavy map (its root segment is `heavy`).
bool is_heavy_root(const Path& path) noexcept;

}  // namespace theus

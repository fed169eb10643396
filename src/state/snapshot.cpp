// Snapshot reads.
#include "theus/snapshot.hpp"

#include "theus/tree.hpp"

namespace theus {

Result<Value> Snapshot::get(const Path& path) const {
  if (is_heavy_root(path)) return tree::lookup(Value(heavy), path, 1);
  return tree::lookup(Value(data), path);
}

Result<Value> Snapshot::get(std::string_view path) const {
  THEUS_ASSIGN_OR_RETURN(Path p, Path::parse(path));
  return get(p);
}

}  // namespace theus

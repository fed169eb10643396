// Delta printing and application: the single place where a change is applied to a state root,
// whether recorded by a transaction or replayed at commit.
#include "theus/delta.hpp"

#include "theus/transaction.hpp"
#include "theus/tree.hpp"

namespace theus {

std::string_view delta_op_name(DeltaOp op) noexcept {
  switch (op) {
    case DeltaOp::kSet:
      return "SET";
    case DeltaOp::kErase:
      return "ERASE";
    case DeltaOp::kMerge:
      return "MERGE";
    case DeltaOp::kListAppend:
      return "LIST_APPEND";
    case DeltaOp::kListInsert:
      return "LIST_INSERT";
    case DeltaOp::kListErase:
      return "LIST_ERASE";
    case DeltaOp::kListReplace:
      return "LIST_REPLACE";
    case DeltaOp::kListClear:
      return "LIST_CLEAR";
    case DeltaOp::kClear:
      return "CLEAR";
  }
  return "?";
}

std::string Delta::describe() const {
  std::string out(delta_op_name(op));
  out += ' ';
  out += path.empty() ? "<root>" : path.to_string();
  switch (op) {
    case DeltaOp::kListInsert:
    case DeltaOp::kListErase:
      out += '[' + std::to_string(index) + ']';
      break;
    default:
      break;
  }
  switch (op) {
    case DeltaOp::kSet:
    case DeltaOp::kMerge:
    case DeltaOp::kListAppend:
    case DeltaOp::kListInsert:
    case DeltaOp::kListReplace:
      out += " = " + value.repr();
      break;
    default:
      break;
  }
  return out;
}

bool is_heavy_root(const Path& path) noexcept { return path.root() == "heavy"; }

namespace {

Status not_a(const Path& path, const Value& v, std::string_view what) {
  return {ErrorCode::kTypeMismatch, "Path '" + path.to_string() + "' holds " +
                                        std::string(v.type_name()) + ", not " + std::string(what)};
}

Result<List> list_at(const Value& root, const Path& path, size_t from) {
  THEUS_ASSIGN_OR_RETURN(Value v, tree::lookup(root, path, from));
  if (!v.is_list()) return not_a(path, v, "a list");
  return v.as_list();
}

Result<List> apply_list_op(const Delta& d, const List& l) {
  switch (d.op) {
    case DeltaOp::kListAppend:
      return l.push_back(d.value);
    case DeltaOp::kListInsert: {
      // Python list.insert clamps the index into [0, size].
      int64_t n = static_cast<int64_t>(l.size());
      int64_t i = d.index < 0 ? std::max<int64_t>(0, d.index + n) : std::min(d.index, n);
      return l.insert(static_cast<size_t>(i), d.value);
    }
    case DeltaOp::kListErase: {
      int64_t n = static_cast<int64_t>(l.size());
      int64_t i = d.index < 0 ? d.index + n : d.index;
      if (i < 0 || i >= n)
        return Status(ErrorCode::kNotFound, "Path '" + d.path.to_string() + "': list index " +
                                                std::to_string(d.index) + " out of range (size " +
                                                std::to_string(n) + ")");
      return l.erase(static_cast<size_t>(i));
    }
    case DeltaOp::kListReplace:
      return d.value.as_list();
    case DeltaOp::kListClear:
      return List();
    default:
      return Status(ErrorCode::kInternal, "not a list operation");
  }
}

}  // namespace

Status apply_delta(const Delta& d, Value* data, Value* heavy, bool replay) {
  bool to_heavy = is_heavy_root(d.path);
  Value* root = to_heavy ? heavy : data;
  size_t from = to_heavy ? 1 : 0;
  bool whole_root = d.path.size() == from;

  switch (d.op) {
    case DeltaOp::kSet: {
      if (whole_root) {
        if (!d.value.is_map())
          return {ErrorCode::kTypeMismatch, "cannot replace the " +
                                                std::string(to_heavy ? "heavy" : "data") +
                                                " root with " + std::string(d.value.type_name())};
        *root = d.value;
        return Status::ok();
      }
      THEUS_ASSIGN_OR_RETURN(Value next, tree::set(*root, d.path, d.value, from));
      *root = std::move(next);
      return Status::ok();
    }
    case DeltaOp::kErase: {
      if (whole_root) return {ErrorCode::kInvalidArgument, "cannot erase a state root"};
      THEUS_ASSIGN_OR_RETURN(Value next, tree::erase(*root, d.path, replay, from));
      *root = std::move(next);
      return Status::ok();
    }
    case DeltaOp::kMerge: {
      THEUS_ASSIGN_OR_RETURN(std::optional<Value> existing, tree::find(*root, d.path, from));
      Value merged = tree::merge(existing ? *existing : Value(), d.value);
      if (whole_root) {
        if (!merged.is_map()) return {ErrorCode::kTypeMismatch, "merge at the root needs a map"};
        *root = std::move(merged);
        return Status::ok();
      }
      THEUS_ASSIGN_OR_RETURN(Value next, tree::set(*root, d.path, std::move(merged), from));
      *root = std::move(next);
      return Status::ok();
    }
    case DeltaOp::kClear: {
      THEUS_ASSIGN_OR_RETURN(Value cur, tree::lookup(*root, d.path, from));
      if (!cur.is_map()) return not_a(d.path, cur, "a dict");
      if (whole_root) {
        *root = Value(Map());
        return Status::ok();
      }
      THEUS_ASSIGN_OR_RETURN(Value next, tree::set(*root, d.path, Value(Map()), from));
      *root = std::move(next);
      return Status::ok();
    }
    default: {
      if (whole_root) return {ErrorCode::kTypeMismatch, "a state root is a map, not a list"};
      THEUS_ASSIGN_OR_RETURN(List cur, list_at(*root, d.path, from));
      THEUS_ASSIGN_OR_RETURN(List updated, apply_list_op(d, cur));
      THEUS_ASSIGN_OR_RETURN(Value next, tree::set(*root, d.path, Value(std::move(updated)), from));
      *root = std::move(next);
      return Status::ok();
    }
  }
}

}  // namespace theus

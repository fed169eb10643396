// Tree-walking evaluator of Flux conditions: names through the NameLookup, attribute and
// subscript access, short-circuit `and`/`or`, comparison chains that evaluate each operand once.
// Recursion depth is bounded by the tree height (kMaxDepth), enforced by the parser.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flux/expression_ast.hpp"
#include "flux/expression_lexer.hpp"
#include "flux/expression_ops.hpp"

namespace theus::flux::detail {

namespace {

std::string tname(const Value& v) { return std::string(v.type_name()); }

Status missing_key(const Value& key) {
  return eval_error(ErrorCode::kNotFound, "key " + short_repr(key) + " not found");
}

// Python index normalisation: negative counts from the end; false when out of range.
bool normalize_index(int64_t i, size_t size, size_t* out) {
  if (i < 0) i += static_cast<int64_t>(size);
  if (i < 0 || static_cast<uint64_t>(i) >= size) return false;
  *out = static_cast<size_t>(i);
  return true;
}

Result<Value> string_index(std::string_view s, int64_t i) {
  if (i < 0) {  // negative indexes count characters (UTF-8 sequences) from the end
    size_t count = 0;
    for (size_t at = 0; at < s.size(); at += utf8_char_length(s, at)) ++count;
    i += static_cast<int64_t>(count);
  }
  if (i >= 0) {
    for (size_t at = 0; at < s.size(); at += utf8_char_length(s, at), --i)
      if (i == 0) return Value(s.substr(at, utf8_char_length(s, at)));
  }
  return eval_error(ErrorCode::kIndexError, "string index out of range");
}

Result<Value> subscript(const Value& v, const Value& key) {
  const bool int_key = key.is_int() || key.is_bool();
  const int64_t i = key.is_bool() ? (key.as_bool() ? 1 : 0) : key.is_int() ? key.as_int() : 0;
  size_t k = 0;
  switch (v.kind()) {
    case Kind::kMap: {
      const Value* found = v.as_map().find(key);
      if (!found) return missing_key(key);
      return *found;
    }
    case Kind::kList:
      if (!int_key)
        return eval_error(ErrorCode::kTypeMismatch,
                          "list indices must be integers or slices, not " + tname(key));
      if (!normalize_index(i, v.as_list().size(), &k))
        return eval_error(ErrorCode::kIndexError, "list index out of range");
      return v.as_list()[k];
    case Kind::kString:
      if (!int_key)
        return eval_error(ErrorCode::kTypeMismatch,
                          "string indices must be integers, not '" + tname(key) + "'");
      return string_index(v.as_string(), i);
    case Kind::kBytes:
      if (!int_key)
        return eval_error(ErrorCode::kTypeMismatch,
                          "byte indices must be integers or slices, not " + tname(key));
      if (!normalize_index(i, v.as_bytes().size(), &k))
        return eval_error(ErrorCode::kIndexError, "index out of range");
      return Value(static_cast<int>(static_cast<unsigned char>(v.as_bytes()[k])));
    default:
      return eval_error(ErrorCode::kTypeMismatch, "'" + tname(v) + "' object is not subscriptable");
  }
}

Result<Value> attribute(const Value& v, const std::string& name) {
  if (v.is_map()) {
    const Value* found = v.as_map().find(std::string_view(name));
    if (!found) return missing_key(Value(name));
    return *found;
  }
  if (v.is_foreign()) {
    const ForeignHooks* hooks = v.foreign_hooks();
    Value out;
    if (hooks && hooks->get_attribute &&
        hooks->get_attribute(v.foreign_object(), Value(name), &out))
      return out;
  }
  return eval_error(ErrorCode::kAttributeError,
                    "'" + tname(v) + "' object has no attribute '" + name + "'");
}

class Evaluator {
 public:
  explicit Evaluator(const NameLookup& names) : names_(names) {}

  Result<Value> eval(const ExprNode& n) {
    switch (n.kind) {
      case NodeKind::kLiteral:
        return n.value;
      case NodeKind::kName:
        return lookup(n.name);
      case NodeKind::kList:
        return list_display(n);
      case NodeKind::kDict:
        return dict_display(n);
      case NodeKind::kAttribute: {
        THEUS_ASSIGN_OR_RETURN(Value v, eval(*n.children[0]));
        return attribute(v, n.name);
      }
      case NodeKind::kSubscript: {
        THEUS_ASSIGN_OR_RETURN(Value v, eval(*n.children[0]));
        THEUS_ASSIGN_OR_RETURN(Value key, eval(*n.children[1]));
        return subscript(v, key);
      }
      case NodeKind::kUnary: {
        THEUS_ASSIGN_OR_RETURN(Value v, eval(*n.children[0]));
        return unary_op(static_cast<UnaryOp>(n.op), v);
      }
      case NodeKind::kBinary: {
        THEUS_ASSIGN_OR_RETURN(Value a, eval(*n.children[0]));
        THEUS_ASSIGN_OR_RETURN(Value b, eval(*n.children[1]));
        return binary_op(static_cast<BinaryOp>(n.op), a, b, budget_);
      }
      case NodeKind::kCompare:
        return compare_chain(n);
      case NodeKind::kAnd:
      case NodeKind::kOr:
        return bool_chain(n);
      case NodeKind::kCall: {
        THEUS_ASSIGN_OR_RETURN(std::vector<Value> args, eval_all(n, 0));
        return call_builtin(static_cast<Builtin>(n.op), args, budget_);
      }
      case NodeKind::kMethod: {
        THEUS_ASSIGN_OR_RETURN(Value receiver, eval(*n.children[0]));
        THEUS_ASSIGN_OR_RETURN(std::vector<Value> args, eval_all(n, 1));
        return call_method(static_cast<Method>(n.op), receiver, args, budget_);
      }
    }
    return Value();
  }

 private:
  Result<Value> lookup(const std::string& name) {
    if (!names_) return eval_error(ErrorCode::kNameError, "name '" + name + "' is not defined");
    Result<Value> r = names_(name);
    if (r.is_ok()) return r;
    if (r.code() == ErrorCode::kNameError)
      return eval_error(ErrorCode::kNameError, "name '" + name + "' is not defined");
    return r.status();  // another failure of the lookup keeps its code and message
  }

  Result<std::vector<Value>> eval_all(const ExprNode& n, size_t first) {
    std::vector<Value> out;
    out.reserve(n.children.size() - first);
    for (size_t i = first; i < n.children.size(); ++i) {
      THEUS_ASSIGN_OR_RETURN(Value v, eval(*n.children[i]));
      out.push_back(std::move(v));
    }
    return out;
  }

  Result<Value> list_display(const ExprNode& n) {
    THEUS_RETURN_IF_ERROR(budget_.charge(n.children.size() * kElementWork));
    THEUS_ASSIGN_OR_RETURN(std::vector<Value> items, eval_all(n, 0));
    return Value(List::from_vector(std::move(items)));
  }

  Result<Value> dict_display(const ExprNode& n) {
    THEUS_RETURN_IF_ERROR(budget_.charge(n.children.size() / 2 * kElementWork));
    THEUS_ASSIGN_OR_RETURN(std::vector<Value> flat, eval_all(n, 0));
    std::vector<std::pair<Value, Value>> items;
    items.reserve(flat.size() / 2);
    for (size_t i = 0; i + 1 < flat.size(); i += 2)
      items.emplace_back(std::move(flat[i]), std::move(flat[i + 1]));
    return Value(Map::from_items(std::move(items)));
  }

  // a < b < c: each operand evaluated at most once, stopping at the first false link.
  Result<Value> compare_chain(const ExprNode& n) {
    THEUS_ASSIGN_OR_RETURN(Value left, eval(*n.children[0]));
    for (size_t i = 0; i < n.compare_ops.size(); ++i) {
      THEUS_ASSIGN_OR_RETURN(Value right, eval(*n.children[i + 1]));
      THEUS_ASSIGN_OR_RETURN(bool holds, compare_op(n.compare_ops[i], left, right));
      if (!holds) return Value(false);
      left = std::move(right);
    }
    return Value(true);
  }

  // `and` returns the first falsy operand (or the last one); `or` the first truthy one.
  Result<Value> bool_chain(const ExprNode& n) {
    const bool stop_when = n.kind == NodeKind::kOr;
    Value v;
    for (const auto& child : n.children) {
      THEUS_ASSIGN_OR_RETURN(v, eval(*child));
      if (v.truthy() == stop_when) break;
    }
    return v;
  }

  const NameLookup& names_;
  Budget budget_;
};

}  // namespace

Result<Value> evaluate_tree(const ExprNode& root, const NameLookup& names) {
  Evaluator e(names);
  return e.eval(root);
}

}  // namespace theus::flux::detail

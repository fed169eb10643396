// The builtins of Flux conditions (len int float str bool abs min max sum) and the read-only
// mapping methods (.get .keys .values .items), with Python's results and error classes.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flux/expression_lexer.hpp"
#include "flux/expression_ops.hpp"

namespace theus::flux::detail {

namespace {

bool is_intlike(const Value& v) { return v.is_int() || v.is_bool(); }
std::string tname(const Value& v) { return std::string(v.type_name()); }

// Calls `f(item)` for each item Python would iterate over: list items, map keys, the characters
// of a string, the byte values of bytes. Stops at the first error `f` returns.
template <class F>
Status for_each_item(const Value& v, Budget& budget, F&& f) {
  switch (v.kind()) {
    case Kind::kList:
      for (const Value& item : v.as_list()) THEUS_RETURN_IF_ERROR(f(item));
      return Status::ok();
    case Kind::kMap:
      for (auto item : v.as_map()) THEUS_RETURN_IF_ERROR(f(item.key));
      return Status::ok();
    case Kind::kString: {
      std::string_view s = v.as_string();
      THEUS_RETURN_IF_ERROR(budget.charge(s.size() * kElementWork));  // a Value per character
      for (size_t i = 0; i < s.size();) {
        size_t n = utf8_char_length(s, i);
        THEUS_RETURN_IF_ERROR(f(Value(s.substr(i, n))));
        i += n;
      }
      return Status::ok();
    }
    case Kind::kBytes:
      for (unsigned char c : v.as_bytes()) THEUS_RETURN_IF_ERROR(f(Value(static_cast<int>(c))));
      return Status::ok();
    default:
      return eval_error(ErrorCode::kTypeMismatch, "'" + tname(v) + "' object is not iterable");
  }
}

size_t count_chars(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += utf8_char_length(s, i)) ++n;
  return n;
}

Result<Value> builtin_len(const Value& v) {
  switch (v.kind()) {
    case Kind::kString:
      return Value(count_chars(v.as_string()));
    case Kind::kBytes:
      return Value(v.as_bytes().size());
    case Kind::kList:
      return Value(v.as_list().size());
    case Kind::kMap:
      return Value(v.as_map().size());
    default:
      return eval_error(ErrorCode::kTypeMismatch, "object of type '" + tname(v) + "' has no len()");
  }
}

Result<Value> builtin_int(const Value& v) {
  if (is_intlike(v)) return Value(v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int());
  if (v.is_double()) {
    double d = v.as_double();
    if (std::isnan(d))
      return eval_error(ErrorCode::kInvalidArgument, "cannot convert float NaN to integer");
    if (std::isinf(d))
      return eval_error(ErrorCode::kInvalidArgument, "cannot convert float infinity to integer");
    double t = std::trunc(d);
    // Beyond int64 the truncated float is kept (Python would return an exact big int).
    if (t >= 9223372036854775808.0 || t < -9223372036854775808.0) return Value(t);
    return Value(static_cast<int64_t>(t));
  }
  if (v.is_string() || v.is_bytes()) {
    Value out;
    if (parse_int_text(v.is_string() ? v.as_string() : v.as_bytes(), &out)) return out;
    return eval_error(ErrorCode::kInvalidArgument,
                      "invalid literal for int() with base 10: " + short_repr(v));
  }
  return eval_error(ErrorCode::kTypeMismatch,
                    "int() argument must be a string, a bytes-like object or a real number, not '" +
                        tname(v) + "'");
}

Result<Value> builtin_float(const Value& v) {
  if (v.is_number()) return Value(v.as_number());
  if (v.is_string() || v.is_bytes()) {
    double d = 0;
    if (parse_float_text(v.is_string() ? v.as_string() : v.as_bytes(), &d)) return Value(d);
    return eval_error(ErrorCode::kInvalidArgument,
                      "could not convert string to float: " + short_repr(v));
  }
  return eval_error(ErrorCode::kTypeMismatch,
                    "float() argument must be a string or a real number, not '" + tname(v) + "'");
}

Result<Value> builtin_str(const Value& v, Budget& budget) {
  if (v.is_string()) return v;
  if (v.is_container() && content_size(v, kMaxStrInput) > kMaxStrInput)
    return eval_error(ErrorCode::kInvalidArgument, "value too large for str() (more than " +
                                                       std::to_string(kMaxStrInput) + " items)");
  std::string s = v.str();
  if (s.size() > kMaxStringLength)
    return eval_error(
        ErrorCode::kInvalidArgument,
        "result too large (more than " + std::to_string(kMaxStringLength) + " characters)");
  THEUS_RETURN_IF_ERROR(budget.charge(s.size()));
  return Value(s);
}

Result<Value> builtin_abs(const Value& v) {
  if (is_intlike(v)) {
    int64_t i = v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int();
    if (i == std::numeric_limits<int64_t>::min()) return Value(9223372036854775808.0);
    return Value(i < 0 ? -i : i);
  }
  if (v.is_double()) return Value(std::fabs(v.as_double()));
  return eval_error(ErrorCode::kTypeMismatch, "bad operand type for abs(): '" + tname(v) + "'");
}

// min()/max(): one iterable argument, or several arguments; the first extreme item wins.
Result<Value> builtin_extreme(bool is_min, const std::vector<Value>& args, Budget& budget) {
  Value best;
  bool have = false;
  auto consider = [&](const Value& item) -> Status {
    if (!have) {
      best = item;
      have = true;
      return Status::ok();
    }
    Result<bool> better = compare_op(is_min ? CompareOp::kLt : CompareOp::kGt, item, best);
    if (!better.is_ok()) return better.status();
    if (*better) best = item;
    return Status::ok();
  };
  if (args.size() == 1) {
    THEUS_RETURN_IF_ERROR(for_each_item(args[0], budget, consider));
  } else {
    for (const Value& a : args) THEUS_RETURN_IF_ERROR(consider(a));
  }
  if (!have)
    return eval_error(ErrorCode::kInvalidArgument,
                      std::string(is_min ? "min" : "max") + "() arg is an empty sequence");
  return best;
}

Result<Value> builtin_sum(const std::vector<Value>& args, Budget& budget) {
  Value total = args.size() > 1 ? args[1] : Value(0);
  if (total.is_string())
    return eval_error(ErrorCode::kTypeMismatch,
                      "sum() can't sum strings [use ''.join(seq) instead]");
  if (total.is_bytes())
    return eval_error(ErrorCode::kTypeMismatch,
                      "sum() can't sum bytes [use b''.join(seq) instead]");
  THEUS_RETURN_IF_ERROR(for_each_item(args[0], budget, [&](const Value& item) -> Status {
    Result<Value> next = binary_op(BinaryOp::kAdd, total, item, budget);
    if (!next.is_ok()) return next.status();
    total = std::move(next).value();
    return Status::ok();
  }));
  return total;
}

}  // namespace

Result<Value> call_builtin(Builtin fn, const std::vector<Value>& args, Budget& budget) {
  switch (fn) {
    case Builtin::kLen:
      return builtin_len(args[0]);
    case Builtin::kInt:
      return args.empty() ? Value(0) : builtin_int(args[0]);
    case Builtin::kFloat:
      return args.empty() ? Value(0.0) : builtin_float(args[0]);
    case Builtin::kStr:
      return args.empty() ? Value("") : builtin_str(args[0], budget);
    case Builtin::kBool:
      return Value(!args.empty() && args[0].truthy());
    case Builtin::kAbs:
      return builtin_abs(args[0]);
    case Builtin::kMin:
    case Builtin::kMax:
      return builtin_extreme(fn == Builtin::kMin, args, budget);
    case Builtin::kSum:
      return builtin_sum(args, budget);
  }
  return Value();
}

Result<Value> call_method(Method m, const Value& receiver, const std::vector<Value>& args,
                          Budget& budget) {
  if (!receiver.is_map())
    return eval_error(
        ErrorCode::kAttributeError,
        "'" + tname(receiver) + "' object has no attribute '" + std::string(method_name(m)) + "'");
  const Map& map = receiver.as_map();
  if (m == Method::kGet) {
    const Value* found = map.find(args[0]);
    if (found) return *found;
    return args.size() > 1 ? args[1] : Value();
  }
  THEUS_RETURN_IF_ERROR(budget.charge(map.size() * kElementWork));
  std::vector<Value> out;
  out.reserve(map.size());
  for (auto item : map) {
    if (m == Method::kKeys)
      out.push_back(item.key);
    else if (m == Method::kValues)
      out.push_back(item.value);
    else
      out.emplace_back(List{item.key, item.value});
  }
  return Value(List::from_vector(std::move(out)));
}

}  // namespace theus::flux::detail

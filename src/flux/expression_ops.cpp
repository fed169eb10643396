// Operators and comparisons of Flux conditions with Python's results: numeric promotion
// (bool < int < float, int64 overflow -> float), floor division and modulo with the divisor's
// sign, sequence concatenation and repetition, lexicographic ordering, `in` and `is`.
#include "flux/expression_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace theus::flux::detail {

namespace {

bool is_intlike(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t to_int(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }
std::string tname(const Value& v) { return std::string(v.type_name()); }

constexpr double kTwo63 = 9223372036854775808.0;

// ---- numbers ----

Status unsupported(BinaryOp op, const Value& a, const Value& b) {
  std::string sym(binary_op_symbol(op));
  if (op == BinaryOp::kPow) sym += " or pow()";
  return eval_error(ErrorCode::kTypeMismatch, "unsupported operand type(s) for " + sym + ": '" +
                                                  tname(a) + "' and '" + tname(b) + "'");
}

Result<Value> int_pow(int64_t a, int64_t b) {
  if (b < 0) {
    if (a == 0)
      return eval_error(ErrorCode::kZeroDivision, "0.0 cannot be raised to a negative power");
    return Value(std::pow(static_cast<double>(a), static_cast<double>(b)));
  }
  int64_t result = 1, base = a;
  auto e = static_cast<uint64_t>(b);
  bool overflow = false;
  // Squaring: at most 63 rounds; an overflow means the exact result does not fit in int64.
  while (e != 0 && !overflow) {
    if ((e & 1) != 0) overflow = __builtin_mul_overflow(result, base, &result);
    e >>= 1;
    if (e != 0 && !overflow) overflow = __builtin_mul_overflow(base, base, &base);
  }
  if (overflow) return Value(std::pow(static_cast<double>(a), static_cast<double>(b)));
  return Value(result);
}

Result<Value> int_op(BinaryOp op, int64_t a, int64_t b) {
  int64_t r = 0;
  const auto da = static_cast<double>(a), db = static_cast<double>(b);
  switch (op) {
    case BinaryOp::kAdd:
      return __builtin_add_overflow(a, b, &r) ? Value(da + db) : Value(r);
    case BinaryOp::kSub:
      return __builtin_sub_overflow(a, b, &r) ? Value(da - db) : Value(r);
    case BinaryOp::kMul:
      return __builtin_mul_overflow(a, b, &r) ? Value(da * db) : Value(r);
    case BinaryOp::kDiv:
      if (b == 0) return eval_error(ErrorCode::kZeroDivision, "division by zero");
      return Value(da / db);
    case BinaryOp::kFloorDiv: {
      if (b == 0) return eval_error(ErrorCode::kZeroDivision, "integer division or modulo by zero");
      if (b == -1) return a == std::numeric_limits<int64_t>::min() ? Value(kTwo63) : Value(-a);
      int64_t q = a / b;
      if (a % b != 0 && ((a < 0) != (b < 0))) --q;
      return Value(q);
    }
    case BinaryOp::kMod: {
      if (b == 0) return eval_error(ErrorCode::kZeroDivision, "integer modulo by zero");
      if (b == -1) return Value(0);
      int64_t m = a % b;
      if (m != 0 && ((m < 0) != (b < 0))) m += b;
      return Value(m);
    }
    case BinaryOp::kPow:
      return int_pow(a, b);
  }
  return Value();
}

// CPython's float_divmod / float_rem, so results match Python to the last bit.
Result<Value> float_op(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::kAdd:
      return Value(a + b);
    case BinaryOp::kSub:
      return Value(a - b);
    case BinaryOp::kMul:
      return Value(a * b);
    case BinaryOp::kDiv:
      if (b == 0) return eval_error(ErrorCode::kZeroDivision, "float division by zero");
      return Value(a / b);
    case BinaryOp::kMod: {
      if (b == 0) return eval_error(ErrorCode::kZeroDivision, "float modulo");
      double mod = std::fmod(a, b);
      if (mod != 0) {
        if ((b < 0) != (mod < 0)) mod += b;
      } else {
        mod = std::copysign(0.0, b);
      }
      return Value(mod);
    }
    case BinaryOp::kFloorDiv: {
      if (b == 0) return eval_error(ErrorCode::kZeroDivision, "float floor division by zero");
      double mod = std::fmod(a, b);
      double div = (a - mod) / b;
      if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1.0;
      double floordiv = 0;
      if (div != 0) {
        floordiv = std::floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
      } else {
        floordiv = std::copysign(0.0, a / b);
      }
      return Value(floordiv);
    }
    case BinaryOp::kPow:
      if (a == 0 && b < 0)
        return eval_error(ErrorCode::kZeroDivision, "0.0 cannot be raised to a negative power");
      if (a < 0 && std::isfinite(a) && std::isfinite(b) && b != std::floor(b))
        return eval_error(ErrorCode::kInvalidArgument,
                          "negative number cannot be raised to a fractional power (complex "
                          "results are not supported)");
      return Value(std::pow(a, b));  // overflow gives inf (Python raises OverflowError)
  }
  return Value();
}

// ---- sequences ----

Status too_large(uint64_t limit, const char* what) {
  return eval_error(ErrorCode::kInvalidArgument,
                    "result too large (more than " + std::to_string(limit) + " " + what + ")");
}
Status string_too_large() { return too_large(kMaxStringLength, "characters"); }
Status list_too_large() { return too_large(kMaxListLength, "list items"); }

Result<Value> repeat(const Value& seq, int64_t n, Budget& budget) {
  if (seq.is_string() || seq.is_bytes()) {
    std::string_view s = seq.is_string() ? seq.as_string() : seq.as_bytes();
    if (n <= 0 || s.empty()) return seq.is_string() ? Value("") : Value::bytes("");
    if (static_cast<uint64_t>(n) > kMaxStringLength / s.size()) return string_too_large();
    THEUS_RETURN_IF_ERROR(budget.charge(s.size() * static_cast<uint64_t>(n)));
    const size_t total = s.size() * static_cast<size_t>(n);
    std::string out;
    out.reserve(total);
    out.append(s);
    while (out.size() * 2 <= total) out.append(out.data(), out.size());  // doubling: few memcpys
    out.append(out.data(), total - out.size());
    return seq.is_string() ? Value(out) : Value::bytes(out);
  }
  const List& list = seq.as_list();
  if (n <= 0 || list.empty()) return Value(List());
  uint64_t each = content_size(seq, kMaxListLength);
  if (static_cast<uint64_t>(n) > kMaxListLength / each) return list_too_large();
  THEUS_RETURN_IF_ERROR(budget.charge(each * static_cast<uint64_t>(n) * kElementWork));
  std::vector<Value> items;
  items.reserve(list.size() * static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    for (const Value& v : list) items.push_back(v);
  return Value(List::from_vector(std::move(items)));
}

Result<Value> concat(const Value& a, const Value& b, Budget& budget) {
  if (a.is_list()) {
    uint64_t size = content_size(a, kMaxListLength) + content_size(b, kMaxListLength);
    if (size > kMaxListLength) return list_too_large();
    THEUS_RETURN_IF_ERROR(budget.charge(size * kElementWork));
    if (b.as_list().empty()) return a;
    if (a.as_list().empty()) return b;
    std::vector<Value> items = a.as_list().to_vector();
    items.reserve(items.size() + b.as_list().size());
    for (const Value& v : b.as_list()) items.push_back(v);
    return Value(List::from_vector(std::move(items)));
  }
  std::string_view x = a.is_string() ? a.as_string() : a.as_bytes();
  std::string_view y = b.is_string() ? b.as_string() : b.as_bytes();
  if (x.size() + y.size() > kMaxStringLength) return string_too_large();
  THEUS_RETURN_IF_ERROR(budget.charge(x.size() + y.size()));
  std::string out;
  out.reserve(x.size() + y.size());
  out.append(x).append(y);
  return a.is_string() ? Value(out) : Value::bytes(out);
}

bool is_sequence(const Value& v) { return v.is_string() || v.is_bytes() || v.is_list(); }

Result<Value> sequence_op(BinaryOp op, const Value& a, const Value& b, Budget& budget) {
  if (op == BinaryOp::kAdd) {
    if (a.kind() == b.kind() && is_sequence(a)) return concat(a, b, budget);
    if (a.is_string() || a.is_list())
      return eval_error(ErrorCode::kTypeMismatch, "can only concatenate " + tname(a) + " (not \"" +
                                                      tname(b) + "\") to " + tname(a));
    if (a.is_bytes())
      return eval_error(ErrorCode::kTypeMismatch, "can't concat " + tname(b) + " to bytes");
  }
  if (op == BinaryOp::kMul) {
    if (is_sequence(a) && is_intlike(b)) return repeat(a, to_int(b), budget);
    if (is_sequence(b) && is_intlike(a)) return repeat(b, to_int(a), budget);
    if (is_sequence(a) || is_sequence(b)) {
      const Value& other = is_sequence(a) ? b : a;
      return eval_error(ErrorCode::kTypeMismatch,
                        "can't multiply sequence by non-int of type '" + tname(other) + "'");
    }
  }
  return unsupported(op, a, b);
}

// ---- comparisons ----

constexpr int kUnordered = 2;

// -1, 0, 1, or kUnordered (NaN); exact across int64 and double, as Python compares.
int compare_numbers(const Value& a, const Value& b) {
  if (is_intlike(a) && is_intlike(b)) {
    int64_t x = to_int(a), y = to_int(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_double() && b.is_double()) {
    double x = a.as_double(), y = b.as_double();
    if (std::isnan(x) || std::isnan(y)) return kUnordered;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const bool flip = a.is_double();  // make `i` the int side and `d` the double side
  int64_t i = to_int(flip ? b : a);
  double d = (flip ? a : b).as_double();
  int c = 0;
  if (std::isnan(d)) return kUnordered;
  if (d >= kTwo63) {
    c = -1;
  } else if (d < -kTwo63) {
    c = 1;
  } else {
    double fl = std::floor(d);
    auto fi = static_cast<int64_t>(fl);
    c = i < fi ? -1 : i > fi ? 1 : (d > fl ? -1 : 0);
  }
  return flip ? -c : c;
}

bool holds(CompareOp op, int c) {
  switch (op) {
    case CompareOp::kLt:
      return c < 0;
    case CompareOp::kLe:
      return c <= 0;
    case CompareOp::kGt:
      return c > 0;
    case CompareOp::kGe:
      return c >= 0;
    default:
      return false;
  }
}

Result<bool> ordered(CompareOp op, const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    int c = compare_numbers(a, b);
    return c != kUnordered && holds(op, c);
  }
  if ((a.is_string() && b.is_string()) || (a.is_bytes() && b.is_bytes())) {
    std::string_view x = a.is_string() ? a.as_string() : a.as_bytes();
    std::string_view y = b.is_string() ? b.as_string() : b.as_bytes();
    int c = x.compare(y);  // byte order == code point order for UTF-8
    return holds(op, c < 0 ? -1 : c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list()) {
    // Python: the first unequal pair decides with `op`; otherwise the lengths do.
    const List& x = a.as_list();
    const List& y = b.as_list();
    auto ix = x.begin(), iy = y.begin();
    for (; ix != x.end() && iy != y.end(); ++ix, ++iy)
      if (!(*ix == *iy)) return ordered(op, *ix, *iy);
    size_t nx = x.size(), ny = y.size();
    return holds(op, nx < ny ? -1 : nx > ny ? 1 : 0);
  }
  return eval_error(ErrorCode::kTypeMismatch, "'" + std::string(compare_op_symbol(op)) +
                                                  "' not supported between instances of '" +
                                                  tname(a) + "' and '" + tname(b) + "'");
}

// Substring test, linear even for adversarial inputs (KMP once the needle is long).
bool contains_text(std::string_view hay, std::string_view needle) {
  if (needle.size() <= 32) return hay.find(needle) != std::string_view::npos;
  std::vector<size_t> fail(needle.size(), 0);
  for (size_t i = 1, k = 0; i < needle.size(); ++i) {
    while (k > 0 && needle[i] != needle[k]) k = fail[k - 1];
    if (needle[i] == needle[k]) ++k;
    fail[i] = k;
  }
  for (size_t i = 0, k = 0; i < hay.size(); ++i) {
    while (k > 0 && hay[i] != needle[k]) k = fail[k - 1];
    if (hay[i] == needle[k]) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

// Comparisons involving an embedder's object are delegated to it (Python's rich comparison for
// Python values: Decimal, datetime, enums, ...). The foreign operand goes on the left, with the
// operator mirrored when it was on the right. An empty result: no hook, use the core's rules.
std::optional<Result<bool>> foreign_compare(CompareOp op, const Value& a, const Value& b) {
  bool left = a.is_foreign() && a.foreign_hooks() && a.foreign_hooks()->compare;
  bool right = !left && b.is_foreign() && b.foreign_hooks() && b.foreign_hooks()->compare;
  if (!left && !right) return std::nullopt;
  static constexpr ForeignCompareOp kAsIs[] = {kForeignEq, kForeignNe, kForeignLt,
                                               kForeignLe, kForeignGt, kForeignGe};
  static constexpr ForeignCompareOp kMirrored[] = {kForeignEq, kForeignNe, kForeignGt,
                                                   kForeignGe, kForeignLt, kForeignLe};
  auto index = static_cast<size_t>(op);
  const Value& obj = left ? a : b;
  const Value& other = left ? b : a;
  bool result = false;
  std::string error;
  if (obj.foreign_hooks()->compare(obj.foreign_object(), other,
                                   left ? kAsIs[index] : kMirrored[index], &result, &error))
    return Result<bool>(result);
  if (error.empty())
    error = "'" + std::string(compare_op_symbol(op)) + "' not supported between instances of '" +
            tname(a) + "' and '" + tname(b) + "'";
  return Result<bool>(eval_error(ErrorCode::kTypeMismatch, std::move(error)));
}

// `==` as Python's containment test applies it, with foreign values asked through their hook.
bool elements_equal(const Value& a, const Value& b) {
  if (a.is_foreign() || b.is_foreign())
    if (auto r = foreign_compare(CompareOp::kEq, a, b)) return r->is_ok() && **r;
  return a == b;
}

Result<bool> contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::kString:
      if (!item.is_string())
        return eval_error(ErrorCode::kTypeMismatch,
                          "'in <string>' requires string as left operand, not " + tname(item));
      return contains_text(container.as_string(), item.as_string());
    case Kind::kBytes:
      if (is_intlike(item)) {
        int64_t byte = to_int(item);
        if (byte < 0 || byte > 255)
          return eval_error(ErrorCode::kInvalidArgument, "byte must be in range(0, 256)");
        return container.as_bytes().find(static_cast<char>(byte)) != std::string_view::npos;
      }
      if (!item.is_bytes())
        return eval_error(ErrorCode::kTypeMismatch,
                          "a bytes-like object is required, not '" + tname(item) + "'");
      return contains_text(container.as_bytes(), item.as_bytes());
    case Kind::kList:
      for (const Value& v : container.as_list())
        if (elements_equal(v, item)) return true;
      return false;
    case Kind::kMap:
      return container.as_map().contains(item);
    default:
      return eval_error(ErrorCode::kTypeMismatch,
                        "argument of type '" + tname(container) + "' is not iterable");
  }
}

// `is`: None, True and False are singletons; other values are the same object when identical.
bool same_object(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (a.is_bool() || b.is_bool()) return a.is_bool() && b.is_bool() && a.as_bool() == b.as_bool();
  return a.kind() == b.kind() && a.identical(b);
}

void add_size(const Value& v, uint64_t cap, uint64_t& total) {
  if (total > cap) return;
  switch (v.kind()) {
    case Kind::kString:
      total += std::max<uint64_t>(1, v.as_string().size());
      return;
    case Kind::kBytes:
      total += std::max<uint64_t>(1, v.as_bytes().size());
      return;
    case Kind::kList:
      total += 1;
      for (const Value& item : v.as_list()) {
        add_size(item, cap, total);
        if (total > cap) return;
      }
      return;
    case Kind::kMap:
      total += 1;
      for (auto item : v.as_map()) {
        add_size(item.key, cap, total);
        add_size(item.value, cap, total);
        if (total > cap) return;
      }
      return;
    default:
      total += 1;
  }
}

}  // namespace

Status Budget::charge(uint64_t units) {
  used_ += units;
  if (used_ > kMaxEvaluationWork)
    return eval_error(ErrorCode::kInvalidArgument,
                      "evaluation too expensive (builds more than " +
                          std::to_string(kMaxEvaluationWork / kElementWork) + " list items or " +
                          std::to_string(kMaxEvaluationWork) + " characters)");
  return Status::ok();
}

uint64_t content_size(const Value& v, uint64_t cap) {
  if (v.is_string()) return v.as_string().size();
  if (v.is_bytes()) return v.as_bytes().size();
  uint64_t total = 0;
  if (v.is_list()) {
    for (const Value& item : v.as_list()) {
      add_size(item, cap, total);
      if (total > cap) break;
    }
    return total;
  }
  add_size(v, cap, total);
  return total;
}

std::string short_repr(const Value& v) {
  constexpr size_t kLimit = 200;
  if (v.is_string() && v.as_string().size() > kLimit)
    return Value(v.as_string().substr(0, kLimit)).repr() + "...";
  if (v.is_container() && content_size(v, kLimit) > kLimit)
    return "<" + tname(v) + " of " +
           std::to_string(v.is_list() ? v.as_list().size() : v.as_map().size()) + " items>";
  return v.repr();
}

Result<Value> unary_op(UnaryOp op, const Value& v) {
  if (op == UnaryOp::kNot) return Value(!v.truthy());
  if (is_intlike(v)) {
    int64_t i = to_int(v);
    if (op == UnaryOp::kPos) return Value(i);
    if (i == std::numeric_limits<int64_t>::min()) return Value(kTwo63);
    return Value(-i);
  }
  if (v.is_double()) return Value(op == UnaryOp::kNeg ? -v.as_double() : v.as_double());
  return eval_error(ErrorCode::kTypeMismatch, std::string("bad operand type for unary ") +
                                                  (op == UnaryOp::kNeg ? "-" : "+") + ": '" +
                                                  tname(v) + "'");
}

Result<Value> binary_op(BinaryOp op, const Value& a, const Value& b, Budget& budget) {
  if (a.is_number() && b.is_number()) {
    if (is_intlike(a) && is_intlike(b)) return int_op(op, to_int(a), to_int(b));
    return float_op(op, a.as_number(), b.as_number());
  }
  return sequence_op(op, a, b, budget);
}

Result<bool> compare_op(CompareOp op, const Value& a, const Value& b) {
  if (op <= CompareOp::kGe && (a.is_foreign() || b.is_foreign()))
    if (auto r = foreign_compare(op, a, b)) return std::move(*r);
  switch (op) {
    case CompareOp::kEq:
      return a == b;
    case CompareOp::kNe:
      return !(a == b);
    case CompareOp::kIs:
      return same_object(a, b);
    case CompareOp::kIsNot:
      return !same_object(a, b);
    case CompareOp::kIn:
      return contains(b, a);
    case CompareOp::kNotIn: {
      Result<bool> r = contains(b, a);
      if (!r.is_ok()) return r;
      return !*r;
    }
    default:
      return ordered(op, a, b);
  }
}

std::string_view binary_op_symbol(BinaryOp op) noexcept {
  constexpr std::string_view kSymbols[] = {"+", "-", "*", "/", "//", "%", "**"};
  return kSymbols[static_cast<size_t>(op)];
}

std::string_view compare_op_symbol(CompareOp op) noexcept {
  constexpr std::string_view kSymbols[] = {"==", "!=", "<",      "<=", ">",
                                           ">=", "in", "not in", "is", "is not"};
  return kSymbols[static_cast<size_t>(op)];
}

}  // namespace theus::flux::detail

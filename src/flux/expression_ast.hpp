// ExprNode: the immutable syntax tree of a Flux condition (theus::flux::Expression), plus the
// internal entry points of its parser and evaluator and the limits that keep both bounded.
// Thread-safety: a finished tree is never modified, so any number of threads may evaluate it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "theus/flux/expression.hpp"
#include "theus/status.hpp"
#include "theus/value.hpp"

namespace theus::flux::detail {

// Longest accepted expression text, in bytes (bounds parser memory).
inline constexpr size_t kMaxExpressionLength = size_t{1} << 20;
// Deepest accepted nesting (brackets, unary chains, `**` chains) and tallest accepted tree.
inline constexpr int kMaxDepth = 200;
// Largest string (characters) one operation may build: `s * n`, `s + t`, str(x).
inline constexpr uint64_t kMaxStringLength = 10'000'000;
// Largest list one operation may build (`l * n`, `l + m`, sum()), counting nested elements and
// the characters of nested strings. Lower than kMaxStringLength: an element costs 16+ bytes and a
// persistent-vector slot, a character one byte.
inline constexpr uint64_t kMaxListLength = 1'000'000;
// What one evaluation may build in total (bounds time and memory of chains, sums, displays): a
// character costs 1 unit, a list element or map entry kElementWork units.
inline constexpr uint64_t kMaxEvaluationWork = 20'000'000;
inline constexpr uint64_t kElementWork = 10;
// Largest container (elements, counted as for kMaxListLength) str() renders; rendering costs far
// more per element than building, and conditions never need big renderings.
inline constexpr uint64_t kMaxStrInput = 100'000;

enum class NodeKind : uint8_t {
  kLiteral,    // value
  kName,       // name
  kList,       // children: the items of a list or tuple display
  kDict,       // children: key0, value0, key1, value1, ...
  kAttribute,  // children[0].name
  kSubscript,  // children[0][children[1]]
  kUnary,      // op: UnaryOp; children[0]
  kBinary,     // op: BinaryOp; children[0], children[1]
  kCompare,    // children[0] compare_ops[0] children[1] compare_ops[1] children[2] ...
  kAnd,        // children[0] and children[1] and ...
  kOr,         // children[0] or children[1] or ...
  kCall,       // op: Builtin; children: the arguments
  kMethod,     // op: Method; children[0] the receiver, then the arguments
};

enum class UnaryOp : uint8_t { kNeg, kPos, kNot };
enum class BinaryOp : uint8_t { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow };
enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn, kIs, kIsNot };
enum class Builtin : uint8_t { kLen, kInt, kFloat, kStr, kBool, kAbs, kMin, kMax, kSum };
enum class Method : uint8_t { kGet, kKeys, kValues, kItems };

struct ExprNode {
  NodeKind kind = NodeKind::kLiteral;
  uint8_t op = 0;       // UnaryOp, BinaryOp, Builtin or Method, by kind
  uint16_t height = 1;  // 1 + the tallest child (bounded by kMaxDepth)
  uint32_t pos = 0;     // byte offset in the source (parse-time messages)
  Value value;          // kLiteral
  std::string name;     // kName, kAttribute
  std::vector<CompareOp> compare_ops;
  std::vector<std::unique_ptr<ExprNode>> children;
};

// Parses `text` into a tree. Errors: kInvalidArgument whose message is only the detail, e.g.
// "unexpected ')' at column 7" (Expression::parse wraps it).
Result<std::unique_ptr<ExprNode>> parse_tree(std::string_view text);

// Evaluates a tree. Errors carry the Python-like code and only the detail, e.g.
// "name 'x' is not defined" (Expression::evaluate wraps it).
Result<Value> evaluate_tree(const ExprNode& root, const NameLookup& names);

// Names of the enums, as written in the source ("len", "get", "//", "not in").
std::string_view builtin_name(Builtin b) noexcept;
std::string_view method_name(Method m) noexcept;
std::string_view binary_op_symbol(BinaryOp op) noexcept;
std::string_view compare_op_symbol(CompareOp op) noexcept;

}  // namespace theus::flux::detail

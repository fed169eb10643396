// Python semantics of the Flux condition language on Values: operators, comparisons, builtins and
// mapping methods, with a work budget that bounds what one evaluation may build.
// Thread-safety: free functions over immutable Values; a Budget belongs to one evaluation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flux/expression_ast.hpp"
#include "theus/status.hpp"
#include "theus/value.hpp"

namespace theus::flux::detail {

// Counts the work units one evaluation spends building values (limit: kMaxEvaluationWork).
class Budget {
 public:
  // Errors: kInvalidArgument once the total exceeds the limit.
  Status charge(uint64_t units);

 private:
  uint64_t used_ = 0;
};

// Characters of a string/bytes, or elements of a list/map with nested ones counted (a nested
// string counts its characters), 1 for any other value. Stops counting once above `cap`: O(cap).
uint64_t content_size(const Value& v, uint64_t cap);

// A repr() for error messages: long strings and large containers are shortened.
std::string short_repr(const Value& v);

// Error with a Python-like detail; Expression::evaluate adds the location and the text.
inline Status eval_error(ErrorCode code, std::string detail) {
  return Status(code, std::move(detail));
}

// `-v`, `+v` (kNot is handled by the evaluator). Errors: kTypeMismatch.
Result<Value> unary_op(UnaryOp op, const Value& v);
// `a op b`. Errors: kTypeMismatch, kZeroDivision, kInvalidArgument (too large, complex result).
Result<Value> binary_op(BinaryOp op, const Value& a, const Value& b, Budget& budget);
// `a op b` for one link of a comparison chain. Errors: kTypeMismatch.
Result<bool> compare_op(CompareOp op, const Value& a, const Value& b);

// A builtin applied to evaluated arguments (counts already checked by the parser).
Result<Value> call_builtin(Builtin fn, const std::vector<Value>& args, Budget& budget);
// A mapping method; errors: kAttributeError when `receiver` is not a map.
Result<Value> call_method(Method m, const Value& receiver, const std::vector<Value>& args,
                          Budget& budget);

}  // namespace theus::flux::detail

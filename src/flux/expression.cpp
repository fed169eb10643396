// Expression: parse once into an immutable tree, evaluate many times; wraps the parser's and the
// evaluator's details into the messages of spec §1.3 (Deviation D11).
#include "theus/flux/expression.hpp"

#include <memory>
#include <string>
#include <utility>

#include "flux/expression_ast.hpp"

namespace theus::flux {

Result<Expression> Expression::parse(std::string_view text, std::string_view location) {
  Result<std::unique_ptr<detail::ExprNode>> tree = detail::parse_tree(text);
  if (!tree.is_ok()) {
    return Status(ErrorCode::kInvalidArgument, "invalid condition at " + std::string(location) +
                                                   ": '" + std::string(text) + "' (" +
                                                   tree.status().message() + ")");
  }
  Expression e;
  e.root_ = std::shared_ptr<const detail::ExprNode>(std::move(tree).value());
  e.text_ = std::string(text);
  e.location_ = std::string(location);
  return e;
}

Result<Value> Expression::evaluate(const NameLookup& names) const {
  if (!root_) {
    return Status(ErrorCode::kFailedPrecondition,
                  "Flux condition error in " + location_ + ": '" + text_ +
                      "' (the expression was not produced by Expression::parse)");
  }
  Result<Value> r = detail::evaluate_tree(*root_, names);
  if (r.is_ok()) return r;
  return Status(r.code(), "Flux condition error in " + location_ + ": '" + text_ + "' (" +
                              r.status().message() + ")");
}

Result<bool> Expression::test(const NameLookup& names) const {
  Result<Value> r = evaluate(names);
  if (!r.is_ok()) return r.status();
  return r->truthy();
}

}  // namespace theus::flux

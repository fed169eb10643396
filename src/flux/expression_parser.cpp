// Recursive-descent parser of Flux conditions (Python's expression grammar, restricted): builds
// the ExprNode tree and refuses every construct outside the safe subset, naming it and its column.
// Longer than the house guideline: one Parser class whose methods follow the precedence ladder
// top-down; split across files, the grammar would no longer read as one.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flux/expression_ast.hpp"
#include "flux/expression_lexer.hpp"

namespace theus::flux::detail {

namespace {

using NodePtr = std::unique_ptr<ExprNode>;

struct CallableInfo {
  std::string_view name;
  uint8_t id;
  size_t min_args;
  size_t max_args;
};

constexpr size_t kMany = std::numeric_limits<size_t>::max();

constexpr CallableInfo kBuiltins[] = {
    {"len", static_cast<uint8_t>(Builtin::kLen), 1, 1},
    {"int", static_cast<uint8_t>(Builtin::kInt), 0, 1},
    {"float", static_cast<uint8_t>(Builtin::kFloat), 0, 1},
    {"str", static_cast<uint8_t>(Builtin::kStr), 0, 1},
    {"bool", static_cast<uint8_t>(Builtin::kBool), 0, 1},
    {"abs", static_cast<uint8_t>(Builtin::kAbs), 1, 1},
    {"min", static_cast<uint8_t>(Builtin::kMin), 1, kMany},
    {"max", static_cast<uint8_t>(Builtin::kMax), 1, kMany},
    {"sum", static_cast<uint8_t>(Builtin::kSum), 1, 2},
};

constexpr CallableInfo kMethods[] = {
    {"get", static_cast<uint8_t>(Method::kGet), 1, 2},
    {"keys", static_cast<uint8_t>(Method::kKeys), 0, 0},
    {"values", static_cast<uint8_t>(Method::kValues), 0, 0},
    {"items", static_cast<uint8_t>(Method::kItems), 0, 0},
};

template <size_t N>
const CallableInfo* find_callable(const CallableInfo (&table)[N], std::string_view name) {
  for (const CallableInfo& c : table)
    if (c.name == name) return &c;
  return nullptr;
}

std::string plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

// Python-like arity message, e.g. "len() takes exactly one argument (2 given)".
std::string arity_message(const CallableInfo& c, size_t given) {
  std::string head = std::string(c.name) + "() takes ";
  std::string tail = " (" + std::to_string(given) + " given)";
  if (c.max_args == 0) return head + "no arguments" + tail;
  if (c.min_args == c.max_args) return head + "exactly one argument" + tail;
  if (given < c.min_args) return head + "at least " + plural(c.min_args, "argument") + tail;
  return head + "at most " + plural(c.max_args, "argument") + tail;
}

// A token's source text for messages: quoted, control bytes escaped, long texts shortened.
std::string describe(const Token& t) {
  if (t.kind == TokenKind::kEnd) return "end of expression";
  std::string out = "'";
  size_t shown = 0;
  for (char c : t.text) {
    if (++shown > 30) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "'";
}

Value negate_number(const Value& v) {
  if (v.is_double()) return Value(-v.as_double());
  int64_t i = v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int();
  if (i == std::numeric_limits<int64_t>::min()) return Value(-static_cast<double>(i));
  return Value(-i);
}

class Parser {
 public:
  explicit Parser(std::string_view src) : src_(src), lex_(src) { take(lex_.next()); }

  Result<std::unique_ptr<ExprNode>> run() {
    NodePtr root = parse_expr();
    if (root && cur_.kind != TokenKind::kEnd) fail_unexpected(cur_);
    if (failed_) return Status(ErrorCode::kInvalidArgument, error_);
    return root;
  }

 private:
  // ---- tokens and errors ----
  void take(Token t) {
    cur_ = std::move(t);
    if (cur_.kind == TokenKind::kError && !failed_) {
      failed_ = true;
      error_ = cur_.error;
    }
  }
  void advance() {
    if (peek_) {
      Token t = std::move(*peek_);
      peek_.reset();
      take(std::move(t));
    } else {
      take(lex_.next());
    }
  }
  const Token& peek() {
    if (!peek_) peek_ = lex_.next();
    return *peek_;
  }
  bool at_op(std::string_view op) const { return cur_.is_op(op); }
  bool at_name(std::string_view n) const { return cur_.is_name(n); }

  NodePtr fail(size_t pos, const std::string& what) {
    if (!failed_) {
      failed_ = true;
      error_ = what + " at " + describe_position(src_, pos);
    }
    return nullptr;
  }
  bool refuse(size_t pos, const std::string& what) {
    fail(pos, what);
    return false;
  }
  NodePtr fail_unexpected(const Token& t) { return fail(t.pos, "unexpected " + describe(t)); }
  bool expect_op(std::string_view op) {
    if (at_op(op)) {
      advance();
      return true;
    }
    if (!failed_) fail(cur_.pos, "expected '" + std::string(op) + "' but found " + describe(cur_));
    return false;
  }

  // Counts nesting (brackets, unary and `**` chains) so recursion depth stays bounded.
  class DepthGuard {
   public:
    explicit DepthGuard(Parser* p) : p_(p) {
      if (++p_->depth_ > kMaxDepth) p_->fail(p_->cur_.pos, "expression nested too deeply");
    }
    ~DepthGuard() { --p_->depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
    bool ok() const { return p_->depth_ <= kMaxDepth; }

   private:
    Parser* p_;
  };

  static NodePtr make(NodeKind kind, size_t pos, uint8_t op = 0) {
    auto n = std::make_unique<ExprNode>();
    n->kind = kind;
    n->pos = static_cast<uint32_t>(pos);
    n->op = op;
    return n;
  }
  static NodePtr literal(Value v, size_t pos) {
    NodePtr n = make(NodeKind::kLiteral, pos);
    n->value = std::move(v);
    return n;
  }
  // Sets the height of a finished node; refuses trees taller than kMaxDepth.
  NodePtr finish(NodePtr n) {
    int h = 0;
    for (const NodePtr& c : n->children) h = std::max<int>(h, c->height);
    if (h + 1 > kMaxDepth) return fail(n->pos, "expression nested too deeply");
    n->height = static_cast<uint16_t>(h + 1);
    return n;
  }
  NodePtr binary(NodeKind kind, uint8_t op, size_t pos, NodePtr a, NodePtr b) {
    NodePtr n = make(kind, pos, op);
    n->children.push_back(std::move(a));
    n->children.push_back(std::move(b));
    return finish(std::move(n));
  }

  // ---- grammar, loosest binding first ----
  NodePtr parse_expr() {
    DepthGuard guard(this);
    if (!guard.ok()) return nullptr;
    NodePtr n = parse_or();
    if (!n) return nullptr;
    if (at_name("if")) return fail(cur_.pos, "conditional expressions are not allowed");
    if (at_op(":=")) return fail(cur_.pos, "assignment expressions are not allowed");
    return n;
  }

  NodePtr parse_bool_chain(NodeKind kind, std::string_view word, NodePtr (Parser::*sub)()) {
    NodePtr first = (this->*sub)();
    if (!first || !at_name(word)) return first;
    NodePtr n = make(kind, first->pos);
    n->children.push_back(std::move(first));
    while (at_name(word)) {
      advance();
      NodePtr next = (this->*sub)();
      if (!next) return nullptr;
      n->children.push_back(std::move(next));
    }
    return finish(std::move(n));
  }
  NodePtr parse_or() { return parse_bool_chain(NodeKind::kOr, "or", &Parser::parse_and); }
  NodePtr parse_and() { return parse_bool_chain(NodeKind::kAnd, "and", &Parser::parse_not); }

  NodePtr parse_not() {
    if (!at_name("not")) return parse_comparison();
    DepthGuard guard(this);
    if (!guard.ok()) return nullptr;
    size_t pos = cur_.pos;
    advance();
    NodePtr operand = parse_not();
    if (!operand) return nullptr;
    NodePtr n = make(NodeKind::kUnary, pos, static_cast<uint8_t>(UnaryOp::kNot));
    n->children.push_back(std::move(operand));
    return finish(std::move(n));
  }

  std::optional<CompareOp> take_compare_op() {
    static constexpr std::pair<std::string_view, CompareOp> kSymbols[] = {
        {"==", CompareOp::kEq}, {"!=", CompareOp::kNe}, {"<", CompareOp::kLt},
        {"<=", CompareOp::kLe}, {">", CompareOp::kGt},  {">=", CompareOp::kGe}};
    if (cur_.kind == TokenKind::kOp) {
      for (const auto& [sym, op] : kSymbols) {
        if (cur_.text == sym) {
          advance();
          return op;
        }
      }
      return std::nullopt;
    }
    if (at_name("in")) {
      advance();
      return CompareOp::kIn;
    }
    if (at_name("is")) {
      advance();
      if (!at_name("not")) return CompareOp::kIs;
      advance();
      return CompareOp::kIsNot;
    }
    if (at_name("not") && peek().is_name("in")) {
      advance();
      advance();
      return CompareOp::kNotIn;
    }
    return std::nullopt;
  }

  // Python's bitwise operators (and `@`) are outside the language: false (and the error set)
  // when one is next.
  bool no_bitwise_operator() {
    for (std::string_view op : {"|", "&", "^", "<<", ">>", "@", "~"})
      if (at_op(op)) return refuse(cur_.pos, "operator '" + std::string(op) + "' is not supported");
    return true;
  }

  NodePtr parse_comparison() {
    std::vector<NodePtr> operands;
    std::vector<CompareOp> ops;
    for (;;) {
      NodePtr operand = parse_arith();
      if (!operand || !no_bitwise_operator()) return nullptr;
      operands.push_back(std::move(operand));
      std::optional<CompareOp> op = take_compare_op();
      if (!op) break;
      ops.push_back(*op);
    }
    if (failed_) return nullptr;
    if (ops.empty()) return std::move(operands[0]);
    NodePtr n = make(NodeKind::kCompare, operands[0]->pos);
    n->children = std::move(operands);
    n->compare_ops = std::move(ops);
    return finish(std::move(n));
  }

  NodePtr parse_arith() {
    NodePtr left = parse_term();
    while (left && (at_op("+") || at_op("-"))) {
      auto op = at_op("+") ? BinaryOp::kAdd : BinaryOp::kSub;
      size_t pos = cur_.pos;
      advance();
      NodePtr right = parse_term();
      if (!right) return nullptr;
      left = binary(NodeKind::kBinary, static_cast<uint8_t>(op), pos, std::move(left),
                    std::move(right));
    }
    return left;
  }

  NodePtr parse_term() {
    static constexpr std::pair<std::string_view, BinaryOp> kSymbols[] = {
        {"*", BinaryOp::kMul},
        {"/", BinaryOp::kDiv},
        {"//", BinaryOp::kFloorDiv},
        {"%", BinaryOp::kMod}};
    NodePtr left = parse_factor();
    while (left) {
      const BinaryOp* op = nullptr;
      for (const auto& entry : kSymbols)
        if (at_op(entry.first)) op = &entry.second;
      if (!op) {
        if (at_op("@") && !no_bitwise_operator()) return nullptr;
        return left;
      }
      size_t pos = cur_.pos;
      advance();
      NodePtr right = parse_factor();
      if (!right) return nullptr;
      left = binary(NodeKind::kBinary, static_cast<uint8_t>(*op), pos, std::move(left),
                    std::move(right));
    }
    return nullptr;
  }

  NodePtr parse_factor() {
    if (at_op("~") && !no_bitwise_operator()) return nullptr;
    if (!at_op("-") && !at_op("+")) return parse_power();
    DepthGuard guard(this);
    if (!guard.ok()) return nullptr;
    bool neg = at_op("-");
    size_t pos = cur_.pos;
    advance();
    NodePtr operand = parse_factor();
    if (!operand) return nullptr;
    // Fold signs of number literals, so `x > -1` compares against a constant.
    if (operand->kind == NodeKind::kLiteral && operand->value.is_number()) {
      const Value& v = operand->value;
      if (neg && is_int64_min_magnitude(operand->pos))
        return literal(Value(std::numeric_limits<int64_t>::min()), pos);
      Value folded = neg ? negate_number(v) : v.is_bool() ? Value(v.as_bool() ? 1 : 0) : v;
      return literal(std::move(folded), pos);
    }
    NodePtr n =
        make(NodeKind::kUnary, pos, static_cast<uint8_t>(neg ? UnaryOp::kNeg : UnaryOp::kPos));
    n->children.push_back(std::move(operand));
    return finish(std::move(n));
  }

  // True when the literal at `pos` is the decimal 9223372036854775808, which only fits in int64
  // once negated (the lexer made it a float).
  bool is_int64_min_magnitude(size_t pos) const {
    std::string digits;
    size_t i = pos;
    for (; i < src_.size() && ((src_[i] >= '0' && src_[i] <= '9') || src_[i] == '_'); ++i)
      if (src_[i] != '_') digits += src_[i];
    bool is_int =
        i >= src_.size() || std::string_view(".eEjJxXoObB").find(src_[i]) == std::string_view::npos;
    return is_int && digits == "9223372036854775808";
  }

  NodePtr parse_power() {
    NodePtr base = parse_primary();
    if (!base || !at_op("**")) return base;
    DepthGuard guard(this);
    if (!guard.ok()) return nullptr;
    size_t pos = cur_.pos;
    advance();
    NodePtr exponent = parse_factor();  // right-associative; binds unary minus: 2 ** -1
    if (!exponent) return nullptr;
    return binary(NodeKind::kBinary, static_cast<uint8_t>(BinaryOp::kPow), pos, std::move(base),
                  std::move(exponent));
  }

  NodePtr parse_primary() {
    NodePtr node;
    if (cur_.kind == TokenKind::kName && !is_keyword(cur_.text) && peek().is_op("("))
      node = parse_builtin_call();
    else
      node = parse_atom();
    while (node) {
      if (at_op(".")) {
        node = parse_attribute(std::move(node));
      } else if (at_op("[")) {
        size_t pos = cur_.pos;
        advance();
        if (at_op(":")) return fail(cur_.pos, "slicing is not allowed");
        NodePtr index = parse_expr();
        if (!index) return nullptr;
        if (at_op(":")) return fail(cur_.pos, "slicing is not allowed");
        if (!expect_op("]")) return nullptr;
        node = binary(NodeKind::kSubscript, 0, pos, std::move(node), std::move(index));
      } else if (at_op("(")) {
        return fail(cur_.pos, "only builtin functions and mapping methods may be called");
      } else {
        break;
      }
    }
    return node;
  }

  // Parses `( args )` after the callee; checks the count against `c`.
  bool parse_call_args(const CallableInfo& c, size_t callee_pos, std::vector<NodePtr>* out) {
    advance();  // '('
    while (!at_op(")")) {
      if (at_op("*") || at_op("**")) return refuse(cur_.pos, "argument unpacking is not allowed");
      if (cur_.kind == TokenKind::kName && peek().is_op("="))
        return refuse(cur_.pos, "keyword arguments are not allowed");
      NodePtr arg = parse_expr();
      if (!arg) return false;
      if (at_name("for")) return refuse(cur_.pos, "comprehensions are not allowed");
      out->push_back(std::move(arg));
      if (at_op(",")) {
        advance();
      } else if (!at_op(")")) {
        return expect_op(")");
      }
    }
    advance();  // ')'
    if (out->size() < c.min_args || out->size() > c.max_args)
      return refuse(callee_pos, arity_message(c, out->size()));
    return true;
  }

  NodePtr parse_builtin_call() {
    std::string name(cur_.text);
    size_t pos = cur_.pos;
    if (name[0] == '_') return fail(pos, "names starting with '_' are not allowed");
    const CallableInfo* c = find_callable(kBuiltins, name);
    if (!c) return fail(pos, "calls to '" + name + "' are not allowed");
    advance();  // the name
    NodePtr n = make(NodeKind::kCall, pos, c->id);
    if (!parse_call_args(*c, pos, &n->children)) return nullptr;
    return finish(std::move(n));
  }

  NodePtr parse_attribute(NodePtr receiver) {
    advance();  // '.'
    if (cur_.kind != TokenKind::kName) {
      if (failed_) return nullptr;
      return fail(cur_.pos, "expected an attribute name but found " + describe(cur_));
    }
    std::string name(cur_.text);
    size_t pos = cur_.pos;
    if (name[0] == '_') return fail(pos, "attribute '" + name + "' is not allowed");
    advance();
    if (!at_op("(")) {
      NodePtr n = make(NodeKind::kAttribute, pos);
      n->name = std::move(name);
      n->children.push_back(std::move(receiver));
      return finish(std::move(n));
    }
    const CallableInfo* c = find_callable(kMethods, name);
    if (!c) return fail(pos, "calls to '" + name + "' are not allowed");
    NodePtr n = make(NodeKind::kMethod, pos, c->id);
    n->children.push_back(std::move(receiver));
    std::vector<NodePtr> args;
    if (!parse_call_args(*c, pos, &args)) return nullptr;
    for (NodePtr& a : args) n->children.push_back(std::move(a));
    return finish(std::move(n));
  }

  NodePtr parse_atom() {
    const size_t pos = cur_.pos;
    switch (cur_.kind) {
      case TokenKind::kNumber: {
        NodePtr n = literal(cur_.value, pos);
        advance();
        return n;
      }
      case TokenKind::kString:
        return parse_strings();
      case TokenKind::kName:
        return parse_name();
      case TokenKind::kOp:
        if (at_op("(")) return parse_parenthesized();
        if (at_op("[")) return parse_list();
        if (at_op("{")) return parse_dict();
        return fail_unexpected(cur_);
      default:
        if (failed_) return nullptr;
        return fail_unexpected(cur_);
    }
  }

  NodePtr parse_strings() {
    const size_t pos = cur_.pos;
    const bool bytes = cur_.is_bytes;
    std::string text;
    while (cur_.kind == TokenKind::kString) {  // adjacent literals concatenate
      if (cur_.is_bytes != bytes) return fail(cur_.pos, "cannot mix bytes and nonbytes literals");
      text += bytes ? cur_.value.as_bytes() : cur_.value.as_string();
      advance();
    }
    return literal(bytes ? Value::bytes(text) : Value(text), pos);
  }

  NodePtr parse_name() {
    const size_t pos = cur_.pos;
    std::string_view word = cur_.text;
    if (word == "True" || word == "False" || word == "None") {
      NodePtr n = literal(word == "None" ? Value() : Value(word == "True"), pos);
      advance();
      return n;
    }
    if (word == "lambda") return fail(pos, "lambda expressions are not allowed");
    if (word == "await" || word == "yield")
      return fail(pos, "'" + std::string(word) + "' expressions are not allowed");
    if (is_keyword(word)) return fail_unexpected(cur_);
    if (word[0] == '_') return fail(pos, "names starting with '_' are not allowed");
    NodePtr n = make(NodeKind::kName, pos);
    n->name = std::string(word);
    advance();
    return n;
  }

  // A list or tuple display; folded into a literal when every item is one.
  NodePtr display(std::vector<NodePtr> items, size_t pos) {
    bool constant = true;
    for (const NodePtr& i : items) constant = constant && i->kind == NodeKind::kLiteral;
    if (constant) {
      std::vector<Value> values;
      values.reserve(items.size());
      for (NodePtr& i : items) values.push_back(std::move(i->value));
      return literal(Value(List::from_vector(std::move(values))), pos);
    }
    NodePtr n = make(NodeKind::kList, pos);
    n->children = std::move(items);
    return finish(std::move(n));
  }

  // Items up to `close`, after the first one (already parsed and pushed).
  bool parse_items(std::string_view close, std::vector<NodePtr>* items) {
    if (at_name("for")) return refuse(cur_.pos, "comprehensions are not allowed");
    while (at_op(",")) {
      advance();
      if (at_op(close)) break;
      NodePtr item = parse_expr();
      if (!item) return false;
      items->push_back(std::move(item));
    }
    return expect_op(close);
  }

  NodePtr parse_parenthesized() {
    const size_t pos = cur_.pos;
    advance();  // '('
    if (at_op(")")) {
      advance();
      return literal(Value(List()), pos);  // the empty tuple
    }
    NodePtr first = parse_expr();
    if (!first) return nullptr;
    if (at_op(")")) {
      advance();
      return first;  // plain parentheses
    }
    if (!at_op(",") && !at_name("for")) {
      expect_op(")");
      return nullptr;
    }
    std::vector<NodePtr> items;
    items.push_back(std::move(first));
    if (!parse_items(")", &items)) return nullptr;
    return display(std::move(items), pos);  // a tuple is a list value
  }

  NodePtr parse_list() {
    const size_t pos = cur_.pos;
    advance();  // '['
    std::vector<NodePtr> items;
    if (!at_op("]")) {
      NodePtr first = parse_expr();
      if (!first) return nullptr;
      items.push_back(std::move(first));
      if (!parse_items("]", &items)) return nullptr;
    } else {
      advance();
    }
    return display(std::move(items), pos);
  }

  NodePtr parse_dict() {
    const size_t pos = cur_.pos;
    advance();                   // '{'
    std::vector<NodePtr> items;  // key, value, key, value, ...
    while (!at_op("}")) {
      if (at_op("**")) return fail(cur_.pos, "dict unpacking is not allowed");
      NodePtr key = parse_expr();
      if (!key) return nullptr;
      if (at_name("for")) return fail(cur_.pos, "comprehensions are not allowed");
      if (!at_op(":")) {
        if (items.empty() && (at_op(",") || at_op("}")))
          return fail(pos, "set displays are not allowed");
        expect_op(":");
        return nullptr;
      }
      advance();
      NodePtr value = parse_expr();
      if (!value) return nullptr;
      if (at_name("for")) return fail(cur_.pos, "comprehensions are not allowed");
      items.push_back(std::move(key));
      items.push_back(std::move(value));
      if (at_op(",")) {
        advance();
      } else if (!at_op("}")) {
        expect_op("}");
        return nullptr;
      }
    }
    advance();  // '}'
    bool constant = true;
    for (const NodePtr& i : items) constant = constant && i->kind == NodeKind::kLiteral;
    if (constant) {
      std::vector<std::pair<Value, Value>> entries;
      for (size_t i = 0; i + 1 < items.size(); i += 2)
        entries.emplace_back(std::move(items[i]->value), std::move(items[i + 1]->value));
      return literal(Value(Map::from_items(std::move(entries))), pos);
    }
    NodePtr n = make(NodeKind::kDict, pos);
    n->children = std::move(items);
    return finish(std::move(n));
  }

  std::string_view src_;
  Lexer lex_;
  Token cur_;
  std::optional<Token> peek_;
  int depth_ = 0;
  bool failed_ = false;
  std::string error_;
};

}  // namespace

Result<std::unique_ptr<ExprNode>> parse_tree(std::string_view text) {
  if (text.size() > kMaxExpressionLength)
    return Status(ErrorCode::kInvalidArgument,
                  "expression too long (" + std::to_string(text.size()) + " bytes; the limit is " +
                      std::to_string(kMaxExpressionLength) + ")");
  return Parser(text).run();
}

std::string_view builtin_name(Builtin b) noexcept { return kBuiltins[static_cast<size_t>(b)].name; }

std::string_view method_name(Method m) noexcept { return kMethods[static_cast<size_t>(m)].name; }

}  // namespace theus::flux::detail

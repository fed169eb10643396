// YAML helpers shared by the core's loaders (see yaml_value.hpp).
#include "yaml/yaml_value.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

namespace theus::yaml {
namespace {

bool all_digits(std::string_view s, size_t from, int base) {
  if (from >= s.size()) return false;
  for (size_t i = from; i < s.size(); ++i) {
    char c = s[i];
    bool ok = base == 8 ? (c >= '0' && c <= '7')
              : base == 16
                  ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
                  : (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool is_yaml_float(std::string_view s) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "-.inf" || s == "+.Inf" ||
      s == "-.Inf" || s == ".nan" || s == ".NaN" || s == ".NAN")
    return true;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  bool dot = false;
  for (; i < s.size(); ++i) {
    if (s[i] >= '0' && s[i] <= '9') {
      ++digits;
    } else if (s[i] == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!all_digits(s, i, 10)) return false;
    return true;
  }
  return i == s.size() && dot;
}

}  // namespace

ScalarType scalar_type(const YAML::Node& node) {
  if (node.IsNull()) return ScalarType::kNull;
  if (node.Tag() != "?") return ScalarType::kString;  // quoted or explicitly tagged
  const std::string& s = node.Scalar();
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return ScalarType::kNull;
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE")
    return ScalarType::kBool;
  std::string_view v(s);
  if (v.starts_with("0o") && all_digits(v, 2, 8)) return ScalarType::kInt;
  if (v.starts_with("0x") && all_digits(v, 2, 16)) return ScalarType::kInt;
  if (all_digits(v, (v[0] == '+' || v[0] == '-') ? 1 : 0, 10)) return ScalarType::kInt;
  if (is_yaml_float(v)) return ScalarType::kFloat;
  return ScalarType::kString;
}

bool is_string(const YAML::Node& node) {
  return node.IsScalar() && scalar_type(node) == ScalarType::kString;
}

std::string kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "sequence";
    case YAML::NodeType::Map:
      return "mapping";
    case YAML::NodeType::Scalar:
      switch (scalar_type(node)) {
        case ScalarType::kNull:
          return "null";
        case ScalarType::kBool:
          return "boolean " + node.Scalar();
        case ScalarType::kInt:
          return "integer " + node.Scalar();
        case ScalarType::kFloat:
          return "float " + node.Scalar();
        case ScalarType::kString:
          return "string '" + node.Scalar() + "'";
      }
      break;
    default:
      break;
  }
  return "undefined";
}

std::string position(const YAML::Node& node, const std::string& source) {
  YAML::Mark m = node.Mark();
  if (m.is_null()) return " (at " + source + ")";
  return " (at " + source + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
         ")";
}

namespace {

Result<Value> scalar_value(const YAML::Node& node, const std::string& source) {
  const std::string& s = node.Scalar();
  switch (scalar_type(node)) {
    case ScalarType::kNull:
      return Value();
    case ScalarType::kBool:
      return Value(s[0] == 't' || s[0] == 'T');
    case ScalarType::kInt: {
      bool neg = s[0] == '-';
      std::string_view digits(s);
      if (s[0] == '+' || s[0] == '-') digits.remove_prefix(1);
      int base = 10;
      if (digits.starts_with("0o") || digits.starts_with("0x")) {
        base = digits[1] == 'o' ? 8 : 16;
        digits.remove_prefix(2);
      }
      errno = 0;
      unsigned long long mag = std::strtoull(std::string(digits).c_str(), nullptr, base);
      auto limit = static_cast<unsigned long long>(std::numeric_limits<int64_t>::max());
      if (errno == ERANGE || mag > limit + (neg ? 1 : 0))
        return Status(ErrorCode::kInvalidArgument,
                      "integer " + s + " is out of range" + position(node, source));
      if (neg)
        return Value(mag == limit + 1 ? std::numeric_limits<int64_t>::min()
                                      : -static_cast<int64_t>(mag));
      return Value(static_cast<int64_t>(mag));
    }
    case ScalarType::kFloat: {
      if (s.find_first_of("nN") != std::string::npos && s.find_first_of("iI") == std::string::npos)
        return Value(std::numeric_limits<double>::quiet_NaN());
      if (s.find_first_of("iI") != std::string::npos)
        return Value(s[0] == '-' ? -std::numeric_limits<double>::infinity()
                                 : std::numeric_limits<double>::infinity());
      return Value(std::strtod(s.c_str(), nullptr));
    }
    case ScalarType::kString:
      return Value(s);
  }
  return Value(s);
}

}  // namespace

Result<Value> to_value(const YAML::Node& node, const std::string& source) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Value();
    case YAML::NodeType::Scalar:
      return scalar_value(node, source);
    case YAML::NodeType::Sequence: {
      std::vector<Value> items;
      items.reserve(node.size());
      for (const YAML::Node& item : node) {
        Result<Value> v = to_value(item, source);
        if (!v.is_ok()) return v;
        items.push_back(std::move(v).value());
      }
      return Value(List::from_vector(std::move(items)));
    }
    case YAML::NodeType::Map: {
      Map out;
      for (const auto& kv : node) {
        Result<Value> k = to_value(kv.first, source);
        if (!k.is_ok()) return k;
        Value key = k->is_int()      ? std::move(k).value()
                    : k->is_string() ? std::move(k).value()
                                     : Value(kv.first.Scalar());
        Result<Value> v = to_value(kv.second, source);
        if (!v.is_ok()) return v;
        out = out.set(key, std::move(v).value());
      }
      return Value(std::move(out));
    }
  }
  return Value();
}

}  // namespace theus::yaml

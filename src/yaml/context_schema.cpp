// Strict validation of a context-schema document (spec: workflow §4.3, ConfigLoader).
#include "theus/context_schema.hpp"

#include <yaml-cpp/yaml.h>

#include <string>

#include "yaml/yaml_value.hpp"

namespace theus::yaml {

Status config_error(const std::string& what, const YAML::Node& at) {
  return Status(ErrorCode::kSchemaViolation,
                "Config Error: " + what + position(at, "<context schema>"));
}

Status check_field(const std::string& where, const YAML::Node& field) {
  if (!field.IsMap())
    return config_error(
        where + " must be a mapping with type/required/default, got " + kind_name(field), field);
  for (const auto& kv : field) {
    const std::string key = kv.first.Scalar();
    if (key == "type") {
      if (!is_string(kv.second))
        return config_error(where + ".type must be a string, got " + kind_name(kv.second),
                            kv.second);
    } else if (key == "required") {
      if (!kv.second.IsScalar() || scalar_type(kv.second) != ScalarType::kBool)
        return config_error(where + ".required must be a boolean, got " + kind_name(kv.second),
                            kv.second);
    } else if (key == "default") {
      if (!is_string(kv.second))
        return config_error(where + ".default must be a string, got " + kind_name(kv.second),
                            kv.second);
    } else {
      return config_error("unknown key '" + key + "' in " + where, kv.first);
    }
  }
  return Status::ok();
}

}  // namespace theus::yaml

namespace theus {

using yaml::check_field;
using yaml::config_error;

Status validate_context_schema(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status(ErrorCode::kSchemaViolation, "Config Error: invalid YAML: " + e.msg);
  }
  if (!root.IsMap()) return config_error("the document must be a mapping with 'context'", root);
  for (const auto& kv : root) {
    if (kv.first.Scalar() != "context")
      return config_error("unknown root key '" + kv.first.Scalar() + "' (only 'context')",
                          kv.first);
  }
  YAML::Node context = root["context"];
  if (!context || context.IsNull()) return Status::ok();
  if (!context.IsMap()) return config_error("'context' must be a mapping", context);
  for (const auto& layer : context) {
    const std::string name = layer.first.Scalar();
    if (name != "global" && name != "domain")
      return config_error("unknown layer '" + name + "' (only 'global' and 'domain')", layer.first);
    if (layer.second.IsNull()) continue;
    if (!layer.second.IsMap())
      return config_error("context." + name + " must be a mapping", layer.second);
    for (const auto& field : layer.second) {
      Status st = check_field("context." + name + "." + field.first.Scalar(), field.second);
      if (!st.is_ok()) return st;
    }
  }
  return Status::ok();
}

}  // namespace theus

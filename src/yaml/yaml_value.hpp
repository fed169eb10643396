// YAML helpers shared by the core's document loaders (Flux workflows, audit recipes): YAML 1.2
// core-schema typing of plain scalars (yaml-cpp leaves every scalar untyped), readable kind names
// for error messages, source positions, and conversion of a node to a Value.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "theus/status.hpp"
#include "theus/value.hpp"

namespace theus::yaml {

enum class ScalarType : unsigned char { kString, kNull, kBool, kInt, kFloat };

// The type of a scalar node: quoted or tagged scalars are strings; plain ones follow YAML 1.2
// (null/~/empty, true/false, decimal/0o/0x integers, floats including .inf/.nan).
ScalarType scalar_type(const YAML::Node& node);
bool is_string(const YAML::Node& node);
// "mapping", "sequence", "null", "integer 3", "string 'x'": what a node is, for error messages.
std::string kind_name(const YAML::Node& node);
// " (at <source>:<line>:<col>)", or " (at <source>)" when the node has no position.
std::string position(const YAML::Node& node, const std::string& source);
// The node as a Value (maps keep document order; keys become strings unless they are integers).
// kInvalidArgument for aliases to nothing or integers out of the int64 range.
Result<Value> to_value(const YAML::Node& node, const std::string& source);

}  // namespace theus::yaml

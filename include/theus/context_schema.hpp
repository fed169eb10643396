// Strict validation of a context-schema YAML document: root key only `context`; under it only
// `global` and `domain` (optional); each field a mapping of only `type` (string), `required`
// (boolean) and `default` (a YAML string). kSchemaViolation "Config Error: ..." with the position.
#pragma once

#include <string_view>

#include "theus/status.hpp"

namespace theus {

Status validate_context_schema(std::string_view text);

}  // namespace theus

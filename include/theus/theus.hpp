// Theus-C++ public API, in one include. See README.md ("Using the C++ API") and
// docs/architecture.md for the map of modules and types.
#pragma once

#include "theus/access_policy.hpp"           // IWYU pragma: export
#include "theus/audit.hpp"                   // IWYU pragma: export
#include "theus/conflict_manager.hpp"        // IWYU pragma: export
#include "theus/contract.hpp"                // IWYU pragma: export
#include "theus/delta.hpp"                   // IWYU pragma: export
#include "theus/engine.hpp"                  // IWYU pragma: export
#include "theus/execution.hpp"               // IWYU pragma: export
#include "theus/flux/expression.hpp"         // IWYU pragma: export
#include "theus/flux/interpreter.hpp"        // IWYU pragma: export
#include "theus/flux/workflow.hpp"           // IWYU pragma: export
#include "theus/heavy/memory_registry.hpp"   // IWYU pragma: export
#include "theus/heavy/process_identity.hpp"  // IWYU pragma: export
#include "theus/heavy/shm_segment.hpp"       // IWYU pragma: export
#include "theus/mod_index.hpp"               // IWYU pragma: export
#include "theus/output_mapping.hpp"          // IWYU pragma: export
#include "theus/path.hpp"                    // IWYU pragma: export
#include "theus/path_pattern.hpp"            // IWYU pragma: export
#include "theus/process_context.hpp"         // IWYU pragma: export
#include "theus/signal_hub.hpp"              // IWYU pragma: export
#include "theus/snapshot.hpp"                // IWYU pragma: export
#include "theus/status.hpp"                  // IWYU pragma: export
#include "theus/transaction.hpp"             // IWYU pragma: export
#include "theus/tree.hpp"                    // IWYU pragma: export
#include "theus/value.hpp"                   // IWYU pragma: export
#include "theus/zone.hpp"                    // IWYU pragma: export

// Output mapping: how a process's return value becomes writes of its declared outputs.
// A map result is keyed by output path or output leaf name; several outputs take a list/tuple
// positionally; a single output takes the whole value. Null values are skipped, and an output the
// attempt already wrote through its guards (or an ancestor / descendant of it) keeps that write.
// `heavy.<name>...` writes heavy key <name>; `signal.<topic>` / `cmd.<topic>` emit a signal;
// `local.*` outputs are never committed.
// Thread-safety: pure functions plus writes to the given transaction.
#pragma once

#include <string_view>
#include <vector>

#include "theus/contract.hpp"
#include "theus/path.hpp"
#include "theus/status.hpp"
#include "theus/transaction.hpp"
#include "theus/value.hpp"

namespace theus {

// Values aligned with contract.outputs() (null = leave untouched). With two or more outputs, a
// result that is not null, a list or a map is a ContractViolation
// "Process '<f>' declares N outputs [...] but returned a single <type> value ...".
Result<std::vector<Value>> output_values(const Contract& contract, std::string_view process,
                                         const Value& result);

// Writes `values` (aligned with contract.outputs()) into `tx`, skipping nulls, wildcard outputs
// and paths overlapping `guarded_writes`.
Status apply_output_values(Transaction& tx, const Contract& contract,
                           const std::vector<Value>& values,
                           const std::vector<Path>& guarded_writes);

}  // namespace theus

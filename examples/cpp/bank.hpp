// Bank: the domain half of bank_demo: where the bank keeps its state, and the processes (with
// their contracts) that change it. The driver (clients, manual transactions, checks) is
// bank_demo.cpp. Thread-safety: stateless; the processes run inside Engine::execute on any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "theus/theus.hpp"

namespace bank {

inline constexpr int kSeedAccounts = 200;
inline constexpr int kHotAccounts = 4;  // acct_0000..acct_0003 start rich and are picked often
inline constexpr int64_t kInitialFeeCents = 25;

// Fixed places in the state tree. Per-account paths are built segment by segment rather than
// parsed from text, so an account id is always exactly one key.
inline const theus::Path kAccounts{"domain", "accounts"};  // id -> {owner, balance, frozen}
// One list: every transfer appends to the same path, so concurrent transfers conflict on it.
inline const theus::Path kLedger{"domain", "ledger"};
inline const theus::Path kAuditLog{"domain", "log_audit"};  // `log_` prefix: LOG zone, append-only
inline const theus::Path kNextAccount{"domain", "stats", "next_account"};
inline const theus::Path kClosing{"domain", "stats", "closing"};
inline const theus::Path kFee{"global", "fee_cents"};

// The processes the clients call; the rogue ones break their contracts on purpose.
inline constexpr std::string_view kClientProcesses[] = {
    "open_account", "deposit", "transfer", "apply_interest", "freeze_account", "audit_totals"};
inline constexpr const char* kRogueProcesses[] = {"skim", "purge_audit_log", "tamper_totals"};

std::string account_id(int64_t n);  // "acct_0042"
theus::Path balance_path(const std::string& id);
theus::Map audit_entry(const char* event, const std::string& subject);

struct Account {
  int64_t balance = 0;
  bool frozen = false;
};
Account to_account(const theus::Value& account);  // precondition: a map made by this file

// Registers every process with its contract. Errors: a malformed contract path.
theus::Status register_processes(theus::Engine& engine);
// Writes the initial state as one compare-and-swap from version 0; returns the money it created.
theus::Result<int64_t> seed(theus::Engine& engine);

}  // namespace bank

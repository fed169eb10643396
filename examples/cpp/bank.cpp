// Bank processes: each one reads and writes only what its contract declares (the table in
// bank_processes() is the bank's contract sheet). Errors are values: a business refusal is a
// FailedPrecondition Status, which aborts the attempt without retrying it.
#include "bank.hpp"

#include <cstdio>
#include <utility>
#include <vector>

namespace bank {

using namespace std::string_view_literals;  // Map::find("key") alone is ambiguous: use "key"sv
using theus::ErrorCode, theus::List, theus::Map, theus::Path, theus::ProcessContext, theus::Result,
    theus::Semantic, theus::Status, theus::Value;

std::string account_id(int64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "acct_%04lld", static_cast<long long>(n));
  return buf;
}

namespace {
Path account_path(const std::string& id) { return kAccounts.child(Value(id)); }
Map new_account(const std::string& owner, int64_t balance) {
  return Map{{"owner", owner}, {"balance", balance}, {"frozen", false}};
}
}  // namespace

Path balance_path(const std::string& id) { return account_path(id).child(Value("balance")); }

Map audit_entry(const char* event, const std::string& subject) {
  return Map{{"event", event}, {"subject", subject}};
}

Account to_account(const Value& account) {
  const Map& m = account.as_map();
  return {m.find("balance"sv)->as_int(), m.find("frozen"sv)->as_bool()};
}

namespace {

// A business refusal (overdraft, frozen account): the attempt is dropped and not retried.
Status refuse(std::string why) { return {ErrorCode::kFailedPrecondition, std::move(why)}; }

Result<std::string> string_arg(const ProcessContext& ctx, std::string_view name) {
  const Value* v = ctx.arg(name);
  if (v == nullptr || !v->is_string())
    return Status(ErrorCode::kInvalidArgument, "argument '" + std::string(name) + "': no string");
  return std::string(v->as_string());
}
Result<int64_t> int_arg(const ProcessContext& ctx, std::string_view name) {
  const Value* v = ctx.arg(name);
  if (v == nullptr || !v->is_int())
    return Status(ErrorCode::kInvalidArgument, "argument '" + std::string(name) + "': no int");
  return v->as_int();
}

// Reads one account through the process's guards; an unknown id is a refusal, not an error.
Result<Account> load_account(const ProcessContext& ctx, const std::string& id) {
  Result<Value> v = ctx.get(account_path(id));
  if (v.code() == ErrorCode::kNotFound) return refuse("unknown account " + id);
  THEUS_ASSIGN_OR_RETURN(Value account, std::move(v));
  return to_account(account);
}

Result<Value> open_account(ProcessContext& ctx) {
  THEUS_ASSIGN_OR_RETURN(std::string owner, string_arg(ctx, "owner"));
  THEUS_ASSIGN_OR_RETURN(Value next, ctx.get(kNextAccount));
  std::string id = account_id(next.as_int());
  THEUS_RETURN_IF_ERROR(ctx.set(account_path(id), new_account(owner, 0)));
  THEUS_RETURN_IF_ERROR(ctx.set(kNextAccount, next.as_int() + 1));
  THEUS_RETURN_IF_ERROR(ctx.list_append(kAuditLog, audit_entry("open", id)));
  // Wrapped in a map: a bare value would be mapped onto the outputs (and refused: there are 3).
  return Value(Map{{"id", id}});
}

Result<Value> deposit(ProcessContext& ctx) {
  THEUS_ASSIGN_OR_RETURN(std::string id, string_arg(ctx, "account"));
  THEUS_ASSIGN_OR_RETURN(int64_t amount, int_arg(ctx, "amount"));
  THEUS_ASSIGN_OR_RETURN(Account account, load_account(ctx, id));
  if (amount <= 0) return refuse("deposit must be positive");
  if (account.frozen) return refuse(id + " is frozen");
  THEUS_RETURN_IF_ERROR(ctx.set(balance_path(id), account.balance + amount));
  return Value(account.balance + amount);  // one wildcard output: returned, not mapped
}

Result<Value> transfer(ProcessContext& ctx) {
  THEUS_ASSIGN_OR_RETURN(std::string from_id, string_arg(ctx, "from"));
  THEUS_ASSIGN_OR_RETURN(std::string to_id, string_arg(ctx, "to"));
  THEUS_ASSIGN_OR_RETURN(int64_t amount, int_arg(ctx, "amount"));
  if (from_id == to_id || amount <= 0) return refuse("not a transfer");
  THEUS_ASSIGN_OR_RETURN(Account from, load_account(ctx, from_id));
  THEUS_ASSIGN_OR_RETURN(Account to, load_account(ctx, to_id));
  THEUS_ASSIGN_OR_RETURN(Value fee_value, ctx.get(kFee));
  const int64_t fee = fee_value.as_int();
  if (from.frozen || to.frozen) return refuse("frozen account");
  if (from.balance < amount + fee) return refuse("insufficient funds in " + from_id);
  THEUS_RETURN_IF_ERROR(ctx.set(balance_path(from_id), from.balance - amount - fee));
  THEUS_RETURN_IF_ERROR(ctx.set(balance_path(to_id), to.balance + amount));
  // Only writes take part in the conflict check: a transfer that read the fee just before a fee
  // change may still commit with the old fee. Each entry records the fee it charged, so the
  // ledger alone says what the bank collected.
  THEUS_RETURN_IF_ERROR(ctx.list_append(
      kLedger, Map{{"from", from_id}, {"to", to_id}, {"amount", amount}, {"fee", fee}}));
  return Value();  // null: nothing for output mapping, the guarded writes are the change
}

Result<Value> apply_interest(ProcessContext& ctx) {
  THEUS_ASSIGN_OR_RETURN(int64_t rate_bp, int_arg(ctx, "rate_bp"));
  THEUS_ASSIGN_OR_RETURN(Value accounts, ctx.get(kAccounts));
  int64_t paid = 0;
  for (auto item : accounts.as_map()) {
    const Account account = to_account(item.value);
    const int64_t interest = account.balance * rate_bp / 10'000;
    if (account.frozen || interest == 0) continue;
    const std::string id(item.key.as_string());
    THEUS_RETURN_IF_ERROR(ctx.set(balance_path(id), account.balance + interest));
    paid += interest;
  }
  return Value(paid);
}

Result<Value> freeze_account(ProcessContext& ctx) {
  THEUS_ASSIGN_OR_RETURN(std::string id, string_arg(ctx, "account"));
  const Value* frozen = ctx.arg("frozen");
  const bool freeze = frozen == nullptr || frozen->truthy();
  THEUS_RETURN_IF_ERROR(load_account(ctx, id).status());
  THEUS_RETURN_IF_ERROR(ctx.set(account_path(id).child(Value("frozen")), freeze));
  THEUS_RETURN_IF_ERROR(
      ctx.list_append(kAuditLog, audit_entry(freeze ? "freeze" : "unfreeze", id)));
  return Value();
}

// PURE: reads its base snapshot, so the total is that of one consistent version.
Result<Value> audit_totals(ProcessContext& ctx) {
  THEUS_ASSIGN_OR_RETURN(Value accounts, ctx.get(kAccounts));
  int64_t total = 0;
  for (auto item : accounts.as_map()) total += to_account(item.value).balance;
  return Value(total);
}

// Rogue processes: each breaks its contract; the engine must refuse it and change nothing.
Result<Value> skim(ProcessContext& ctx) {  // the second write is outside its outputs
  THEUS_RETURN_IF_ERROR(ctx.set(balance_path(account_id(0)), 0));
  THEUS_RETURN_IF_ERROR(ctx.set(Path{"domain", "stats", "skimmed"}, 1));
  return Value();
}
Result<Value> purge_audit_log(ProcessContext& ctx) {  // LOG zone: append-only, no delete
  return ctx.list_pop(kAuditLog, 0);
}
Result<Value> tamper_totals(ProcessContext& ctx) {  // a PURE process trying to write
  THEUS_RETURN_IF_ERROR(ctx.set(balance_path(account_id(1)), 0));
  return Value();
}

struct ProcessDef {
  const char* name;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  Semantic semantic;
  theus::ProcessFn fn;
};

// The bank's contract sheet: what each process may read (inputs) and write (outputs).
std::vector<ProcessDef> bank_processes() {
  const Semantic effect = Semantic::kEffect, pure = Semantic::kPure;
  // clang-format off
  return {
      {"open_account",    {"domain.stats.next_account"},
                          {"domain.accounts.*", "domain.stats.next_account", "domain.log_audit"},
                          effect, open_account},
      {"deposit",         {"domain.accounts.*"}, {"domain.accounts.*.balance"}, effect, deposit},
      {"transfer",        {"domain.accounts.*", "global.fee_cents"},
                          {"domain.accounts.*.balance", "domain.ledger"}, effect, transfer},
      {"apply_interest",  {"domain.accounts"}, {"domain.accounts.*.balance"}, effect,
                          apply_interest},
      {"freeze_account",  {"domain.accounts.*"}, {"domain.accounts.*.frozen", "domain.log_audit"},
                          effect, freeze_account},
      {"audit_totals",    {"domain.accounts"}, {}, pure, audit_totals},
      {"skim",            {"domain.accounts.*"}, {"domain.accounts.*.balance"}, effect, skim},
      {"purge_audit_log", {"domain.log_audit"}, {"domain.log_audit"}, effect, purge_audit_log},
      {"tamper_totals",   {"domain.accounts"}, {}, pure, tamper_totals},
  };
  // clang-format on
}

}  // namespace

Status register_processes(theus::Engine& engine) {
  for (ProcessDef& def : bank_processes()) {
    THEUS_ASSIGN_OR_RETURN(theus::Contract contract,
                           theus::Contract::make(def.inputs, def.outputs, def.semantic));
    THEUS_RETURN_IF_ERROR(engine.register_process({def.name, std::move(contract)}, def.fn));
  }
  return Status::ok();
}

Result<int64_t> seed(theus::Engine& engine) {
  Map accounts;
  int64_t total = 0;
  for (int i = 0; i < kSeedAccounts; ++i) {
    const int64_t balance = i < kHotAccounts ? 1'000'000 : 20'000 + (i * 7919 % 100) * 500;
    accounts =
        accounts.set(Value(account_id(i)), new_account("owner " + std::to_string(i), balance));
    total += balance;
  }
  const Map domain{{"accounts", accounts},
                   {"ledger", List{}},
                   {"log_audit", List{Value(audit_entry("bank_opened", "seed"))}},
                   {"stats", Map{{"next_account", kSeedAccounts}}}};
  THEUS_RETURN_IF_ERROR(engine.compare_and_swap(
      0, Map{{"domain", domain}, {"global", Map{{"fee_cents", kInitialFeeCents}}}}));
  return total;
}

}  // namespace bank

// bank_demo: a small bank on the Theus C++ API, run by concurrent clients. The bank itself
// (state layout, processes, contracts) is bank.hpp / bank.cpp; this file drives it: a tour of
// contract refusals, client threads that keep hitting a few hot accounts (so per-path conflicts,
// retries and VIP tickets really happen), manual transactions, and at the end the money is counted.
//   bank_demo [--threads N] [--ops N_PER_THREAD] [--seed N] [--quiet]
// Exit status: 0 all invariants hold, 1 an invariant failed, 2 bad command line.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bank.hpp"
#include "theus/theus.hpp"

namespace {

using namespace std::chrono_literals;
using namespace std::string_view_literals;  // Map::find("key") alone is ambiguous: use "key"sv
using bank::account_id, bank::audit_entry, bank::balance_path, bank::kAccounts, bank::kAuditLog,
    bank::kFee, bank::kLedger;
using theus::Engine, theus::ErrorCode, theus::Map, theus::Result, theus::Status, theus::Transaction,
    theus::Value;
using ll = long long;            // for printf
using ull = unsigned long long;  // for printf

constexpr int kManualAttempts = 100;

// ---- contract tour ------------------------------------------------------------------------------
// Runs a rogue process; true when it was refused and the version did not move.
bool expect_refusal(Engine& engine, const char* process, bool quiet) {
  const uint64_t before = engine.version();
  const Result<Value> r = engine.execute(process);
  const bool clean = !r.is_ok() && engine.version() == before;
  if (!quiet)
    std::printf("  %-16s refused: %s%s\n", process, r.status().to_string().c_str(),
                clean ? "" : "   <-- NOT REFUSED CLEANLY");
  return clean;
}

// ---- manual transactions ------------------------------------------------------------------------
// Manual transactions are trusted admin code (no contract) and get no retry policy from the
// engine: on a conflict, or while a process holds the VIP ticket, rebuild on the new head.
Status commit_with_retry(Engine& engine, const std::function<Status(Transaction&)>& build) {
  Status st;
  for (int attempt = 0; attempt < kManualAttempts; ++attempt) {
    Transaction tx = engine.transaction();
    THEUS_RETURN_IF_ERROR(build(tx));
    st = tx.commit();
    if (!st.is_retryable()) return st;
    if (st.code() == ErrorCode::kBusy)
      engine.conflicts().wait_until_unblocked(std::nullopt,
                                              std::chrono::steady_clock::now() + 20ms);
    else
      std::this_thread::sleep_for(1ms);
  }
  return st;
}

Status raise_fee(Engine& engine, int64_t by, bool quiet) {
  int64_t fee = 0;
  THEUS_RETURN_IF_ERROR(commit_with_retry(engine, [&](Transaction& tx) -> Status {
    THEUS_ASSIGN_OR_RETURN(Value old_fee, tx.get(kFee));
    fee = old_fee.as_int() + by;
    THEUS_RETURN_IF_ERROR(tx.set(kFee, fee));
    return tx.list_append(kAuditLog, audit_entry("fee_change", std::to_string(fee)));
  }));
  if (!quiet) std::printf("  manual tx: transfer fee raised to %lld cents\n", ll(fee));
  return Status::ok();
}

// Builds a huge bonus, then lets the transaction go out of scope: RAII abort, nothing committed.
// (Had it leaked, the money check at the end would fail.)
Status drop_a_bonus(Engine& engine, bool quiet) {
  const std::string lucky = account_id(0);
  int64_t seen_inside = 0;
  {
    Transaction tx = engine.transaction();
    THEUS_ASSIGN_OR_RETURN(Value balance, tx.get(balance_path(lucky)));
    THEUS_RETURN_IF_ERROR(tx.set(balance_path(lucky), balance.as_int() + 1'000'000'000));
    THEUS_ASSIGN_OR_RETURN(Value inside, tx.get(balance_path(lucky)));  // sees its own write
    seen_inside = inside.as_int();
  }  // ~Transaction(): aborted
  THEUS_ASSIGN_OR_RETURN(Value after, engine.snapshot()->get(balance_path(lucky)));
  if (!quiet)
    std::printf(
        "  manual tx: bonus for %s built (balance %lld inside the tx) and dropped; "
        "committed balance %lld\n",
        lucky.c_str(), ll(seen_inside), ll(after.as_int()));
  return Status::ok();
}

// After the clients: the PURE audit, then its result filed under domain.stats.closing.
Result<int64_t> close_the_day(Engine& engine, bool quiet) {
  THEUS_ASSIGN_OR_RETURN(Value total, engine.execute("audit_totals"));
  THEUS_RETURN_IF_ERROR(commit_with_retry(engine, [&](Transaction& tx) {
    return tx.set(bank::kClosing, Map{{"total_cents", total}});
  }));
  if (!quiet) std::printf("  manual tx: day closed at version %llu\n", ull(engine.version()));
  return total.as_int();
}

// ---- clients ------------------------------------------------------------------------------------
using Rng = std::mt19937_64;
int64_t uniform(Rng& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

struct Operation {
  std::string_view process;
  Map args;
};

Operation pick_operation(Rng& rng, int64_t accounts) {
  auto any = [&] { return account_id(uniform(rng, 0, accounts - 1)); };
  // A quarter of the picks land on the few hot accounts, so that clients really collide.
  auto maybe_hot = [&] {
    return uniform(rng, 0, 3) == 0 ? account_id(uniform(rng, 0, bank::kHotAccounts - 1)) : any();
  };
  const int64_t dice = uniform(rng, 0, 999);
  if (dice < 600)
    return {"transfer",
            {{"from", maybe_hot()}, {"to", maybe_hot()}, {"amount", uniform(rng, 1, 5000)}}};
  if (dice < 850)
    return {"deposit", {{"account", maybe_hot()}, {"amount", uniform(rng, 100, 10'000)}}};
  if (dice < 940) return {"audit_totals", {}};
  if (dice < 980)
    return {"freeze_account", {{"account", any()}, {"frozen", uniform(rng, 0, 7) == 0}}};
  if (dice < 995) return {"open_account", {{"owner", "walk-in customer"}}};
  return {"apply_interest", {{"rate_bp", 2}}};
}

struct Tally {
  int64_t ok = 0, refused = 0, gave_up = 0, errors = 0;
  Tally& operator+=(const Tally& o) {
    ok += o.ok, refused += o.refused, gave_up += o.gave_up, errors += o.errors;
    return *this;
  }
};

struct ClientReport {
  std::map<std::string, Tally, std::less<>> per_process;
  int64_t deposited = 0, interest_paid = 0;
  std::string first_error;

  void record(const Operation& op, const Result<Value>& r) {
    Tally& t = per_process[std::string(op.process)];
    if (r.is_ok()) {
      ++t.ok;
      // Only committed executions return a value, so these sums are money that really moved.
      if (op.process == "deposit") deposited += op.args.find("amount"sv)->as_int();
      if (op.process == "apply_interest") interest_paid += r->as_int();
    } else if (r.code() == ErrorCode::kFailedPrecondition) {
      ++t.refused;
    } else if (r.status().is_retryable()) {
      ++t.gave_up;  // the retry policy ran out; execute() returns the last conflict
    } else {
      ++t.errors;
      if (first_error.empty())
        first_error = std::string(op.process) + ": " + r.status().to_string();
    }
  }
  Tally of(std::string_view process) const {
    auto it = per_process.find(process);
    return it == per_process.end() ? Tally{} : it->second;
  }
  void merge(const ClientReport& o) {
    for (const auto& [name, t] : o.per_process) per_process[name] += t;
    deposited += o.deposited;
    interest_paid += o.interest_paid;
    if (first_error.empty()) first_error = o.first_error;
  }
};

void run_client(Engine& engine, uint64_t seed, int64_t ops, ClientReport& report,
                std::atomic<int64_t>& done) {
  Rng rng(seed);
  for (int64_t i = 0; i < ops; ++i) {
    // Plain readers take an O(1) snapshot; they never wait for a committer.
    const int64_t accounts = engine.snapshot()->get(bank::kNextAccount).value().as_int();
    const Operation op = pick_operation(rng, accounts);
    report.record(op, engine.execute(op.process, op.args));
    done.fetch_add(1, std::memory_order_relaxed);
  }
}

struct Options {
  int64_t threads = 4;
  int64_t ops = 5000;  // per thread
  uint64_t seed = 42;
  bool quiet = false;
};

// The main thread watches the clients, printing progress, and runs two manual transactions while
// they are busy: a fee change at one third of the work, a dropped bonus at two thirds.
Status supervise(Engine& engine, const Options& o, const std::atomic<int64_t>& done) {
  const int64_t total = o.threads * o.ops;
  const auto start = std::chrono::steady_clock::now();
  auto next_report = start + 250ms;
  bool fee_raised = false, bonus_dropped = false;
  for (;;) {
    const int64_t n = done.load(std::memory_order_relaxed);
    if (!fee_raised && n >= total / 3) {
      THEUS_RETURN_IF_ERROR(raise_fee(engine, 5, o.quiet));
      fee_raised = true;
    }
    if (!bonus_dropped && n >= 2 * total / 3) {
      THEUS_RETURN_IF_ERROR(drop_a_bonus(engine, o.quiet));
      bonus_dropped = true;
    }
    if (n >= total) return Status::ok();
    const auto now = std::chrono::steady_clock::now();
    if (!o.quiet && now >= next_report) {
      const theus::EngineStats s = engine.stats();
      std::printf("  [%5.2fs] %6lld/%lld ops  version %6llu  conflicts %5llu  VIP tickets %llu\n",
                  std::chrono::duration<double>(now - start).count(), ll(n), ll(total),
                  ull(engine.version()), ull(s.conflicts), ull(s.vip_grants));
      next_report += 250ms;
    }
    std::this_thread::sleep_for(10ms);
  }
}

ClientReport run_clients(Engine& engine, const Options& o, Status* manual) {
  std::vector<ClientReport> reports(static_cast<size_t>(o.threads));
  std::atomic<int64_t> done{0};
  std::vector<std::thread> clients;
  for (size_t i = 0; i < reports.size(); ++i)
    clients.emplace_back(run_client, std::ref(engine), o.seed * 1000 + i, o.ops,
                         std::ref(reports[i]), std::ref(done));
  *manual = supervise(engine, o, done);
  for (std::thread& t : clients) t.join();
  ClientReport all;
  for (const ClientReport& r : reports) all.merge(r);
  return all;
}

// ---- summary and invariants ---------------------------------------------------------------------
void print_summary(const ClientReport& all, const theus::EngineStats& s, uint64_t version,
                   int64_t ops, double seconds) {
  std::printf("\nOperations            ok   refused  gave up   errors\n");
  for (std::string_view name : bank::kClientProcesses) {
    const Tally t = all.of(name);
    std::printf("  %-16.*s %7lld  %8lld  %7lld  %7lld\n", int(name.size()), name.data(), ll(t.ok),
                ll(t.refused), ll(t.gave_up), ll(t.errors));
  }
  std::printf(
      "\nEngine\n"
      "  versions committed   %llu (head version %llu)\n"
      "  conflicts detected   %llu; attempts retried %llu (conflicts + VIP refusals)\n"
      "  VIP tickets granted  %llu (commits held back for a VIP: %llu)\n"
      "  executions gave up   %llu\n"
      "  elapsed              %.2f s: %.0f operations/s, %.0f commits/s\n",
      ull(s.commits), ull(version), ull(s.conflicts), ull(s.retries), ull(s.vip_grants),
      ull(s.busy), ull(s.gave_up), seconds, double(ops) / seconds, double(s.commits) / seconds);
}

bool check(bool ok, const std::string& what) {
  std::printf("  [%s] %s\n", ok ? " ok " : "FAIL", what.c_str());
  return ok;
}

// Counts the money in the final state against what the clients saw committed.
bool check_books(const theus::Snapshot& snap, const ClientReport& all, int64_t initial,
                 int64_t audited) {
  int64_t balances = 0, lowest = 0, fees = 0;
  const Value accounts = snap.get(kAccounts).value();  // held: the loop borrows from it
  for (auto item : accounts.as_map()) {
    const int64_t balance = bank::to_account(item.value).balance;
    balances += balance;
    lowest = std::min(lowest, balance);
  }
  const Value ledger = snap.get(kLedger).value();
  for (const Value& entry : ledger.as_list()) fees += entry.as_map().find("fee"sv)->as_int();
  const int64_t entries = int64_t(ledger.as_list().size()), transfers = all.of("transfer").ok;

  char line[256];
  std::snprintf(line, sizeof line,
                "money conserved: balances %lld + fees %lld == initial %lld + deposits %lld + "
                "interest %lld (cents)",
                ll(balances), ll(fees), ll(initial), ll(all.deposited), ll(all.interest_paid));
  bool ok = check(balances + fees == initial + all.deposited + all.interest_paid, line);
  std::snprintf(line, sizeof line, "ledger entries %lld == successful transfers %lld", ll(entries),
                ll(transfers));
  ok &= check(entries == transfers, line);
  ok &= check(lowest >= 0, "no account is negative");
  ok &= check(audited == balances, "audit_totals (PURE) agrees with a direct count");
  return ok;
}

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (i + 1 >= argc) return std::nullopt;
    const std::string_view text = argv[++i];
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < (flag == "--seed" ? 0 : 1))
      return std::nullopt;
    if (flag == "--threads")
      o.threads = n;
    else if (flag == "--ops")
      o.ops = n;
    else if (flag == "--seed")
      o.seed = uint64_t(n);
    else
      return std::nullopt;
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Options> options = parse_options(argc, argv);
  if (!options) {
    std::fprintf(stderr, "usage: %s [--threads N] [--ops N_PER_THREAD] [--seed N] [--quiet]\n",
                 argv[0]);
    return 2;
  }
  const Options& o = *options;
  theus::EngineOptions engine_options;
  // apply_interest writes every balance and loses most races against the transfers: hand it the
  // VIP ticket after 3 straight conflicts (default 5) so that it cannot be starved.
  engine_options.retry.vip_after = 3;
  Engine engine(engine_options);
  const Result<int64_t> initial = bank::seed(engine);
  const Status registered = bank::register_processes(engine);
  if (!initial.is_ok() || !registered.is_ok()) {
    std::fprintf(stderr, "setup failed: %s %s\n", initial.status().to_string().c_str(),
                 registered.to_string().c_str());
    return 1;
  }
  if (!o.quiet)
    std::printf(
        "Theus bank: %d accounts, %lld clients x %lld operations, seed %llu\n\n"
        "Contracts at work:\n",
        bank::kSeedAccounts, ll(o.threads), ll(o.ops), ull(o.seed));
  bool clean_tour = true;
  for (const char* rogue : bank::kRogueProcesses)
    clean_tour &= expect_refusal(engine, rogue, o.quiet);

  if (!o.quiet) std::printf("\nClients running:\n");
  const auto start = std::chrono::steady_clock::now();
  Status manual;
  const ClientReport all = run_clients(engine, o, &manual);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Result<int64_t> audited = close_the_day(engine, o.quiet);
  print_summary(all, engine.stats(), engine.version(), o.threads * o.ops, seconds);

  std::printf("\nInvariants\n");
  bool ok = check_books(*engine.snapshot(), all, *initial, audited.is_ok() ? *audited : -1);
  ok &= check(clean_tour, "every contract breach was refused without changing state");
  ok &= check(manual.is_ok() && audited.is_ok(),
              "manual transactions committed" + (manual.is_ok() ? "" : ": " + manual.to_string()) +
                  (audited.is_ok() ? "" : ": " + audited.status().to_string()));
  ok &= check(all.first_error.empty(),
              "no unexpected errors" + (all.first_error.empty() ? "" : ": " + all.first_error));
  std::printf("\n%s\n", ok ? "All invariants hold." : "INVARIANT FAILURE");
  return ok ? 0 : 1;
}

// Reads: snapshot acquisition (engine.snapshot()) and a depth-3 read below `domain`
// (domain.users.u123.name) via Snapshot::get with a pre-parsed Path, via tree::lookup and via a
// path string parsed per call, against nested std::unordered_map<std::string, ...> lookups of the
// same depth. Baselines for the snapshot: a mutex-guarded std::shared_ptr copy (the cheapest
// pessimistic read) and a deep copy of the same nested std::unordered_map state.
// The summary uses CPU time per operation (Google Benchmark's table shows real time too).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <variant>

#include "bench_util.hpp"
#include "theus/theus.hpp"

namespace {

using theus::Engine;
using theus::Map;
using theus::Path;
using theus::SnapshotPtr;
using theus::Status;
using theus::Value;

constexpr int kUsers = 1000;
constexpr const char* kPathText = "domain.users.u123.name";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(1);
}

// ---- Theus: domain.users = {u0: {name, age, email}, ..., u999: {...}} -------------------------

Engine& engine() {
  static Engine* e = [] {
    auto* eng = new Engine();
    Map users;
    for (int i = 0; i < kUsers; ++i) {
      Map user =
          Map{}
              .set(Value("name"), Value(theus_bench::cat("user", std::to_string(i))))
              .set(Value("age"), Value(20 + i % 60))
              .set(Value("email"), Value(theus_bench::cat("u", std::to_string(i), "@example.com")));
      users = users.set(Value(theus_bench::cat("u", std::to_string(i))), Value(std::move(user)));
    }
    theus::Transaction tx = eng->transaction();
    Status st = tx.set(Path{"domain", "users"}, Value(std::move(users)));
    if (st) st = tx.set(Path{"global", "app"}, Value("bench"));
    if (st) st = tx.commit();
    if (!st) die(theus_bench::cat("building the initial state: ", st.to_string()));
    return eng;
  }();
  return *e;
}

const Path& read_path() {
  static const Path p = [] {
    auto parsed = Path::parse(kPathText);
    if (!parsed) die(parsed.status().to_string());
    return parsed.value();
  }();
  return p;
}

void check_name(const theus::Result<Value>& r) {
  if (!r || !r.value().is_string() || r.value().as_string() != "user123")
    die(theus_bench::cat("unexpected read result for ", kPathText));
}

// ---- baseline: the same state as nested std::unordered_map ------------------------------------

using Field = std::variant<int64_t, std::string>;
using User = std::unordered_map<std::string, Field>;
using Users = std::unordered_map<std::string, User>;
using Domain = std::unordered_map<std::string, Users>;
using Root = std::unordered_map<std::string, Domain>;

struct Store {
  std::mutex mu;
  std::shared_ptr<const Root> head;
};

Store& store() {
  static Store* s = [] {
    auto* st = new Store();
    auto root = std::make_shared<Root>();
    Users& users = (*root)["domain"]["users"];
    for (int i = 0; i < kUsers; ++i) {
      User& u = users[theus_bench::cat("u", std::to_string(i))];
      u["name"] = theus_bench::cat("user", std::to_string(i));
      u["age"] = int64_t{20 + i % 60};
      u["email"] = theus_bench::cat("u", std::to_string(i), "@example.com");
    }
    st->head = std::move(root);
    return st;
  }();
  return *s;
}

// Four lookups (domain, users, u123, name), as the Theus path has four segments.
const std::string* nested_get(const Root& root, const std::string& a, const std::string& b,
                              const std::string& c, const std::string& d) {
  auto i1 = root.find(a);
  if (i1 == root.end()) return nullptr;
  auto i2 = i1->second.find(b);
  if (i2 == i1->second.end()) return nullptr;
  auto i3 = i2->second.find(c);
  if (i3 == i2->second.end()) return nullptr;
  auto i4 = i3->second.find(d);
  if (i4 == i3->second.end()) return nullptr;
  return std::get_if<std::string>(&i4->second);
}

// ---- snapshot acquisition ---------------------------------------------------------------------

void BM_TheusSnapshot(benchmark::State& state) {
  Engine& e = engine();
  for (auto _ : state) {
    SnapshotPtr s = e.snapshot();
    benchmark::DoNotOptimize(s.get());
  }
}

void BM_BaselineSnapshotMutexSharedPtr(benchmark::State& state) {
  Store& s = store();
  for (auto _ : state) {
    std::shared_ptr<const Root> head;
    {
      std::lock_guard lock(s.mu);
      head = s.head;
    }
    benchmark::DoNotOptimize(head.get());
  }
}

void BM_BaselineSnapshotDeepCopy(benchmark::State& state) {
  Store& s = store();
  for (auto _ : state) {
    std::lock_guard lock(s.mu);
    Root copy = *s.head;
    benchmark::DoNotOptimize(copy);
  }
}

// ---- depth-3 get ------------------------------------------------------------------------------

void BM_TheusGetSnapshotPath(benchmark::State& state) {
  SnapshotPtr snap = engine().snapshot();
  const Path& path = read_path();
  check_name(snap->get(path));
  for (auto _ : state) {
    theus::Result<Value> r = snap->get(path);
    benchmark::DoNotOptimize(r);
  }
}

void BM_TheusGetTreeLookup(benchmark::State& state) {
  SnapshotPtr snap = engine().snapshot();
  const Value root(snap->data);
  const Path& path = read_path();
  check_name(theus::tree::lookup(root, path));
  for (auto _ : state) {
    theus::Result<Value> r = theus::tree::lookup(root, path);
    benchmark::DoNotOptimize(r);
  }
}

void BM_TheusGetSnapshotString(benchmark::State& state) {
  SnapshotPtr snap = engine().snapshot();
  check_name(snap->get(kPathText));
  for (auto _ : state) {
    theus::Result<Value> r = snap->get(kPathText);
    benchmark::DoNotOptimize(r);
  }
}

void BM_BaselineGetNestedUnorderedMap(benchmark::State& state) {
  std::shared_ptr<const Root> root = store().head;
  const std::string a = "domain", b = "users", c = "u123", d = "name";
  const std::string* got = nested_get(*root, a, b, c, d);
  if (!got || *got != "user123") die("baseline: unexpected read result");
  for (auto _ : state) {
    const std::string* r = nested_get(*root, a, b, c, d);
    benchmark::DoNotOptimize(r);
  }
}

BENCHMARK(BM_TheusSnapshot);
BENCHMARK(BM_BaselineSnapshotMutexSharedPtr);
BENCHMARK(BM_BaselineSnapshotDeepCopy)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TheusGetSnapshotPath);
BENCHMARK(BM_TheusGetTreeLookup);
BENCHMARK(BM_TheusGetSnapshotString);
BENCHMARK(BM_BaselineGetNestedUnorderedMap);

void summarize(const theus_bench::CaptureReporter& runs, std::vector<theus_bench::Figure>* figures,
               std::vector<theus_bench::Target>* /*targets*/, int* /*exit_code*/) {
  const double snap = runs.cpu_ns("BM_TheusSnapshot");
  const double nested = runs.cpu_ns("BM_BaselineGetNestedUnorderedMap");
  const std::string nested_name =
      "nested std::unordered_map<std::string, ...> lookups, depth 3 (4 finds)";
  *figures = {
      {"read", "snapshot_acquire", snap, "ns", "std::mutex + std::shared_ptr copy",
       runs.cpu_ns("BM_BaselineSnapshotMutexSharedPtr"), true},
      {"read", "snapshot_acquire_vs_deepcopy", snap, "ns",
       "deep copy of the same state as nested std::unordered_map (1000 users)",
       runs.cpu_ns("BM_BaselineSnapshotDeepCopy"), true},
      {"read", "get_depth3_snapshot_path", runs.cpu_ns("BM_TheusGetSnapshotPath"), "ns",
       nested_name, nested, true},
      {"read", "get_depth3_tree_lookup", runs.cpu_ns("BM_TheusGetTreeLookup"), "ns", nested_name,
       nested, true},
      {"read", "get_depth3_snapshot_string", runs.cpu_ns("BM_TheusGetSnapshotString"), "ns",
       nested_name, nested, true},
  };
}

}  // namespace

int main(int argc, char** argv) {
  return theus_bench::run_main(
      argc, argv, "bench_read: snapshot acquisition and depth-3 get, CPU time per op", summarize);
}

// Flux with C++ processes: process steps per second through flux::run_workflow (every step a full
// Engine::execute: transaction, contract, commit) beside the same executes called in a plain C++
// loop (the interpreter's overhead), and the bare interpreter (flux::Run with a no-op driver)
// beside a plain loop. Each benchmark iteration runs kSteps process steps; the summary reports
// steps per second from CPU time.
#include <cstdio>
#include <memory>
#include <string>

#include "bench_util.hpp"
#include "theus/flux/interpreter.hpp"
#include "theus/theus.hpp"

namespace {

using theus::Engine;
using theus::Map;
using theus::ProcessContext;
using theus::Result;
using theus::Value;
namespace flux = theus::flux;

constexpr int kSteps = 1000;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(1);
}

std::unique_ptr<Engine> make_engine() {
  auto engine = std::make_unique<Engine>();
  if (!engine->compare_and_swap(0, Map{{"domain", Map{{"n", 0}}}})) die("seeding the engine");
  auto noop = theus::Contract::make({}, {}).value();
  auto inc = theus::Contract::make({"domain.n"}, {"domain.n"}).value();
  if (!engine->register_process({"noop", noop},
                                [](ProcessContext&) -> Result<Value> { return Value(); }) ||
      !engine->register_process({"inc", inc}, [](ProcessContext& ctx) -> Result<Value> {
        THEUS_ASSIGN_OR_RETURN(Value n, ctx.get("domain.n"));
        return Value(n.as_int() + 1);
      }))
    die("registering the processes");
  return engine;
}

std::shared_ptr<const flux::Workflow> parse(const std::string& text) {
  auto wf = flux::Workflow::parse(text);
  if (!wf) die(wf.status().to_string());
  return std::make_shared<const flux::Workflow>(std::move(wf).value());
}

// `while True: noop`, stopped by the safety trip after exactly kSteps process steps.
const std::string kTrivial = "steps:\n  - flux: while\n    condition: 'True'\n    do: [noop]\n";
constexpr uint64_t kTrivialOps = 2 * kSteps + 1;

void BM_FluxTrivialSteps(benchmark::State& state) {
  auto engine = make_engine();
  auto wf = parse(kTrivial);
  flux::RunOptions options;
  options.max_ops = kTrivialOps;
  for (auto _ : state) {
    auto r = flux::run_workflow(*engine, wf, options);
    if (r.is_ok() || r.status().message().find("Safety Trip") == std::string::npos)
      die("unexpected result");
  }
  state.SetItemsProcessed(state.iterations() * kSteps);
}

void BM_BaselineExecuteLoop(benchmark::State& state) {
  auto engine = make_engine();
  for (auto _ : state) {
    for (int i = 0; i < kSteps; ++i) {
      auto r = engine->execute("noop");
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * kSteps);
}

// `while domain.n < limit: inc`: the condition reads the committed head after every step.
void BM_FluxCounterSteps(benchmark::State& state) {
  auto engine = make_engine();
  int64_t limit = 0;
  for (auto _ : state) {
    limit += kSteps;
    auto wf = parse("steps:\n  - flux: while\n    condition: 'domain.n < " + std::to_string(limit) +
                    "'\n    do: [inc]\n");
    flux::RunOptions options;
    options.max_ops = 1u << 30;
    auto r = flux::run_workflow(*engine, wf, options);
    if (!r || r.value().size() != kSteps) die("counter workflow");
  }
  state.SetItemsProcessed(state.iterations() * kSteps);
}

void BM_BaselineCounterLoop(benchmark::State& state) {
  auto engine = make_engine();
  int64_t limit = 0;
  for (auto _ : state) {
    limit += kSteps;
    while (engine->snapshot()->get("domain.n").value().as_int() < limit) {
      if (!engine->execute("inc")) die("inc");
    }
  }
  state.SetItemsProcessed(state.iterations() * kSteps);
}

// The interpreter alone: a driver that does nothing for each process step.
void BM_InterpreterOnly(benchmark::State& state) {
  auto wf = parse(kTrivial);
  flux::RunOptions options;
  options.max_ops = kTrivialOps;
  flux::NameLookup names = [](std::string_view) -> Result<Value> { return Value(); };
  for (auto _ : state) {
    flux::Run run(wf, options);
    int steps = 0;
    for (;;) {
      auto step = run.next(names);
      if (!step || !step.value()) break;
      run.completed();
      ++steps;
    }
    if (steps != kSteps) die("interpreter steps");
  }
  state.SetItemsProcessed(state.iterations() * kSteps);
}

void BM_BaselinePlainLoop(benchmark::State& state) {
  std::vector<std::string> executed;
  auto body = [&executed](const std::string& name) { executed.push_back(name); };
  const std::string name = "noop";
  for (auto _ : state) {
    executed.clear();
    for (int i = 0; i < kSteps; ++i) body(name);
    benchmark::DoNotOptimize(executed.data());
  }
  state.SetItemsProcessed(state.iterations() * kSteps);
}

BENCHMARK(BM_FluxTrivialSteps)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BaselineExecuteLoop)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FluxCounterSteps)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BaselineCounterLoop)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_InterpreterOnly)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BaselinePlainLoop)->Unit(benchmark::kMicrosecond);

double steps_per_s(const theus_bench::CaptureReporter& runs, const std::string& name) {
  return kSteps * 1e9 / runs.cpu_ns(name);
}

void summarize(const theus_bench::CaptureReporter& runs, std::vector<theus_bench::Figure>* figures,
               std::vector<theus_bench::Target>* targets, int* /*exit_code*/) {
  const double trivial = steps_per_s(runs, "BM_FluxTrivialSteps");
  *figures = {
      {"flux", "cpp_trivial_steps_per_s", trivial, "steps/s",
       "plain loop of Engine::execute (no Flux)", steps_per_s(runs, "BM_BaselineExecuteLoop"),
       false},
      {"flux", "cpp_counter_steps_per_s", steps_per_s(runs, "BM_FluxCounterSteps"), "steps/s",
       "plain loop: read domain.n, Engine::execute", steps_per_s(runs, "BM_BaselineCounterLoop"),
       false},
      {"flux", "cpp_interpreter_only_steps_per_s", steps_per_s(runs, "BM_InterpreterOnly"),
       "steps/s", "plain loop recording names", steps_per_s(runs, "BM_BaselinePlainLoop"), false},
  };
  targets->push_back({"Flux trivial steps >= 100,000/s (C++ processes)", trivial >= 100000,
                      theus_bench::format_value(trivial, "steps/s")});
}

}  // namespace

int main(int argc, char** argv) {
  return theus_bench::run_main(argc, argv, "bench_flux: Flux steps with C++ processes (CPU time)",
                               summarize);
}

// Shared plumbing of the C++ benchmarks: a Google Benchmark main that defaults to a short
// --benchmark_min_time, a console reporter that also captures every run's figures, the summary
// table (ours vs a baseline measured in the same run) and the JSON-lines results file
// ($THEUS_BENCH_RESULTS, default build/bench/results.jsonl relative to the current directory).
#pragma once

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace theus_bench {

inline constexpr const char* kDefaultMinTime = "--benchmark_min_time=0.2";
inline constexpr const char* kDefaultResults = "build/bench/results.jsonl";

// One figure: our measurement beside the baseline measured in the same run.
struct Figure {
  std::string bench;   // e.g. "commit"
  std::string metric;  // e.g. "commit_set_1key_n1000000"
  double value = NAN;
  std::string unit;      // "ns", "commits/s", "x", ...
  std::string baseline;  // what the baseline is
  double baseline_value = NAN;
  bool lower_is_better = true;  // summary only (not written to the results file)
};

// A design target checked by a benchmark (printed after the summary table).
struct Target {
  std::string what;
  bool met = false;
  std::string detail;
};

// What one benchmark run measured: real and CPU time per iteration and the user counters.
struct Measurement {
  double ns_per_iter = NAN;      // real (wall-clock, or manual) time
  double cpu_ns_per_iter = NAN;  // CPU time of the benchmark thread
  double seconds = NAN;          // accumulated real (or manual) time of the run
  int64_t iterations = 0;
  std::map<std::string, double> counters;
  double counter(const std::string& name) const {
    auto it = counters.find(name);
    return it == counters.end() ? NAN : it->second;
  }
};

// Console output as usual, plus a copy of every run keyed by its name (without aggregate suffix).
// With --benchmark_repetitions the median aggregate wins over the individual repetitions.
class CaptureReporter : public benchmark::ConsoleReporter {
 public:
  CaptureReporter() : benchmark::ConsoleReporter(OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type == Run::RT_Aggregate && !median) continue;
      std::string name = run.run_name.str();
      if (!median && medians_.count(name)) continue;
      Measurement m;
      m.iterations = run.iterations;
      m.seconds = run.real_accumulated_time;
      if (run.iterations > 0) {
        const auto iterations = static_cast<double>(run.iterations);
        m.ns_per_iter = run.real_accumulated_time * 1e9 / iterations;
        m.cpu_ns_per_iter = run.cpu_accumulated_time * 1e9 / iterations;
      }
      for (const auto& [key, counter] : run.counters) m.counters[key] = counter.value;
      if (median) medians_[name] = true;
      runs_[name] = std::move(m);
    }
    benchmark::ConsoleReporter::ReportRuns(runs);
  }

  // The run named `name` (e.g. "BM_Commit/1000"), or nullptr when it did not run.
  const Measurement* find(const std::string& name) const {
    auto it = runs_.find(name);
    return it == runs_.end() ? nullptr : &it->second;
  }
  // Real time per iteration, in ns (NaN when the run is missing).
  double ns(const std::string& name) const {
    const Measurement* m = find(name);
    return m ? m->ns_per_iter : NAN;
  }
  // CPU time per iteration, in ns: what a single-threaded benchmark costs, robust to other load
  // on the machine (real time also counts the time the thread waited for a core).
  double cpu_ns(const std::string& name) const {
    const Measurement* m = find(name);
    return m ? m->cpu_ns_per_iter : NAN;
  }
  double counter(const std::string& name, const std::string& key) const {
    const Measurement* m = find(name);
    return m ? m->counter(key) : NAN;
  }

 private:
  std::map<std::string, Measurement> runs_;
  std::map<std::string, bool> medians_;
};

// Concatenates strings by appending (std::string(...) + ... keeps GCC 12's -Wrestrict false
// positive on `"literal" + std::string&&` at -O3 away).
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out += ... += parts);
  return out;
}

inline bool both_finite(const Figure& f) {
  return std::isfinite(f.value) && std::isfinite(f.baseline_value);
}

inline std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

inline std::string json_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

inline std::string to_json_line(const Figure& f) {
  return "{\"bench\": \"" + json_escape(f.bench) + "\", \"metric\": \"" + json_escape(f.metric) +
         "\", \"value\": " + json_number(f.value) + ", \"unit\": \"" + json_escape(f.unit) +
         "\", \"baseline\": \"" + json_escape(f.baseline) +
         "\", \"baseline_value\": " + json_number(f.baseline_value) + "}";
}

inline std::string results_path() {
  const char* env = std::getenv("THEUS_BENCH_RESULTS");
  return (env && *env) ? env : kDefaultResults;
}

// Appends one JSON object per complete figure (figures missing a side are skipped, e.g. when a
// --benchmark_filter excluded them). Returns false (after a message) on an I/O error.
inline bool append_results(const std::vector<Figure>& figures) {
  const std::filesystem::path path = results_path();
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) {
    std::fprintf(stderr, "error: cannot create %s: %s\n", path.parent_path().c_str(),
                 ec.message().c_str());
    return false;
  }
  std::ofstream out(path, std::ios::app);
  if (!out) {
    std::fprintf(stderr, "error: cannot open %s for appending\n", path.c_str());
    return false;
  }
  size_t written = 0;
  for (const Figure& f : figures) {
    if (!both_finite(f)) continue;
    out << to_json_line(f) << '\n';
    ++written;
  }
  out.flush();
  if (!out) {
    std::fprintf(stderr, "error: writing %s failed\n", path.c_str());
    return false;
  }
  std::printf("%zu figure(s) appended to %s\n", written, path.c_str());
  return true;
}

inline std::string format_value(double v, std::string_view unit) {
  char buf[64];
  if (!std::isfinite(v)) return "-";
  if (unit == "ns" && v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f ms", v / 1e6);
  } else if (unit == "ns" && v >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1f us", v / 1e3);
  } else if (std::fabs(v) >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, std::string(unit).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%.4g %s", v, std::string(unit).c_str());
  }
  return buf;
}

// Prints the summary table: ours | baseline value | ratio (ours/baseline) | verdict | baseline.
inline void print_summary(std::string_view title, const std::vector<Figure>& figures,
                          const std::vector<Target>& targets = {}) {
  std::printf("\n== Summary: %s (ratio = ours / baseline, same run)\n", std::string(title).c_str());
  std::printf("%-44s %14s %14s %10s %-16s %s\n", "metric", "ours", "baseline", "ratio", "verdict",
              "baseline is");
  for (const Figure& f : figures) {
    std::string ratio = "-", verdict = "-";
    if (both_finite(f) && f.baseline_value != 0 && f.value != 0) {
      double r = f.value / f.baseline_value;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3g", r);
      ratio = buf;
      bool better = f.lower_is_better ? r <= 1 : r >= 1;
      double factor = r >= 1 ? r : 1 / r;
      std::snprintf(buf, sizeof buf, "%.3gx %s", factor, better ? "better" : "worse");
      verdict = buf;
    } else if (both_finite(f) && f.value == f.baseline_value) {
      verdict = "equal";
    }
    std::printf("%-44s %14s %14s %10s %-16s %s\n", f.metric.c_str(),
                format_value(f.value, f.unit).c_str(),
                format_value(f.baseline_value, f.unit).c_str(), ratio.c_str(), verdict.c_str(),
                f.baseline.c_str());
  }
  if (!targets.empty()) {
    std::printf("-- targets (DESIGN.md section 4)\n");
    for (const Target& t : targets)
      std::printf("[%s] %s: %s\n", t.met ? "MET   " : "MISSED", t.what.c_str(), t.detail.c_str());
  }
  std::fflush(stdout);
}

// Runs the registered benchmarks with a capturing console reporter (adding
// --benchmark_min_time=0.2 unless the caller gave one), then calls `summarize`, prints its table
// and appends its figures. `summarize` may set *exit_code (e.g. to report a failed invariant).
using Summarize = std::function<void(const CaptureReporter& runs, std::vector<Figure>* figures,
                                     std::vector<Target>* targets, int* exit_code)>;

inline int run_main(int argc, char** argv, std::string_view title, const Summarize& summarize) {
  std::vector<char*> args(argv, argv + argc);
  bool has_min_time = false;
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]).starts_with("--benchmark_min_time")) has_min_time = true;
  std::string min_time = kDefaultMinTime;
  if (!has_min_time) args.insert(args.begin() + 1, min_time.data());
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;

  CaptureReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::vector<Figure> figures;
  std::vector<Target> targets;
  int exit_code = 0;
  summarize(reporter, &figures, &targets, &exit_code);
  print_summary(title, figures, targets);
  if (!append_results(figures)) return 1;
  return exit_code;
}

}  // namespace theus_bench

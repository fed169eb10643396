// libFuzzer target: Flux documents. Loads arbitrary bytes as a workflow (YAML + step tree +
// condition parsing); when they load, runs the result with a bounded op budget against a small
// fixed scope and simulates it, so the interpreter's walk is fuzzed too.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "theus/flux/interpreter.hpp"
#include "theus/flux/workflow.hpp"

namespace {

theus::Result<theus::Value> scope(std::string_view name) {
  using theus::Map;
  using theus::Value;
  if (name == "domain")
    return Value(Map{{"n", 3}, {"items", theus::List{1, 2, 3}}, {"name", "ann"}});
  if (name == "signal" || name == "cmd") return Value(Map{{"cmd_go", "True"}});
  if (name == "x") return Value(1);
  return theus::Status(theus::ErrorCode::kNameError, "name is not defined");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  theus::Result<theus::flux::Workflow> parsed =
      theus::flux::Workflow::parse(text, "fuzz.yaml", &warnings);
  if (!parsed.is_ok()) return 0;
  auto wf = std::make_shared<const theus::flux::Workflow>(std::move(parsed).value());
  (void)wf->flattened_process_names();
  (void)wf->referenced_process_names();

  theus::flux::RunOptions options;
  options.max_ops = 256;
  options.debug = true;
  options.trace = [](std::string_view) {};
  theus::flux::Run run(wf, options);
  theus::flux::NameLookup names = scope;
  for (;;) {
    auto step = run.next(names);
    if (!step.is_ok() || !step.value()) break;
    run.completed();
  }
  (void)theus::flux::simulate(*wf, names, options);
  return 0;
}

// A Flux workflow driving C++ processes on theus::Engine: the same YAML language the Python API
// runs. Batches of parcels are packed and shipped until the backlog is empty; a signal latched by
// one step steers the condition evaluated right after it. Exits non-zero if the result is wrong
// (it runs as a test).
#include <cstdio>

#include "theus/theus.hpp"

namespace {

constexpr const char* kWorkflow = R"(
name: dispatch
steps:
  - flux: while
    condition: "domain.backlog > 0"
    do:
      - pack
      - flux: if
        condition: "domain.packed >= 3 or domain.backlog == 0"
        then: [ship]
  - flux: if
    condition: "signal.get('truck') == 'full'"
    then: [invoice]
)";

}  // namespace

int main() {
  using theus::Contract;
  using theus::ProcessContext;
  using theus::Result;
  using theus::Value;

  theus::Engine engine;
  (void)engine.compare_and_swap(
      0, theus::Map{{"domain", theus::Map{{"backlog", 7}, {"packed", 0}, {"shipped", 0}}}});

  (void)engine.register_process(
      {"pack",
       Contract::make({"domain.backlog", "domain.packed"}, {"domain.backlog", "domain.packed"})
           .value()},
      [](ProcessContext& ctx) -> Result<Value> {
        THEUS_ASSIGN_OR_RETURN(Value backlog, ctx.get("domain.backlog"));
        THEUS_ASSIGN_OR_RETURN(Value packed, ctx.get("domain.packed"));
        THEUS_RETURN_IF_ERROR(ctx.set("domain.backlog", Value(backlog.as_int() - 1)));
        THEUS_RETURN_IF_ERROR(ctx.set("domain.packed", Value(packed.as_int() + 1)));
        return Value();
      });
  (void)engine.register_process(
      {"ship",
       Contract::make({"domain.packed", "domain.shipped"}, {"domain.packed", "domain.shipped"})
           .value()},
      [](ProcessContext& ctx) -> Result<Value> {
        THEUS_ASSIGN_OR_RETURN(Value packed, ctx.get("domain.packed"));
        THEUS_ASSIGN_OR_RETURN(Value shipped, ctx.get("domain.shipped"));
        THEUS_RETURN_IF_ERROR(ctx.set("domain.shipped", Value(shipped.as_int() + packed.as_int())));
        THEUS_RETURN_IF_ERROR(ctx.set("domain.packed", Value(0)));
        ctx.emit_signal("truck", Value("full"));  // latched for the next condition only
        return Value();
      });
  (void)engine.register_process({"invoice", Contract::make({}, {}).value()},
                                [](ProcessContext&) -> Result<Value> { return Value(); });

  auto workflow = theus::flux::Workflow::parse(kWorkflow, "dispatch.yaml");
  if (!workflow.is_ok()) {
    std::fprintf(stderr, "%s\n", workflow.status().message().c_str());
    return 1;
  }
  theus::flux::Fsm fsm;
  auto steps = theus::flux::run_workflow(
      engine, std::make_shared<const theus::flux::Workflow>(std::move(workflow).value()), {}, &fsm);
  if (!steps.is_ok()) {
    std::fprintf(stderr, "workflow failed: %s\n", steps.status().message().c_str());
    return 1;
  }
  std::printf("executed %zu steps:", steps.value().size());
  for (const std::string& name : steps.value()) std::printf(" %s", name.c_str());
  auto snap = engine.snapshot();
  std::printf("\nstate: %s (version %llu, FSM %s)\n", snap->get("domain").value().repr().c_str(),
              static_cast<unsigned long long>(snap->version),
              std::string(theus::flux::fsm_state_name(fsm.state())).c_str());
  // 7 parcels: packed 3 + ship, 3 + ship, 1 + ship (backlog empty); the last ship's signal is
  // still latched when the final condition runs, so invoice runs too.
  bool ok = steps.value().size() == 7 + 3 + 1 && steps.value().back() == "invoice" &&
            snap->get("domain.shipped").value() == Value(7) &&
            snap->get("domain.backlog").value() == Value(0) &&
            fsm.state() == theus::flux::FsmState::kComplete;
  std::printf("%s\n", ok ? "ok" : "MISMATCH");
  return ok ? 0 : 1;
}

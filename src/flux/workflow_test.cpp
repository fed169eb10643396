// Workflow loading (spec workflow §1.1): step forms, nesting, locations, parse errors with their
// source positions, empty-block warnings, the legacy graph form.
#include "theus/flux/workflow.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace theus::flux {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

Workflow parse_ok(std::string_view text, std::vector<std::string>* warnings = nullptr) {
  Result<Workflow> wf = Workflow::parse(text, "flow.yaml", warnings);
  EXPECT_TRUE(wf.is_ok()) << wf.status().message();
  return wf.is_ok() ? std::move(wf).value() : Workflow();
}

std::string parse_error(std::string_view text) {
  Result<Workflow> wf = Workflow::parse(text, "flow.yaml");
  EXPECT_FALSE(wf.is_ok());
  if (wf.is_ok()) return "";
  EXPECT_EQ(wf.status().code(), ErrorCode::kInvalidArgument);
  return wf.status().message();
}

TEST(WorkflowTest, BareNamesAndProcessMappings) {
  Workflow wf = parse_ok("name: demo\nsteps:\n  - load\n  - process: save\n    on_fail: ignored\n");
  ASSERT_EQ(wf.steps().size(), 2u);
  EXPECT_EQ(wf.steps()[0].kind, StepKind::kProcess);
  EXPECT_EQ(wf.steps()[0].process, "load");
  EXPECT_EQ(wf.steps()[0].location, "steps[0]");
  EXPECT_EQ(wf.steps()[0].line, 3);
  EXPECT_EQ(wf.steps()[0].column, 5);
  EXPECT_EQ(wf.steps()[1].process, "save");
  EXPECT_EQ(wf.steps()[1].describe(), "steps[1] process 'save'");
}

TEST(WorkflowTest, ProcessKeyWinsOverFlux) {
  Workflow wf = parse_ok("steps:\n  - {process: p, flux: while}\n");
  ASSERT_EQ(wf.steps().size(), 1u);
  EXPECT_EQ(wf.steps()[0].kind, StepKind::kProcess);
  EXPECT_EQ(wf.steps()[0].process, "p");
}

TEST(WorkflowTest, NestedIfWhileRunWithLocations) {
  Workflow wf = parse_ok(R"(
steps:
  - prepare
  - flux: while
    condition: "domain.remaining > 0"
    do:
      - process: consume_one
      - flux: if
        condition: "domain.remaining % 10 == 0"
        then: [checkpoint]
        else:
          - flux: run
            steps: [a, b]
  - report
)");
  ASSERT_EQ(wf.steps().size(), 3u);
  const Step& loop = wf.steps()[1];
  EXPECT_EQ(loop.kind, StepKind::kWhile);
  EXPECT_EQ(loop.condition->text(), "domain.remaining > 0");
  EXPECT_EQ(loop.condition->location(), "steps[1]");
  ASSERT_EQ(loop.body.size(), 2u);
  const Step& branch = loop.body[1];
  EXPECT_EQ(branch.kind, StepKind::kIf);
  EXPECT_EQ(branch.location, "steps[1].do[1]");
  EXPECT_EQ(branch.body[0].location, "steps[1].do[1].then[0]");
  const Step& group = branch.orelse[0];
  EXPECT_EQ(group.kind, StepKind::kRun);
  EXPECT_EQ(group.body[1].location, "steps[1].do[1].else[0].steps[1]");
  EXPECT_EQ(group.describe(), "steps[1].do[1].else[0] run (2 steps)");
  EXPECT_THAT(wf.flattened_process_names(), ElementsAre("prepare", "report"));
  EXPECT_THAT(wf.referenced_process_names(),
              ElementsAre("prepare", "consume_one", "checkpoint", "a", "b", "report"));
}

TEST(WorkflowTest, EmptyOrNonMappingDocumentsHaveNoSteps) {
  for (std::string_view text :
       {"", "# only a comment\n", "- a\n- b\n", "just text", "steps: 3\n", "steps:\n"}) {
    Workflow wf = parse_ok(text);
    EXPECT_THAT(wf.steps(), IsEmpty()) << text;
  }
}

TEST(WorkflowTest, YamlBooleansAndNumbersAreConditionLiterals) {
  Workflow wf = parse_ok(
      "steps:\n  - {flux: if, condition: true, then: [a]}\n  - {flux: while, condition: 0, do: "
      "[b]}\n");
  EXPECT_EQ(wf.steps()[0].condition->text(), "True");
  EXPECT_EQ(wf.steps()[1].condition->text(), "0");
  Workflow quoted = parse_ok("steps:\n  - {flux: if, condition: 'true', then: [a]}\n");
  EXPECT_EQ(quoted.steps()[0].condition->text(), "true");  // a string: the name `true`
}

TEST(WorkflowTest, IfBranchesThatAreNotSequencesAreEmpty) {
  std::vector<std::string> warnings;
  Workflow wf =
      parse_ok("steps:\n  - {flux: if, condition: 'x', then: a, else: {b: 1}}\n", &warnings);
  EXPECT_THAT(wf.steps()[0].body, IsEmpty());
  EXPECT_THAT(wf.steps()[0].orelse, IsEmpty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0],
              StartsWith("[FLUX-WARN] 'flux: if' has empty 'then' and 'else' blocks."));
}

TEST(WorkflowTest, EmptyBlocksWarnWithTheirLocation) {
  std::vector<std::string> warnings;
  parse_ok("steps:\n  - {flux: while, condition: 'False', do: []}\n  - {flux: run, steps: []}\n",
           &warnings);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0], StartsWith("[FLUX-WARN] 'flux: while' has empty 'do' block"));
  EXPECT_THAT(warnings[0], HasSubstr("steps[0], flow.yaml:2:5"));
  EXPECT_THAT(warnings[1], StartsWith("[FLUX-WARN] 'flux: run' has empty 'steps' block."));
}

TEST(WorkflowTest, ParseErrorsNameTheProblemAndThePosition) {
  EXPECT_THAT(
      parse_error("steps:\n  - flux: while\n    do: [a]\n"),
      StartsWith("Parse error: 'flux: while' requires 'condition' field (at flow.yaml:2:5)"));
  EXPECT_THAT(parse_error("steps:\n  - flux: while\n    condition: x\n"),
              StartsWith("Parse error: 'flux: while' requires 'do' block"));
  EXPECT_THAT(parse_error("steps:\n  - flux: while\n    condition: x\n    do: a\n"),
              StartsWith("Parse error: 'flux: while' requires 'do' block (at flow.yaml:4:9)"));
  EXPECT_THAT(parse_error("steps:\n  - {flux: if, then: [a]}\n"),
              StartsWith("Parse error: 'flux: if' requires 'condition' field"));
  EXPECT_THAT(parse_error("steps:\n  - {flux: run}\n"),
              StartsWith("Parse error: 'flux: run' requires 'steps' block"));
  EXPECT_THAT(parse_error("steps:\n  - {flux: parallel, steps: [a]}\n"),
              StartsWith("Parse error: Unknown flux type: 'parallel'"));
  EXPECT_THAT(parse_error("steps:\n  - {flux: 3}\n"),
              StartsWith("Parse error: 'flux' value must be a string"));
  EXPECT_THAT(parse_error("steps:\n  - {process: [a]}\n"),
              StartsWith("Parse error: 'process' value must be a string"));
  EXPECT_THAT(parse_error("steps:\n  - {process: 12}\n"),
              StartsWith("Parse error: 'process' value must be a string"));
  EXPECT_THAT(
      parse_error("steps:\n  - {name: x, foo: 1}\n"),
      StartsWith("Parse error: Unknown step format: mapping with keys [name, foo] at steps[0]"));
  EXPECT_THAT(
      parse_error("steps:\n  - [a, b]\n"),
      StartsWith("Parse error: Invalid step type: expected string or mapping, got sequence"));
  EXPECT_THAT(parse_error("steps:\n  - 42\n"),
              HasSubstr("Invalid step type: expected string or mapping, got integer 42"));
  EXPECT_THAT(parse_error("steps:\n  - {flux: if, condition: [1], then: [a]}\n"),
              HasSubstr("'condition' of 'flux: if' must be a string, got sequence"));
}

TEST(WorkflowTest, ErrorsInsideNestedBlocksPropagate) {
  EXPECT_THAT(
      parse_error("steps:\n  - flux: run\n    steps:\n      - flux: if\n        then: [a]\n"),
      AllOf(StartsWith("Parse error: 'flux: if' requires 'condition' field"),
            HasSubstr("flow.yaml:4:9")));
}

TEST(WorkflowTest, InvalidConditionsAreRefusedAtLoadTime) {
  std::string msg =
      parse_error("steps:\n  - process: a\n  - flux: if\n    condition: \"x ==\"\n    then: [a]\n");
  EXPECT_THAT(msg, StartsWith("Parse error: invalid condition at steps[1]: 'x =='"));
  EXPECT_THAT(msg, HasSubstr("flow.yaml:4:16"));
  EXPECT_THAT(parse_error("steps:\n  - {flux: while, condition: \"__import__('os')\", do: [a]}\n"),
              HasSubstr("invalid condition at steps[0]"));
}

TEST(WorkflowTest, InvalidYamlIsReportedWithItsPosition) {
  std::string msg = parse_error("steps:\n  - a\n  - {b: [\n");
  EXPECT_THAT(msg, StartsWith("Invalid YAML: "));
  EXPECT_THAT(msg, HasSubstr("(at flow.yaml:"));
}

TEST(WorkflowTest, LoadFileReadsAndNamesTheFile) {
  std::string path = ::testing::TempDir() + "theus_flux_load_test.yaml";
  {
    std::ofstream out(path);
    out << "steps:\n  - a\n  - {flux: while, do: [b]}\n";
  }
  Result<Workflow> wf = Workflow::load_file(path);
  ASSERT_FALSE(wf.is_ok());
  EXPECT_THAT(wf.status().message(), HasSubstr(path + ":3:5"));
  std::remove(path.c_str());
  Result<Workflow> missing = Workflow::load_file(path);
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(path));
}

TEST(WorkflowTest, LegacyGraphNodes) {
  Workflow wf = parse_ok(R"(
nodes:
  start: a
  a: {next: b}
  b:
    next:
      "if domain.x > 1": c
      else: d
  c: {}
)");
  ASSERT_TRUE(wf.has_graph());
  EXPECT_EQ(*wf.graph_start(), "a");
  ASSERT_NE(wf.graph_node("a"), nullptr);
  EXPECT_EQ(*wf.graph_node("a")->next, "b");
  const GraphNode* b = wf.graph_node("b");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->branches.size(), 2u);
  EXPECT_EQ(b->branches[0].condition->text(), "domain.x > 1");
  EXPECT_EQ(b->branches[0].target, "c");
  EXPECT_FALSE(b->branches[1].condition.has_value());
  EXPECT_EQ(wf.graph_node("zzz"), nullptr);
}

TEST(WorkflowTest, GraphConditionQuotesAreStripped) {
  Workflow wf = parse_ok("nodes:\n  start: a\n  a:\n    next:\n      \"if  'x == 1' \": b\n");
  EXPECT_EQ(wf.graph_node("a")->branches[0].condition->text(), "x == 1");
}

}  // namespace
}  // namespace theus::flux

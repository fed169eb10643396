// Engine: end-to-end behaviour of transactions, CAS and execute() through the public API.
#include "theus/engine.hpp"

#include <gtest/gtest.h>

#include "theus/process_context.hpp"

namespace theus {
namespace {

TEST(EngineTest, StartsEmptyAtVersionZero) {
  Engine engine;
  EXPECT_EQ(engine.version(), 0u);
  EXPECT_TRUE(engine.snapshot()->data.empty());
}

TEST(EngineTest, CompareAndSwapFromZeroCommitsVersionOne) {
  Engine engine;
  ASSERT_TRUE(engine.compare_and_swap(0, Map{{"domain", Map{{"a", 1}}}}).is_ok());
  EXPECT_EQ(engine.version(), 1u);
  EXPECT_EQ(engine.snapshot()->get("domain.a").value(), Value(1));
}

TEST(EngineTest, ExecuteRunsProcessAndMapsOutput) {
  Engine engine;
  ASSERT_TRUE(engine.compare_and_swap(0, Map{{"domain", Map{{"n", 1}}}}).is_ok());
  auto contract = Contract::make({"domain.n"}, {"domain.n"}).value();
  ASSERT_TRUE(engine
                  .register_process({"inc", contract},
                                    [](ProcessContext& ctx) -> Result<Value> {
                                      THEUS_ASSIGN_OR_RETURN(Value n, ctx.get("domain.n"));
                                      return Value(n.as_int() + 1);
                                    })
                  .is_ok());
  auto r = engine.execute("inc");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(engine.snapshot()->get("domain.n").value(), Value(2));
  EXPECT_EQ(engine.version(), 2u);
}

}  // namespace
}  // namespace theus

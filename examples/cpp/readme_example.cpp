// The "Using the C++ API" snippet of README.md, verbatim in main(), plus checks of what it claims.
// Built and run by the tests so the README stays true.
#include <cstdio>

#include "theus/theus.hpp"

int main() {
  theus::Engine engine;
  (void)engine.compare_and_swap(0, theus::Map{{"domain", theus::Map{{"n", 0}}}});

  auto contract = theus::Contract::make({"domain.n"}, {"domain.n"}).value();
  (void)engine.register_process(
      {"inc", contract}, [](theus::ProcessContext& ctx) -> theus::Result<theus::Value> {
        THEUS_ASSIGN_OR_RETURN(theus::Value n, ctx.get("domain.n"));
        return theus::Value(n.as_int() + 1);  // mapped onto the single output domain.n
      });
  theus::Result<theus::Value> r = engine.execute("inc");  // transaction + contract checks + retries

  {
    theus::Transaction tx = engine.transaction();  // RAII: destroyed uncommitted = aborted
    (void)tx.set("domain.note", theus::Value("hello"));
    theus::Status st = tx.commit();  // errors are values: st.code(), st.message()
    if (!st.is_ok()) {
      std::fprintf(stderr, "commit failed: %s\n", st.to_string().c_str());
      return 1;
    }
  }
  theus::SnapshotPtr snap = engine.snapshot();  // O(1), never blocks on a committer

  bool ok = r.is_ok() && r.value() == theus::Value(1) && snap->version == 3 &&
            snap->get("domain.n").value() == theus::Value(1) &&
            snap->get("domain.note").value() == theus::Value("hello");
  std::printf("%s: version %llu, domain = %s\n", ok ? "ok" : "MISMATCH",
              static_cast<unsigned long long>(snap->version),
              snap->get("domain").value().repr().c_str());
  return ok ? 0 : 1;
}

// libFuzzer target for the Flux condition language: any input must parse or be refused cleanly,
// and anything that parses must evaluate or fail with a Status, never crash, hang or exhaust
// memory. Built by `make fuzz-build` (tests/fuzz/CMakeLists.txt); seeds in
// tests/fuzz/corpus/expression/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "theus/flux/expression.hpp"
#include "theus/status.hpp"
#include "theus/value.hpp"

namespace {

using theus::ErrorCode;
using theus::List;
using theus::Map;
using theus::Result;
using theus::Status;
using theus::Value;

const Map& scope() {
  static const Map kScope = [] {
    Map user{{"name", "bob"},
             {"age", 42},
             {"tags", Value(List{"admin", "ops", Value(List{1, 2.5, Value()})})},
             {"flags", Value(Map{{"on", true}, {"off", false}})}};
    Map domain{{"user", Value(user)},
               {"items", Value(List{1, 2, 3, "x", Value(Map{{"k", "v"}})})},
               {"count", 7},
               {"ratio", 0.25},
               {"name", "h\xc3\xa9llo"},
               {"blob", Value::bytes(std::string("\0\1\xff", 3))},
               {"empty", Value(Map())}};
    return Map{{"domain", Value(domain)},
               {"signal", Value(Map{{"cmd", "go"}, {"level", "3"}})},
               {"global", Value(Map{{"limit", 10}})},
               {"x", 3}};
  }();
  return kScope;
}

// Fails loudly (abort -> reported by libFuzzer) when an invariant of the API is broken.
void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<theus::flux::Expression> parsed = theus::flux::Expression::parse(text, "fuzz");
  if (!parsed.is_ok()) {
    check(parsed.code() == ErrorCode::kInvalidArgument);
    check(parsed.status().message().rfind("invalid condition at fuzz: '", 0) == 0);
    return 0;
  }
  theus::flux::NameLookup names = [](std::string_view name) -> Result<Value> {
    if (const Value* v = scope().find(name)) return *v;
    return Status(ErrorCode::kNameError, "unknown name");
  };
  Result<Value> value = parsed->evaluate(names);
  if (value.is_ok()) {
    (void)value->truthy();
    if (value->is_container() || value->is_string()) return 0;  // may be large; skip repr
    (void)value->repr();
  } else {
    check(value.status().message().rfind("Flux condition error in fuzz: '", 0) == 0);
  }
  Result<bool> truth = parsed->test(names);
  check(truth.is_ok() == value.is_ok());
  return 0;
}

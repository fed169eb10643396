// GoogleTest printers for core value types, shared by the txn / contract / engine / integration
// tests: failure messages show `{'a': 1}` and `domain.q[0]` instead of raw bytes.
#pragma once

#include <ostream>

#include "theus/path.hpp"
#include "theus/status.hpp"
#include "theus/value.hpp"

namespace theus {

inline void PrintTo(const Value& v, std::ostream* os) { *os << v.repr(); }
inline void PrintTo(const Map& m, std::ostream* os) { *os << Value(m).repr(); }
inline void PrintTo(const List& l, std::ostream* os) { *os << Value(l).repr(); }
inline void PrintTo(const Path& p, std::ostream* os) { *os << p.to_string(); }
inline void PrintTo(const Status& s, std::ostream* os) { *os << s.to_string(); }

}  // namespace theus

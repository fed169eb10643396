// ProcessIdentity: a process named by its pid *and* its start time (clock ticks after boot, field
// 22 of /proc/<pid>/stat), so a pid the kernel reused for another process is not mistaken for the
// process that owned a resource. Thread-safety: plain values and stateless functions.
#pragma once

#include <cstdint>
#include <optional>

namespace theus {

struct ProcessIdentity {
  int64_t pid = 0;
  uint64_t start_time = 0;  // 0: unknown (then only the pid is compared)

  // The calling process (pid and start time read now, so the answer is right after fork()).
  static ProcessIdentity current();
  // The live process with this pid, or nullopt when there is none. A process that exited but was
  // not reaped yet (state Z or X) counts as gone.
  static std::optional<ProcessIdentity> of(int64_t pid);

  // True when a process with this pid is running and, when both start times are known, it is the
  // same process (same start time).
  bool alive() const;

  friend bool operator==(const ProcessIdentity&, const ProcessIdentity&) = default;
};

}  // namespace theus

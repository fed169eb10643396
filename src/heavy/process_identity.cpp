// ProcessIdentity: pid + start time from /proc/<pid>/stat, with a kill(pid, 0) fallback where
// /proc is not mounted.
#include "theus/heavy/process_identity.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>

namespace theus {

namespace {

struct StatLine {
  char state = '?';
  uint64_t start_time = 0;
};

// Fields 3 (state) and 22 (starttime) of /proc/<pid>/stat. The command name (field 2) is in
// parentheses and may itself contain spaces and ')', so parsing starts after the last ')'.
std::optional<StatLine> read_stat(int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  StatLine out;
  std::string token;
  for (int field = 3; field <= 22 && fields >> token; ++field) {
    if (field == 3) out.state = token.empty() ? '?' : token[0];
    if (field == 22) {
      try {
        out.start_time = std::stoull(token);
      } catch (...) {
        return std::nullopt;
      }
      return out;
    }
  }
  return std::nullopt;
}

bool proc_available() {
  static const bool available = ::access("/proc/self/stat", R_OK) == 0;
  return available;
}

}  // namespace

ProcessIdentity ProcessIdentity::current() {
  int64_t pid = ::getpid();
  auto st = read_stat(pid);
  return {pid, st ? st->start_time : 0};
}

std::optional<ProcessIdentity> ProcessIdentity::of(int64_t pid) {
  if (pid <= 0) return std::nullopt;
  if (!proc_available()) {
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) return ProcessIdentity{pid, 0};
    return std::nullopt;
  }
  auto st = read_stat(pid);
  if (!st || st->state == 'Z' || st->state == 'X' || st->state == 'x') return std::nullopt;
  return ProcessIdentity{pid, st->start_time};
}

bool ProcessIdentity::alive() const {
  auto live = of(pid);
  if (!live) return false;
  return start_time == 0 || live->start_time == 0 || live->start_time == start_time;
}

}  // namespace theus

// MemoryRegistry: the file that records which process created which shared-memory segment, and
// the zombie scan that unlinks segments whose creator died. The file holds one compact JSON object
// per line: {"name":..,"pid":..,"session":..,"size":..,"ts":..,"start":..} ("start" is the
// creator's start time, see ProcessIdentity; lines without it are judged by pid alone).
// Crash safety: a record is appended with one write() on an O_APPEND descriptor; a rewrite goes
// to a temporary file renamed over the registry. Both happen under an exclusive flock(), and a
// writer that locked a file since replaced by a rename retries on the new one, so concurrent
// processes never tear a line or lose a record.
// Thread-safety: a MemoryRegistry object is not synchronised; distinct objects (in any processes)
// may use the same file concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theus/heavy/process_identity.hpp"
#include "theus/status.hpp"

namespace theus {

struct RegistryRecord {
  std::string name;         // segment name
  int64_t pid = 0;          // creator pid
  std::string session;      // allocator session id
  uint64_t size = 0;        // bytes
  double ts = 0.0;          // creation time (seconds since the epoch; 0.0: not recorded)
  uint64_t start_time = 0;  // creator start time; 0: unknown

  // One compact JSON line, without the newline.
  std::string to_json() const;
  // Parses one line; nullopt when it is not a JSON object with a string "name" and integer "pid".
  static std::optional<RegistryRecord> parse(std::string_view line);
  ProcessIdentity owner() const { return {pid, start_time}; }
};

// Outcome of one zombie scan.
struct ScanReport {
  size_t lines_read = 0;               // lines in the file (blank and unparsable ones included)
  size_t kept = 0;                     // records whose owner is alive
  std::vector<std::string> reclaimed;  // segments of dead owners (unlinked, or already gone)
  bool rewritten = false;              // the file was rewritten without the dropped lines
  size_t dropped() const { return lines_read - kept; }
};

class MemoryRegistry {
 public:
  struct Options {
    // Registry file; a relative path is made absolute against the working directory once, when
    // the registry is constructed.
    std::string path = ".theus_memory_registry.jsonl";
  };

  // Does not touch the file; call scan_zombies() to collect the segments of dead processes.
  explicit MemoryRegistry(std::string session_id, Options options);
  explicit MemoryRegistry(std::string session_id) : MemoryRegistry(std::move(session_id), {}) {}

  // Remembers `name -> size` and appends a record owned by the calling process. Errors
  // (kInternal) name the registry file.
  Status log_allocation(std::string_view name, uint64_t size);
  // Reads every record; unlinks the segments of records whose owner is dead and rewrites the file
  // without those records and without unparsable lines. A missing file is an empty registry.
  Result<ScanReport> scan_zombies();
  // Unlinks every segment this object logged from the calling process (already-missing ones are
  // fine; names logged before a fork() are left to the parent), then removes their records from
  // the file (the file itself once it holds nothing). Forgets them all.
  Status cleanup();

  const std::string& session_id() const noexcept { return session_; }
  const std::string& path() const noexcept { return options_.path; }
  const std::map<std::string, uint64_t>& allocations() const noexcept { return allocations_; }

  // Every parsable record in the file now (reads under a shared lock). Missing file: empty.
  Result<std::vector<RegistryRecord>> records() const;

 private:
  std::string session_;
  Options options_;
  std::map<std::string, uint64_t> allocations_;  // name -> size
  std::map<std::string, int64_t> owners_;        // name -> pid that logged it (fork safety)
};

}  // namespace theus

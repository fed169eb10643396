// MemoryRegistry: the segment registry file (append, zombie scan, cleanup) under flock().
#include "theus/heavy/memory_registry.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "theus/heavy/shm_segment.hpp"

namespace theus {

namespace {

using Json = nlohmann::ordered_json;

std::string io_error(const char* what, const std::string& path, int err) {
  return std::string(what) + " of shared-memory registry '" + path +
         "' failed: " + std::strerror(err);
}

// An open registry file holding an flock(); closing the descriptor releases the lock.
class LockedFile {
 public:
  LockedFile() = default;
  explicit LockedFile(int fd) : fd_(fd) {}
  LockedFile(LockedFile&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  LockedFile& operator=(LockedFile&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~LockedFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Opens `path` and locks it (`op`: LOCK_EX or LOCK_SH). A file renamed over or removed while this
// call waited for the lock is not the registry any more, so the call retries on what is at `path`
// now. Returns an unopened LockedFile when the file is missing and `create` is false.
Result<LockedFile> lock_registry(const std::string& path, int flags, int op, bool create) {
  for (;;) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) {
      if (errno == ENOENT && !create) return LockedFile();
      return Status(ErrorCode::kInternal, io_error("opening", path, errno));
    }
    LockedFile file(fd);
    while (::flock(fd, op) != 0) {
      if (errno != EINTR) return Status(ErrorCode::kInternal, io_error("locking", path, errno));
    }
    struct stat held {
    }, now{};
    if (::fstat(fd, &held) != 0) return Status(ErrorCode::kInternal, io_error("stat", path, errno));
    if (::stat(path.c_str(), &now) == 0 && now.st_ino == held.st_ino && now.st_dev == held.st_dev)
      return file;
    // Replaced or removed while we waited: drop this descriptor (and its lock) and retry.
  }
}

Result<std::string> read_all(int fd, const std::string& path) {
  std::string out;
  char buf[65536];
  off_t pos = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(ErrorCode::kInternal, io_error("reading", path, errno));
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    pos += n;
  }
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return {ErrorCode::kInternal, io_error("writing", path, errno)};
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

// Lines of `text` (a final line without '\n' included; the empty tail after the last '\n' not).
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

// Replaces the locked registry with `kept` lines: written to a temporary file, flushed, then
// renamed over the registry, so a crash leaves either the old or the new file, never a mix. An
// empty result removes the file. The caller still holds the lock on the old file.
Status rewrite(const std::string& path, const std::vector<std::string_view>& kept) {
  if (kept.empty()) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return {ErrorCode::kInternal, io_error("removing", path, errno)};
    return Status::ok();
  }
  std::string body;
  for (auto line : kept) {
    body.append(line);
    body.push_back('\n');
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return {ErrorCode::kInternal, io_error("creating", tmp, errno)};
  Status st = write_all(fd, body, tmp);
  if (st.is_ok() && ::fsync(fd) != 0) st = {ErrorCode::kInternal, io_error("flushing", tmp, errno)};
  ::close(fd);
  if (st.is_ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = {ErrorCode::kInternal, io_error("renaming", tmp, errno)};
  if (!st.is_ok()) ::unlink(tmp.c_str());
  return st;
}

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string RegistryRecord::to_json() const {
  Json j;
  j["name"] = name;
  j["pid"] = pid;
  j["session"] = session;
  j["size"] = size;
  j["ts"] = ts;
  j["start"] = start_time;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<RegistryRecord> RegistryRecord::parse(std::string_view line) {
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto name = j.find("name");
  auto pid = j.find("pid");
  if (name == j.end() || !name->is_string() || pid == j.end() || !pid->is_number_integer())
    return std::nullopt;
  RegistryRecord r;
  r.name = name->get<std::string>();
  r.pid = pid->get<int64_t>();
  if (auto it = j.find("session"); it != j.end() && it->is_string())
    r.session = it->get<std::string>();
  if (auto it = j.find("size"); it != j.end() && it->is_number_unsigned())
    r.size = it->get<uint64_t>();
  if (auto it = j.find("ts"); it != j.end() && it->is_number()) r.ts = it->get<double>();
  if (auto it = j.find("start"); it != j.end() && it->is_number_unsigned())
    r.start_time = it->get<uint64_t>();
  return r;
}

MemoryRegistry::MemoryRegistry(std::string session_id, Options options)
    : session_(std::move(session_id)), options_(std::move(options)) {
  std::error_code ec;
  auto absolute = std::filesystem::absolute(options_.path, ec);
  if (!ec) options_.path = absolute.lexically_normal().string();
}

Status MemoryRegistry::log_allocation(std::string_view name, uint64_t size) {
  ProcessIdentity me = ProcessIdentity::current();
  RegistryRecord rec{std::string(name), me.pid, session_, size, now_seconds(), me.start_time};
  std::string line = rec.to_json();
  line.push_back('\n');
  const std::string& path = options_.path;
  THEUS_ASSIGN_OR_RETURN(LockedFile file,
                         lock_registry(path, O_RDWR | O_APPEND, LOCK_EX, /*create=*/true));
  // A writer that crashed mid-line left no newline: start on a fresh line so this record stays
  // whole (the torn fragment is dropped by the next scan).
  struct stat st {};
  char last = '\n';
  if (::fstat(file.fd(), &st) == 0 && st.st_size > 0 &&
      ::pread(file.fd(), &last, 1, st.st_size - 1) == 1 && last != '\n')
    line.insert(line.begin(), '\n');
  // One write() on an O_APPEND descriptor: the line lands whole at the end of the file.
  THEUS_RETURN_IF_ERROR(write_all(file.fd(), line, path));
  allocations_[std::string(name)] = size;
  owners_[std::string(name)] = me.pid;
  return Status::ok();
}

Result<ScanReport> MemoryRegistry::scan_zombies() {
  const std::string& path = options_.path;
  ScanReport report;
  THEUS_ASSIGN_OR_RETURN(LockedFile file, lock_registry(path, O_RDONLY, LOCK_EX, false));
  if (!file.open()) return report;
  THEUS_ASSIGN_OR_RETURN(std::string text, read_all(file.fd(), path));
  std::vector<std::string_view> kept;
  for (std::string_view line : split_lines(text)) {
    ++report.lines_read;
    auto rec = RegistryRecord::parse(line);
    if (!rec) continue;  // blank or torn: dropped
    if (rec->owner().alive()) {
      kept.push_back(line);
      continue;
    }
    (void)ShmSegment::unlink(rec->name);  // already gone is fine: the record is stale either way
    report.reclaimed.push_back(rec->name);
  }
  report.kept = kept.size();
  if (report.dropped() > 0) {
    THEUS_RETURN_IF_ERROR(rewrite(path, kept));
    report.rewritten = true;
  }
  return report;
}

Status MemoryRegistry::cleanup() {
  const int64_t me = ::getpid();
  Status first;
  std::set<std::string> mine;
  for (const auto& [name, size] : allocations_) {
    if (owners_[name] != me) continue;  // logged before a fork(): the parent's to unlink
    mine.insert(name);
    Status st = ShmSegment::unlink(name);
    if (!st.is_ok() && st.code() != ErrorCode::kNotFound && first.is_ok()) first = st;
  }
  allocations_.clear();
  owners_.clear();
  if (mine.empty()) return first;
  const std::string& path = options_.path;
  THEUS_ASSIGN_OR_RETURN(LockedFile file, lock_registry(path, O_RDONLY, LOCK_EX, false));
  if (!file.open()) return first;
  THEUS_ASSIGN_OR_RETURN(std::string text, read_all(file.fd(), path));
  std::vector<std::string_view> lines = split_lines(text), kept;
  for (std::string_view line : lines) {
    auto rec = RegistryRecord::parse(line);
    if (rec && rec->pid == me && mine.count(rec->name)) continue;
    kept.push_back(line);
  }
  if (kept.size() != lines.size()) THEUS_RETURN_IF_ERROR(rewrite(path, kept));
  return first;
}

Result<std::vector<RegistryRecord>> MemoryRegistry::records() const {
  std::vector<RegistryRecord> out;
  THEUS_ASSIGN_OR_RETURN(LockedFile file, lock_registry(options_.path, O_RDONLY, LOCK_SH, false));
  if (!file.open()) return out;
  THEUS_ASSIGN_OR_RETURN(std::string text, read_all(file.fd(), options_.path));
  for (std::string_view line : split_lines(text))
    if (auto rec = RegistryRecord::parse(line)) out.push_back(std::move(*rec));
  return out;
}

}  // namespace theus

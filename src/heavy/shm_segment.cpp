// ShmSegment: shm_open / ftruncate / mmap / munmap / shm_unlink behind an RAII handle.
#include "theus/heavy/shm_segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace theus {

namespace {

constexpr size_t kMaxName = 250;  // NAME_MAX (255) minus room for the leading '/'

std::string_view strip_slash(std::string_view name) {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  return name;
}

std::string posix_name(std::string_view name) { return "/" + std::string(strip_slash(name)); }

std::string sys_error(const char* what, std::string_view name, int err) {
  return std::string(what) + " of shared-memory segment '" + std::string(strip_slash(name)) +
         "' failed: " + std::strerror(err);
}

// Closes a descriptor on every exit path of create() and attach().
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

ShmSegment::ShmSegment(ShmSegment&& other) noexcept
    : name_(std::move(other.name_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      writable_(other.writable_) {}

ShmSegment& ShmSegment::operator=(ShmSegment&& other) noexcept {
  if (this != &other) {
    close();
    name_ = std::move(other.name_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    writable_ = other.writable_;
  }
  return *this;
}

ShmSegment::~ShmSegment() { close(); }

void ShmSegment::close() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

Status ShmSegment::check_name(std::string_view name) {
  std::string_view bare = strip_slash(name);
  if (bare.empty()) return {ErrorCode::kInvalidArgument, "shared-memory segment name is empty"};
  if (bare.size() > kMaxName)
    return {ErrorCode::kInvalidArgument, "shared-memory segment name '" + std::string(bare) +
                                             "' is longer than " + std::to_string(kMaxName) +
                                             " bytes"};
  if (bare.find('/') != std::string_view::npos || bare.find('\0') != std::string_view::npos)
    return {ErrorCode::kInvalidArgument,
            "shared-memory segment name '" + std::string(bare) + "' contains '/' or NUL"};
  return Status::ok();
}

Result<ShmSegment> ShmSegment::create(std::string_view name, size_t size) {
  THEUS_RETURN_IF_ERROR(check_name(name));
  if (size == 0)
    return Status(
        ErrorCode::kInvalidArgument,
        "shared-memory segment '" + std::string(strip_slash(name)) + "' must have a size > 0");
  const std::string pname = posix_name(name);
  Fd fd{::shm_open(pname.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600)};
  if (fd.fd < 0) {
    int err = errno;
    if (err == EEXIST)
      return Status(ErrorCode::kFailedPrecondition,
                    "shared-memory segment '" + pname.substr(1) + "' already exists");
    return Status(ErrorCode::kInternal, sys_error("creation", name, err));
  }
  if (::ftruncate(fd.fd, static_cast<off_t>(size)) != 0) {
    int err = errno;
    ::shm_unlink(pname.c_str());  // do not leave an empty segment behind
    return Status(ErrorCode::kInternal, sys_error("sizing", name, err));
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.fd, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    ::shm_unlink(pname.c_str());
    return Status(ErrorCode::kInternal, sys_error("mapping", name, err));
  }
  return ShmSegment(pname.substr(1), static_cast<std::byte*>(p), size, true);
}

Result<ShmSegment> ShmSegment::attach(std::string_view name, bool writable) {
  THEUS_RETURN_IF_ERROR(check_name(name));
  const std::string pname = posix_name(name);
  Fd fd{::shm_open(pname.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0)};
  if (fd.fd < 0) {
    int err = errno;
    if (err == ENOENT)
      return Status(ErrorCode::kNotFound,
                    "shared-memory segment '" + pname.substr(1) + "' does not exist");
    return Status(ErrorCode::kInternal, sys_error("opening", name, err));
  }
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return Status(ErrorCode::kInternal, sys_error("stat", name, errno));
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0)
    return Status(ErrorCode::kFailedPrecondition,
                  "shared-memory segment '" + pname.substr(1) + "' is empty (not sized yet)");
  void* p =
      ::mmap(nullptr, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd.fd, 0);
  if (p == MAP_FAILED) return Status(ErrorCode::kInternal, sys_error("mapping", name, errno));
  return ShmSegment(pname.substr(1), static_cast<std::byte*>(p), size, writable);
}

Status ShmSegment::unlink(std::string_view name) {
  THEUS_RETURN_IF_ERROR(check_name(name));
  const std::string pname = posix_name(name);
  if (::shm_unlink(pname.c_str()) == 0) return Status::ok();
  int err = errno;
  if (err == ENOENT)
    return {ErrorCode::kNotFound, "shared-memory segment '" + pname.substr(1) + "' does not exist"};
  return {ErrorCode::kInternal, sys_error("unlinking", name, err)};
}

bool ShmSegment::exists(std::string_view name) {
  if (!check_name(name).is_ok()) return false;
  int fd = ::shm_open(posix_name(name).c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return errno != ENOENT;  // e.g. EACCES: it exists but is not ours to open
  ::close(fd);
  return true;
}

Result<std::span<std::byte>> ShmSegment::view(const BufferRef& ref) const {
  if (strip_slash(ref.name) != name_)
    return Status(ErrorCode::kInvalidArgument,
                  "buffer reference names segment '" + ref.name + "', not '" + name_ + "'");
  if (ref.offset > size_ || ref.length > size_ - ref.offset)
    return Status(ErrorCode::kInvalidArgument, "buffer [" + std::to_string(ref.offset) + ", " +
                                                   std::to_string(ref.offset + ref.length) +
                                                   ") is outside segment '" + name_ + "' of " +
                                                   std::to_string(size_) + " bytes");
  return std::span<std::byte>(data_ + ref.offset, ref.length);
}

}  // namespace theus

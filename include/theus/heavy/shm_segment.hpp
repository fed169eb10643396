// ShmSegment: one POSIX shared-memory object (shm_open + mmap), owned through RAII. Names follow
// Python's multiprocessing.shared_memory: the name "theus_x" is the object "/theus_x", so Python
// and C++ open, map and unlink the same segment. Destroying a segment unmaps it; it never unlinks
// (the owner calls unlink explicitly, or the registry's zombie scan does after the owner died).
// Thread-safety: a ShmSegment object is not synchronised; the mapped bytes are raw shared memory
// that every process and thread mapping the segment may read and write concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "theus/status.hpp"
#include "theus/value.hpp"

namespace theus {

class ShmSegment {
 public:
  ShmSegment() noexcept = default;  // an empty (unmapped) segment handle
  ShmSegment(ShmSegment&& other) noexcept;
  ShmSegment& operator=(ShmSegment&& other) noexcept;
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;
  ~ShmSegment();  // unmaps; never unlinks

  // Creates a new segment of `size` bytes (zero-filled) and maps it read-write. Errors:
  // kInvalidArgument (bad name, size 0), kFailedPrecondition "... already exists" when a segment
  // of that name exists, kInternal for other system errors; messages name the segment.
  static Result<ShmSegment> create(std::string_view name, size_t size);
  // Maps an existing segment (its whole size). kNotFound when there is none of that name.
  static Result<ShmSegment> attach(std::string_view name, bool writable = true);
  // Removes the name (mappings stay valid until unmapped). kNotFound when there is none.
  static Status unlink(std::string_view name);
  static bool exists(std::string_view name);
  // kInvalidArgument unless `name` is a valid segment name: non-empty, at most 250 bytes, no '/'
  // (a single leading '/' is accepted and ignored), no NUL.
  static Status check_name(std::string_view name);

  bool mapped() const noexcept { return data_ != nullptr; }
  const std::string& name() const noexcept { return name_; }  // without the leading '/'
  size_t size() const noexcept { return size_; }
  std::byte* data() const noexcept { return data_; }
  std::span<std::byte> bytes() const noexcept { return {data_, size_}; }
  bool writable() const noexcept { return writable_; }

  // The bytes a heavy-zone buffer reference designates inside this segment. kInvalidArgument
  // when `ref` names another segment or its [offset, offset + length) is outside the mapping.
  Result<std::span<std::byte>> view(const BufferRef& ref) const;

  void close() noexcept;  // unmaps now (idempotent)

 private:
  ShmSegment(std::string name, std::byte* data, size_t size, bool writable) noexcept
      : name_(std::move(name)), data_(data), size_(size), writable_(writable) {}

  std::string name_;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
  bool writable_ = false;
};

}  // namespace theus

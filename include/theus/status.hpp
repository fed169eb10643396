// Status and Result<T>: errors are values inside the core (DESIGN.md §3.7).
// A Status is an error code plus a human-readable message that names the path, process or value at
// fault; the Python binding maps codes to exception classes and keeps the message verbatim.
// Thread-safety: plain values; safe to copy and move between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace theus {

enum class ErrorCode : unsigned char {
  kOk = 0,
  kInvalidArgument,     // malformed input: bad path syntax, non-map payload, bad option
  kNotFound,            // missing key, index or process
  kTypeMismatch,        // operation applied to a value of the wrong kind
  kPermissionDenied,    // contract, zone capability or whitelist refusal (Python PermissionError)
  kContractViolation,   // process contract broken (Python ContractViolationError)
  kConflict,            // path-level conflict: "CAS Version Mismatch (Conflict Detected) ..."
  kStrictConflict,      // whole-state conflict: "Strict CAS Mismatch ..."
  kBusy,                // VIP ticket held by another requester: "System Busy (VIP Access Only)"
  kWriteTimeout,        // transaction held longer than its write timeout
  kSchemaViolation,     // a pre-install hook refused the new state
  kAuditViolation,      // an audit hook refused the commit
  kAuditStop,           // audit level Stop: "Audit Stop: <key> triggered immediate halt"
  kAuditAbort,          // audit level Abort: "Audit Abort: <key> operation cancelled"
  kAuditBlock,          // audit level Block over threshold: "Audit Blocked: <key> exceeded ..."
  kAborted,             // the transaction was already finished or explicitly aborted
  kGaveUp,              // retry policy exhausted (carries the last conflict's message)
  kFailedPrecondition,  // API misuse: e.g. committing a transaction twice
  kInternal,
  kLagged,  // a signal receiver fell behind: "Channel Lagged: missed N messages"
  kClosed,  // a signal channel has no publishers left: "Channel Closed"
  // Expression evaluation errors named after the Python exception they map to.
  kNameError,       // unknown name (NameError)
  kIndexError,      // list index out of range (IndexError)
  kZeroDivision,    // division or modulo by zero (ZeroDivisionError)
  kAttributeError,  // missing attribute (AttributeError)
};

// Name of a code, e.g. "Conflict"; stable, used in logs and test output.
std::string_view error_code_name(ErrorCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() noexcept { return {}; }

  bool is_ok() const noexcept { return code_ == ErrorCode::kOk; }
  explicit operator bool() const noexcept { return is_ok(); }
  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

  // True for the codes the retry policy treats as transient (conflicts and the VIP gate).
  bool is_retryable() const noexcept {
    return code_ == ErrorCode::kConflict || code_ == ErrorCode::kStrictConflict ||
           code_ == ErrorCode::kBusy;
  }

  // "Conflict: CAS Version Mismatch ..." (code name, then the message).
  std::string to_string() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Either a value or an error Status. `value()` on an error is a programming bug (asserts).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {
    assert(!std::get<Status>(data_).is_ok());
  }  // NOLINT
  Result(ErrorCode code, std::string message) : data_(Status(code, std::move(message))) {}

  bool is_ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return is_ok(); }

  const T& value() const& {
    assert(is_ok());
    return std::get<T>(data_);
  }
  T& value() & {
    assert(is_ok());
    return std::get<T>(data_);
  }
  T&& value() && {
    assert(is_ok());
    return std::get<T>(std::move(data_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // The error, or OK when a value is held.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(data_); }
  ErrorCode code() const noexcept {
    return is_ok() ? ErrorCode::kOk : std::get<Status>(data_).code();
  }

 private:
  std::variant<T, Status> data_;
};

}  // namespace theus

// Early-return helpers: propagate an error Status / unwrap a Result.
#define THEUS_RETURN_IF_ERROR(expr)                   \
  do {                                                \
    ::theus::Status theus_status_ = (expr);           \
    if (!theus_status_.is_ok()) return theus_status_; \
  } while (0)

#define THEUS_CONCAT_INNER(a, b) a##b
#define THEUS_CONCAT(a, b) THEUS_CONCAT_INNER(a, b)
#define THEUS_ASSIGN_OR_RETURN(lhs, expr)                  \
  auto THEUS_CONCAT(theus_result_, __LINE__) = (expr);     \
  if (!THEUS_CONCAT(theus_result_, __LINE__).is_ok())      \
    return THEUS_CONCAT(theus_result_, __LINE__).status(); \
  lhs = std::move(THEUS_CONCAT(theus_result_, __LINE__)).value()

// Status helpers.
#include "theus/status.hpp"

namespace theus {

std::string_view error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kInvalidArgument:
      return "InvalidArgument";
    case ErrorCode::kNotFound:
      return "NotFound";
    case ErrorCode::kTypeMismatch:
      return "TypeMismatch";
    case ErrorCode::kPermissionDenied:
      return "PermissionDenied";
    case ErrorCode::kContractViolation:
      return "ContractViolation";
    case ErrorCode::kConflict:
      return "Conflict";
    case ErrorCode::kStrictConflict:
      return "StrictConflict";
    case ErrorCode::kBusy:
      return "Busy";
    case ErrorCode::kWriteTimeout:
      return "WriteTimeout";
    case ErrorCode::kSchemaViolation:
      return "SchemaViolation";
    case ErrorCode::kAuditViolation:
      return "AuditViolation";
    case ErrorCode::kAuditStop:
      return "AuditStop";
    case ErrorCode::kAuditAbort:
      return "AuditAbort";
    case ErrorCode::kAuditBlock:
      return "AuditBlock";
    case ErrorCode::kAborted:
      return "Aborted";
    case ErrorCode::kGaveUp:
      return "GaveUp";
    case ErrorCode::kFailedPrecondition:
      return "FailedPrecondition";
    case ErrorCode::kInternal:
      return "Internal";
    case ErrorCode::kLagged:
      return "Lagged";
    case ErrorCode::kClosed:
      return "Closed";
    case ErrorCode::kNameError:
      return "NameError";
    case ErrorCode::kIndexError:
      return "IndexError";
    case ErrorCode::kZeroDivision:
      return "ZeroDivisionError";
    case ErrorCode::kAttributeError:
      return "AttributeError";
  }
  return "Unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "OK";
  return std::string(error_code_name(code_)) + ": " + message_;
}

}  // namespace theus

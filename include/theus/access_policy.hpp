// AccessPolicy: the checks a running process is subject to, evaluated where access happens:
// root read/write rules (A, A'), key-level reads (B, D6), zone capabilities and the CONSTANT
// ceiling, admin elevation, and commit-time output compliance (C). The messages are the
// compatibility spec's; the Python guards use this class too.
// Thread-safety: const methods are safe to call concurrently; set_admin is not.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "theus/contract.hpp"
#include "theus/path.hpp"
#include "theus/status.hpp"
#include "theus/zone.hpp"

namespace theus {

enum class ReadAccess : unsigned char {
  kAllowed,   // the path is covered by a declaration
  kNavigate,  // only an ancestor of a declared path: may be traversed, its value may not be read
  kDenied,
};

enum class WriteMode : unsigned char { kWrite, kAppend, kDelete };

struct AccessOptions {
  bool strict_guards = true;  // key-level read checks (D6) and commit-time output compliance (C)
  bool admin = false;         // AdminTransaction elevation
  // The engine's own overrides (the process-wide table is always consulted too). May be null.
  const PhysicsOverrides* overrides = nullptr;
  // Roots checked per key even when strict_guards is false (registered namespaces).
  std::set<std::string, std::less<>> key_checked_roots;
};

class AccessPolicy {
 public:
  AccessPolicy(const Contract& contract, AccessOptions options);

  const Contract& contract() const noexcept { return *contract_; }
  const AccessOptions& options() const noexcept { return options_; }
  bool admin() const noexcept { return options_.admin; }
  void set_admin(bool enabled) noexcept { options_.admin = enabled; }

  // True when reads below `root` are checked per key (strict guards, or a registered namespace).
  bool key_checked(std::string_view root) const;

  // Rule A as declared, ignoring admin elevation.
  bool root_declared(std::string_view root) const;

  // Rule A: some declared path has this root. PermissionDenied "Illegal Read: '<root>'".
  Status check_root_read(std::string_view root) const;
  // Rule A': some output has this root (admin: always).
  bool root_writable(std::string_view root) const;
  // Rule A' as declared, ignoring admin elevation.
  bool root_declared_writable(std::string_view root) const;
  // Rule B. Without strict guards only the root is checked (unless the root is key-checked).
  ReadAccess read_access(const Path& path) const;
  // PermissionDenied "Illegal Read: Path '<p>' is restricted by Process Contract." unless allowed.
  Status check_read(const Path& path) const;

  // Effective capability mask of `path` for a proxy that is `writable` (admin: all but CONSTANT).
  uint8_t capabilities(const Path& path, bool writable) const;
  // PermissionDenied "Illegal <Mode>: 'const_' field '<p>' is CONSTANT ..." unless overridden.
  Status check_constant(const Path& path, WriteMode mode) const;
  // PermissionDenied "Permission Denied: <CAP> capability required for '<p>'. (Current Lens:
  // bbbb)".
  Status check_capability(const Path& path, uint8_t capability, bool writable) const;
  // The checks of an immediate guarded write, in order: CONSTANT ceiling, root writability
  // ("PURE process cannot write to '<p>'"), capability.
  Status check_write(const Path& path, uint8_t capability, WriteMode mode) const;

  // Rule C: some output covers `path`.
  bool output_covers(const Path& path) const;
  // Commit-time compliance of the paths a process wrote through its guards (strict only):
  // ContractViolation "Process '<f>' is PURE but produced side-effects: [...]" or
  // "Process '<f>' modified '<p>' which is NOT declared in outputs." (`local` paths are exempt).
  Status check_output_compliance(std::string_view process, const std::vector<Path>& written) const;
  // Strict guards refuse inputs in the Signal or Meta zone: PermissionDenied
  // "SECURITY VIOLATION: Input '<p>' belongs to restricted Control Zone <Zone>."
  Status check_input_zones() const;

 private:
  const Contract* contract_;
  AccessOptions options_;
};

}  // namespace theus

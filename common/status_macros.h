// Status macros for absl::Status / absl::StatusOr<T>, which Debian's Abseil
// (20220623) does not ship. Our code does not throw; it returns statuses.
//
// Example:
//   absl::StatusOr<Config> Load(absl::string_view path) {
//     ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     RETURN_IF_ERROR(Validate(text));
//     return Parse(text);
//   }
#ifndef GATEHOUSE_COMMON_STATUS_MACROS_H_
#define GATEHOUSE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status gh_status_ = (expr);                    \
    if (!gh_status_.ok()) return gh_status_;               \
  } while (0)

#define GH_CONCAT_INNER_(a, b) a##b
#define GH_CONCAT_(a, b) GH_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  GH_ASSIGN_OR_RETURN_IMPL_(GH_CONCAT_(gh_statusor_, __LINE__), lhs, rexpr)

#define GH_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // GATEHOUSE_COMMON_STATUS_MACROS_H_

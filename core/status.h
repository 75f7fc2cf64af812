// Errors are values: absl::Status / absl::StatusOr up to cli/, which prints the message and exits.
// InvalidArgument means bad user input (exit code 2); anything else is a runtime failure.
#pragma once

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

#define ZEN_STATUS_CONCAT_INNER(a, b) a##b
#define ZEN_STATUS_CONCAT(a, b) ZEN_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define ZEN_RETURN_IF_ERROR(expr)                  \
  do {                                             \
    ::absl::Status zen_status_ = (expr);           \
    if (!zen_status_.ok()) return zen_status_;     \
  } while (0)

// `lhs = value of expr` (an absl::StatusOr<T>), or returns its error.
#define ZEN_ASSIGN_OR_RETURN(lhs, expr) \
  ZEN_ASSIGN_OR_RETURN_IMPL(ZEN_STATUS_CONCAT(zen_statusor_, __LINE__), lhs, expr)
#define ZEN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).status();  \
  lhs = std::move(tmp).value()

namespace zen {

// Bad input from the user (config, data, arguments): exit code 2.
inline absl::Status BadInput(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

inline bool IsBadInput(const absl::Status& s) { return s.code() == absl::StatusCode::kInvalidArgument; }

// Prefixes the message of a failed status with where it happened ("file.yaml: ...").
inline absl::Status Annotate(const absl::Status& s, const std::string& where) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(where, ": ", s.message()));
}

}  // namespace zen

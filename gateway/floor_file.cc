#include "gateway/floor_file.h"

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "audit/posix_file.h"

namespace gatehouse {
namespace {

// The number in `path`; nullopt if there is no such file yet.
absl::StatusOr<std::optional<int64_t>> ReadFloor(const std::string& path) {
  absl::StatusOr<std::string> text = audit::ReadWholeFile(path);
  if (absl::IsNotFound(text.status())) return std::optional<int64_t>();
  if (!text.ok()) return text.status();
  int64_t value = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value)) {
    return absl::DataLossError(
        absl::StrCat(path, " does not hold a number; it is written by the gateway only"));
  }
  return std::optional<int64_t>(value);
}

}  // namespace

absl::Status KeepFloor(const std::string& path, int64_t value,
                       const std::function<absl::Status(int64_t floor)>& refuse) {
  absl::StatusOr<std::optional<int64_t>> floor = ReadFloor(path);
  if (!floor.ok()) return floor.status();
  if (floor->has_value() && value < **floor) return refuse(**floor);
  if (!floor->has_value() || value > **floor) return WriteFloor(path, value);
  return absl::OkStatus();
}

absl::Status WriteFloor(const std::string& path, int64_t value) {
  absl::Status s = audit::WriteFileAtomically(path, absl::StrCat(value, "\n"), 0600);
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("cannot write ", path, ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace gatehouse

// A number kept in a file of the data directory that only grows: the issue
// time of the newest policy bundle, or the newest directory version, a
// gateway has enforced, so that an older one is refused after a restart as
// well as while it runs (a rollback needs no more than write access to the
// bundle or directory file).
//
// Thread-compatible: one writer (the gateway's start, then its watcher).
#ifndef GATEHOUSE_GATEWAY_FLOOR_FILE_H_
#define GATEHOUSE_GATEWAY_FLOOR_FILE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace gatehouse {

// At start: `refuse(floor)` (its error) if `value` is below the number in
// `path`; otherwise records `value` there if the file is new or `value` is
// higher. DataLoss if the file holds anything but a number (only the
// gateway writes it).
absl::Status KeepFloor(const std::string& path, int64_t value,
                       const std::function<absl::Status(int64_t floor)>& refuse);

// Replaces the number in `path` (written to a temporary file, synced and
// renamed into place).
absl::Status WriteFloor(const std::string& path, int64_t value);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_FLOOR_FILE_H_

// Whole-file reads and change stamps, for configuration, keys, directories
// and bundles the gateway and the tools read.
//
// Example:
//   ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
//   if (FileStamp(path) != last_stamp) reload();
//
// Thread-safe: free functions.
#ifndef GATEHOUSE_COMMON_FILES_H_
#define GATEHOUSE_COMMON_FILES_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

// Reads a whole file. NotFound if missing, InvalidArgument if unreadable or
// larger than `max_bytes`.
absl::StatusOr<std::string> ReadFile(absl::string_view path, size_t max_bytes = 16 << 20);

// Size, modification time and inode of `path`, as one string that changes
// when the file is replaced or rewritten; "" if it cannot be read.
std::string FileStamp(const std::string& path);

}  // namespace gatehouse

#endif  // GATEHOUSE_COMMON_FILES_H_

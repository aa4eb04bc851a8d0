#include "common/files.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gatehouse {

absl::StatusOr<std::string> ReadFile(absl::string_view path, size_t max_bytes) {
  std::string p(path);
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) {
    return absl::NotFoundError(absl::StrCat("file '", p, "' does not exist"));
  }
  auto size = std::filesystem::file_size(p, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot read '", p, "': ", ec.message()));
  if (size > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "file '", p, "' is ", size, " bytes; the limit is ", max_bytes));
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot open '", p, "'"));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string FileStamp(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "";
  return absl::StrCat(st.st_size, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_ino);
}

}  // namespace gatehouse

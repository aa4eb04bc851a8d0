#include "tools/workbench/static_files.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gatehouse::workbench {
namespace {

// The CodeMirror files the page loads, relative to kCodeMirrorDir; served
// under "/cm/" by their last name.
constexpr const char* kCodeMirrorFiles[] = {
    "lib/codemirror.js",      "lib/codemirror.css", "addon/mode/simple.js",
    "addon/lint/lint.js",     "addon/lint/lint.css",
};

absl::StatusOr<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  if (!in || !(ss << in.rdbuf())) {
    return absl::NotFoundError(absl::StrCat(
        "cannot read ", path, "; the workbench's editor comes from Debian's libjs-codemirror: "
        "apt-get install libjs-codemirror (or give --codemirror DIR)"));
  }
  return ss.str();
}

std::string LastName(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::string ContentTypeOf(absl::string_view name) {
  if (absl::EndsWith(name, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(name, ".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

absl::StatusOr<StaticFiles> StaticFiles::Load(const std::string& codemirror_dir) {
  StaticFiles out;
  for (size_t i = 0; i < kNumEmbeddedAssets; ++i) {
    const EmbeddedAsset& a = kEmbeddedAssets[i];
    out.files_[absl::StrCat("/", a.name)] =
        StaticFile{ContentTypeOf(a.name), std::string(a.data, a.size)};
  }
  for (const char* relative : kCodeMirrorFiles) {
    auto body = ReadWhole(absl::StrCat(codemirror_dir, "/", relative));
    if (!body.ok()) return body.status();
    out.files_[absl::StrCat("/cm/", LastName(relative))] =
        StaticFile{ContentTypeOf(relative), *std::move(body)};
  }
  return out;
}

const StaticFile* StaticFiles::Find(absl::string_view path) const {
  if (path == "/") path = "/index.html";
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace gatehouse::workbench

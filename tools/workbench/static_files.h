// The files the workbench page is made of: our own (assets/, built into the
// binary by embed_assets.cmake) and CodeMirror 5 from Debian's
// libjs-codemirror, read once at start-up from where Debian installs it.
// Nothing is fetched from elsewhere, and only the files named here are
// served: a request names a file of this table, never a path on disk.
//
// Immutable after Load; thread-safe.
//
// Example:
//   ASSIGN_OR_RETURN(StaticFiles files, StaticFiles::Load(kCodeMirrorDir));
//   if (const StaticFile* f = files.Find("/cm/codemirror.js")) serve(f->body);
#ifndef GATEHOUSE_TOOLS_WORKBENCH_STATIC_FILES_H_
#define GATEHOUSE_TOOLS_WORKBENCH_STATIC_FILES_H_

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse::workbench {

// One file of assets/, as embedded (embedded_assets.cc, generated).
struct EmbeddedAsset {
  const char* name;  // e.g. "workbench.js"
  const char* data;
  size_t size;
};
extern const EmbeddedAsset kEmbeddedAssets[];
extern const size_t kNumEmbeddedAssets;

// Where Debian's libjs-codemirror installs CodeMirror 5.
inline constexpr char kCodeMirrorDir[] = "/usr/share/javascript/codemirror";

struct StaticFile {
  std::string content_type;
  std::string body;
};

class StaticFiles {
 public:
  // Our embedded files under "/", and the CodeMirror files the page uses
  // under "/cm/" read from `codemirror_dir`. NotFound naming the missing
  // file and the package that installs it if one cannot be read.
  static absl::StatusOr<StaticFiles> Load(const std::string& codemirror_dir);

  // The file served at `path` ("/workbench.js", "/cm/codemirror.css"), or
  // nullptr. "/" and "/index.html" are the page.
  const StaticFile* Find(absl::string_view path) const;

 private:
  std::map<std::string, StaticFile, std::less<>> files_;
};

// "text/html; charset=utf-8" etc. by the name's extension;
// "application/octet-stream" for any other.
std::string ContentTypeOf(absl::string_view name);

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_STATIC_FILES_H_

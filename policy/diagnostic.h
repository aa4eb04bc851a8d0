// Diagnostics the policy compiler reports: severity, a stable code, a
// position in the source and a message, printed the way compilers do:
//
//   baseline.ghp:12:9: error: unknown sector 'helth' [unknown-name]
//     when sender sector is helth
//                           ^
//
// Plain values; thread-compatible.
#ifndef GATEHOUSE_POLICY_DIAGNOSTIC_H_
#define GATEHOUSE_POLICY_DIAGNOSTIC_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace gatehouse::policy {

// A position in one source file; line and column count from 1.
struct SourcePos {
  int file = 0;  // index into the SourceSet
  int line = 0;
  int column = 0;
};

enum class Severity { kInfo, kWarning, kError };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string code;  // e.g. "unknown-name", "never-fires", "write-down"
  SourcePos pos;
  std::string message;
};

// The source texts a policy was compiled from, by file index.
struct SourceFile {
  std::string name;  // as given on the command line, e.g. "baseline.ghp"
  std::string text;
};
using SourceSet = std::vector<SourceFile>;

// Formats one diagnostic as "file:line:col: severity: message [code]"
// followed by the offending line and a caret under the column.
std::string FormatDiagnostic(const SourceSet& sources, const Diagnostic& d);

// True if any diagnostic is an error.
bool HasErrors(const std::vector<Diagnostic>& diagnostics);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_DIAGNOSTIC_H_

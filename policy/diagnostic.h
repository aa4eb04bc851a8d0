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
#include <utility>
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

// Another place a diagnostic refers to, e.g. the forbid that overrides a
// permit ("F1 is here").
struct DiagnosticNote {
  SourcePos pos;
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string code;  // e.g. "unknown-name", "never-fires", "write-down"
  SourcePos pos;
  std::string message;
  // A replacement for the word at `pos` ("did you mean ...?"), as it must
  // be written (quoted if need be); empty if none.
  std::string suggestion;
  std::vector<DiagnosticNote> notes;
};

// The source texts a policy was compiled from, by file index.
struct SourceFile {
  std::string name;  // as given on the command line, e.g. "baseline.ghp"
  std::string text;
};
using SourceSet = std::vector<SourceFile>;

inline Diagnostic MakeDiagnostic(Severity severity, absl::string_view code,
                                 SourcePos pos, std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.code = std::string(code);
  d.pos = pos;
  d.message = std::move(message);
  return d;
}

// Formats diagnostics as "file:line:col: severity: message [code]",
// the offending line and a caret under the column, then each note the same
// way ("note: ..."). Indexes each file's lines once, on first use, so that
// printing many diagnostics costs no more than reading the file once.
// Holds a reference to `sources`, which must outlive it. Not thread-safe.
class DiagnosticPrinter {
 public:
  explicit DiagnosticPrinter(const SourceSet& sources) : sources_(sources) {}
  std::string Format(const Diagnostic& d);
  // The text of line `line` (from 1) of file `file`; "" if there is none.
  absl::string_view Line(int file, int line);
  // "file:line:column", or "<policy>:..." for a position in no file.
  std::string Where(const SourcePos& pos) const;

 private:
  std::string Located(const SourcePos& pos, absl::string_view head);
  const SourceSet& sources_;
  std::vector<std::vector<size_t>> line_starts_;  // per file, built lazily
};

// One diagnostic on its own (indexes the file each call: for one or two).
std::string FormatDiagnostic(const SourceSet& sources, const Diagnostic& d);

// Sorts by file, line and column, keeping the order of diagnostics at one
// position.
void SortDiagnostics(std::vector<Diagnostic>* diagnostics);

absl::string_view SeverityName(Severity s);

// True if any diagnostic is an error.
bool HasErrors(const std::vector<Diagnostic>& diagnostics);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_DIAGNOSTIC_H_

// Small helpers shared by policyc's commands: the flags a command was
// given, file I/O, loading and compiling policy sources, printing
// diagnostics. The command line itself is parsed by the shared convention
// (tools/cli/cli.h, policyc_main.cc). Not thread-safe (tools are
// single-threaded).
#ifndef GATEHOUSE_TOOLS_POLICYC_HELPERS_H_
#define GATEHOUSE_TOOLS_POLICYC_HELPERS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policy/diagnostic.h"
#include "policy/engine.h"
#include "policy/model.h"
#include "tools/cli/cli.h"

namespace gatehouse::policyc {

using cli::kExitFailed;  // the policy, cases or bundle failed; a file could not be read or written
using cli::kExitOk;
using cli::kExitUsage;   // the command line was wrong

// What a command was given: flags by name without dashes ("werror", "o"),
// files by their positional name ("FILE", "OLD", "BUNDLE").
using Args = cli::Values;

// The value of an integer flag, `fallback` if it was not given. The parser
// has already checked its range (policyc_main.cc).
int IntFlag(const Args& args, const std::string& name, int fallback);

// Prints "policyc: <message>" on stderr; returns `code`.
int Fail(const absl::Status& status, int code = kExitFailed);

// The whole file; NotFound if it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path);
// Writes `path` through `path`.tmp and a rename (mode 0600 if
// `private_file`); Unavailable if it cannot, `path` then unchanged.
absl::Status WriteFile(const std::string& path, const std::string& data,
                       bool private_file = false);

// Reads and compiles policy files, then analyses every rule that compiled
// (also when some did not, so that one run reports every mistake).
// Diagnostics come sorted by file, line and column.
struct Loaded {
  policy::SourceSet sources;
  policy::Model model;  // must not be used if diagnostics hold an error
  std::vector<policy::Diagnostic> diagnostics;
  size_t parsed_rules = 0;  // rules read, whether or not they compiled
};
// `overlaps`: also report "overlap" infos (slow on large policies).
absl::StatusOr<Loaded> LoadPolicy(const std::vector<std::string>& files,
                                  bool overlaps = false);

struct PrintOptions {
  bool show_info = false;
  bool errors_only = false;
  int max_shown = 50;  // errors, and separately warnings, printed; 0: all
};
// Prints errors, warnings (unless errors_only) and infos (if show_info) to
// stderr, at most max_shown of each kind, then how many were left out;
// returns the number of errors (all of them, shown or not).
int PrintDiagnostics(const Loaded& loaded, const PrintOptions& options);

// Builds a request from --sender/--recipient/--type/--classification/
// --purpose/--originator/--caveats/--caveat/--role/--legal-basis flags
// (--caveats and --caveat may repeat; every value counts).
struct RequestFlags {
  std::string sender, recipient, type, classification, purpose, originator, role, legal_basis;
  std::vector<std::string> caveats;
  std::vector<absl::string_view> views;
  policy::Request AsRequest();
};
RequestFlags RequestFromFlags(const Args& args);

}  // namespace gatehouse::policyc

#endif  // GATEHOUSE_TOOLS_POLICYC_HELPERS_H_

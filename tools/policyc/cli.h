// Small helpers shared by policyc's commands: strict argument parsing,
// file I/O, loading and compiling policy sources, printing diagnostics.
//
// Every command declares its flags in a CommandSpec; ParseArgs refuses
// anything else (an unknown or misplaced flag, a flag without its value, a
// value flag given twice, the wrong number of files), so a misspelt flag is
// never silently dropped. Not thread-safe (tools are single-threaded).
#ifndef GATEHOUSE_TOOLS_POLICYC_CLI_H_
#define GATEHOUSE_TOOLS_POLICYC_CLI_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policy/diagnostic.h"
#include "policy/engine.h"
#include "policy/model.h"

namespace gatehouse::policyc {

// Exit codes, usable in CI.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // policy errors, test failures, bad bundle
inline constexpr int kExitUsage = 2;   // bad arguments, unreadable files

struct FlagSpec {
  std::string name;          // e.g. "--werror", "-o"
  bool takes_value = false;  // "--limit N"; otherwise a switch
  bool repeatable = false;   // may be given more than once ("--trust A --trust B")
  std::string alias_of;      // if set, this spelling means that flag
};

struct CommandSpec {
  std::string name;             // "check"
  std::string usage;            // one line: "policyc check FILE... [--info] ..."
  std::string help;             // what the command and each flag do
  std::vector<FlagSpec> flags;  // --help/-h is implicit
  int min_files = 0;            // positional arguments
  int max_files = -1;           // -1: no limit
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> flags;  // canonical name -> values
  bool help = false;  // --help or -h was given

  bool Has(const std::string& f) const { return flags.count(f) > 0; }
  // The last value of a value flag, or `def` if it was not given.
  std::string Get(const std::string& f, const std::string& def = "") const;
  // The value of an integer flag, `def` if not given. InvalidArgument if it
  // is not a whole number in [min, max].
  absl::StatusOr<int> GetInt(const std::string& f, int def, int min, int max) const;
};

// Parses argv[first..] against `spec`. Accepts "--flag value" and
// "--flag=value"; "--" ends the flags. InvalidArgument, naming the word
// and, where one is close, the flag that was probably meant, for: an
// unknown flag, a switch given a value, a value flag without one (or
// followed by another flag), a non-repeatable flag given twice, too few or
// too many files. A --help anywhere sets `help` and skips the file count.
absl::StatusOr<Args> ParseArgs(const CommandSpec& spec, int argc, char** argv,
                               int first);

// "usage: <spec.usage>\n" and, with `full`, the help text.
std::string UsageText(const CommandSpec& spec, bool full);

absl::StatusOr<std::string> ReadFile(const std::string& path);
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
// --purpose/--originator/--caveats/--caveat/--role/--legal-basis flags.
struct RequestFlags {
  std::string sender, recipient, type, classification, purpose, originator, role, legal_basis;
  std::vector<std::string> caveats;
  std::vector<absl::string_view> views;
  policy::Request AsRequest();
};
RequestFlags RequestFromFlags(const Args& args);

}  // namespace gatehouse::policyc

#endif  // GATEHOUSE_TOOLS_POLICYC_CLI_H_

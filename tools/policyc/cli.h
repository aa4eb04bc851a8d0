// Small helpers shared by policyc's commands: argument parsing, file I/O,
// loading and compiling policy sources, printing diagnostics.
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

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> flags;  // "--key" -> values

  bool Has(const std::string& f) const { return flags.count(f) > 0; }
  std::string Get(const std::string& f, const std::string& def = "") const;
};

// Flags in `boolean` take no value; every other --flag takes the next word.
absl::StatusOr<Args> ParseArgs(int argc, char** argv, int first,
                               const std::vector<std::string>& boolean);

absl::StatusOr<std::string> ReadFile(const std::string& path);
absl::Status WriteFile(const std::string& path, const std::string& data,
                       bool private_file = false);

// Reads and compiles policy files (analysis included); prints diagnostics
// (infos only if show_info). Returns false if any error.
struct Loaded {
  policy::SourceSet sources;
  policy::Model model;
  std::vector<policy::Diagnostic> diagnostics;
};
absl::StatusOr<Loaded> LoadPolicy(const std::vector<std::string>& files);
// Prints errors, warnings (unless errors_only) and infos (if show_info);
// returns the number of errors.
int PrintDiagnostics(const Loaded& loaded, bool show_info,
                     bool errors_only = false);

// Builds a request from --sender/--recipient/--type/--classification/
// --purpose/--originator/--caveats flags.
struct RequestFlags {
  std::string sender, recipient, type, classification, purpose, originator;
  std::vector<std::string> caveats;
  std::vector<absl::string_view> views;
  policy::Request AsRequest();
};
RequestFlags RequestFromFlags(const Args& args);

}  // namespace gatehouse::policyc

#endif  // GATEHOUSE_TOOLS_POLICYC_CLI_H_

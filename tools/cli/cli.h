// The command-line convention every Gatehouse tool follows (docs/cli.md),
// on Debian's CLI11:
//   - `--help` (also `-h`) prints usage on stdout and exits 0; after a
//     command it prints that command's usage. `--help-all` prints every
//     command's, which is what docs/cli.md is made from.
//   - `--version` prints "<tool> <version>" and exits 0.
//   - An unknown flag, a flag given to the wrong command, a missing
//     required flag or a malformed value is a usage error: a message on
//     stderr and exit 2. Nothing has been sent or written by then.
//   - A flag given twice keeps the last value, unless it is one that may
//     repeat (documented as such, e.g. --caveat).
//   - Exit statuses: 0 done, 1 refused or failed (reason on stderr),
//     2 usage.
//
// Example:
//   CLI::App app{"ghkey: gateway keysets and the signed directory", "ghkey"};
//   gatehouse::cli::Configure(app);
//   ... add options and commands ...
//   if (std::optional<int> exit = gatehouse::cli::Parse(app, argc, argv)) return *exit;
//
// CLI11 reports parse errors by exception; Parse catches them all, so no
// exception leaves it. Not thread-safe (one App per thread, as CLI11).
#ifndef GATEHOUSE_TOOLS_CLI_CLI_H_
#define GATEHOUSE_TOOLS_CLI_CLI_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace gatehouse::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // refused, failed, or not verified
inline constexpr int kExitUsage = 2;

// The version every tool prints (packaging/version.cmake).
std::string Version();

// Sets the house convention on `app` (a top-level App): --version,
// --help-all, last value wins for single-valued options, and the same on
// every command added afterwards.
void Configure(CLI::App& app);

// Parses argv into `app`. Returns nullopt if the program should go on, or
// the status to exit with: 0 after printing help or the version, 2 after
// printing a usage error to stderr.
std::optional<int> Parse(CLI::App& app, int argc, char** argv);

// Prints "<app name>: <why>" and a pointer to --help on stderr; returns 2.
// For usage errors found after parsing (e.g. flags that go only together).
int UsageError(const CLI::App& app, const std::string& why);

// A check for options whose value is a whole number >= 0 (an index, a
// count): anything else is a usage error that says so.
CLI::Validator WholeNumber();

// What one parsed command was given, by flag name without dashes ("dir",
// "n") or positional name: for tools whose commands read their flags by
// name. A flag not given is absent (Has false, Get the default, All empty).
class Values {
 public:
  // The values given to `command`'s options after a successful Parse.
  static Values Of(const CLI::App& command);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The last value given (a switch's is "").
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  // Every value given, in order (for flags that may repeat).
  std::vector<std::string> All(const std::string& name) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

}  // namespace gatehouse::cli

#endif  // GATEHOUSE_TOOLS_CLI_CLI_H_

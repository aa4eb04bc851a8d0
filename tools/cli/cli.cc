#include "tools/cli/cli.h"

#include <cstdint>
#include <cstdio>
#include <vector>

#include "absl/strings/numbers.h"
#include "tools/cli/version.h"

namespace gatehouse::cli {

std::string Version() { return GATEHOUSE_VERSION; }

void Configure(CLI::App& app) {
  app.set_version_flag("--version", app.get_name() + " " + Version(),
                       "Print the version and exit");
  app.set_help_all_flag("--help-all", "Print the usage of every command and exit");
  // Inherited by every option and command added after this call.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.allow_extras(false);
  app.fallthrough(false);
}

std::optional<int> Parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const CLI::ParseError& e) {
    // CLI11 checks required commands before leftovers, so "--bogus" alone
    // would be reported as "A subcommand is required": name the leftovers.
    std::string why = e.what();
    const std::vector<std::string> left = app.remaining(true);
    if (!left.empty() && dynamic_cast<const CLI::ExtrasError*>(&e) == nullptr) {
      why = "unknown or misplaced argument '" + left.front() + "' (" + why + ")";
    }
    return UsageError(app, why);
  }
  return std::nullopt;
}

int UsageError(const CLI::App& app, const std::string& why) {
  std::fprintf(stderr, "%s: %s\nRun with --help for more information.\n", app.get_name().c_str(),
               why.c_str());
  return kExitUsage;
}

CLI::Validator WholeNumber() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        uint64_t n;
        return absl::SimpleAtoi(value, &n) ? "" : "'" + value + "' is not a whole number";
      },
      "", "WholeNumber");
}

Values Values::Of(const CLI::App& command) {
  Values v;
  for (const CLI::Option* opt : command.get_options()) {
    if (opt->count() == 0) continue;
    std::vector<std::string>& out = v.values_[opt->get_single_name()];
    if (opt->get_items_expected_max() == 0) {
      out.push_back("");  // a switch
    } else {
      out = opt->results();
    }
  }
  return v;
}

std::string Values::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Values::All(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

}  // namespace gatehouse::cli

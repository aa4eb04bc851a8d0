// policyc: check, compile, format, explain, test, diff and sign Gatehouse
// policies. See docs/policy-language.md. Command line and exit statuses
// (0 done; 1 the policy, cases or bundle failed, or a file could not be
// read or written; 2 usage): docs/cli.md (tools/cli/cli.h).
//
// Each command's flags are declared here, once: the parser refuses any
// other, and `policyc COMMAND --help` prints the same table.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/strip.h"
#include "policy/bundle.h"
#include "policy/suggest.h"
#include "tools/cli/cli.h"
#include "tools/policyc/commands.h"

namespace gatehouse::policyc {
namespace {

// One or more policy files, also when flags come between them.
void Files(CLI::App* cmd, const char* help) {
  cmd->add_option("FILE")
      ->required()
      ->expected(1, INT32_MAX)
      ->allow_extra_args()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name("")
      ->description(help);
}
// Exactly one positional argument.
void One(CLI::App* cmd, const char* name, const char* help) {
  cmd->add_option(name)->required()->type_name("")->description(help);
}
// Refuses a value that is another flag ("--sender --recipient R": the
// value was left out) or begins with '=' ("-o=x": short flags take theirs
// after a space).
CLI::Validator NotAFlag() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (v.size() > 1 && v[0] == '-') return "'" + v + "' is a flag: the value is missing";
        if (!v.empty() && v[0] == '=') return "'" + v + "': give the value after a space";
        return "";
      },
      "", "NotAFlag");
}

// A flag with a value.
CLI::Option* Value(CLI::App* cmd, const char* name, const char* value, const char* help) {
  return cmd->add_option(name)->type_name(value)->description(help)->check(NotAFlag());
}
// A flag that may repeat: every value counts.
CLI::Option* Many(CLI::App* cmd, const char* name, const char* value, const char* help) {
  return Value(cmd, name, value, help)->expected(1)->multi_option_policy(
      CLI::MultiOptionPolicy::TakeAll);
}
// A switch takes no value: "--info=yes" is refused, and "--werror a.ghp"
// leaves a.ghp a file.
CLI::Option* Switch(CLI::App* cmd, const char* names, const char* help) {
  return cmd->add_flag(names)->description(help)->disable_flag_override();
}
// A whole number from `min` to `max`; anything else is a usage error.
void Int(CLI::App* cmd, const char* name, int min, int max, const char* help) {
  Value(cmd, name, "N", help)->check(CLI::Range(min, max).description(""));
}

// Refuses a value that is empty or only blanks.
CLI::Validator NotBlank() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        return absl::StripAsciiWhitespace(v).empty() ? "may not be blank" : "";
      },
      "", "NotBlank");
}

// After a usage error: if the word the parser could not place is close to a
// command, or to a flag of the command given, says which was probably meant.
void SuggestNearest(const CLI::App& app) {
  const CLI::App* scope = &app;
  std::vector<std::string> left = app.remaining(false);
  for (const CLI::App* sub : app.get_subcommands()) {
    if (std::vector<std::string> l = sub->remaining(false); !l.empty()) {
      scope = sub;
      left = l;
    }
  }
  if (left.empty()) return;
  const std::string word = left.front().substr(0, left.front().find('='));
  std::vector<std::string> names;
  if (word[0] == '-') {
    for (const CLI::Option* opt : scope->get_options()) {
      for (const std::string& n : opt->get_lnames()) names.push_back("--" + n);
    }
  } else if (scope == &app) {
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
    }
  }
  const std::string near = policy::ClosestName(word, names);
  if (!near.empty()) std::fprintf(stderr, "policyc: did you mean '%s'?\n", near.c_str());
}

struct Command {
  const CLI::App* app;
  int (*run)(const Args&);
};

std::vector<Command> AddCommands(CLI::App& app) {
  std::vector<Command> out;
  auto add = [&](const char* name, const char* help, int (*run)(const Args&)) {
    CLI::App* cmd = app.add_subcommand(name, help);
    out.push_back({cmd, run});
    return cmd;
  };

  CLI::App* check = add("check",
                        "Report every error and warning of a policy (a baseline and its local "
                        "layers) in one run, with file:line:column; exit 1 on an error",
                        Check);
  Files(check, "The policy files");
  Switch(check, "--info", "Also show informational findings (overlaps)");
  Switch(check, "--werror,--Werror", "Warnings fail the check too (exit 1)");
  Int(check, "--max-errors", 0, INT32_MAX,
      "Print at most N errors and N warnings (default 50; 0: all); the counts always cover "
      "every one");
  Value(check, "--format", "F",
        "text (default, on stderr), or json or sarif (SARIF 2.1.0, for code-scanning tools) "
        "on stdout, every diagnostic")
      ->check(CLI::IsMember({"text", "json", "sarif"}));

  CLI::App* compile = add(
      "compile", "Check the policy and write an unsigned bundle for the officers to sign", Compile);
  Files(compile, "The policy files");
  Value(compile, "-o", "OUT", "The bundle to write")->required();
  Int(compile, "--required-signatures", 1, policy::kMaxRequiredSignatures,
      "Distinct officer signatures a gateway needs (1-64, default 1)");
  Value(compile, "--version", "V", "A version label people read");
  CLI::Option* expires = Value(compile, "--expires", "TIME",
                               "Stop being valid at TIME (2027-01-01T00:00:00Z)");
  Value(compile, "--valid-for", "D", "Or D after now (90d, 36h)")->excludes(expires);

  CLI::App* fmt = add("fmt", "Print the policy in canonical form (comments kept)", Fmt);
  One(fmt, "FILE", "The policy file");
  CLI::Option* fmt_check = Switch(fmt, "--check", "Exit 1 if FILE is not in canonical form");
  Switch(fmt, "-w", "Rewrite FILE in canonical form")->excludes(fmt_check);

  CLI::App* explain = add("explain",
                          "Decide one request and say why: the deciding rules, the obligations, "
                          "or for a denial the nearest permit and each condition it failed",
                          Explain);
  Files(explain, "The policy files");
  Value(explain, "--sender", "ORG", "The sending organisation")->required();
  Value(explain, "--recipient", "ORG", "The receiving organisation")->required();
  Value(explain, "--type", "T", "The record type")->required();
  Value(explain, "--classification", "C", "The record's classification")->required();
  Value(explain, "--purpose", "P", "The purpose of the exchange")->required();
  Value(explain, "--originator", "ORG", "The organisation the record comes from");
  Many(explain, "--caveats", "A,B", "Caveats, comma-separated; may repeat");
  Many(explain, "--caveat", "A", "One caveat; may repeat");
  Value(explain, "--role", "R", "The end user's role or rank (labels.end_user_role)");
  Value(explain, "--legal-basis", "B", "The legal basis claimed (labels.legal_basis)");

  CLI::App* test = add(
      "test", "Run the officer's expected-decision cases (exit 1 if any fails)", Test);
  Files(test, "The policy files");
  Value(test, "--cases", "CASES", "The case file (see docs/policy-language.md)")->required();

  CLI::App* diff = add("diff", "What NEW permits, denies or obliges differently from OLD, and why",
                       Diff);
  One(diff, "OLD", "The policy in force: a file, or a comma-separated baseline,layer list");
  One(diff, "NEW", "The new policy, the same way");
  Int(diff, "--limit", 1, 1000000, "Show at most N groups of each kind (default 40)");
  Switch(diff, "--exit-code", "Exit 1 if anything changed");

  CLI::App* coverage = add(
      "coverage", "Flows no permit reaches, and with --cases the rules no case exercises",
      Coverage);
  Files(coverage, "The policy files");
  Value(coverage, "--cases", "CASES", "The case file");

  CLI::App* keygen = add(
      "keygen", "Write NAME.key (secret, mode 0600) and NAME.pub for one officer", Keygen);
  One(keygen, "NAME", "The officer's key files, without .key or .pub");
  Value(keygen, "--passphrase-file", "FILE",
        "Seal the secret key under the passphrase on FILE's first line (at least 12 "
        "characters): write NAME.sealed instead of NAME.key, which the workbench can sign "
        "with when you type the passphrase");

  CLI::App* sign = add("sign", "Add your signature to a bundle (in place, or to OUT)", Sign);
  One(sign, "BUNDLE", "The bundle to sign");
  Value(sign, "--key", "NAME.key", "Your secret key (mode 0600): NAME.key, or NAME.sealed")
      ->required();
  Value(sign, "--passphrase-file", "FILE", "A sealed --key's passphrase, on FILE's first line");
  Value(sign, "--name", "WHO", "Who you are, as the other officers and auditors read it")
      ->required()
      ->check(NotBlank());
  Value(sign, "-o", "OUT", "Write the signed bundle to OUT");

  CLI::App* verify = add(
      "verify", "Check a bundle as a gateway would: signatures, their number, expiry", Verify);
  One(verify, "BUNDLE", "The bundle to check");
  Many(verify, "--trust", "K.pub", "An officer key the gateway trusts; may repeat")->required();
  Int(verify, "--min", 1, policy::kMaxRequiredSignatures,
      "The gateway's own floor of signatures (default 1)");

  CLI::App* show = add("show",
                       "What an officer reviews before signing: the policy, version, issue and "
                       "expiry, the digest that is signed, who has signed, every rule with its "
                       "obligations, and what it changes from the bundle in force",
                       Show);
  One(show, "BUNDLE", "The bundle to show");
  Value(show, "--against", "B", "The bundle in force, to show what this one changes");
  Many(show, "--trust", "K.pub", "Say whether each signer's key is trusted; may repeat");
  Switch(show, "--source", "Print the policy source the bundle carries (comments kept)");
  return out;
}

int Main(int argc, char** argv) {
  CLI::App app{"policyc: check, compile, format, explain, test, diff and sign Gatehouse\n"
               "policies (docs/policy-language.md), for security officers and CI.",
               "policyc"};
  cli::Configure(app);
  app.require_subcommand(1);
  const std::vector<Command> commands = AddCommands(app);
  if (std::optional<int> exit = cli::Parse(app, argc, argv)) {
    if (*exit == kExitUsage) SuggestNearest(app);
    return *exit;
  }
  const CLI::App* chosen = app.get_subcommands().front();
  for (const Command& c : commands) {
    if (c.app == chosen) return c.run(Args::Of(*chosen));
  }
  return kExitUsage;  // not reached: the parser requires one of them
}

}  // namespace
}  // namespace gatehouse::policyc

int main(int argc, char** argv) { return gatehouse::policyc::Main(argc, argv); }

// policyc: check, compile, format, explain, test, diff and sign Gatehouse
// policies. See docs/policy-language.md. Exit codes: 0 ok, 1 the policy,
// cases or bundle failed, 2 usage or I/O error.
//
// Each command's flags are declared here, once: the parser refuses any
// other (cli.h), and `policyc COMMAND --help` prints the same table.
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "policy/suggest.h"
#include "tools/policyc/commands.h"

namespace gatehouse::policyc {
namespace {

struct Command {
  CommandSpec spec;
  int (*run)(const Args&);
};

FlagSpec Switch(const char* name) { return FlagSpec{name, false, false, ""}; }
FlagSpec Value(const char* name) { return FlagSpec{name, true, false, ""}; }
FlagSpec Many(const char* name) { return FlagSpec{name, true, true, ""}; }
FlagSpec Alias(const char* name, const char* of, bool value = false) {
  return FlagSpec{name, value, value, of};
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {{"check",
        "policyc check FILE... [--info] [--werror] [--max-errors N] [--format text|json|sarif]",
        "Reports every error and warning of a policy (a baseline and its local\n"
        "layers) in one run, with file:line:column.\n"
        "  --info           also show informational findings (overlaps)\n"
        "  --werror         warnings fail the check too (exit 1); also --Werror\n"
        "  --max-errors N   print at most N errors and N warnings (default 50; 0: all);\n"
        "                   the counts always cover every one\n"
        "  --format F       text (default, on stderr), or json or sarif (SARIF 2.1.0,\n"
        "                   for code-scanning tools) on stdout, every diagnostic\n",
        {Switch("--info"), Switch("--werror"), Alias("--Werror", "--werror"),
         Value("--max-errors"), Value("--format")},
        1, -1},
       Check},
      {{"compile",
        "policyc compile FILE... -o OUT [--required-signatures N] [--version V] "
        "[--expires TIME | --valid-for 90d]",
        "Checks the policy and writes an unsigned bundle for the officers to sign.\n"
        "  -o OUT                   the bundle to write\n"
        "  --required-signatures N  distinct officer signatures a gateway needs (1-64)\n"
        "  --version V              a version label people read\n"
        "  --expires TIME           stop being valid at TIME (2027-01-01T00:00:00Z)\n"
        "  --valid-for D            or D after now (90d, 36h)\n",
        {Value("-o"), Value("--required-signatures"), Value("--version"), Value("--expires"),
         Value("--valid-for")},
        1, -1},
       Compile},
      {{"fmt", "policyc fmt FILE [--check | -w]",
        "Prints the policy in canonical form (comments kept).\n"
        "  --check   exit 1 if FILE is not in canonical form\n"
        "  -w        rewrite FILE in canonical form\n",
        {Switch("--check"), Switch("-w")},
        1, 1},
       Fmt},
      {{"explain",
        "policyc explain FILE... --sender S --recipient R --type T --classification C "
        "--purpose P [--originator O] [--caveats A,B] [--caveat A]... [--role R] "
        "[--legal-basis B]",
        "Decides one request and says why: the deciding rules, the obligations,\n"
        "or for a denial the nearest permit and each condition it failed.\n"
        "  --sender, --recipient, --originator   organisation ids\n"
        "  --type, --classification, --purpose   labels of the record\n"
        "  --caveats A,B    caveats, comma-separated; --caveat A, repeatable, for one\n"
        "  --role R         the end user's role or rank (labels.end_user_role)\n"
        "  --legal-basis B  the legal basis claimed (labels.legal_basis)\n",
        {Value("--sender"), Value("--recipient"), Value("--type"), Value("--classification"),
         Value("--purpose"), Value("--originator"), Many("--caveats"), Many("--caveat"),
         Value("--role"), Value("--legal-basis")},
        1, -1},
       Explain},
      {{"test", "policyc test FILE... --cases CASES",
        "Runs the officer's expected-decision cases (exit 1 if any fails).\n"
        "  --cases CASES   the case file (see docs/policy-language.md)\n",
        {Value("--cases")},
        1, -1},
       Test},
      {{"diff", "policyc diff OLD NEW [--limit N] [--exit-code]",
        "What NEW permits, denies or obliges differently from OLD, and why.\n"
        "OLD and NEW are policy files, or comma-separated baseline,layer lists.\n"
        "  --limit N     show at most N groups of each kind (default 40)\n"
        "  --exit-code   exit 1 if anything changed\n",
        {Value("--limit"), Switch("--exit-code")},
        2, 2},
       Diff},
      {{"coverage", "policyc coverage FILE... [--cases CASES]",
        "Flows no permit reaches, and with --cases the rules no case exercises.\n"
        "  --cases CASES   the case file\n",
        {Value("--cases")},
        1, -1},
       Coverage},
      {{"keygen", "policyc keygen NAME",
        "Writes NAME.key (secret, mode 0600) and NAME.pub for one officer.\n",
        {},
        1, 1},
       Keygen},
      {{"sign", "policyc sign BUNDLE --key NAME.key --name WHO [-o OUT]",
        "Adds your signature to a bundle (in place, or to OUT).\n"
        "  --key NAME.key   your secret key (mode 0600)\n"
        "  --name WHO       who you are, as the other officers and auditors read it\n"
        "  -o OUT           write the signed bundle to OUT\n",
        {Value("--key"), Value("--name"), Value("-o")},
        1, 1},
       Sign},
      {{"verify", "policyc verify BUNDLE --trust A.pub [--trust B.pub ...] [--min N]",
        "Checks a bundle as a gateway would: signatures, their number, expiry.\n"
        "  --trust K.pub   an officer key the gateway trusts (repeatable)\n"
        "  --min N         the gateway's own floor of signatures\n",
        {Many("--trust"), Value("--min")},
        1, 1},
       Verify},
      {{"show", "policyc show BUNDLE [--against IN_FORCE.bundle] [--trust K.pub ...] [--source]",
        "What an officer reviews before signing: the policy, version, issue and\n"
        "expiry, the digest that is signed, who has signed, every rule with its\n"
        "obligations, and what it changes from the bundle in force.\n"
        "  --against B     the bundle in force, to show what this one changes\n"
        "  --trust K.pub   say whether each signer's key is trusted (repeatable)\n"
        "  --source        print the policy source the bundle carries (comments kept)\n",
        {Value("--against"), Many("--trust"), Switch("--source")},
        1, 1},
       Show},
  };
  return kCommands;
}

std::string Overview() {
  std::string out = "usage: policyc <command> [args]   (policyc <command> --help for more)\n";
  for (const Command& c : Commands()) absl::StrAppend(&out, "  ", c.spec.usage, "\n");
  return out;
}

}  // namespace
}  // namespace gatehouse::policyc

int main(int argc, char** argv) {
  using namespace gatehouse::policyc;
  if (argc < 2) {
    std::fputs(Overview().c_str(), stderr);
    return kExitUsage;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(Overview().c_str(), stdout);
    return kExitOk;
  }
  for (const Command& c : Commands()) {
    if (c.spec.name != cmd) continue;
    auto args = ParseArgs(c.spec, argc, argv, 2);
    if (!args.ok()) {
      std::fprintf(stderr, "policyc %s: %s\n%s", cmd.c_str(),
                   std::string(args.status().message()).c_str(),
                   UsageText(c.spec, false).c_str());
      return kExitUsage;
    }
    if (args->help) {
      std::fputs(UsageText(c.spec, true).c_str(), stdout);
      return kExitOk;
    }
    return c.run(*args);
  }
  std::vector<std::string> names;
  for (const Command& c : Commands()) names.push_back(c.spec.name);
  const std::string near = gatehouse::policy::ClosestName(cmd, names);
  std::fprintf(stderr, "policyc: unknown command '%s'%s\n%s", cmd.c_str(),
               near.empty() ? "" : absl::StrCat("; did you mean '", near, "'?").c_str(),
               Overview().c_str());
  return kExitUsage;
}

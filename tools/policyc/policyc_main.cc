// policyc: check, compile, format, explain, test, diff and sign Gatehouse
// policies. See docs/policy-language.md. Exit codes: 0 ok, 1 the policy,
// cases or bundle failed, 2 usage or I/O error.
#include <cstdio>
#include <cstring>
#include <string>

#include "tools/policyc/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: policyc <command> [args]\n"
    "  check FILE...                     report errors and warnings (--info, --werror)\n"
    "  compile FILE... -o OUT            write an unsigned bundle\n"
    "        [--required-signatures N] [--version V]\n"
    "        [--expires 2027-01-01T00:00:00Z | --valid-for 90d]\n"
    "  fmt FILE [--check | -w]           print canonical form; --check: exit 1 if\n"
    "                                    not canonical; -w: rewrite the file\n"
    "  explain FILE... --sender S --recipient R --type T --classification C\n"
    "        --purpose P [--originator O] [--caveats A,B]\n"
    "  test FILE... --cases CASES        run officer test cases (exit 1 on mismatch)\n"
    "  diff OLD NEW [--limit N] [--exit-code]\n"
    "                                    flows newly permitted / newly denied;\n"
    "                                    OLD and NEW may be comma-separated layer lists\n"
    "  coverage FILE... [--cases CASES]  flows no permit reaches; rules no case exercises\n"
    "  keygen NAME                       write NAME.key (secret) and NAME.pub\n"
    "  sign BUNDLE --key NAME.key --name WHO [-o OUT]\n"
    "                                    (the key file must be mode 0600)\n"
    "  verify BUNDLE --trust A.pub [--trust B.pub ...] [--min N]\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace gatehouse::policyc;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  const std::string cmd = argv[1];
  auto args = ParseArgs(argc, argv, 2,
                        {"--info", "--werror", "--check", "-w", "--exit-code"});
  if (!args.ok()) {
    std::fprintf(stderr, "policyc: %s\n", std::string(args.status().message()).c_str());
    return kExitUsage;
  }
  if (cmd == "check") return Check(*args);
  if (cmd == "compile") return Compile(*args);
  if (cmd == "fmt") return Fmt(*args);
  if (cmd == "explain") return Explain(*args);
  if (cmd == "test") return Test(*args);
  if (cmd == "diff") return Diff(*args);
  if (cmd == "coverage") return Coverage(*args);
  if (cmd == "keygen") return Keygen(*args);
  if (cmd == "sign") return Sign(*args);
  if (cmd == "verify") return Verify(*args);
  std::fprintf(stderr, "policyc: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return kExitUsage;
}

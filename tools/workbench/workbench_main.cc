// gatehouse-workbench: the security officers' policy workbench, a web page
// on this machine to write, check, question, compare, test and approve a
// policy (issue 21; docs/workbench.md). Command line and exit statuses (0 done, 1
// failed, 2 usage): docs/cli.md (tools/cli/cli.h).
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/bundle.h"
#include "tools/cli/cli.h"
#include "tools/workbench/approval.h"
#include "tools/workbench/static_files.h"
#include "tools/workbench/workbench_api.h"
#include "tools/workbench/workbench_server.h"

namespace gatehouse::workbench {
namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "gatehouse-workbench: %s\n", std::string(s.message()).c_str());
  return cli::kExitFailed;
}

// The whole file, "" if `path` is empty; NotFound if it cannot be read.
absl::StatusOr<std::string> ReadOptional(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  if (!in || !(ss << in.rdbuf())) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return ss.str();
}

// The officers of the --officer files, needing `required` of them (0: as
// many as the bundle in force needs, or 1 without one).
// The contents of each file of `paths`.
absl::StatusOr<std::vector<std::string>> ReadAll(const std::vector<std::string>& paths) {
  std::vector<std::string> contents;
  for (const std::string& path : paths) {
    auto text = ReadOptional(path);
    if (!text.ok()) return text.status();
    contents.push_back(*std::move(text));
  }
  return contents;
}

absl::StatusOr<Officers> LoadOfficers(const std::vector<std::string>& paths, int required,
                                      const std::string& bundle,
                                      const std::vector<std::string>& sealed_paths) {
  auto contents = ReadAll(paths);
  if (!contents.ok()) return contents.status();
  if (required == 0) {
    auto in_force = policy::InspectBundle(bundle);
    required = bundle.empty() || !in_force.ok()
                   ? 1
                   : static_cast<int>(in_force->payload.required_signatures());
  }
  auto officers = MakeOfficers(paths, *contents, required);
  if (!officers.ok()) return officers.status();
  auto sealed = ReadAll(sealed_paths);
  if (!sealed.ok()) return sealed.status();
  if (absl::Status s = AddSealedKeys(sealed_paths, *sealed, &*officers); !s.ok()) return s;
  return officers;
}

int Serve(const std::string& policy, const std::string& bundle, const std::string& cases,
          WorkbenchOptions options, const std::string& codemirror,
          const std::vector<std::string>& officer_files, int required,
          const std::vector<std::string>& sealed_files) {
  auto listen = ParseListen(options.listen, !options.tls.empty());
  if (!listen.ok()) return Fail(listen.status());
  auto policy_text = ReadOptional(policy);
  if (!policy_text.ok()) return Fail(policy_text.status());
  auto cases_text = ReadOptional(cases);
  if (!cases_text.ok()) return Fail(cases_text.status());
  auto bundle_bytes = ReadOptional(bundle);
  if (!bundle_bytes.ok()) return Fail(bundle_bytes.status());
  if (!bundle.empty() && bundle_bytes->empty()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(bundle, " is empty")));
  }
  auto officers = LoadOfficers(officer_files, required, *bundle_bytes, sealed_files);
  if (!officers.ok()) return Fail(officers.status());
  auto api = Api::Create(*bundle_bytes, *std::move(officers));
  if (!api.ok()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(bundle, ": ", api.status().message())));
  }
  auto files = StaticFiles::Load(codemirror);
  if (!files.ok()) return Fail(files.status());
  options.policy_text = *std::move(policy_text);
  if (!policy.empty()) options.policy_file_name = std::filesystem::path(policy).filename();
  options.cases_text = *std::move(cases_text);
  // Every thread started from here on leaves SIGINT and SIGTERM to sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const bool options_tls = !options.tls.empty();
  auto server = WorkbenchServer::Start(std::move(options), *std::move(api), *std::move(files));
  if (!server.ok()) return Fail(server.status());
  std::printf("gatehouse-workbench: serving %s://%s:%d/%s (Ctrl-C to stop)\n",
              options_tls ? "https" : "http", listen->first.c_str(), (*server)->port(),
              options_tls ? " to officers' certificates only" : "");
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  (*server)->Stop();
  return cli::kExitOk;
}

int Main(int argc, char** argv) {
  CLI::App app{"gatehouse-workbench: the security officers' policy workbench, a web page on\n"
               "this machine to write, check, question, compare, test and approve a policy,\n"
               "and to see what the gateways decided (an audit export).",
               "gatehouse-workbench"};
  cli::Configure(app);
  std::string listen = "127.0.0.1:8470", policy, bundle, cases, codemirror = kCodeMirrorDir;
  int timeout_ms = 10000, required = 0;
  TlsFiles tls;
  std::vector<std::string> officers, sealed;
  app.add_option("--listen", listen,
                 "Serve on HOST:PORT (default 127.0.0.1:8470; port 0 picks one); an address "
                 "that is not loopback needs --tls-cert, --tls-key, --client-ca and --crl-dir")
      ->type_name("HOST:PORT");
  // All four or none: TlsContext::Create refuses a part.
  app.add_option("--tls-cert", tls.cert,
                 "Serve HTTPS with this certificate (chain, PEM), and only to clients with a "
                 "certificate from --client-ca")
      ->type_name("FILE");
  app.add_option("--tls-key", tls.key, "The --tls-cert's private key (PEM)")->type_name("FILE");
  app.add_option("--client-ca", tls.client_ca,
                 "The CA (PEM) that issues the officers' client certificates, and nobody "
                 "else's: every certificate it issued is let in, unless --crl-dir revokes it")
      ->type_name("FILE");
  app.add_option("--crl-dir", tls.crl_dir,
                 "The --client-ca's CRLs (PEM or DER, any file name, e.g. certs/gen-dev-pki.sh's "
                 "DIR/crl); required with --tls-cert. Each must be signed by --client-ca and "
                 "current; re-read when a file changes, and checked on every request")
      ->type_name("DIR");
  app.add_option("--policy", policy, "The draft policy the page opens with")->type_name("FILE");
  app.add_option("--bundle", bundle, "The bundle in force, which Compare compares with")
      ->type_name("FILE");
  app.add_option("--cases", cases, "The officer's test cases (policyc test's format)")
      ->type_name("FILE");
  app.add_option("--officer", officers,
                 "An officer who may approve: their NAME.pub from policyc keygen (the file a "
                 "gateway's policy.officerKeyFiles names); may repeat")
      ->type_name("NAME.pub");
  app.add_option("--officer-sealed-key", sealed,
                 "An officer's NAME.sealed (policyc keygen --passphrase-file), with which the "
                 "page signs for them when they type its passphrase; their NAME.pub must be an "
                 "--officer; may repeat")
      ->type_name("NAME.sealed");
  app.add_option("--required-signatures", required,
                 "Officers who must sign a bundle compiled here (m of the n --officer keys; "
                 "default: as many as the --bundle in force needs, or 1)")
      ->type_name("M")
      ->check(CLI::Range(1, policy::kMaxRequiredSignatures).description(""));
  app.add_option("--analysis-timeout-ms", timeout_ms,
                 "Stop an analysis that takes longer (default 10000)")
      ->type_name("MS")
      ->check(CLI::Range(100, 600000).description(""));
  app.add_option("--codemirror", codemirror,
                 "Where Debian's libjs-codemirror is installed (default " +
                     std::string(kCodeMirrorDir) + ")")
      ->type_name("DIR");
  if (std::optional<int> exit = cli::Parse(app, argc, argv)) return *exit;
  WorkbenchOptions options;
  options.listen = listen;
  options.tls = tls;
  options.analysis.deadline = absl::Milliseconds(timeout_ms);
  return Serve(policy, bundle, cases, std::move(options), codemirror, officers, required,
               sealed);
}

}  // namespace
}  // namespace gatehouse::workbench

int main(int argc, char** argv) { return gatehouse::workbench::Main(argc, argv); }

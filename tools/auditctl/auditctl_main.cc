// auditctl: offline tools over an audit log (docs/audit-log.md): a log
// directory, its C2SP tiles export, or an organisation's log in PostgreSQL.
//
//   auditctl keygen --name NAME --out PREFIX [--cosigner]
//   auditctl verify SOURCE [--key PUB]... [--cosigner PUB]...
//   auditctl prove SOURCE (--index N | --record-id ID) [--size S]
//   auditctl prove SOURCE --from S1 [--to S2]
//     SOURCE: --dir DIR | --tiles DIR | --dsn DSN [--password-file FILE]
//   auditctl check-proof --proof FILE.json --key PUB
//   auditctl inspect|tail|export --dir DIR [--record-id ID] [--org ORG]
//            [--event NAME] [--since RFC3339] [--until RFC3339] [-n N]
//   auditctl export (--dir DIR | --dsn DSN [--password-file FILE]) --tiles OUT [--key PUB]...
//                                                           (C2SP tlog-tiles)
//   auditctl checkpoint --dir DIR
//   auditctl vectors --out DIR
//   auditctl sla --log DIR --from T --to T --key KEY --out REPORT.json [...]
//   auditctl sla-countersign --report REPORT.json --report-key PUB --log DIR --key KEY --out FILE
//
// Read-only on the log: safe while a gateway is appending to it. `prove`
// recomputes the tree from the entries rather than trusting tree/ (or
// audit_tree). --dsn: an organisation's log in PostgreSQL
// (postgres_command.h).
// Command line and exit statuses (0 done, 1 verification failure or
// error, 2 usage): docs/cli.md (tools/cli/cli.h).
#include <sys/stat.h>

#include <sodium.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "gatehouse/v1/audit.pb.h"
#include "audit/checkpoint.h"
#include "audit/log_directory.h"
#include "audit/log_format.h"
#include "audit/log_verifier.h"
#include "audit/merkle_tree.h"
#include "audit/merkle_verifier.h"
#include "audit/posix_file.h"
#include "google/protobuf/util/json_util.h"
#include "tools/auditctl/entry_filter.h"
#include "tools/auditctl/log_access.h"
#include "tools/auditctl/proof_vectors.h"
#include "tools/auditctl/prove_command.h"
#include "tools/auditctl/sla_command.h"
#include "tools/auditctl/tiles_command.h"
#include "tools/auditctl/verify_command.h"
#include "tools/cli/cli.h"

namespace gatehouse::auditctl {
namespace {

using audit::Hash;

// The flags of each command, read by name (cli::Values: Has, Get, All).
using Flags = cli::Values;

int Keygen(const Flags& f) {
  if (!f.Has("name") || !f.Has("out")) {
    std::cerr << "keygen: --name and --out are required\n";
    return 2;
  }
  const uint8_t type = f.Has("cosigner") ? audit::kSigTypeCosignatureV1 : audit::kSigTypeEd25519;
  absl::StatusOr<audit::NoteSigner> s = audit::NoteSigner::Generate(f.Get("name"), type);
  if (!s.ok()) {
    std::cerr << "keygen: " << s.status() << "\n";
    return 1;
  }
  const std::string prefix = f.Get("out");
  std::string skey = s->PrivateKeyString(audit::SecretKeyAccess()) + "\n";
  absl::Status st = audit::WriteFileAtomically(prefix + ".key", skey, 0600);
  sodium_memzero(skey.data(), skey.size());
  if (st.ok()) st = audit::WriteFileAtomically(prefix + ".pub", s->VerifierKeyString() + "\n", 0644);
  if (!st.ok()) {
    std::cerr << "keygen: " << st << "\n";
    return 1;
  }
  std::cout << s->VerifierKeyString() << "\n";
  return 0;
}

// Verifies an inclusion or consistency proof JSON against its checkpoint(s)
// and the log key: what an auditor without the log runs.
int CheckProof(const Flags& f) {
  auto key = LoadVerifier(f.Get("key"));
  auto text = audit::ReadWholeFile(f.Get("proof"));
  if (!key.ok() || !text.ok()) {
    std::cerr << "check-proof: want --proof FILE and --key PUB\n";
    return 2;
  }
  auto root_of = [&](const std::string& note, uint64_t size) {
    return CheckpointRoot(note, size, *key);
  };
  gatehouse::v1::AuditInclusionProof inc;
  gatehouse::v1::AuditConsistencyProof con;
  absl::Status st;
  if (google::protobuf::util::JsonStringToMessage(*text, &inc).ok() && inc.has_entry()) {
    st = CheckInclusionProof(inc, *key);
  } else if (google::protobuf::util::JsonStringToMessage(*text, &con).ok()) {
    auto r1 = root_of(con.checkpoint1(), con.size1());
    auto r2 = root_of(con.checkpoint2(), con.size2());
    st = !r1.ok() ? r1.status()
         : !r2.ok() ? r2.status()
                    : audit::VerifyConsistency(con.size1(), con.size2(), *r1, *r2, ProofHashes(con.hashes()));
  } else {
    st = absl::InvalidArgumentError("not an inclusion or consistency proof");
  }
  if (!st.ok()) {
    std::cout << "FAIL: " << st << "\n";
    return 1;
  }
  std::cout << "OK\n";
  return 0;
}

std::string Line(uint64_t i, const gatehouse::v1::AuditEntry& e) {
  const std::string event_name = gatehouse::v1::AuditEvent_Name(e.event());
  const std::string decision_name = gatehouse::v1::AuditDecision_Name(e.decision());
  const std::string event(absl::StripPrefix(event_name, "AUDIT_EVENT_"));
  const std::string decision(absl::StripPrefix(decision_name, "AUDIT_DECISION_"));
  return absl::StrCat(
      i, " ", absl::FormatTime(absl::RFC3339_full, absl::FromUnixNanos(e.time_unix_ns()), absl::UTCTimeZone()),
      " ", event, " ", e.record_id().empty() ? "-" : e.record_id(), " ",
      e.sender_org(), e.sender_system().empty() ? "" : "/" + e.sender_system(), " -> ",
      e.recipient_org(), e.recipient_system().empty() ? "" : "/" + e.recipient_system(),
      e.decision() ? " " + decision : "", e.rule_ids_size() ? " rule=" + e.rule_ids(0) : "",
      e.reason().empty() ? "" : " reason=\"" + e.reason() + "\"");
}

int Scan(const std::string& cmd, const Flags& f) {
  EntryFilter filter;
  filter.record_id = f.Get("record-id");
  filter.org = f.Get("org");
  if (f.Has("event")) {
    auto ev = ParseEventName(f.Get("event"));
    if (!ev.ok()) {
      std::cerr << cmd << ": " << ev.status() << "\n";
      return 2;
    }
    filter.event = *ev;
  }
  for (const char* k : {"since", "until"}) {
    if (!f.Has(k)) continue;
    auto t = ParseTime(f.Get(k));
    if (!t.ok()) {
      std::cerr << cmd << ": " << t.status() << "\n";
      return 2;
    }
    (std::string(k) == "since" ? filter.since_ns : filter.until_ns) = *t;
  }
  uint64_t n = cmd == "tail" ? 20 : UINT64_MAX;
  if (f.Has("n") && !absl::SimpleAtoi(f.Get("n"), &n)) return 2;
  std::deque<std::string> last;  // tail keeps only the last n
  uint64_t printed = 0;
  gatehouse::v1::AuditEntry e;
  absl::Status st = audit::ForEachEntry(f.Get("dir"), 0, [&](uint64_t i, absl::string_view payload) {
    if (!e.ParseFromArray(payload.data(), static_cast<int>(payload.size())) || !filter.Matches(e)) {
      return true;
    }
    std::string out;
    if (cmd == "export") {
      gatehouse::v1::AuditInclusionProof row;  // reuse: index, leaf hash, entry
      row.set_leaf_index(i);
      row.set_leaf_hash(audit::HashToBytes(audit::HashLeaf(payload)));
      *row.mutable_entry() = e;
      out = Json(row, false);
    } else {
      out = Line(i, e);
    }
    if (cmd == "tail") {
      last.push_back(out);
      if (last.size() > n) last.pop_front();
      return true;
    }
    std::cout << out << "\n";
    return ++printed < n;
  });
  for (const std::string& s : last) std::cout << s << "\n";
  if (!st.ok()) {
    std::cerr << cmd << ": " << st << "\n";
    return 1;
  }
  return 0;
}

int PrintCheckpoint(const Flags& f) {
  auto cps = LoadCheckpoints(f.Get("dir"));
  if (cps.empty()) {
    std::cerr << "checkpoint: none signed yet\n";
    return 1;
  }
  std::cout << cps.rbegin()->second;
  return 0;
}

int Vectors(const Flags& f) {
  absl::StatusOr<int> n = WriteProofVectors(f.Get("out", "tests/testdata/audit"));
  if (!n.ok()) {
    std::cerr << "vectors: " << n.status() << "\n";
    return 1;
  }
  std::cout << "wrote " << *n << " vectors\n";
  return 0;
}

// Adds --dir to `cmd`, required unless `or_dsn`.
void AddDir(CLI::App* cmd, bool or_dsn = false) {
  CLI::Option* dir = cmd->add_option("--dir")->type_name("DIR")->description(
      or_dsn ? "The audit log directory (read only); or --dsn"
             : "The audit log directory (read only)");
  if (!or_dsn) dir->required();
}

// Adds --dsn and --password-file to `cmd`.
void AddDsn(CLI::App* cmd) {
  cmd->add_option("--dsn")->type_name("DSN")->description(
      "The organisation's audit log in PostgreSQL: the libpq conninfo or postgresql:// URI of "
      "the gateway's store database (read in one read-only snapshot). Never with a password: "
      "use --password-file, or sslcert=/sslkey= in the DSN");
  cmd->add_option("--password-file")->type_name("FILE")->description(
      "libpq password file (as PGPASSFILE) for --dsn");
}

// Adds --dir, --tiles and --dsn to `cmd`: the log to read, as a directory,
// a tiles export or a database; one of them (HasSource checks).
void AddSource(CLI::App* cmd) {
  cmd->add_option("--dir")->type_name("DIR")->description(
      "The audit log directory (read only); or --tiles, or --dsn");
  cmd->add_option("--tiles")->type_name("DIR")->description(
      "A C2SP tlog-tiles export of the log (auditctl export --tiles), instead of --dir");
  AddDsn(cmd);
}

// Adds --key (may repeat) to `cmd`.
void AddKeys(CLI::App* cmd) {
  cmd->add_option("--key")
      ->type_name("PUB")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->description("The log's public key; repeat for keys used before a rotation, current first");
}

// The filters inspect, tail and export share (export: --dir or --dsn).
void AddFilters(CLI::App* cmd, bool or_dsn = false) {
  AddDir(cmd, or_dsn);
  cmd->add_option("--record-id")->type_name("ID")->description("Only entries of this record");
  cmd->add_option("--org")->type_name("ORG")->description("Only entries from or to this organisation");
  cmd->add_option("--event")->type_name("NAME")->description("Only this event (e.g. denied)");
  cmd->add_option("--since")->type_name("RFC3339")->description("Only entries at or after this time");
  cmd->add_option("--until")->type_name("RFC3339")->description("Only entries before this time");
  cmd->add_option("-n")->type_name("N")->check(cli::WholeNumber())->description(
      "At most N entries (tail: the last N, default 20)");
}

// export: JSON lines of --dir, or (--tiles) tiles of --dir or --dsn.
int Export(const CLI::App& command, const Flags& f) {
  if (!f.Has("dsn") && !f.Has("tiles")) {
    if (f.Has("key")) return cli::UsageError(command, "--key goes with --tiles");
    if (!f.Has("dir")) return cli::UsageError(command, "want --dir DIR (or --dsn with --tiles)");
    if (f.Has("password-file")) return cli::UsageError(command, "--password-file goes with --dsn");
    return Scan("export", f);
  }
  if (f.Has("dir") == f.Has("dsn")) return cli::UsageError(command, "want --dir DIR or --dsn DSN");
  if (!f.Has("tiles")) return cli::UsageError(command, "--dsn goes with --tiles OUT");
  if (f.Has("password-file") && !f.Has("dsn")) {
    return cli::UsageError(command, "--password-file goes with --dsn");
  }
  if (f.Has("dsn") && !DsnUsable("export", f)) return cli::kExitUsage;
  std::optional<Keys> keys = LoadKeys("export", f);
  if (!keys) return cli::kExitUsage;
  Point(*keys);
  return ExportTiles(f, keys->opts);
}

int Main(int argc, char** argv) {
  CLI::App app{"auditctl: offline tools over an audit log: a directory, a C2SP tiles export, or "
               "(--dsn) an organisation's log in PostgreSQL (docs/audit-log.md).\n"
               "Read-only on the log: safe while a gateway is appending to it.",
               "auditctl"};
  cli::Configure(app);
  app.require_subcommand(1);

  CLI::App* keygen = app.add_subcommand("keygen", "Write PREFIX.key (secret, 0600) and PREFIX.pub");
  keygen->add_option("--name")->required()->type_name("NAME")->description("The key's name");
  keygen->add_option("--out")->required()->type_name("PREFIX")->description("Where to write it");
  keygen->add_flag("--cosigner", "A cosigner (witness) key, not a log key");

  CLI::App* verify = app.add_subcommand("verify", "Check the log from genesis");
  AddSource(verify);
  AddKeys(verify);
  verify->add_option("--cosigner")->type_name("PUB")->expected(1)->multi_option_policy(
      CLI::MultiOptionPolicy::TakeAll)->description("A cosigner's public key; may repeat");

  CLI::App* prove = app.add_subcommand(
      "prove", "Print an inclusion proof (--index or --record-id) or a consistency proof "
               "(--from), as JSON");
  AddSource(prove);
  prove->add_option("--index")->check(cli::WholeNumber())->type_name("N")->description("Inclusion: the entry's index");
  prove->add_option("--record-id")->type_name("ID")->description("Inclusion: the record's entries");
  prove->add_option("--size")->check(cli::WholeNumber())->type_name("S")->description(
      "Inclusion: the tree size to prove against (default: the latest checkpoint)");
  prove->add_option("--from")->check(cli::WholeNumber())->type_name("S1")->description("Consistency: from this tree size");
  prove->add_option("--to")->check(cli::WholeNumber())->type_name("S2")->description(
      "Consistency: to this tree size (default: the latest checkpoint)");

  CLI::App* check_proof = app.add_subcommand("check-proof", "Verify a proof JSON offline");
  check_proof->add_option("--proof")->required()->type_name("FILE")->description(
      "The proof, as prove printed it");
  check_proof->add_option("--key")->required()->type_name("PUB")->description("The log's public key");

  CLI::App* inspect = app.add_subcommand("inspect", "Print entries, one a line");
  AddFilters(inspect);
  CLI::App* tail = app.add_subcommand("tail", "Print the last entries, one a line");
  AddFilters(tail);
  CLI::App* exporter =
      app.add_subcommand("export",
                         "Print entries as JSON lines: index, leaf hash, entry; or, with --tiles, "
                         "verify the log and write it as C2SP tlog-tiles");
  AddFilters(exporter, /*or_dsn=*/true);
  AddDsn(exporter);
  exporter->add_option("--tiles")->type_name("OUT")->description(
      "Write the tiles of the latest signed checkpoint to the new directory OUT (refused if OUT "
      "exists and is not empty; written beside it and renamed, so whole or not at all); "
      "with --dsn, required");
  AddKeys(exporter);

  CLI::App* checkpoint = app.add_subcommand("checkpoint", "Print the latest signed checkpoint");
  AddDir(checkpoint);

  CLI::App* vectors = app.add_subcommand("vectors", "Write the proof test vectors");
  vectors->add_option("--out")->type_name("DIR")->description(
      "Where (default tests/testdata/audit)");

  AddSlaCommands(app);

  if (std::optional<int> exit = cli::Parse(app, argc, argv)) return *exit;
  const CLI::App* command = app.get_subcommands().front();
  const std::string cmd = command->get_name();
  const Flags f = Flags::Of(*command);
  if (cmd == "keygen") return Keygen(f);
  if (cmd == "verify") return Verify(f);
  if (cmd == "prove") return Prove(f);
  if (cmd == "check-proof") return CheckProof(f);
  if (cmd == "export") return Export(*command, f);
  if (cmd == "inspect" || cmd == "tail") return Scan(cmd, f);
  if (cmd == "checkpoint") return PrintCheckpoint(f);
  if (cmd == "sla") return Sla(f);
  if (cmd == "sla-countersign") return SlaCountersign(f);
  return Vectors(f);
}

}  // namespace
}  // namespace gatehouse::auditctl

int main(int argc, char** argv) { return gatehouse::auditctl::Main(argc, argv); }

#include "tools/auditctl/sla_command.h"

#include <unistd.h>

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "audit/checkpoint.h"
#include "audit/log_directory.h"
#include "audit/log_verifier.h"
#include "audit/merkle_tree.h"
#include "audit/posix_file.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "sla/countersign.h"
#include "sla/figures.h"
#include "sla/html_report.h"
#include "sla/ledger.h"
#include "sla/report_signature.h"
#include "tools/auditctl/entry_filter.h"
#include "tools/auditctl/log_access.h"

namespace gatehouse::auditctl {
namespace {

using gatehouse::v1::AuditEntry;

std::string At(int64_t ns) {
  return absl::FormatTime(absl::RFC3339_full, absl::FromUnixNanos(ns), absl::UTCTimeZone());
}

// A log key file (auditctl keygen, not --cosigner): the gateway's audit.keyFile.
absl::StatusOr<audit::NoteSigner> LoadLogKey(const std::string& path) {
  absl::StatusOr<std::string> text = ReadText(path);
  if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat("--key ", path, ": ", text.status().message()));
  absl::StatusOr<audit::NoteSigner> key = audit::NoteSigner::FromPrivateKey(*text);
  if (!key.ok() || key->type() != audit::kSigTypeEd25519) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--key ", path, " is not a log key (auditctl keygen without --cosigner)"));
  }
  return key;
}

// The part of a verified log that covers a period: entries [0, size) under
// the smallest signed checkpoint that includes an entry at or after `to`.
struct CoveredLog {
  audit::MemoryTree tree;
  std::map<uint64_t, std::string> checkpoints;
  uint64_t size = 0;          // the checkpoint's tree size
  uint64_t after_index = 0;   // the first entry at or after `to`
  std::string checkpoint_text;
  std::string origin;
  sla::Ledger ledger;
};

// Verifies the log in `dir` with `key` and finds the checkpoint covering
// [from, to). DataLoss if the log does not verify; OutOfRange if the log
// does not cover the period; FailedPrecondition if no checkpoint covers it.
absl::StatusOr<std::unique_ptr<CoveredLog>> LoadCoveredLog(const std::string& dir,
                                                           const audit::NoteVerifier& key,
                                                           int64_t from, int64_t to) {
  audit::VerifyOptions vo;
  vo.log_key = &key;
  absl::StatusOr<audit::VerifyReport> verified = audit::VerifyLog(dir, vo);
  if (!verified.ok()) {
    return absl::DataLossError(absl::StrCat("the log in ", dir, " does not verify with ", key.name(),
                                            "'s key: ", verified.status().message()));
  }
  auto log = std::make_unique<CoveredLog>();
  std::vector<int64_t> times;
  RETURN_IF_ERROR(LoadTree(dir, &log->tree, [&](uint64_t, const AuditEntry& e) {
    times.push_back(e.time_unix_ns());
  }));
  if (times.empty()) return absl::OutOfRangeError(absl::StrCat("the log in ", dir, " is empty"));
  if (times[0] > from) {
    return absl::OutOfRangeError(absl::StrCat("the log does not cover the period: it begins at ",
                                              At(times[0]), " (entry 0), after --from ", At(from)));
  }
  uint64_t after = 0;
  while (after < times.size() && times[after] < to) ++after;
  if (after == times.size()) {
    return absl::OutOfRangeError(absl::StrCat(
        "the log does not cover the period: its last entry (", times.size() - 1, ") is at ",
        At(times.back()), ", before --to ", At(to), "; the period is not over or the log is incomplete"));
  }
  log->checkpoints = LoadCheckpoints(dir);
  auto cp = log->checkpoints.upper_bound(after);
  if (cp == log->checkpoints.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no signed checkpoint covers the period: entry ", after, " (the first at or after --to) is in none; ",
        log->checkpoints.empty() ? std::string("the log has no checkpoint")
                                 : absl::StrCat("the latest covers ", log->checkpoints.rbegin()->first, " entries"),
        "; wait for the next checkpoint"));
  }
  log->size = cp->first;
  log->after_index = after;
  ASSIGN_OR_RETURN(audit::SignedCheckpoint signed_cp, audit::OpenCheckpoint(cp->second, key));
  log->checkpoint_text = signed_cp.text;
  log->origin = signed_cp.checkpoint.origin;
  RETURN_IF_ERROR(audit::ForEachEntry(dir, 0, [&](uint64_t i, absl::string_view payload) {
    if (i >= log->size) return false;
    AuditEntry e;
    if (e.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) log->ledger.Add(i, e);
    return true;
  }));
  return log;
}

// Entry `index` of `dir`, read again for its proof.
absl::StatusOr<AuditEntry> EntryAt(const std::string& dir, uint64_t index) {
  AuditEntry out;
  bool found = false;
  RETURN_IF_ERROR(audit::ForEachEntry(dir, index, [&](uint64_t, absl::string_view payload) {
    found = out.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
    return false;
  }));
  if (!found) return absl::DataLossError(absl::StrCat("entry ", index, " cannot be read"));
  return out;
}

absl::Status Bind(const std::string& dir, const CoveredLog& log, gatehouse::v1::ServiceLevelReport* r) {
  gatehouse::v1::SlaBinding* b = r->mutable_binding();
  b->set_checkpoint(log.checkpoints.at(log.size));
  b->set_tree_size(log.size);
  auto prove = [&](uint64_t index, gatehouse::v1::AuditInclusionProof* out) -> absl::Status {
    ASSIGN_OR_RETURN(AuditEntry e, EntryAt(dir, index));
    ASSIGN_OR_RETURN(*out, MakeInclusionProof(log.tree, index, log.size, log.checkpoints, e));
    return absl::OkStatus();
  };
  if (b->entries_used() > 0) {
    RETURN_IF_ERROR(prove(b->first_index(), b->mutable_first()));
    RETURN_IF_ERROR(prove(b->last_index(), b->mutable_last()));
  }
  return prove(log.after_index, b->mutable_after_period());
}

// Writes every (path, contents) or, if one fails, removes those written.
absl::Status WriteAll(const std::vector<std::pair<std::string, std::string>>& files) {
  for (size_t i = 0; i < files.size(); ++i) {
    absl::Status st = audit::WriteFileAtomically(files[i].first, files[i].second, 0644);
    if (!st.ok()) {
      for (size_t j = 0; j < i; ++j) ::unlink(files[j].first.c_str());
      return st;
    }
  }
  return absl::OkStatus();
}

int Fail(const std::string& cmd, const absl::Status& st) {
  std::cerr << cmd << ": " << st.message() << "; nothing written\n";
  return cli::kExitFailed;
}

int Usage(const std::string& cmd, const std::string& why) {
  std::cerr << cmd << ": " << why << " (see auditctl " << cmd << " --help)\n";
  return cli::kExitUsage;
}

// Reads a duration flag (e.g. "60s"), `fallback` when absent.
bool GetDuration(const cli::Values& f, const std::string& name, absl::Duration fallback, absl::Duration* out) {
  *out = fallback;
  return !f.Has(name) || (absl::ParseDuration(f.Get(name), out) && *out > absl::ZeroDuration());
}

}  // namespace

int Sla(const cli::Values& f) {
  const std::string cmd = "sla";
  sla::FigureOptions o;
  absl::StatusOr<int64_t> from = ParseTime(f.Get("from"));
  absl::StatusOr<int64_t> to = ParseTime(f.Get("to"));
  if (!from.ok()) return Usage(cmd, absl::StrCat("--from: ", from.status().message()));
  if (!to.ok()) return Usage(cmd, absl::StrCat("--to: ", to.status().message()));
  if (*from >= *to) return Usage(cmd, "--from must be before --to");
  o.from_ns = *from;
  o.to_ns = *to;
  if (!GetDuration(f, "grace", absl::Seconds(60), &o.grace)) return Usage(cmd, "--grace wants a positive duration such as 60s");
  o.org = f.Get("org");
  o.peer = f.Get("peer");
  if (f.Has("objective")) o.objectives.clear();
  for (const std::string& spec : f.All("objective")) {
    absl::StatusOr<sla::Objective> obj = sla::ParseObjective(spec);
    if (!obj.ok()) return Usage(cmd, std::string(obj.status().message()));
    o.objectives.push_back(*obj);
  }
  absl::StatusOr<audit::NoteSigner> key = LoadLogKey(f.Get("key"));
  if (!key.ok()) return Usage(cmd, std::string(key.status().message()));
  const audit::NoteVerifier verifier = *audit::NoteVerifier::FromVerifierKey(key->VerifierKeyString());
  const std::string dir = f.Get("log");

  auto log = LoadCoveredLog(dir, verifier, o.from_ns, o.to_ns);
  if (!log.ok()) return Fail(cmd, log.status());
  absl::StatusOr<gatehouse::v1::ServiceLevelReport> report = sla::ComputeReport((*log)->ledger, o);
  if (!report.ok()) return Fail(cmd, report.status());
  report->set_log_origin((*log)->origin);
  report->set_generator(absl::StrCat("auditctl ", cli::Version()));
  if (absl::Status st = Bind(dir, **log, &*report); !st.ok()) return Fail(cmd, st);

  const std::string out = f.Get("out");
  const std::string json = Json(*report, true) + "\n";
  std::vector<std::pair<std::string, std::string>> files = {{out, json},
                                                            {out + ".sig", sla::SignReport(json, *key)}};
  if (f.Has("html")) files.push_back({f.Get("html"), sla::RenderHtml(*report)});
  if (absl::Status st = WriteAll(files); !st.ok()) return Fail(cmd, st);
  const auto& b = report->binding();
  std::cout << "wrote " << out << " and " << out << ".sig (signed by " << key->name() << "): "
            << report->peers_size() << " peer(s), " << b.entries_used() << " entries between "
            << b.first_index() << " and " << b.last_index() << ", under the checkpoint of "
            << b.tree_size() << " entries\n";
  for (const auto& p : report->peers()) {
    for (const auto& obj : p.objectives()) {
      std::cout << p.peer() << ": " << obj.name() << ": " << (obj.met() ? "met" : "MISSED")
                << ", remaining budget " << obj.remaining() << " of " << obj.budget() << "\n";
    }
  }
  return cli::kExitOk;
}

int SlaCountersign(const cli::Values& f) {
  const std::string cmd = "sla-countersign";
  absl::Duration tolerance;
  if (!GetDuration(f, "tolerance", absl::Seconds(2), &tolerance)) {
    return Usage(cmd, "--tolerance wants a positive duration such as 2s");
  }
  absl::StatusOr<audit::NoteSigner> key = LoadLogKey(f.Get("key"));
  if (!key.ok()) return Usage(cmd, std::string(key.status().message()));
  absl::StatusOr<audit::NoteVerifier> sender = LoadVerifier(f.Get("report-key"));
  if (!sender.ok()) return Usage(cmd, absl::StrCat("--report-key: ", sender.status().message()));
  const std::string report_path = f.Get("report");
  const std::string sig_path = f.Get("signature", report_path + ".sig");
  absl::StatusOr<std::string> bytes = audit::ReadWholeFile(report_path);
  absl::StatusOr<std::string> sig = audit::ReadWholeFile(sig_path);
  if (!bytes.ok()) return Fail(cmd, absl::InvalidArgumentError(absl::StrCat("--report: ", bytes.status().message())));
  if (!sig.ok()) return Fail(cmd, absl::InvalidArgumentError(absl::StrCat(sig_path, ": ", sig.status().message())));
  if (absl::Status st = sla::VerifyReportSignature(*bytes, *sig, *sender); !st.ok()) {
    return Fail(cmd, absl::DataLossError(absl::StrCat("the report's signature does not verify with --report-key ",
                                                      sender->name(), ": ", st.message())));
  }
  gatehouse::v1::ServiceLevelReport report;
  if (!google::protobuf::util::JsonStringToMessage(*bytes, &report).ok()) {
    return Fail(cmd, absl::InvalidArgumentError("--report is not a service-level report"));
  }
  // The binding: the sender's checkpoint and the proofs of the entries used.
  const auto& b = report.binding();
  absl::StatusOr<audit::Hash> root = CheckpointRoot(b.checkpoint(), b.tree_size(), *sender);
  if (!root.ok()) return Fail(cmd, absl::DataLossError(absl::StrCat("the report's checkpoint: ", root.status().message())));
  for (const auto& [name, proof, want] :
       {std::make_tuple("first", &b.first(), b.first_index()), std::make_tuple("last", &b.last(), b.last_index()),
        std::make_tuple("after_period", &b.after_period(), b.after_period().leaf_index())}) {
    if (std::string(name) != "after_period" && b.entries_used() == 0) continue;
    absl::Status st = proof->checkpoint() == b.checkpoint() && proof->leaf_index() == want
                          ? CheckInclusionProof(*proof, *sender)
                          : absl::DataLossError("it is not for the report's checkpoint and index");
    if (st.ok() && std::string(name) == "after_period" && proof->entry().time_unix_ns() < report.to_ns()) {
      st = absl::DataLossError("its entry is not after the period");
    }
    if (!st.ok()) {
      return Fail(cmd, absl::DataLossError(absl::StrCat("the report's proof of its ", name, " entry: ", st.message())));
    }
  }
  const audit::NoteVerifier own_key = *audit::NoteVerifier::FromVerifierKey(key->VerifierKeyString());
  auto log = LoadCoveredLog(f.Get("log"), own_key, report.from_ns(), report.to_ns());
  if (!log.ok()) return Fail(cmd, log.status());
  std::string org = f.Get("org");
  if (org.empty()) {
    absl::StatusOr<std::string> own = (*log)->ledger.OwnOrg();
    if (!own.ok()) return Fail(cmd, absl::InvalidArgumentError(absl::StrCat(own.status().message(), " (pass --org)")));
    org = *own;
  }
  absl::StatusOr<std::vector<sla::Difference>> diffs =
      sla::CompareWithOwnLog(report, (*log)->ledger, org, tolerance);
  if (!diffs.ok()) return Fail(cmd, diffs.status());
  if (!diffs->empty()) {
    for (const sla::Difference& d : *diffs) std::cout << "DIFFERS " << d.record_id << ": " << d.what << "\n";
    std::cerr << cmd << ": " << diffs->size() << " record(s) differ between " << report.org()
              << "'s report and our log; nothing signed\n";
    return cli::kExitFailed;
  }
  const std::string out = f.Get("out");
  if (absl::Status st = WriteAll({{out, sla::CountersignReport(*bytes, (*log)->checkpoint_text, *key)}}); !st.ok()) {
    return Fail(cmd, st);
  }
  std::cout << "OK: " << org << " agrees with " << report.org() << "'s report for " << report.from() << " to "
            << report.to() << "; countersigned by " << key->name() << " in " << out << "\n";
  return cli::kExitOk;
}

void AddSlaCommands(CLI::App& app) {
  CLI::App* sla = app.add_subcommand(
      "sla", "Compute service-level figures for a period, bound to the signed checkpoint that "
             "covers it; write a signed JSON report (OUT and OUT.sig) and optionally an HTML page");
  sla->add_option("--log")->required()->type_name("DIR")->description("The audit log directory (read only)");
  sla->add_option("--from")->required()->type_name("RFC3339")->description("Start of the period (included)");
  sla->add_option("--to")->required()->type_name("RFC3339")->description("End of the period (excluded)");
  sla->add_option("--key")->required()->type_name("KEY")->description(
      "The gateway's audit log key (audit.keyFile); signs the report, and its public half verifies the log");
  sla->add_option("--out")->required()->type_name("FILE")->description("The report (JSON); its signature goes to FILE.sig");
  sla->add_option("--html")->type_name("FILE")->description("Also write the report as an HTML page with charts");
  sla->add_option("--peer")->type_name("ORG")->description("Only this peer organisation (needed to countersign)");
  sla->add_option("--org")->type_name("ORG")->description(
      "This gateway's organisation (default: the one the log's records name)");
  sla->add_option("--objective")->type_name("SPEC")->expected(1)->multi_option_policy(
      CLI::MultiOptionPolicy::TakeAll)->description(
      "delivery:60s:99% or availability:99.9%; may repeat (default: those two)");
  sla->add_option("--grace")->type_name("DURATION")->description(
      "How long a record may wait before the link counts as down (default 60s)");

  CLI::App* cs = app.add_subcommand(
      "sla-countersign", "Check a peer's report against this gateway's own log; countersign it if they "
                         "agree, else list the records that differ");
  cs->add_option("--report")->required()->type_name("FILE")->description("The peer's report (JSON)");
  cs->add_option("--signature")->type_name("FILE")->description("Its signature (default: FILE.sig)");
  cs->add_option("--report-key")->required()->type_name("PUB")->description(
      "The peer's audit log public key (its directory auditKey)");
  cs->add_option("--log")->required()->type_name("DIR")->description("This gateway's audit log directory (read only)");
  cs->add_option("--key")->required()->type_name("KEY")->description(
      "This gateway's audit log key (audit.keyFile): verifies our log and countersigns");
  cs->add_option("--out")->required()->type_name("FILE")->description("Where to write the countersignature");
  cs->add_option("--org")->type_name("ORG")->description(
      "This gateway's organisation (default: the one the log's records name)");
  cs->add_option("--tolerance")->type_name("DURATION")->description(
      "How far the two gateways' clocks may differ (default 2s)");
}

}  // namespace gatehouse::auditctl

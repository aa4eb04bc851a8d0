#include "gateway/refusal_reporter.h"

#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/rendezvous.h"
#include "proto/error_details.h"

namespace gatehouse {
namespace {

// The ErrorInfo reason for a refusal of `kind` (record/refusal.h), unless
// the stage that refused named a more precise one: the kind in upper snake
// case, some renamed to say more.
std::string ReasonForKind(absl::string_view kind) {
  static const std::pair<absl::string_view, absl::string_view> kRenamed[] = {
      {"forbidden", "POLICY_FORBIDDEN"},
      {"no-permit", "POLICY_NO_PERMIT"},
      {"policy", "POLICY_DENIED"},
      {"obligation", "OBLIGATION_NOT_MET"},
      {"write_down", "WRITE_DOWN"},
      {"directory", "NOT_IN_DIRECTORY"},
      {"labels", "LABEL_NOT_DECLARED"},
      {"unknown-label", "LABEL_NOT_DECLARED"},
      {"missing-label", "LABEL_MISSING"},
      {"envelope", "ENVELOPE_INVALID"},
      {"seal", "SEAL_FAILED"},
      {"store", "STORE_UNAVAILABLE"},
  };
  for (const auto& [k, reason] : kRenamed) {
    if (k == kind) return std::string(reason);
  }
  std::string reason = absl::AsciiStrToUpper(kind);
  absl::c_replace(reason, '-', '_');
  return reason;
}

// What the caller is told: the refusal's status with its reason and, for
// a decision, the deciding rule (metadata "rule") and all the rules that
// decided ("rules", comma-separated).
absl::Status Answer(const Refusal& refusal) {
  absl::Status s = refusal.status;
  const std::string reason = ReasonForKind(refusal.kind);
  if (!ErrorInfoOf(s).has_value() && !reason.empty()) s = WithReason(std::move(s), reason);
  if (!refusal.rule_ids.empty()) {
    s = WithMetadata(std::move(s), "rule", refusal.rule_ids.front());
    s = WithMetadata(std::move(s), "rules", absl::StrJoin(refusal.rule_ids, ","));
  }
  return s;
}

}  // namespace

void RefusalReporter::Report(const Refusal& refusal, const Caller& caller, v1::AuditEntry base,
                             const std::string& policy_version, Done done) {
  const bool outbound = caller.direction == Direction::kOutbound;
  const std::string code = absl::StatusCodeToString(refusal.status.code());
  metrics_->CountRefusal(outbound ? "exchange" : "peer", code);
  metrics_->CountRecord(outbound ? "outbound" : "inbound", outbound ? "denied" : "rejected",
                        refusal.kind.empty() ? code : refusal.kind);
  v1::AuditEntry entry =
      RefusalEntry(std::move(base), outbound ? v1::AUDIT_EVENT_DENIED : v1::AUDIT_EVENT_REJECTED,
                   refusal, policy_version);
  LogWarning(outbound ? "submit refused" : "delivery refused",
             {{"record_id", entry.record_id()},
              {"caller", caller.uri},
              {"reason", refusal.kind},
              {"error", refusal.status.ToString()}});
  auditor_->Record(std::move(entry), [status = Answer(refusal),
                                      done = std::move(done)](absl::StatusOr<uint64_t> index) {
    if (index.ok()) {
      done(status);
      return;
    }
    done(WithReason(
        absl::UnavailableError(absl::StrCat("the record was refused (", status.message(),
                                            ") but the refusal could not be audited; retry later")),
        "AUDIT_UNAVAILABLE"));
  });
}

absl::Status RefusalReporter::ReportAndWait(const Refusal& refusal, const Caller& caller,
                                            v1::AuditEntry base,
                                            const std::string& policy_version) {
  Rendezvous<absl::Status> answer;
  Report(refusal, caller, std::move(base), policy_version, answer.Callback());
  return answer.Wait();
}

}  // namespace gatehouse

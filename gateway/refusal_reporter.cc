#include "gateway/refusal_reporter.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/rendezvous.h"

namespace gatehouse {

void RefusalReporter::Report(const Refusal& refusal, const Caller& caller, v1::AuditEntry base,
                             const std::string& policy_version, Done done) {
  const bool outbound = caller.direction == Direction::kOutbound;
  const std::string code = absl::StatusCodeToString(refusal.status.code());
  metrics_->CountRefusal(outbound ? "exchange" : "peer", code);
  metrics_->CountRecord(outbound ? "outbound" : "inbound", outbound ? "denied" : "rejected",
                        refusal.kind.empty() ? code : refusal.kind);
  v1::AuditEntry entry = RefusalEntry(
      std::move(base), outbound ? v1::AUDIT_EVENT_DENIED : v1::AUDIT_EVENT_REJECTED, refusal,
      policy_version);
  LogWarning(outbound ? "submit refused" : "delivery refused",
             {{"record_id", entry.record_id()},
              {"caller", caller.uri},
              {"reason", refusal.kind},
              {"error", refusal.status.ToString()}});
  auditor_->Record(std::move(entry), [status = refusal.status,
                                      done = std::move(done)](absl::StatusOr<uint64_t> index) {
    if (index.ok()) {
      done(status);
      return;
    }
    done(absl::UnavailableError(absl::StrCat("the record was refused (", status.message(),
                                             ") but the refusal could not be audited; retry "
                                             "later")));
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

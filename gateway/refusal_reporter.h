// Reports a refused record in exactly one place: the audit entry (DENIED for
// a Submit, REJECTED for a delivery), the metric, the log line, and the
// status the caller is answered with. The record path's stages return a
// Refusal (gateway/record/refusal.h); the services hand it here.
//
// Example:
//   reporter->Report(refusal, {Direction::kOutbound, caller.uri},
//                    SubmitEntry(...), policy_version,
//                    [reactor](absl::Status s) { reactor->Finish(ToGrpcStatus(s)); });
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_REFUSAL_REPORTER_H_
#define GATEHOUSE_GATEWAY_REFUSAL_REPORTER_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "gatehouse/v1/audit.pb.h"
#include "gateway/auditor.h"
#include "gateway/metrics.h"
#include "gateway/record/refusal.h"

namespace gatehouse {

class RefusalReporter {
 public:
  enum class Direction { kOutbound, kInbound };
  struct Caller {
    Direction direction;
    std::string uri;  // the caller's certificate identity, for the log
  };
  using Done = std::function<void(absl::Status)>;

  RefusalReporter(Auditor* auditor, Metrics* metrics) : auditor_(auditor), metrics_(metrics) {}

  // Audits `refusal` as `base` (parties and labels set) names it, counts
  // and logs it, then calls `done` with the status to answer: the
  // refusal's, or Unavailable if even the refusal could not be audited (so
  // the caller retries and nothing unaudited is final). `done` runs on the
  // audit log's thread once the entry is durable; the caller's thread
  // never waits for it.
  void Report(const Refusal& refusal, const Caller& caller, v1::AuditEntry base,
              const std::string& policy_version, Done done);
  // Report, waiting for the answer: for the synchronous streaming handlers,
  // which have a thread of their own.
  absl::Status ReportAndWait(const Refusal& refusal, const Caller& caller, v1::AuditEntry base,
                             const std::string& policy_version);

 private:
  Auditor* const auditor_;
  Metrics* const metrics_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_REFUSAL_REPORTER_H_

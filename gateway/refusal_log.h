// Refusals of callers that could not be authenticated (a revoked, expired or
// unknown certificate, an identity the port does not accept), summarised
// for the audit log: one entry per caller and reason per interval, with the
// count, so a flood of refused calls costs a few entries, not one a call.
//
// Each refusal is counted in metrics at once; Flush() writes the summary
// (the gateway calls it every refusal_summary_seconds and at shutdown). The
// first refusal of a caller and reason in an interval is also logged.
//
// Example:
//   RefusalLog refusals(&auditor, &metrics, org_id);
//   refusals.Refused("client", "psn://org/a/system/x", "certificate revoked");
//   ... every interval: refusals.Flush();
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_REFUSAL_LOG_H_
#define GATEHOUSE_GATEWAY_REFUSAL_LOG_H_

#include <map>
#include <string>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/auditor.h"
#include "gateway/metrics.h"
#include "transport/call_gate.h"

namespace gatehouse {

class RefusalLog : public RefusalSink {
 public:
  // `auditor` and `metrics` must outlive this; `auditor` may be null (tests
  // that read Pending() instead).
  RefusalLog(Auditor* auditor, Metrics* metrics, std::string org_id)
      : auditor_(auditor), metrics_(metrics), org_id_(std::move(org_id)) {}

  // Counts one refused call on `port` ("client" or "peer") from `caller`
  // (its identity, or a description of the certificate) for `reason`.
  void Refused(absl::string_view port, absl::string_view caller,
               absl::string_view reason) override;

  // Audits one CERTIFICATE_REFUSED entry per (port, caller, reason) counted
  // since the last flush, naming the count and the interval, and starts a
  // new interval. Returns how many entries it audited.
  int Flush(absl::Time now = absl::Now());

  // Refused calls counted since the last flush, all callers.
  int64_t Pending() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // port, caller, reason
  static constexpr size_t kMaxKeys = 1024;  // past it, one "other callers" bucket

  Auditor* const auditor_;
  Metrics* const metrics_;
  const std::string org_id_;
  mutable absl::Mutex mu_;
  std::map<Key, int64_t> counts_ ABSL_GUARDED_BY(mu_);
  absl::Time since_ ABSL_GUARDED_BY(mu_) = absl::Now();
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_REFUSAL_LOG_H_

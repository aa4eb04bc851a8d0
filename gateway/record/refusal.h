// A refused record, as the stages of the record path return it: what the
// caller is told, which rules decided, and what the audit entry records.
// The stages never report a refusal themselves; the daemon reports each in
// one place (gateway/refusal_reporter.h): the audit entry, the metric, the
// log line and the gRPC status, from this one value.
//
// Example:
//   if (!decision.allowed)
//     return Refusal::Policy(absl::PermissionDeniedError(reason), rule_ids);
//
// Thread-safe: a value.
#ifndef GATEHOUSE_GATEWAY_RECORD_REFUSAL_H_
#define GATEHOUSE_GATEWAY_RECORD_REFUSAL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gatehouse/v1/audit.pb.h"

namespace gatehouse {

struct Refusal {
  // What the caller is told; never OK.
  absl::Status status;
  // The rules that decided, deciding rule first (a policy denial, or the
  // permit whose obligation could not be carried out).
  std::vector<std::string> rule_ids;
  // True when the policy, or the write-down invariant above it, refused:
  // the audit entry records a DENY decision. False for a record refused
  // before any decision (malformed, replayed, over a limit).
  bool decided = false;
  // Why, in one word, for the metric's `reason` label: "policy",
  // "obligation", "write_down", "directory", "checks", "labels" (a label the
  // policy does not declare), "envelope", "replay",
  // "seal", "store".
  std::string kind;

  static Refusal Policy(absl::Status s, std::vector<std::string> rules,
                        std::string kind = "policy") {
    return Refusal{std::move(s), std::move(rules), true, std::move(kind)};
  }
  static Refusal Check(absl::Status s, std::string kind) {
    return Refusal{std::move(s), {}, false, std::move(kind)};
  }
};

// The audit entry for `refusal`: `base` (parties and labels set, never the
// payload) as `event` (DENIED for a Submit, REJECTED for a delivery), with
// the decision, rules, reason, status code and the policy version in force.
v1::AuditEntry RefusalEntry(v1::AuditEntry base, v1::AuditEvent event, const Refusal& refusal,
                            const std::string& policy_version);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECORD_REFUSAL_H_

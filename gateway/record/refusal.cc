#include "gateway/record/refusal.h"

namespace gatehouse {

v1::AuditEntry RefusalEntry(v1::AuditEntry base, v1::AuditEvent event, const Refusal& refusal,
                            const std::string& policy_version) {
  base.set_event(event);
  // A Submit refused is the gateway's decision not to send it, whatever
  // refused it; a delivery is a DENY only when the policy or the invariant
  // decided (a malformed envelope was never decided on).
  if (refusal.decided || event == v1::AUDIT_EVENT_DENIED) {
    base.set_decision(v1::AUDIT_DECISION_DENY);
  }
  for (const std::string& r : refusal.rule_ids) base.add_rule_ids(r);
  base.set_reason(std::string(refusal.status.message()));
  base.set_status_code(absl::StatusCodeToString(refusal.status.code()));
  if (!policy_version.empty()) base.set_policy_version(policy_version);
  return base;
}

}  // namespace gatehouse

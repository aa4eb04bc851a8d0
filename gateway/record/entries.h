// The audit entries of a record's last steps: delivered (at the sender),
// taken by a system (FETCHED) and acknowledged (ACKED) at the receiver. Parties, labels
// and hashes only, never the payload. (A Submit's entries are built by
// gateway/record/outbound.h, a delivery's by gateway/record/inbound.h, a
// refusal's by gateway/record/refusal.h.)
//
// Thread-safe: pure functions.
#ifndef GATEHOUSE_GATEWAY_RECORD_ENTRIES_H_
#define GATEHOUSE_GATEWAY_RECORD_ENTRIES_H_

#include <string>

#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/exchange.pb.h"
#include "gatehouse/v1/store.pb.h"

namespace gatehouse {

// The FETCHED entry for `r` taken by `system` of `org`: never the payload,
// only its hash.
v1::AuditEntry FetchedEntry(const v1::Record& r, const std::string& org,
                            const std::string& system, const std::string& payload_sha256);

// The DELIVERED entry for `record` (an outbox row), at the sender once the
// recipient's gateway signed a receipt for it; `reason` says which.
v1::AuditEntry DeliveredEntry(const v1::OutboxRecord& record, const std::string& reason);

// The ACKED entry for record `record_id` from `sender_org`, acknowledged by
// `system` of `org`.
v1::AuditEntry AckedEntry(const std::string& record_id, const std::string& sender_org,
                          const std::string& org, const std::string& system);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECORD_ENTRIES_H_

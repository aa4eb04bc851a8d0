// Entry filters for `auditctl inspect`, `tail` and `export`: record id,
// organisation (sender or recipient), event name and time range.
// Thread-safety: immutable after parsing; Matches is const.
#ifndef GATEHOUSE_TOOLS_AUDITCTL_ENTRY_FILTER_H_
#define GATEHOUSE_TOOLS_AUDITCTL_ENTRY_FILTER_H_

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/statusor.h"
#include "gatehouse/v1/audit.pb.h"

namespace gatehouse::auditctl {

struct EntryFilter {
  std::string record_id;  // exact match if set
  std::string org;        // sender_org or recipient_org, if set
  gatehouse::v1::AuditEvent event = gatehouse::v1::AUDIT_EVENT_UNSPECIFIED;  // if set
  int64_t since_ns = std::numeric_limits<int64_t>::min();  // inclusive
  int64_t until_ns = std::numeric_limits<int64_t>::max();  // exclusive

  bool Matches(const gatehouse::v1::AuditEntry& e) const;
};

// Parses an event name: "denied", "DENIED" or "AUDIT_EVENT_DENIED".
// InvalidArgument for an unknown name.
absl::StatusOr<gatehouse::v1::AuditEvent> ParseEventName(const std::string& name);

// Parses an RFC 3339 time ("2026-11-28T13:00:00Z") into Unix nanoseconds.
absl::StatusOr<int64_t> ParseTime(const std::string& text);

}  // namespace gatehouse::auditctl

#endif  // GATEHOUSE_TOOLS_AUDITCTL_ENTRY_FILTER_H_

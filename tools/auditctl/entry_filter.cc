#include "tools/auditctl/entry_filter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace gatehouse::auditctl {

bool EntryFilter::Matches(const gatehouse::v1::AuditEntry& e) const {
  if (!record_id.empty() && e.record_id() != record_id) return false;
  if (!org.empty() && e.sender_org() != org && e.recipient_org() != org) return false;
  if (event != gatehouse::v1::AUDIT_EVENT_UNSPECIFIED && e.event() != event) return false;
  return e.time_unix_ns() >= since_ns && e.time_unix_ns() < until_ns;
}

absl::StatusOr<gatehouse::v1::AuditEvent> ParseEventName(const std::string& name) {
  std::string upper = absl::AsciiStrToUpper(name);
  if (!absl::StartsWith(upper, "AUDIT_EVENT_")) upper = "AUDIT_EVENT_" + upper;
  gatehouse::v1::AuditEvent ev;
  if (!gatehouse::v1::AuditEvent_Parse(upper, &ev) || ev == gatehouse::v1::AUDIT_EVENT_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat("unknown event ", name));
  }
  return ev;
}

absl::StatusOr<int64_t> ParseTime(const std::string& text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    return absl::InvalidArgumentError(absl::StrCat("bad time ", text, ": ", err));
  }
  return absl::ToUnixNanos(t);
}

}  // namespace gatehouse::auditctl

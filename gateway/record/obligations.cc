#include "gateway/record/obligations.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/record/redaction.h"

namespace gatehouse {

absl::StatusOr<ObligationsCarriedOut> CarryOutObligations(
    const policy::DecisionObligations& ob, const std::vector<std::string>& redact_fields,
    absl::string_view rule, const v1::Labels& labels, absl::string_view payload,
    absl::string_view own_org, bool streamed) {
  if (ob.require_recipient_system && labels.recipient_system().empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "denied: rule ", rule, " requires naming the recipient system "
        "(labels.recipient_system), so that only that system of ", labels.recipient_org(),
        " can fetch the record"));
  }
  ObligationsCarriedOut done;
  if (ob.redact != 0) {
    const std::string fields = absl::StrJoin(redact_fields, ", ");
    if (streamed) {
      return absl::PermissionDeniedError(absl::StrCat(
          "denied: rule ", rule, " requires redacting ", fields,
          ", which cannot be done to a streamed record; submit it with Submit"));
    }
    absl::StatusOr<Redacted> redacted = RedactJson(payload, redact_fields);
    if (!redacted.ok()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "denied: rule ", rule, " requires redacting ", fields,
          " and the payload cannot be redacted: ", redacted.status().message()));
    }
    done.payload = std::move(redacted->json);
    absl::StrAppend(&done.summary, "redacted ", redacted->removed, " field(s) (", fields, "); ");
  } else {
    done.payload = std::string(payload);
  }
  if (ob.notify_originator && !labels.originator().empty() && labels.originator() != own_org) {
    return absl::PermissionDeniedError(absl::StrCat(
        "denied: rule ", rule, " requires notifying the originator ", labels.originator(),
        ", which this gateway cannot do; ask ", labels.originator(),
        " to send the record itself"));
  }
  if (ob.retain_days > 0) absl::StrAppend(&done.summary, "retain ", ob.retain_days, " days; ");
  absl::StrAppend(&done.summary, "encrypted");
  return done;
}

}  // namespace gatehouse

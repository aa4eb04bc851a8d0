// Carrying out a permit's obligations on a record before it is sealed
// (docs/policy-language.md, "Obligations"). An obligation the gateway
// cannot carry out is a denial, never a pass.
//
// Example:
//   ASSIGN_OR_RETURN(ObligationsCarriedOut done,
//                    CarryOutObligations(ob, fields, "health-council-care", labels, payload,
//                                        "nhs-trust-a", /*streamed=*/false));
//   content.set_payload(std::move(done.payload));
//
// Thread-safe: a pure function.
#ifndef GATEHOUSE_GATEWAY_RECORD_OBLIGATIONS_H_
#define GATEHOUSE_GATEWAY_RECORD_OBLIGATIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gatehouse/v1/labels.pb.h"
#include "policy/engine.h"

namespace gatehouse {

struct ObligationsCarriedOut {
  std::string payload;  // with the named fields removed, or as submitted
  std::string summary;  // for the audit entry, e.g. "redacted 2 field(s) (a, b); encrypted"
};

// Carries out `ob` (the decision's obligations; `redact_fields` the names
// its redact bits stand for) on a record with `labels` and `payload` from
// organisation `own_org`; `rule` names the deciding rule in messages.
// PermissionDenied naming the rule, and nothing returned, when:
//   - the permit requires a recipient system and labels name none;
//   - it requires redaction and the record is `streamed`, or the payload
//     cannot be read exactly as a receiver would (see redaction.h);
//   - it requires notifying an originator other than `own_org`, which this
//     gateway cannot do.
absl::StatusOr<ObligationsCarriedOut> CarryOutObligations(
    const policy::DecisionObligations& ob, const std::vector<std::string>& redact_fields,
    absl::string_view rule, const v1::Labels& labels, absl::string_view payload,
    absl::string_view own_org, bool streamed);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECORD_OBLIGATIONS_H_

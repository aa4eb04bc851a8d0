// Redaction of named fields from JSON payloads (FHIR resources included), the
// obligation a policy can attach to a permit before a record leaves.
//
// A field name without a dot ("address") removes that member wherever it
// appears, at any depth; a dotted path ("subject.reference") removes it only
// at that path from the root, arrays being transparent. Removed members go
// entirely; everything kept is copied byte for byte (numbers keep their
// exact digits), only the whitespace between members may change.
//
// Example:
//   ASSIGN_OR_RETURN(Redacted r, RedactJson(payload, {"address", "telecom"}));
//   // r.json has no "address" or "telecom" anywhere; r.removed counts them.
//
// Fails closed: a payload that is not one well-formed JSON value, nested
// deeper than kMaxJsonDepth, is FailedPrecondition — the obligation cannot be
// carried out, so the record must not go. Nothing is returned then.
//
// Thread-safe: a pure function.
#ifndef GATEHOUSE_GATEWAY_REDACTION_H_
#define GATEHOUSE_GATEWAY_REDACTION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

inline constexpr int kMaxJsonDepth = 64;

struct Redacted {
  std::string json;
  int removed = 0;
};

absl::StatusOr<Redacted> RedactJson(absl::string_view json,
                                    const std::vector<std::string>& fields);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_REDACTION_H_

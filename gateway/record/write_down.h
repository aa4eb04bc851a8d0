// The invariant no policy rule can override (DESIGN.md, "Policy, in
// brief"): a gateway never receives a record classified above the
// accreditation the directory gives it. Checked in this one place by the
// sender (against the recipient's accreditation) and by the receiver
// (against its own).
//
// Example:
//   RETURN_IF_ERROR(CheckNoWriteDown("SECRET", recipient.accreditation(),
//                                    "council-a's gateway"));
//
// Thread-safe: pure functions.
#ifndef GATEHOUSE_GATEWAY_RECORD_WRITE_DOWN_H_
#define GATEHOUSE_GATEWAY_RECORD_WRITE_DOWN_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

// The rank of a Government Security Classification (OFFICIAL 1 ...
// TOP SECRET 4), or 0 for a name outside it.
int ClassificationRank(absl::string_view classification);

// OK unless `classification` ranks above `accreditation`; then
// PermissionDenied "denied: write-down: <holder> is accredited to ..., below
// this record's ...". A classification outside the lattice is left to
// policy, which denies labels it does not declare.
absl::Status CheckNoWriteDown(absl::string_view classification, absl::string_view accreditation,
                              absl::string_view holder);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECORD_WRITE_DOWN_H_

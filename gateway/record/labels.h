// One record's labels in each shape the record path needs, converted in one
// place: what a system submits (v1::Labels, also what the audit log and the
// outbox keep), what the envelope header authenticates
// (envelope::RecordLabels), and what policy decides on (policy::Request).
//
// Example:
//   envelope::RecordLabels header = EnvelopeLabelsOf(labels, id, "nhs-trust-a", now_ms);
//   std::vector<absl::string_view> caveats;
//   policy::Request q = PolicyRequestOf("nhs-trust-a", labels, &caveats);
//
// Thread-safe: pure functions.
#ifndef GATEHOUSE_GATEWAY_RECORD_LABELS_H_
#define GATEHOUSE_GATEWAY_RECORD_LABELS_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "envelope/header.h"
#include "gatehouse/v1/peer.pb.h"
#include "gatehouse/v1/labels.pb.h"
#include "policy/engine.h"

namespace gatehouse {

// The header labels a sending gateway seals `labels` under: addressed to
// labels.recipient_org, from `sender_org`. What only the recipient should
// read (recipient system, originator, end user) goes in SealedContent, not
// here.
envelope::RecordLabels EnvelopeLabelsOf(const v1::Labels& labels, absl::string_view record_id,
                                        absl::string_view sender_org, int64_t created_unix_ms);

// The labels of a record as received: the authenticated header and the
// opened content, back in the shape it was submitted in, caveats in the
// submitted order (SealedContent.caveats) when that order names exactly
// the header's caveats, in the header's sorted order otherwise.
v1::Labels LabelsOf(const envelope::RecordLabels& header, const v1::SealedContent& content);

// The policy question for a record from `sender_org` under `labels`
// (recipient: labels.recipient_org). The request views `labels` and
// `*caveats`, which must outlive it.
policy::Request PolicyRequestOf(absl::string_view sender_org, const v1::Labels& labels,
                                std::vector<absl::string_view>* caveats);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECORD_LABELS_H_

// The outbound record path's deciding stage: a checked Submit from one of
// this organisation's systems, decided against one trust snapshot, with its
// obligations carried out, becomes a plan (what to seal, to whom, and the
// audit entry and outbox row that will say so), or a Refusal. No gRPC, no
// store, no clock or randomness of its own: the caller gives the record id
// and the time. The stages after it (seal, audit and store, deliver) are
// the daemon's.
//
//   plan (this) -> seal (SealQueue) -> audit + store -> deliver (OutboxSender)
//
// Example:
//   OutboundInput in{record_id, caller.system, &request.labels(), request.payload(),
//                    /*streamed=*/false, now_ms};
//   OutboundDecision d = PlanOutbound(trust, in);
//   if (d.shadow) auditor->Note(*d.shadow);
//   if (d.refusal) return reporter->Refuse(*d.refusal, ...);
//
// Thread-safe: a pure function.
#ifndef GATEHOUSE_GATEWAY_RECORD_OUTBOUND_H_
#define GATEHOUSE_GATEWAY_RECORD_OUTBOUND_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "envelope/header.h"
#include "envelope/sealer.h"
#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/labels.pb.h"
#include "gatehouse/v1/peer.pb.h"
#include "gatehouse/v1/store.pb.h"
#include "gateway/record/refusal.h"
#include "gateway/record/trust.h"

namespace gatehouse {

struct OutboundInput {
  std::string record_id;      // new, unique
  std::string sender_system;  // authenticated from the caller's certificate
  const v1::Labels* labels = nullptr;  // checked (gateway/record/submit_check.h)
  absl::string_view payload;  // empty for a streamed record
  bool streamed = false;      // the payload follows in chunks (no redaction)
  int64_t now_unix_ms = 0;
};

// A permitted record, ready to seal.
struct OutboundPlan {
  v1::AuditEntry entry;     // SUBMITTED
  v1::OutboxRecord record;  // envelope and audit_index still to fill in
  envelope::RecordLabels labels;
  envelope::RecipientKey to;
  // The serialized SealedContent; for a streamed record its StreamPrefix.
  std::string content;
};

struct OutboundDecision {
  std::string record_id;  // the input's, for the audit entry of a refusal
  // A shadow policy that decided otherwise: a SHADOW_DIFFERS entry to note
  // whatever the outcome.
  std::optional<v1::AuditEntry> shadow;
  std::optional<Refusal> refusal;  // set: refused, `plan` is empty
  OutboundPlan plan;
};

// The audit entry's view of a Submit: parties and labels, never the payload.
v1::AuditEntry SubmitEntry(const std::string& org_id, const std::string& sender_system,
                           const v1::Labels& labels, const std::string& record_id);

// The frame of `content` that starts a streamed record's plaintext: its
// length (4 bytes, big-endian), then the content.
std::string StreamPrefix(const v1::SealedContent& content);

// Decides `in` against `trust` (directory, policy and shadow; the org id):
// refused (NotFound) if the recipient is not in the directory, refused by
// the write-down invariant if the record is classified above the
// recipient's accreditation, by the policy, by an obligation that cannot
// be carried out, or (FailedPrecondition) if the directory gives the
// recipient no usable encryption key.
OutboundDecision PlanOutbound(const TrustSnapshot& trust, const OutboundInput& in);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECORD_OUTBOUND_H_

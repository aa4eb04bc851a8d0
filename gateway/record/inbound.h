// The inbound record path's deciding stage: a record from another
// organisation's gateway whose envelope verified and opened is checked
// against the replay window and the clock, the write-down invariant (this
// gateway's own accreditation) and the inbound policy, all against one
// trust snapshot, and becomes a plan (the RECEIVED audit entry, the receipt
// to sign, the mailbox row) or a Refusal. No gRPC, no store, no clock of
// its own. The stages around it are the daemon's:
//
//   admit (PeerService) -> verify (OpenRecord) -> decide (this)
//     -> audit + store -> receipt
//
// Example:
//   InboundDecision d = DecideInbound(trust, {&opened, env_sha, payload_sha, now_ms,
//                                             window_s, audit_origin});
//   if (d.refusal) return Reject(*d.refusal, ...);
//
// Thread-safe: pure functions.
#ifndef GATEHOUSE_GATEWAY_RECORD_INBOUND_H_
#define GATEHOUSE_GATEWAY_RECORD_INBOUND_H_

#include <cstdint>
#include <optional>
#include <string>

#include "envelope/header.h"
#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/peer.pb.h"
#include "gatehouse/v1/store.pb.h"
#include "gateway/record/refusal.h"
#include "gateway/record/trust.h"

namespace gatehouse {

// A created time this far ahead of our clock is refused whatever the window.
inline constexpr int64_t kMaxClockSkewMs = 5 * 60 * 1000;

struct InboundInput {
  const OpenedContent* opened = nullptr;  // verified and opened
  std::string envelope_sha256;
  std::string payload_sha256;
  // Its size in bytes (audited with RECEIVED).
  uint64_t payload_bytes = 0;
  int64_t now_unix_ms = 0;
  int64_t replay_window_seconds = 0;
  std::string audit_origin;  // this gateway's audit log, named in the receipt
};

// A record accepted, to be audited, receipted and stored.
struct InboundPlan {
  v1::AuditEntry entry;         // RECEIVED
  v1::DeliveryReceipt receipt;  // audit_index still to fill in
  v1::MailboxRecord record;     // envelope still to fill in
};

struct InboundDecision {
  std::optional<v1::AuditEntry> shadow;  // SHADOW_DIFFERS, to note
  std::optional<Refusal> refusal;        // set: refused, `plan` is empty
  InboundPlan plan;
};

// Decides a delivery of `in.opened` to `trust.org_id`. Refused
// (FailedPrecondition) outside the replay window; (Unavailable) when
// created too far ahead of this clock, or when the directory no longer
// lists the key that verified it; (InvalidArgument) for a malformed
// recipient system; by the write-down invariant; by the inbound policy.
InboundDecision DecideInbound(const TrustSnapshot& trust, const InboundInput& in);

// What an envelope claims (its header, not yet verified), against the
// connection it came on: refused (Unauthenticated) unless its sender is the
// caller's organisation `caller_org` (certificate `caller_uri`), and
// (InvalidArgument) unless it is addressed to `org_id` under a well-formed
// record id (32 lower-case hex characters).
std::optional<Refusal> CheckClaimed(const std::string& caller_org, const std::string& caller_uri,
                                    const std::string& org_id,
                                    const envelope::RecordLabels& claimed);

// The audit entry's view of a delivery from `sender_org` to `org_id`:
// the labels as the header claims them (not yet authenticated) if only
// `header` is given, as opened if `opened` is; parties only otherwise.
v1::AuditEntry DeliveryEntry(const std::string& sender_org, const std::string& org_id,
                             const envelope::EnvelopeHeader* header,
                             const OpenedContent* opened);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECORD_INBOUND_H_

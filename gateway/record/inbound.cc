#include "gateway/record/inbound.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "envelope/key_id.h"
#include "gateway/record/labels.h"
#include "gateway/record/write_down.h"

namespace gatehouse {
namespace {

// Refused before any decision if outside the replay window or too far
// ahead of this clock, or naming a malformed recipient system.
std::optional<Refusal> CheckArrival(const InboundInput& in) {
  const envelope::RecordLabels& h = in.opened->header.labels;
  const int64_t created = h.created_unix_ms;
  if (created < in.now_unix_ms - in.replay_window_seconds * 1000) {
    return Refusal::Check(absl::FailedPreconditionError(absl::StrCat(
        "replay refused: record ", h.record_id, " was created at ", created,
        " ms, outside this gateway's window of ", in.replay_window_seconds,
        " s before now (", in.now_unix_ms, " ms)")), "replay");
  }
  if (created > in.now_unix_ms + kMaxClockSkewMs) {
    // One of the two clocks is wrong. Not the record's fault, and it will be
    // in the window once this clock has caught up: the sender retries it.
    return Refusal::Check(absl::UnavailableError(absl::StrCat(
        "record ", h.record_id, " was created at ", created, " ms, more than ",
        kMaxClockSkewMs / 1000, " s ahead of this gateway's clock (", in.now_unix_ms,
        " ms): check both gateways' clocks; it is refused until then")), "clock");
  }
  const std::string& system = in.opened->content.recipient_system();
  if (!system.empty() && !IsValidId(system)) {
    return Refusal::Check(absl::InvalidArgumentError("recipient system is not a valid id"),
                          "checks");
  }
  return std::nullopt;
}

InboundPlan Plan(const TrustSnapshot& trust, const InboundInput& in,
                 const PolicyOutcome& decided, const std::vector<std::string>& rule_ids,
                 const v1::Labels& labels, std::string sender_key) {
  const OpenedContent& opened = *in.opened;
  const envelope::RecordLabels& h = opened.header.labels;
  InboundPlan out;
  v1::AuditEntry& e = out.entry;
  e = DeliveryEntry(h.sender_org, trust.org_id, nullptr, &opened);
  e.set_event(v1::AUDIT_EVENT_RECEIVED);
  *e.mutable_labels() = labels;
  e.set_decision(v1::AUDIT_DECISION_PERMIT);
  for (const std::string& r : rule_ids) e.add_rule_ids(r);
  e.set_reason(std::string(decided.live.reason));
  e.set_payload_sha256(in.payload_sha256);
  e.set_payload_bytes(in.payload_bytes);
  e.add_key_ids(envelope::KeyIdToHex(opened.header.sender_key_id));
  e.add_key_ids(envelope::KeyIdToHex(opened.header.recipient_key_id));
  e.set_policy_version(decided.live_policy->version);

  v1::DeliveryReceipt& receipt = out.receipt;
  receipt.set_record_id(h.record_id);
  receipt.set_sender_org(h.sender_org);
  receipt.set_receiver_org(trust.org_id);
  receipt.set_envelope_sha256(in.envelope_sha256);
  receipt.set_audit_origin(in.audit_origin);
  receipt.set_received_unix_ms(in.now_unix_ms);

  v1::MailboxRecord& record = out.record;
  // The key that verified it, kept with it: the record stays readable
  // whatever the sender's directory entry says later.
  record.set_sender_key(std::move(sender_key));
  record.set_record_id(h.record_id);
  record.set_sender_org(h.sender_org);
  record.set_recipient_system(opened.content.recipient_system());
  record.set_received_unix_ms(in.now_unix_ms);
  record.set_payload_sha256(in.payload_sha256);
  return out;
}

bool IsRecordId(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::optional<Refusal> CheckClaimed(const std::string& caller_org, const std::string& caller_uri,
                                    const std::string& org_id,
                                    const envelope::RecordLabels& claimed) {
  if (claimed.sender_org != caller_org) {
    return Refusal::Check(absl::UnauthenticatedError(absl::StrCat(
        "the envelope claims sender organisation '", claimed.sender_org,
        "' but the connection is from ", caller_uri)), "");
  }
  if (claimed.recipient_org != org_id) {
    return Refusal::Check(absl::InvalidArgumentError(absl::StrCat(
        "record is addressed to '", claimed.recipient_org, "', but this is ", org_id,
        "'s gateway")), "");
  }
  if (!IsRecordId(claimed.record_id)) {
    return Refusal::Check(
        absl::InvalidArgumentError("record id must be 32 lower-case hex characters"), "");
  }
  return std::nullopt;
}

v1::AuditEntry DeliveryEntry(const std::string& sender_org, const std::string& org_id,
                             const envelope::EnvelopeHeader* header,
                             const OpenedContent* opened) {
  v1::AuditEntry e;
  e.set_sender_org(sender_org);
  e.set_recipient_org(org_id);
  if (header != nullptr) {
    // Unauthenticated unless `opened` is set: recorded as what was claimed.
    e.set_record_id(header->labels.record_id);
    e.mutable_labels()->set_record_type(header->labels.record_type);
    e.mutable_labels()->set_classification(header->labels.classification);
    e.mutable_labels()->set_purpose(header->labels.purpose);
    e.mutable_labels()->set_recipient_org(header->labels.recipient_org);
  }
  if (opened != nullptr) {
    e.set_record_id(opened->header.labels.record_id);
    *e.mutable_labels() = LabelsOf(opened->header.labels, opened->content);
    e.set_sender_system(opened->content.sender_system());
    e.set_recipient_system(opened->content.recipient_system());
  }
  return e;
}

InboundDecision DecideInbound(const TrustSnapshot& trust, const InboundInput& in) {
  const OpenedContent& opened = *in.opened;
  const envelope::RecordLabels& h = opened.header.labels;
  InboundDecision out;
  if ((out.refusal = CheckArrival(in)).has_value()) return out;
  const v1::Organisation* self = trust.directory->Find(trust.org_id);
  if (self != nullptr) {
    absl::Status s = CheckNoWriteDown(h.classification, self->accreditation(), "this gateway");
    if (!s.ok()) {
      out.refusal = Refusal::Policy(std::move(s), {}, "write_down");
      return out;
    }
  }
  // Addressed to this organisation (checked before it was opened).
  const v1::Labels labels = LabelsOf(h, opened.content);
  std::vector<absl::string_view> caveats;
  const policy::Request req = PolicyRequestOf(h.sender_org, labels, &caveats);
  const PolicyOutcome decided = trust.Decide(req);
  std::vector<std::string> rule_ids = PolicyOutcome::RuleIds(decided.live);
  if (decided.differs) {
    out.shadow = DeliveryEntry(h.sender_org, trust.org_id, nullptr, nullptr);
    out.shadow->set_record_id(h.record_id);
    *out.shadow->mutable_labels() = labels;
    decided.FillShadowEntry(&*out.shadow);
  }
  if (!decided.live.allowed) {
    out.refusal = Refusal::Policy(
        absl::PermissionDeniedError(absl::StrCat("refused by ", trust.org_id,
                                                 "'s inbound policy: ", decided.live.reason,
                                                 DescribeUnknown(decided.live, req))),
        std::move(rule_ids), std::string(policy::OutcomeName(decided.live.outcome)));
    return out;
  }
  absl::StatusOr<std::string> sender_key = trust.directory->VerifiedBy(h.sender_org, opened.header);
  if (!sender_key.ok()) {
    // The directory changed since the envelope was verified: try again.
    out.refusal = Refusal::Check(absl::UnavailableError(sender_key.status().message()), "directory");
    return out;
  }
  out.plan = Plan(trust, in, decided, rule_ids, labels, *std::move(sender_key));
  return out;
}

}  // namespace gatehouse

#include "gateway/record/outbound.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "envelope/keyset.h"
#include "envelope/sha256.h"
#include "gateway/record/label_check.h"
#include "gateway/record/labels.h"
#include "gateway/record/obligations.h"
#include "gateway/record/write_down.h"

namespace gatehouse {
namespace {

// The plan for a permitted record: `content` holds the payload after its
// obligations; `outcome` the live decision; `done` what was carried out.
OutboundPlan Plan(const TrustSnapshot& trust, const OutboundInput& in,
                  const PolicyOutcome& outcome, const std::vector<std::string>& rule_ids,
                  const std::string& obligations_done, v1::SealedContent content,
                  envelope::RecipientKey to) {
  const v1::Labels& l = *in.labels;
  OutboundPlan out;
  v1::AuditEntry& e = out.entry;
  e = SubmitEntry(trust.org_id, in.sender_system, l, in.record_id);
  e.set_event(v1::AUDIT_EVENT_SUBMITTED);
  e.set_decision(v1::AUDIT_DECISION_PERMIT);
  for (const std::string& r : rule_ids) e.add_rule_ids(r);
  e.set_reason(absl::StrCat(outcome.live.reason, "; ", obligations_done));
  e.set_payload_sha256(Sha256(content.payload()));
  e.set_payload_bytes(content.payload().size());  // a streamed record's: set once read
  e.set_policy_version(outcome.live_policy->version);

  out.labels = EnvelopeLabelsOf(l, in.record_id, trust.org_id, in.now_unix_ms);
  v1::OutboxRecord& record = out.record;
  record.set_record_id(in.record_id);
  record.set_sender_org(trust.org_id);
  record.set_sender_system(in.sender_system);
  *record.mutable_labels() = l;
  record.set_accepted_unix_ms(out.labels.created_unix_ms);
  for (const std::string& r : rule_ids) record.add_rule_ids(r);
  out.to = std::move(to);
  out.content = in.streamed ? StreamPrefix(content) : content.SerializeAsString();
  return out;
}

}  // namespace

v1::AuditEntry SubmitEntry(const std::string& org_id, const std::string& sender_system,
                           const v1::Labels& labels, const std::string& record_id) {
  v1::AuditEntry e;
  e.set_record_id(record_id);
  e.set_sender_org(org_id);
  e.set_sender_system(sender_system);
  e.set_recipient_org(labels.recipient_org());
  e.set_recipient_system(labels.recipient_system());
  *e.mutable_labels() = labels;
  return e;
}

std::string StreamPrefix(const v1::SealedContent& content) {
  const std::string body = content.SerializeAsString();
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::string out;
  out.reserve(4 + body.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out += body;
  return out;
}

OutboundDecision PlanOutbound(const TrustSnapshot& trust, const OutboundInput& in) {
  const v1::Labels& l = *in.labels;
  OutboundDecision out;
  out.record_id = in.record_id;
  const v1::Organisation* recipient = trust.directory->Find(l.recipient_org());
  if (recipient == nullptr) {
    out.refusal = Refusal::Check(absl::NotFoundError(absl::StrCat(
        "recipient organisation '", l.recipient_org(), "' is not in the directory")),
        "directory");
    return out;
  }
  // The directory's accreditation is the recipient gateway's own: never send
  // above it, whatever the policy says.
  if (absl::Status s = CheckNoWriteDown(l.classification(), recipient->accreditation(),
                                        absl::StrCat(l.recipient_org(), "'s gateway"));
      !s.ok()) {
    out.refusal = Refusal::Policy(std::move(s), {}, "write_down");
    return out;
  }

  std::vector<absl::string_view> caveats;
  const policy::Request req = PolicyRequestOf(trust.org_id, l, &caveats);
  const PolicyOutcome decided = trust.Decide(req);
  if (decided.differs) {
    out.shadow = SubmitEntry(trust.org_id, in.sender_system, l, in.record_id);
    decided.FillShadowEntry(&*out.shadow);
  }
  // A label the policy does not declare is the caller's to fix: no rule
  // decided on it.
  if (IsLabelFault(decided.live)) {
    if (std::optional<absl::Status> bad =
            SubmittedLabelFault(decided.live_policy->engine.model(), req)) {
      out.refusal = Refusal::Check(*std::move(bad), "labels");
      return out;
    }
  }
  std::vector<std::string> rule_ids = PolicyOutcome::RuleIds(decided.live);
  if (!decided.live.allowed) {
    out.refusal = Refusal::Policy(
        absl::PermissionDeniedError(
            absl::StrCat(decided.live.reason, DescribeUnknown(decided.live, req))),
        std::move(rule_ids), std::string(policy::OutcomeName(decided.live.outcome)));
    return out;
  }

  // Obligations. One the gateway cannot carry out is a denial.
  const policy::DecisionObligations& ob = decided.live.obligations;
  absl::StatusOr<ObligationsCarriedOut> done = CarryOutObligations(
      ob, ob.redact != 0 ? decided.live_policy->engine.RedactFields(ob) : std::vector<std::string>(),
      rule_ids.empty() ? "" : rule_ids[0], l, in.payload, trust.org_id, in.streamed);
  if (!done.ok()) {
    out.refusal = Refusal::Policy(done.status(), std::move(rule_ids), "obligation");
    return out;
  }
  absl::StatusOr<envelope::RecipientKey> to = envelope::RecipientKeyFromDirectory(*recipient);
  if (!to.ok()) {
    out.refusal = Refusal::Policy(
        absl::FailedPreconditionError(absl::StrCat("the directory has no usable encryption key for ",
                                                   l.recipient_org(), ": ", to.status().message())),
        {}, "directory");
    return out;
  }
  v1::SealedContent content;
  content.set_sender_system(in.sender_system);
  content.set_recipient_system(l.recipient_system());
  content.set_originator(l.originator());
  content.set_end_user(l.end_user());
  *content.mutable_caveats() = l.caveats();
  content.set_payload(std::move(done->payload));
  out.plan = Plan(trust, in, decided, rule_ids, done->summary, std::move(content), *std::move(to));
  return out;
}

}  // namespace gatehouse

#include "gateway/record/trust.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "envelope/keyset.h"
#include "policy/bundle.h"

namespace gatehouse {

DirectorySnapshot::DirectorySnapshot(v1::Directory directory, absl::Time not_after,
                                     absl::Duration grace)
    : directory_(std::move(directory)), not_after_(not_after), grace_(grace) {
  for (int i = 0; i < directory_.organisations_size(); ++i) {
    by_org_.emplace(directory_.organisations(i).org_id(), i);
  }
}

const v1::Organisation* DirectorySnapshot::Find(const std::string& org_id) const {
  auto it = by_org_.find(org_id);
  return it == by_org_.end() ? nullptr : &directory_.organisations(it->second);
}

absl::Status DirectorySnapshot::CheckInForce(absl::Time now) const {
  if (now < not_after_ + grace_) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the directory in force (version ", directory_.version(), ") expired at ",
      absl::FormatTime(not_after_),
      grace_ > absl::ZeroDuration()
          ? absl::StrCat(" and its grace of ", absl::FormatDuration(grace_), " has passed")
          : "",
      "; this gateway sends and accepts no records until the directory authority "
      "publishes a newer signed directory (queued records are kept)"));
}

absl::StatusOr<std::vector<envelope::VerifyingKey>> DirectorySnapshot::SenderKeys(
    const std::string& sender_org) const {
  const v1::Organisation* sender = Find(sender_org);
  if (sender == nullptr) {
    return absl::UnauthenticatedError(
        absl::StrCat("organisation '", sender_org, "' is not in the directory"));
  }
  absl::StatusOr<std::vector<envelope::VerifyingKey>> keys =
      envelope::VerifyingKeysFromDirectory(*sender);
  if (!keys.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the directory lists no usable verification key for ", sender_org, ": ",
        keys.status().message()));
  }
  return keys;
}

absl::StatusOr<std::string> DirectorySnapshot::VerifiedBy(
    const std::string& sender_org, const envelope::EnvelopeHeader& header) const {
  ASSIGN_OR_RETURN(std::vector<envelope::VerifyingKey> keys, SenderKeys(sender_org));
  for (const envelope::VerifyingKey& k : keys) {
    if (k.id == header.sender_key_id) return std::string(envelope::AsStringView(k.public_key));
  }
  return absl::UnauthenticatedError(absl::StrCat("the directory does not list the key ",
                                                 envelope::KeyIdToHex(header.sender_key_id),
                                                 " that signed the envelope"));
}

absl::Status LoadedPolicy::CheckInForce(absl::Time now) const {
  absl::Status s = policy::CheckBundleExpiry(not_after, now);
  if (s.ok()) return s;
  return absl::FailedPreconditionError(absl::StrCat(
      "the policy in force (", name, " version ", version, "): ", s.message(),
      "; no record is sent or accepted until a newer signed bundle is loaded"));
}

PolicyOutcome PolicyOutcome::Of(std::shared_ptr<const LoadedPolicy> live,
                                std::shared_ptr<const LoadedPolicy> shadow,
                                const policy::Request& request) {
  PolicyOutcome o;
  o.live_policy = std::move(live);
  o.shadow_policy = std::move(shadow);
  o.live = o.live_policy->engine.Evaluate(request);
  if (o.shadow_policy != nullptr) {
    o.shadow = o.shadow_policy->engine.Evaluate(request);
    o.differs = o.live.allowed != o.shadow.allowed || o.live.outcome != o.shadow.outcome ||
                RuleIds(o.live) != RuleIds(o.shadow);
  }
  return o;
}

std::vector<std::string> PolicyOutcome::RuleIds(const policy::Decision& d) {
  std::vector<std::string> ids;
  for (int i = 0; i < d.recorded_rules(); ++i) ids.emplace_back(d.rule_id(i));
  return ids;
}

void PolicyOutcome::FillShadowEntry(v1::AuditEntry* e) const {
  e->set_event(v1::AUDIT_EVENT_SHADOW_DIFFERS);
  e->set_decision(shadow.allowed ? v1::AUDIT_DECISION_PERMIT : v1::AUDIT_DECISION_DENY);
  for (const std::string& r : RuleIds(shadow)) e->add_rule_ids(r);
  e->set_reason(DescribeDifference());
  e->set_policy_version(shadow_policy->version);
}

std::string PolicyOutcome::DescribeDifference() const {
  auto describe = [](const policy::Decision& d) {
    std::string rules = absl::StrJoin(RuleIds(d), ",");
    return absl::StrCat(policy::OutcomeName(d.outcome), rules.empty() ? "" : " by ", rules);
  };
  return absl::StrCat("live policy ", live_policy->version, ": ", describe(live),
                      "; shadow policy ", shadow_policy->version, ": ", describe(shadow));
}

std::string DescribeUnknown(const policy::Decision& d, const policy::Request& r) {
  if (d.outcome != policy::Outcome::kUnknownLabel && d.outcome != policy::Outcome::kMissingLabel) {
    return "";
  }
  return absl::StrCat(" (given: recipient '", r.recipient, "', record type '", r.record_type,
                      "', classification '", r.classification, "', purpose '", r.purpose,
                      "', originator '", r.originator, "', caveats '",
                      absl::StrJoin(r.caveats, ","), "')");
}

absl::Status TrustSnapshot::CheckInForce(absl::Time now) const {
  if (directory != nullptr) RETURN_IF_ERROR(directory->CheckInForce(now));
  if (policy != nullptr) RETURN_IF_ERROR(policy->CheckInForce(now));
  return absl::OkStatus();
}

}  // namespace gatehouse

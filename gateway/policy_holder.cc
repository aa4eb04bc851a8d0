#include "gateway/policy_holder.h"

#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "envelope/sha256.h"
#include "common/status_macros.h"
#include "gatehouse/v1/policy.pb.h"
#include "gateway/config.h"
#include "gateway/floor_file.h"

namespace gatehouse {
namespace {

absl::StatusOr<std::string> ReadOfficerKey(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4096));
  std::string hex(absl::StripAsciiWhitespace(text));
  std::string raw = absl::HexStringToBytes(hex);
  if (raw.size() != 32 || absl::BytesToHexString(raw) != absl::AsciiStrToLower(hex)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy.officerKeyFiles: '", path, "' is not a public key from policyc keygen "
        "(64 hex digits)"));
  }
  return raw;
}

// FailedPrecondition if `p` was issued before `floor_ms`.
absl::Status IssuedNoEarlier(const LoadedPolicy& p, int64_t floor_ms, absl::string_view what) {
  if (p.issued_unix_ms >= floor_ms) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "version ", p.version, " was issued at ", absl::FormatTime(absl::FromUnixMillis(p.issued_unix_ms)),
      ", before ", what, " (issued ", absl::FormatTime(absl::FromUnixMillis(floor_ms)),
      "): an older bundle is not loaded again; to go back to an older policy, compile it "
      "again and have the officers sign the new bundle"));
}

}  // namespace

absl::Status PolicyHolder::KeepIssuedFloor(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(KeepFloor(path, live_->issued_unix_ms, [&](int64_t floor_ms) {
    return IssuedNoEarlier(*live_, floor_ms,
                           absl::StrCat("the policy this gateway last enforced (", path, ")"));
  }));
  floor_file_ = path;
  return absl::OkStatus();
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

std::vector<std::string> PolicyHolder::Outcome::RuleIds(const policy::Decision& d) {
  std::vector<std::string> ids;
  for (int i = 0; i < d.recorded_rules(); ++i) ids.emplace_back(d.rule_id(i));
  return ids;
}

void PolicyHolder::Outcome::FillShadowEntry(v1::AuditEntry* e) const {
  e->set_event(v1::AUDIT_EVENT_SHADOW_DIFFERS);
  e->set_decision(shadow.allowed ? v1::AUDIT_DECISION_PERMIT : v1::AUDIT_DECISION_DENY);
  for (const std::string& r : RuleIds(shadow)) e->add_rule_ids(r);
  e->set_reason(DescribeDifference());
  e->set_policy_version(shadow_policy->version);
}

std::string PolicyHolder::Outcome::DescribeDifference() const {
  auto describe = [](const policy::Decision& d) {
    std::string rules = absl::StrJoin(RuleIds(d), ",");
    return absl::StrCat(policy::OutcomeName(d.outcome), rules.empty() ? "" : " by ", rules);
  };
  return absl::StrCat("live policy ", live_policy->version, ": ", describe(live),
                      "; shadow policy ", shadow_policy->version, ": ", describe(shadow));
}

absl::StatusOr<std::unique_ptr<PolicyHolder>> PolicyHolder::Load(
    const v1::PolicyConfig& config) {
  policy::BundleTrust trust;
  trust.min_signatures = config.min_signatures();
  for (const std::string& f : config.officer_key_files()) {
    ASSIGN_OR_RETURN(std::string key, ReadOfficerKey(f));
    trust.officer_keys.push_back(std::move(key));
  }
  std::unique_ptr<PolicyHolder> holder(new PolicyHolder(config, std::move(trust)));
  std::string stamp = FileStamp(config.bundle_file());
  ASSIGN_OR_RETURN(std::shared_ptr<const LoadedPolicy> live,
                   holder->LoadFile(config.bundle_file()));
  std::lock_guard<std::mutex> lock(holder->mu_);
  holder->live_ = std::move(live);
  holder->live_stamp_ = stamp;
  if (!config.shadow_bundle_file().empty()) {
    holder->shadow_stamp_ = FileStamp(config.shadow_bundle_file());
    absl::StatusOr<std::shared_ptr<const LoadedPolicy>> shadow =
        holder->LoadFile(config.shadow_bundle_file());
    if (!shadow.ok()) {
      return absl::Status(shadow.status().code(),
                          absl::StrCat("shadow policy: ", shadow.status().message()));
    }
    holder->shadow_ = *std::move(shadow);
  }
  return holder;
}

absl::StatusOr<std::shared_ptr<const LoadedPolicy>> PolicyHolder::LoadFile(
    const std::string& path) const {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  auto refused = [&path](const absl::Status& s) {
    return absl::Status(s.code(),
                        absl::StrCat("policy bundle '", path, "' refused: ", s.message()));
  };
  // Verified once; the engine is built from the verified payload.
  absl::StatusOr<v1::PolicyBundlePayload> payload = policy::VerifyBundle(bytes, trust_);
  if (!payload.ok()) return refused(payload.status());
  v1::CompiledPolicy compiled;
  if (!compiled.ParseFromString(payload->compiled_policy())) {
    return refused(absl::InvalidArgumentError("bundle's compiled policy does not parse"));
  }
  absl::StatusOr<policy::Engine> engine = policy::Engine::FromCompiled(compiled);
  if (!engine.ok()) return refused(engine.status());
  auto loaded = std::make_shared<LoadedPolicy>(LoadedPolicy{
      *std::move(engine), compiled.name(), payload->version(), HexSha256(bytes),
      std::max<int>(trust_.min_signatures, static_cast<int>(payload->required_signatures())),
      payload->issued_unix_ms(), policy::BundleNotAfter(*payload)});
  return std::shared_ptr<const LoadedPolicy>(std::move(loaded));
}

absl::Status PolicyHolder::CheckInForce(absl::Time now) const {
  std::shared_ptr<const LoadedPolicy> p = live();
  if (p == nullptr) return absl::FailedPreconditionError("no policy is loaded");
  absl::Status s = policy::CheckBundleExpiry(p->not_after, now);
  if (s.ok()) return s;
  return absl::FailedPreconditionError(absl::StrCat(
      "the policy in force (", p->name, " version ", p->version, "): ", s.message(),
      "; no record is sent or accepted until a newer signed bundle is loaded"));
}

PolicyHolder::Outcome PolicyHolder::Decide(const policy::Request& request) const {
  Outcome o;
  {
    std::lock_guard<std::mutex> lock(mu_);
    o.live_policy = live_;
    o.shadow_policy = shadow_;
  }
  o.live = o.live_policy->engine.Evaluate(request);
  if (o.shadow_policy != nullptr) {
    o.shadow = o.shadow_policy->engine.Evaluate(request);
    o.differs = o.live.allowed != o.shadow.allowed || o.live.outcome != o.shadow.outcome ||
                Outcome::RuleIds(o.live) != Outcome::RuleIds(o.shadow);
  }
  return o;
}

std::vector<PolicyHolder::Reload> PolicyHolder::ReloadIfChanged() {
  std::vector<Reload> out;
  auto reload = [&](const std::string& which, const std::string& path, std::string* stamp_field,
                    std::shared_ptr<const LoadedPolicy>* slot) {
    std::string stamp = FileStamp(path);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stamp == *stamp_field) return;
      *stamp_field = stamp;
    }
    Reload r;
    r.which = which;
    absl::StatusOr<std::shared_ptr<const LoadedPolicy>> loaded = LoadFile(path);
    std::lock_guard<std::mutex> lock(mu_);
    if (loaded.ok() && slot == &live_ && *slot != nullptr) {
      absl::Status newer = IssuedNoEarlier(**loaded, (*slot)->issued_unix_ms, "the policy in force");
      if (newer.ok() && !floor_file_.empty()) {
        newer = WriteFloor(floor_file_, (*loaded)->issued_unix_ms);
      }
      if (!newer.ok()) loaded = newer;
    }
    if (loaded.ok()) {
      *slot = *std::move(loaded);
      r.loaded = true;
    } else {
      r.error = std::string(loaded.status().message());
    }
    if (*slot != nullptr) {
      r.version = (*slot)->version;
      r.sha256 = (*slot)->sha256;
    }
    out.push_back(std::move(r));
  };
  reload("policy", config_.bundle_file(), &live_stamp_, &live_);
  if (!config_.shadow_bundle_file().empty()) {
    reload("shadow policy", config_.shadow_bundle_file(), &shadow_stamp_, &shadow_);
  }
  return out;
}

std::shared_ptr<const LoadedPolicy> PolicyHolder::live() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_;
}

std::shared_ptr<const LoadedPolicy> PolicyHolder::shadow() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shadow_;
}

}  // namespace gatehouse

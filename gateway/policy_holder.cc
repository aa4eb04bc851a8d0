#include "gateway/policy_holder.h"

#include <sys/stat.h>

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
  return policy::ParseOfficerPublicKey(text,
                                       absl::StrCat("policy.officerKeyFiles: '", path, "'"));
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
  return p->CheckInForce(now);
}

void PolicyHolder::InForce(std::shared_ptr<const LoadedPolicy>* live,
                           std::shared_ptr<const LoadedPolicy>* shadow) const {
  std::lock_guard<std::mutex> lock(mu_);
  *live = live_;
  *shadow = shadow_;
}

PolicyHolder::Outcome PolicyHolder::Decide(const policy::Request& request) const {
  std::shared_ptr<const LoadedPolicy> live, shadow;
  InForce(&live, &shadow);
  return PolicyOutcome::Of(std::move(live), std::move(shadow), request);
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

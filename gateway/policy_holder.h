// The policy a gateway enforces (a signed bundle, verified against its
// security officers' keys) and, optionally, a candidate run in shadow mode.
// Both reload when their files change; a bundle that does not verify or
// compile is refused and the last good one stays.
//
// Thread-safe. Decide takes a snapshot, so a reload never changes a policy
// under a decision in progress.
//
// Example:
//   ASSIGN_OR_RETURN(auto holder, PolicyHolder::Load(config.policy()));
//   PolicyHolder::Outcome o = holder->Decide(request);
//   if (!o.live.allowed) return absl::PermissionDeniedError(o.Explain());
#ifndef GATEHOUSE_GATEWAY_POLICY_HOLDER_H_
#define GATEHOUSE_GATEWAY_POLICY_HOLDER_H_

#include <memory>
#include <string>
#include <vector>

#include "common/files.h"
#include "absl/status/statusor.h"
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/config.pb.h"
#include "policy/bundle.h"
#include "policy/engine.h"
#include "gateway/record/trust.h"

namespace gatehouse {

class PolicyHolder {
 public:
  // Loads the live bundle (required) and the shadow bundle (if configured).
  // InvalidArgument/Unauthenticated naming the file if either is refused.
  static absl::StatusOr<std::unique_ptr<PolicyHolder>> Load(const v1::PolicyConfig& config);

  // OK while the live bundle may be enforced at `now`; FailedPrecondition
  // naming its expiry once it has expired. Like the directory's expiry, a
  // rule of every call: records are neither sent nor accepted under an
  // expired policy, and a newer signed bundle resumes them.
  absl::Status CheckInForce(absl::Time now) const;

  using Outcome = PolicyOutcome;
  Outcome Decide(const policy::Request& request) const;

  // What a reload did, for the audit and metrics.
  struct Reload {
    std::string which;  // "policy" or "shadow policy"
    bool loaded = false;
    std::string version;  // of the bundle now in force
    std::string sha256;
    std::string error;    // when refused
  };
  // Re-reads whichever bundle file changed since it was last read. A live
  // bundle issued before the live one (a rollback) is refused.
  std::vector<Reload> ReloadIfChanged();

  // Keeps the issue time of the newest live bundle enforced in `path` (in
  // the gateway's data directory, read once it is locked), so that a
  // rollback is refused across restarts too: FailedPrecondition if the live
  // bundle was issued before the one recorded there.
  absl::Status KeepIssuedFloor(const std::string& path);

  std::shared_ptr<const LoadedPolicy> live() const;
  std::shared_ptr<const LoadedPolicy> shadow() const;
  // Both, as one consistent pair.
  void InForce(std::shared_ptr<const LoadedPolicy>* live,
               std::shared_ptr<const LoadedPolicy>* shadow) const;

 private:
  explicit PolicyHolder(v1::PolicyConfig config, policy::BundleTrust trust)
      : config_(std::move(config)), trust_(std::move(trust)) {}
  absl::StatusOr<std::shared_ptr<const LoadedPolicy>> LoadFile(const std::string& path) const;

  const v1::PolicyConfig config_;
  const policy::BundleTrust trust_;
  mutable std::mutex mu_;
  std::shared_ptr<const LoadedPolicy> live_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const LoadedPolicy> shadow_ ABSL_GUARDED_BY(mu_);
  std::string live_stamp_ ABSL_GUARDED_BY(mu_);
  std::string shadow_stamp_ ABSL_GUARDED_BY(mu_);
  std::string floor_file_ ABSL_GUARDED_BY(mu_);  // "" until KeepIssuedFloor
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_POLICY_HOLDER_H_

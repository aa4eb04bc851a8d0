// What a gateway trusts at one moment, as immutable values a call takes
// once and decides everything against: the directory (indexed by
// organisation, with the parties' keys), the policy bundle in force and its
// shadow, and this gateway's own keyset. Loading, verifying and auditing
// each part is the daemon's (DirectoryCache, PolicyHolder, KeyHolder); a
// reload publishes a new value and calls in flight keep the one they took,
// so one record is never decided against two versions of anything.
//
// Example:
//   TrustSnapshot trust = ctx->Trust();           // once per call
//   RETURN_IF_ERROR(trust.CheckInForce(absl::Now()));
//   PolicyOutcome o = trust.Decide(request);
//
// Thread-safe: immutable values and pure functions.
#ifndef GATEHOUSE_GATEWAY_RECORD_TRUST_H_
#define GATEHOUSE_GATEWAY_RECORD_TRUST_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "envelope/header.h"
#include "envelope/keyset.h"
#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/directory.pb.h"
#include "gatehouse/v1/peer.pb.h"
#include "policy/engine.h"

namespace gatehouse {

// One version of the directory, immutable, indexed by organisation.
class DirectorySnapshot {
 public:
  DirectorySnapshot(v1::Directory directory, absl::Time not_after, absl::Duration grace);

  // The entry for `org_id`, or null if the directory does not list it.
  const v1::Organisation* Find(const std::string& org_id) const;
  const v1::Directory& directory() const { return directory_; }
  uint64_t version() const { return directory_.version(); }
  absl::Time not_after() const { return not_after_; }
  absl::Duration grace() const { return grace_; }

  // OK while this directory may be used at `now`; otherwise
  // FailedPrecondition naming its version and when it expired.
  absl::Status CheckInForce(absl::Time now) const;

  // The verification keys the directory lists for `sender_org`;
  // Unauthenticated if it lists none or the organisation is unknown.
  absl::StatusOr<std::vector<envelope::VerifyingKey>> SenderKeys(
      const std::string& sender_org) const;
  // The public key (32 bytes) of `sender_org`'s listed key that signed an
  // envelope with `header`: Unauthenticated if the directory does not list it.
  absl::StatusOr<std::string> VerifiedBy(const std::string& sender_org,
                                         const envelope::EnvelopeHeader& header) const;

 private:
  const v1::Directory directory_;
  const absl::Time not_after_;
  const absl::Duration grace_;
  absl::flat_hash_map<std::string, int> by_org_;  // org id -> index in directory_
};

// One verified policy bundle and the engine built from it.
struct LoadedPolicy {
  policy::Engine engine;
  std::string name;     // the policy's name
  std::string version;  // the bundle's version string
  std::string sha256;   // hex digest of the bundle file, for the audit
  int required_signatures = 0;  // officer signatures it needed to load
  int64_t issued_unix_ms = 0;   // when policyc made the bundle (signed)
  absl::Time not_after = absl::InfiniteFuture();  // its expiry (signed), if it has one

  // OK while the bundle may be enforced at `now`; FailedPrecondition
  // naming its expiry once it has expired.
  absl::Status CheckInForce(absl::Time now) const;
};

// A decision by the live policy, and the shadow's if one is loaded. The
// policies are kept alive with it (the decisions' rule ids point into them).
struct PolicyOutcome {
  std::shared_ptr<const LoadedPolicy> live_policy;
  policy::Decision live;
  std::shared_ptr<const LoadedPolicy> shadow_policy;  // null without a shadow
  policy::Decision shadow;
  // True if a shadow is loaded and decided otherwise (allowed, outcome or
  // the deciding rules differ).
  bool differs = false;

  // Decides `request` by `live` and, if not null, `shadow`.
  static PolicyOutcome Of(std::shared_ptr<const LoadedPolicy> live,
                          std::shared_ptr<const LoadedPolicy> shadow,
                          const policy::Request& request);
  // The deciding rule ids of a decision, deciding rule first.
  static std::vector<std::string> RuleIds(const policy::Decision& d);
  // "live permitted by R1; shadow denied: ..." for the audit.
  std::string DescribeDifference() const;
  // Makes `e` (its parties and labels already set) the SHADOW_DIFFERS
  // entry: the shadow's decision, rules and version, and the difference.
  void FillShadowEntry(v1::AuditEntry* e) const;
};

// For a decision on an unknown or missing label, the labels given (so the
// refusal says what was wrong); otherwise "".
std::string DescribeUnknown(const policy::Decision& d, const policy::Request& r);

// Everything one call decides against. Any part may be null only in
// stand-ins for tests that do not use it.
struct TrustSnapshot {
  std::string org_id;  // this gateway's organisation
  std::shared_ptr<const DirectorySnapshot> directory;
  std::shared_ptr<const LoadedPolicy> policy;  // live
  std::shared_ptr<const LoadedPolicy> shadow;  // null without one
  std::shared_ptr<const envelope::Keyset> keyset;

  // OK while records may flow at `now`: the directory (within its grace)
  // and the live policy are unexpired; else FailedPrecondition naming which.
  absl::Status CheckInForce(absl::Time now) const;
  PolicyOutcome Decide(const policy::Request& request) const {
    return PolicyOutcome::Of(policy, shadow, request);
  }
  // The live policy's version, or "" without one.
  std::string policy_version() const { return policy ? policy->version : ""; }
};

// A record opened on the receiving side.
struct OpenedContent {
  envelope::EnvelopeHeader header;  // authenticated
  v1::SealedContent content;        // authenticated and decrypted
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECORD_TRUST_H_

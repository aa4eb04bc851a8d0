// Signed policy bundles: a compiled policy plus Ed25519 signatures of
// security officers (libsodium). The bundle states how many distinct
// officer signatures it needs; that number is inside the signed bytes, so
// it cannot be lowered without breaking every signature.
//
// Signed message (each officer): "gatehouse.policy.v1" || 0x00 || payload,
// where payload is the exact serialized PolicyBundlePayload bytes.
//
// Stateless functions; thread-safe.
//
// Example:
//   ASSIGN_OR_RETURN(std::string b, MakeBundle(compiled, /*required=*/2, "v7"));
//   ASSIGN_OR_RETURN(b, SignBundle(b, alice.secret_key, "alice"));
//   ASSIGN_OR_RETURN(b, SignBundle(b, bob.secret_key, "bob"));
//   ASSIGN_OR_RETURN(auto payload, VerifyBundle(b, trust));
#ifndef GATEHOUSE_POLICY_BUNDLE_H_
#define GATEHOUSE_POLICY_BUNDLE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gatehouse/v1/policy.pb.h"

namespace gatehouse::policy {

// Who may sign policy for this gateway.
struct BundleTrust {
  // Raw 32-byte Ed25519 public keys of the security officers.
  std::vector<std::string> officer_keys;
  // The gateway's own floor: a bundle needs at least
  // max(its required_signatures, min_signatures) valid signatures.
  int min_signatures = 1;
};

// An officer key pair. The secret key is 64 bytes (libsodium format) and
// must never be written anywhere but the officer's own key file.
struct OfficerKeyPair {
  std::string public_key;  // 32 bytes
  std::string secret_key;  // 64 bytes
};

OfficerKeyPair GenerateOfficerKey();

// The most officer signatures a bundle may require.
constexpr int kMaxRequiredSignatures = 64;

// Wraps a compiled policy in an unsigned bundle that needs `required`
// signatures (1 to kMaxRequiredSignatures; InvalidArgument otherwise),
// issued at `issued` (gateways refuse a bundle issued before the one they
// enforce).
absl::StatusOr<std::string> MakeBundle(
    const gatehouse::v1::CompiledPolicy& compiled, int required,
    absl::string_view version, absl::Time issued = absl::Now());

// Returns the bundle with one more signature. InvalidArgument if the bundle
// does not parse or the key is malformed; AlreadyExists if this key has
// already signed. The input is left unchanged.
absl::StatusOr<std::string> SignBundle(absl::string_view bundle,
                                       absl::string_view secret_key,
                                       absl::string_view signer_name);

// Checks every signature and returns the payload. Fails, changing nothing:
//   InvalidArgument  bundle or payload does not parse; required_signatures 0
//   Unauthenticated  a signature does not verify (content tampered), a
//                    signer's key is not trusted, a key signed twice, or
//                    fewer valid signatures than required
absl::StatusOr<gatehouse::v1::PolicyBundlePayload> VerifyBundle(
    absl::string_view bundle, const BundleTrust& trust);

// Lowercase hex of the first 8 bytes of a public key, for messages.
std::string KeyFingerprint(absl::string_view public_key);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_BUNDLE_H_

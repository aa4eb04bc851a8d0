// Signed policy bundles: a compiled policy plus Ed25519 signatures of
// security officers (libsodium). The bundle states how many distinct
// officer signatures it needs; that number is inside the signed bytes, so
// it cannot be lowered without breaking every signature.
//
// Signed message (each officer): "gatehouse.policy.v1" || 0x00 || payload,
// where payload is the exact serialized PolicyBundlePayload bytes.
//
// A bundle may carry an expiry (signed, like everything in the payload):
// VerifyBundle refuses it once expired, and a gateway holding it checks
// CheckBundleExpiry(BundleNotAfter(payload), now) on every call, as it does
// for the directory's.
//
// Stateless functions; thread-safe.
//
// Example:
//   ASSIGN_OR_RETURN(std::string b,
//                    MakeBundle(compiled, /*required=*/2, "v7", absl::Now(),
//                               absl::Now() + absl::Hours(24 * 90)));
//   ASSIGN_OR_RETURN(b, SignBundle(b, alice.secret_key, "alice"));
//   ASSIGN_OR_RETURN(b, SignBundle(b, bob.secret_key, "bob"));
//   ASSIGN_OR_RETURN(auto payload, VerifyBundle(b, trust));
//   absl::Time not_after = BundleNotAfter(payload);  // keep; check per call
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

// Reads an officer's public key as `policyc keygen` writes it to NAME.pub:
// 64 hex digits (either case), whitespace around them ignored. Returns the
// raw 32-byte key. InvalidArgument otherwise: "<source> is not an officer's
// public key from policyc keygen (64 hex digits)", where `source` names
// where the text came from (a path; a config field and path).
// The one reader of officer keys: policyc, the gateway and the workbench all
// call it, so a file one accepts the others accept.
//
// Example:
//   ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//   ASSIGN_OR_RETURN(std::string key, ParseOfficerPublicKey(text, path));
//   trust.officer_keys.push_back(key);
absl::StatusOr<std::string> ParseOfficerPublicKey(absl::string_view text,
                                                  absl::string_view source);

// The same for an officer's secret key file NAME.key (128 hex digits; the
// raw key is 64 bytes): "<source> is not an officer's secret key from
// policyc keygen (128 hex digits)". The message never quotes the text.
absl::StatusOr<std::string> ParseOfficerSecretKey(absl::string_view text,
                                                  absl::string_view source);

// The most officer signatures a bundle may require.
constexpr int kMaxRequiredSignatures = 64;

// Wraps a compiled policy in an unsigned bundle that needs `required`
// signatures (1 to kMaxRequiredSignatures), issued at `issued` (gateways
// refuse a bundle issued before the one they enforce) and valid until
// `not_after` (InfiniteFuture: no expiry). InvalidArgument if `required` is
// out of range or `not_after` is not after `issued`.
absl::StatusOr<std::string> MakeBundle(
    const gatehouse::v1::CompiledPolicy& compiled, int required,
    absl::string_view version, absl::Time issued = absl::Now(),
    absl::Time not_after = absl::InfiniteFuture());

// Returns the bundle with one more signature. InvalidArgument if the bundle
// does not parse, the key is malformed or `signer_name` is empty or blank
// (people read it to know who approved); AlreadyExists if this key has
// already signed. The input is left unchanged.
absl::StatusOr<std::string> SignBundle(absl::string_view bundle,
                                       absl::string_view secret_key,
                                       absl::string_view signer_name);

// Checks every signature, then the expiry against `now`, and returns the
// payload. Fails, changing nothing:
//   InvalidArgument  bundle or payload does not parse; required_signatures 0
//   Unauthenticated  a signature does not verify (content tampered), a
//                    signer's key is not trusted, a key signed twice, or
//                    fewer valid signatures than required; or the bundle
//                    expired at or before `now` (CheckBundleExpiry)
// A bundle without an expiry (made before expiries existed, or without
// one) never expires.
absl::StatusOr<gatehouse::v1::PolicyBundlePayload> VerifyBundle(
    absl::string_view bundle, const BundleTrust& trust,
    absl::Time now = absl::Now());

// When a verified payload stops being valid: InfiniteFuture() if it has no
// expiry.
absl::Time BundleNotAfter(const gatehouse::v1::PolicyBundlePayload& payload);

// OK while `now` is before `not_after`; otherwise Unauthenticated, e.g.
// "policy bundle expired at 2027-01-01T00:00:00Z; ask the security
// officers to compile and sign a fresh one". A gateway calls this on every
// decision with the not_after of the bundle it holds.
absl::Status CheckBundleExpiry(absl::Time not_after, absl::Time now);

// RFC 3339 UTC ("2027-01-01T00:00:00Z"), or "never" for InfiniteFuture.
std::string FormatBundleTime(absl::Time t);

// Lowercase hex of the first 8 bytes of a public key, for messages.
std::string KeyFingerprint(absl::string_view public_key);

// One signature of a bundle, as InspectBundle found it.
struct BundleSigner {
  std::string name;         // as the signer gave it (not authenticated)
  std::string public_key;   // the signing key's raw bytes, as the bundle holds them
  std::string fingerprint;  // KeyFingerprint of the signing key
  bool verifies = false;    // the signature is good for this payload
  bool trusted = false;     // the key is one of trust.officer_keys
};

// What a bundle says about itself, for people to review before they sign.
struct BundleContents {
  gatehouse::v1::PolicyBundlePayload payload;
  gatehouse::v1::CompiledPolicy compiled;
  std::vector<BundleSigner> signers;  // in signing order
  std::string digest;  // lowercase hex BLAKE2b-256 of the payload: what is signed
};

// Reads a bundle without judging it (VerifyBundle judges): its payload and
// policy, and each signature checked against the payload and `trust`.
// InvalidArgument if the bundle, payload or policy does not parse.
absl::StatusOr<BundleContents> InspectBundle(absl::string_view bundle,
                                             const BundleTrust& trust = {});

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_BUNDLE_H_

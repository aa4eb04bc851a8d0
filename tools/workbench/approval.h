// Approve: m of n security officers sign the draft, compiled to a bundle
// (policy/bundle.h), without their keys ever reaching the workbench. The
// workbench compiles the draft to an unsigned bundle; each officer signs it
// on their own machine (`policyc sign`) and hands back the signed file; the
// workbench checks the signatures it carries and merges them into the
// bundle being collected. The bundle is the whole state: the page holds it,
// every call here takes it and returns it, so nothing is kept on the server
// and a half-signed bundle can be saved and taken up again.
//
// What a signature must be to be counted (AddSignatures): over exactly the
// payload being collected (so over the same policy, version, issue time,
// expiry and m), by one of the officer keys the workbench was started with,
// verifying, and by a key that has not signed yet.
//
// Stateless functions over immutable values; thread-safe.
//
// Example:
//   ASSIGN_OR_RETURN(std::string b, CompileForApproval(draft.model, officers, "v7",
//                                                      absl::Now(), absl::InfiniteFuture()));
//   // ... the officer runs `policyc sign b --key alice.key --name alice -o signed` ...
//   ASSIGN_OR_RETURN(b, AddSignatures(b, signed_by_alice, officers));
//   ASSIGN_OR_RETURN(ApprovalReview r, ReviewApproval(b, officers));
//   if (r.ready) offer(b);
#ifndef GATEHOUSE_TOOLS_WORKBENCH_APPROVAL_H_
#define GATEHOUSE_TOOLS_WORKBENCH_APPROVAL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "policy/bundle.h"
#include "policy/model.h"

namespace gatehouse::workbench {

// One officer who may sign: the name people read, and the key that counts.
struct Officer {
  std::string name;        // from the key file's name (alice.pub: "alice")
  std::string public_key;  // raw 32-byte Ed25519 key
};

// Who may approve, and how many of them must (m of n).
struct Officers {
  std::vector<Officer> keys;  // n
  int required = 1;           // m, written into every bundle compiled here

  // The trust a gateway with these officer keys and floor m would have.
  policy::BundleTrust Trust() const;
};

// The officers of `paths` (NAME.pub files' contents, in the same order,
// read by policy::ParseOfficerPublicKey as policyc and the gateway read
// them), needing `required` of them. InvalidArgument if a key does not parse, two
// files hold the same key, or `required` is not between 1 and their number.
absl::StatusOr<Officers> MakeOfficers(const std::vector<std::string>& paths,
                                      const std::vector<std::string>& contents, int required);

// The model as an unsigned bundle needing `officers.required` signatures,
// as `policyc compile --required-signatures m` writes it. InvalidArgument
// as MakeBundle (e.g. `not_after` not after `issued`).
absl::StatusOr<std::string> CompileForApproval(const policy::Model& model,
                                               const Officers& officers,
                                               absl::string_view version, absl::Time issued,
                                               absl::Time not_after);

// `collected` with every signature of `upload` that it did not have yet.
// Fails, and nothing is merged:
//   InvalidArgument   either does not parse as a bundle; or `upload` is
//                     over a different payload (another bundle, or this one
//                     altered): "sign the bundle this page offers"
//   Unauthenticated   a signature in `upload` does not verify, or is by a
//                     key that is not one of `officers`
//   AlreadyExists     every officer who signed `upload` has signed already
//                     (counted once)
absl::StatusOr<std::string> AddSignatures(absl::string_view collected, absl::string_view upload,
                                          const Officers& officers);

// One officer, as the page shows them.
struct OfficerStatus {
  std::string name;
  std::string fingerprint;  // policy::KeyFingerprint
  bool is_signed = false;   // a good signature by this key is in the bundle
  std::string signed_as;    // the name given when signing, if signed
};

// What will be signed and who has signed, for people to review.
struct ApprovalReview {
  policy::BundleContents contents;  // version, digest, policy, signatures
  std::vector<OfficerStatus> officers;
  int signed_count = 0;  // distinct officers with a good signature
  int required = 0;      // max(the bundle's m, officers.required)
  // The bundle verifies as a gateway trusting `officers` would verify it
  // (policy::Engine::FromBundle), at the time of review.
  bool ready = false;
  std::string not_ready;  // why not, when !ready
};

// Reviews `bundle` against `officers` at `now`. InvalidArgument if it does
// not parse (policy::InspectBundle).
absl::StatusOr<ApprovalReview> ReviewApproval(absl::string_view bundle,
                                              const Officers& officers,
                                              absl::Time now = absl::Now());

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_APPROVAL_H_

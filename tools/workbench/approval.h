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
// An officer may instead sign here, without the command line: the
// workbench is started with their sealed key (`policyc keygen
// --passphrase-file` writes NAME.sealed, policy/sealed_key.h) and the
// officer types the passphrase on the page (SignHere). The key is opened
// for that one signature and wiped; neither it nor the passphrase is kept.
// m of n still means m people: each signature needs a secret only its
// officer knows. PassphraseGuard stops guessing: after kMaxWrongPassphrases
// wrong passphrases in a row an officer's key is locked until restart.
//
// Functions over immutable values, and PassphraseGuard; thread-safe.
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

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "policy/bundle.h"
#include "policy/model.h"
#include "policy/sealed_key.h"

namespace gatehouse::workbench {

// One officer who may sign: the name people read, and the key that counts.
struct Officer {
  std::string name;        // from the key file's name (alice.pub: "alice")
  std::string public_key;  // raw 32-byte Ed25519 key
  // Set if the workbench may sign for this officer once they give the
  // passphrase (AddSealedKeys).
  std::shared_ptr<const policy::SealedOfficerKey> sealed;
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

// Gives each officer the sealed key of `paths` (NAME.sealed files'
// `contents`, in the same order) that holds their public key.
// InvalidArgument naming the file if one does not parse, holds no
// officer's key ("give its NAME.pub with --officer"), or is a second
// sealed key of one officer. On error `officers` is unchanged.
absl::Status AddSealedKeys(const std::vector<std::string>& paths,
                           const std::vector<std::string>& contents, Officers* officers);

// Wrong passphrases in a row after which an officer's key is locked.
inline constexpr int kMaxWrongPassphrases = 5;

// Counts each officer's wrong passphrases in a row. Thread-safe.
class PassphraseGuard {
 public:
  // PermissionDenied if `officer` is locked.
  absl::Status Check(const std::string& officer) const;
  // A right passphrase clears the count; a wrong one adds to it.
  void Record(const std::string& officer, bool right);
  // Held while a sealed key is opened: one Argon2id (64 MiB) at a time,
  // however many requests come at once.
  absl::Mutex& opening() { return opening_; }

 private:
  absl::Mutex opening_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> wrong_ ABSL_GUARDED_BY(mu_);
};

// `collected` with the signature of officer `name`, made here with their
// sealed key opened by `passphrase`, signed as `signed_as` (the officer's
// name if empty), then merged as AddSignatures merges an upload. Fails,
// and nothing is signed:
//   NotFound          no officer is called `name`
//   InvalidArgument   the officer has no sealed key here (sign with policyc
//                     and upload), or `collected` is not a bundle
//   PermissionDenied  the passphrase is wrong, or the officer is locked
//                     after kMaxWrongPassphrases wrong ones (`guard`)
//   AlreadyExists     the officer has signed already
absl::StatusOr<std::string> SignHere(absl::string_view collected, const Officers& officers,
                                     const std::string& name, absl::string_view passphrase,
                                     absl::string_view signed_as, PassphraseGuard& guard);

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
  bool sign_here = false;   // the workbench holds their sealed key
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

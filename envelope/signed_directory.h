// The signed directory: a serialized gatehouse.v1.Directory signed by the
// directory authority's Ed25519 key with an issue time and an expiry
// (docs/envelope.md, "Signed directory"). The authority signs with
// SignDirectory (tools/ghkey sign-directory); a gateway verifies with
// VerifySignedDirectory and holds the last good one in a DirectoryHolder,
// which refuses an unsigned, tampered, expired or older directory and keeps
// what it had.
//
// Free functions are thread-safe; DirectoryHolder is thread-safe.
//
// Example:
//   DirectoryHolder holder(authority_keys);
//   if (absl::Status s = holder.Update(file_bytes, absl::Now()); !s.ok()) {
//     LOG(ERROR) << "kept directory version " << holder.current()->version() << ": " << s;
//   }
#ifndef GATEHOUSE_ENVELOPE_SIGNED_DIRECTORY_H_
#define GATEHOUSE_ENVELOPE_SIGNED_DIRECTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "gatehouse/v1/directory.pb.h"
#include "gatehouse/v1/envelope.pb.h"
#include "envelope/key_id.h"
#include "envelope/keyset.h"

namespace gatehouse::envelope {

// Checks what a gateway relies on in a directory: org ids present and
// unique, encryption key 32 bytes if present, each verification key 32
// bytes. InvalidArgument naming the first problem.
absl::Status ValidateDirectory(const v1::Directory& directory);

// Signs `directory` with `authority`'s primary signing key. InvalidArgument
// if the directory does not validate, not_after <= issued, or the keyset has
// no primary signing key.
absl::StatusOr<v1::SignedDirectory> SignDirectory(const v1::Directory& directory,
                                                  const Keyset& authority, absl::Time issued,
                                                  absl::Time not_after);

// Verifies a serialized SignedDirectory and returns the directory in it.
//   InvalidArgument  not a canonical SignedDirectory, or its directory does
//                    not parse or validate
//   Unauthenticated  unsigned, signed by a key not in `authority_keys`, a
//                    signature that does not verify (tampered), expired at
//                    `now`, or issued more than 5 minutes after `now`
absl::StatusOr<v1::Directory> VerifySignedDirectory(absl::string_view signed_bytes,
                                                    absl::Span<const VerifyingKey> authority_keys,
                                                    absl::Time now);

// The last good directory. Thread-safe.
class DirectoryHolder {
 public:
  explicit DirectoryHolder(std::vector<VerifyingKey> authority_keys)
      : authority_keys_(std::move(authority_keys)) {}

  // Verifies `signed_bytes` and, if good, makes it current. Refused (with
  // the current directory unchanged): every VerifySignedDirectory error, and
  // InvalidArgument for a version lower than the current one, or the same
  // version with different contents.
  absl::Status Update(absl::string_view signed_bytes, absl::Time now);

  // The current directory, or nullptr before the first good Update. The
  // pointer stays valid after a later Update replaces it.
  std::shared_ptr<const v1::Directory> current() const;
  // When the current directory expires (InfinitePast before the first).
  absl::Time not_after() const;

 private:
  const std::vector<VerifyingKey> authority_keys_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const v1::Directory> current_ ABSL_GUARDED_BY(mu_);
  std::string current_bytes_ ABSL_GUARDED_BY(mu_);
  absl::Time not_after_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_SIGNED_DIRECTORY_H_

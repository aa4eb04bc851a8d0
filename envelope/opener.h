// Opener: the receiving gateway's side. Opens envelopes from either sealer
// mode, checking in this order (docs/envelope.md, "Opening"):
//   1. the encoding is canonical and the header well formed;
//   2. the header names the expected sender and recipient organisations;
//   3. the signing key id is one of the sender's keys from the directory,
//      and the signature verifies (per record, or over the batch root that
//      the record's inclusion path leads to);
//   4. only then: the data key is unwrapped with our key named in the header,
//      checked against the header's commitment, and the payload decrypted
//      with the header as associated data.
// Any failure returns an error and no header or payload.
//
// Batch mode is fast because an Opener remembers, in bounded caches, batch
// signatures it has verified (keyed by the exact public key, tree size, root
// and signature bytes) and data keys it has unwrapped (keyed by our key id and
// the exact wrapped bytes); every record's path, commitment and AEAD tag are
// still checked.
//
// Thread-safe: Open is const and may be called from many threads at once
// (the caches are behind a mutex).
//
// Example:
//   ASSIGN_OR_RETURN(auto opener, Opener::Create(keyset));
//   ASSIGN_OR_RETURN(auto keys, VerifyingKeysFromDirectory(health_entry));
//   ASSIGN_OR_RETURN(OpenedRecord r,
//                    opener->Open(envelope, {"nhs-trust-a", "council-a"}, keys));
#ifndef GATEHOUSE_ENVELOPE_OPENER_H_
#define GATEHOUSE_ENVELOPE_OPENER_H_

#include <array>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/types/span.h"
#include "envelope/header.h"
#include "envelope/key_id.h"
#include "envelope/keyset.h"

namespace gatehouse::envelope {

// Who the receiver expects: the sender from the peer's certificate, the
// recipient is this gateway's organisation.
// Views: the strings must outlive the Open call.
struct ExpectedParties {
  absl::string_view sender_org;
  absl::string_view recipient_org;
};

struct OpenedRecord {
  EnvelopeHeader header;  // authenticated
  std::string payload;
};

struct OpenerOptions {
  // Verified batch signatures remembered; the cache is emptied when full.
  size_t verified_batch_cache_entries = 4096;
  // Unwrapped data keys remembered (wiped when evicted).
  size_t data_key_cache_entries = 1024;
};

class Opener {
 public:
  // Opens records sealed to `keyset`'s encryption keys (primary and enabled).
  // InvalidArgument if the keyset has no encryption key.
  static absl::StatusOr<std::unique_ptr<Opener>> Create(std::shared_ptr<const Keyset> keyset,
                                                        OpenerOptions options = {});
  ~Opener();

  // Verifies and opens one envelope. Errors, with nothing returned:
  //   InvalidArgument   malformed or non-canonical encoding; a stream-mode
  //                     header; sender or recipient not the expected ones
  //   ResourceExhausted envelope over kMaxEnvelopeBytes
  //   Unauthenticated   signing key id not among `sender_keys`; signature or
  //                     inclusion path does not verify; data key does not
  //                     unwrap or does not match the commitment; payload
  //                     does not decrypt
  //   NotFound          sealed to a key id this keyset does not hold
  absl::StatusOr<OpenedRecord> Open(absl::string_view envelope, const ExpectedParties& parties,
                                    absl::Span<const VerifyingKey> sender_keys) const;

 private:
  // public key (32) || tree size (8) || root (32) || signature (64)
  using BatchKey = std::array<uint8_t, 136>;
  // our key id (8) || wrapped data key (80)
  using WrappedKey = std::array<uint8_t, 88>;

  Opener(std::shared_ptr<const Keyset> keyset, OpenerOptions options)
      : keyset_(std::move(keyset)), options_(options) {}
  bool BatchVerified(const BatchKey& key) const;
  void RememberBatch(const BatchKey& key) const;
  // A data key and its commitment (computed once per unwrap).
  struct DataKey {
    SecretKey key;
    std::array<uint8_t, kCommitmentBytes> commitment{};
  };
  bool CachedDataKey(const WrappedKey& key, DataKey* data_key) const;
  void RememberDataKey(const WrappedKey& key, const DataKey& data_key) const;
  void ClearDataKeysLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::shared_ptr<const Keyset> keyset_;
  OpenerOptions options_;
  mutable std::mutex mu_;
  mutable absl::flat_hash_set<BatchKey> verified_batches_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<WrappedKey, DataKey> data_keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_OPENER_H_

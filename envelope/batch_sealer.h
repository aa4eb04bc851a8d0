// BatchSealer: the sending gateway's amortised mode, for volume. Two costs
// of the per-record mode are shared without weakening what each record
// proves (docs/envelope.md, "Batch mode"):
//   - one data key per (recipient key, epoch), sealed to the recipient once
//     and carried, wrapped, in every envelope of that epoch; each record
//     still has its own random nonce, its header as associated data, and the
//     commitment to the data key in its header;
//   - one Ed25519 signature per batch over the root of a Merkle tree whose
//     leaves are the records' digests; each envelope carries the signature
//     and its inclusion path, so it still verifies on its own.
// Add encrypts at once; Finish builds the tree, signs, and returns the
// envelopes. Epoch keys outlive batches.
//
// Not thread-safe: use one BatchSealer per sending thread (they may share a
// Keyset). Records in a batch may go to different recipients.
//
// Example:
//   ASSIGN_OR_RETURN(auto batch, BatchSealer::Create(keyset));
//   for (const Outgoing& r : queue) RETURN_IF_ERROR(batch->Add(r.labels, r.to, r.payload));
//   ASSIGN_OR_RETURN(std::vector<std::string> envelopes, batch->Finish());
#ifndef GATEHOUSE_ENVELOPE_BATCH_SEALER_H_
#define GATEHOUSE_ENVELOPE_BATCH_SEALER_H_

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "envelope/digest.h"
#include "envelope/header.h"
#include "envelope/keyset.h"

namespace gatehouse::envelope {

struct BatchSealerOptions {
  // A data key is used for at most this long...
  absl::Duration epoch = absl::Minutes(10);
  // ...and for at most this many records, then a new one is wrapped.
  uint64_t max_records_per_data_key = uint64_t{1} << 24;
  // Add refuses more than this many records before Finish (<= 2^20).
  size_t max_batch_records = 4096;
  // Source of time for epochs; tests substitute a fake.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

class BatchSealer {
 public:
  // Signs with the keyset's primary signing key. InvalidArgument if it has
  // none or the options are out of range.
  static absl::StatusOr<std::unique_ptr<BatchSealer>> Create(std::shared_ptr<const Keyset> keyset,
                                                             BatchSealerOptions options = {});
  ~BatchSealer();

  // Encrypts one record into the pending batch. On error nothing is added:
  // InvalidArgument as Sealer::Seal; ResourceExhausted if the batch already
  // holds max_batch_records or the payload is over kMaxPayloadBytes.
  absl::Status Add(const RecordLabels& labels, const RecipientKey& recipient,
                   absl::string_view payload);

  // Records added since the last Finish.
  size_t size() const { return pending_.size(); }

  // Signs the pending batch and returns its envelopes in the order added
  // (empty if nothing is pending); the batch is then empty. The pointer form
  // replaces the contents of `*out`, reusing its strings' storage, so a
  // caller that keeps one vector allocates nothing per record.
  void Finish(std::vector<std::string>* out);
  std::vector<std::string> Finish();

 private:
  struct EpochKey {
    SecretKey data_key;
    std::array<uint8_t, internal::kWrappedKeyBytes> wrapped;
    internal::Hash commitment;
    absl::Time started;
    uint64_t used = 0;
  };
  struct Pending {
    size_t header_offset, header_size, ciphertext_offset, ciphertext_size;
    std::array<uint8_t, internal::kNonceBytes> nonce;
    std::array<uint8_t, internal::kWrappedKeyBytes> wrapped;
  };

  BatchSealer(std::shared_ptr<const Keyset> keyset, const Keyset::Key* signing_key,
              BatchSealerOptions options)
      : keyset_(std::move(keyset)), signing_key_(*signing_key), options_(std::move(options)) {}
  // The current data key for `recipient`, wrapping a new one if the epoch is
  // over or the key has been used max_records_per_data_key times.
  absl::StatusOr<EpochKey*> KeyFor(const RecipientKey& recipient);

  std::shared_ptr<const Keyset> keyset_;
  Keyset::Key signing_key_;  // a copy: later changes to the keyset do not affect it
  BatchSealerOptions options_;
  absl::flat_hash_map<KeyId, EpochKey> epoch_keys_;
  // Pending records: [kPayloadTag][header][ciphertext] per record, back to back.
  std::string arena_;
  std::vector<Pending> pending_;
  std::vector<internal::Hash> leaves_;
  // Nonces: a random 24-byte base drawn once per batch, with the record's
  // index in the batch added to its last 8 bytes (docs/envelope.md, "Batch
  // mode"): unique under a data key with overwhelming probability, without a
  // system call per record.
  std::array<uint8_t, internal::kNonceBytes> nonce_base_{};
};

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_BATCH_SEALER_H_

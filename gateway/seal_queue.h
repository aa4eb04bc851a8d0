// SealQueue: seals the gateway's outgoing records in the envelope's batch
// mode (docs/envelope.md, "Batch mode") on one thread of its own. Records
// queued while a batch is being sealed form the next batch, so a batch is as
// large as the load makes it and nothing waits for a timer: one record alone
// is sealed at once (one signature), and under load one Ed25519 signature and
// one wrapped data key per recipient and epoch serve many records.
//
// Each record still verifies on its own (its Merkle path to the signed
// root travels in its envelope).
//
// The queue, its thread and its stop are common/group_commit.h's.
//
// Thread-safe. `done` runs on the sealing thread, so it must not block.
#ifndef GATEHOUSE_GATEWAY_SEAL_QUEUE_H_
#define GATEHOUSE_GATEWAY_SEAL_QUEUE_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/group_commit.h"
#include "envelope/batch_sealer.h"
#include "envelope/keyset.h"

namespace gatehouse {

class SealQueue {
 public:
  using Done = std::function<void(absl::StatusOr<std::string> envelope)>;

  // InvalidArgument if the keyset has no primary signing key; max_batch is
  // the most records signed together (1..4096).
  static absl::StatusOr<std::unique_ptr<SealQueue>> Create(
      std::shared_ptr<const envelope::Keyset> keyset, size_t max_batch = 256);
  // Stop, if not yet.
  ~SealQueue();
  // Seals what is queued, runs its callbacks, then stops the thread; later
  // records get Unavailable at once.
  void Stop();
  SealQueue(const SealQueue&) = delete;
  SealQueue& operator=(const SealQueue&) = delete;

  // Queues one record; `done` gets its envelope, or InvalidArgument /
  // ResourceExhausted as BatchSealer::Add, or Unavailable once stopped.
  void Seal(envelope::RecordLabels labels, envelope::RecipientKey to, std::string plaintext,
            Done done);

  // Seals every batch after this one with `keyset`'s primary keys (a
  // rotated keyset, KeyHolder); records already queued may go either way.
  // InvalidArgument (and the keys in use stay) if it has no signing key.
  absl::Status Rekey(std::shared_ptr<const envelope::Keyset> keyset);

  // Batches signed and records sealed so far (for metrics and tests).
  uint64_t batches() const;
  uint64_t records() const;

 private:
  struct Item {
    envelope::RecordLabels labels;
    envelope::RecipientKey to;
    std::string plaintext;
  };
  using Batcher = GroupCommit<Item, absl::StatusOr<std::string>>;

  SealQueue(std::unique_ptr<envelope::BatchSealer> sealer, envelope::BatchSealerOptions options)
      : sealer_(std::move(sealer)), options_(options) {}
  // Seals `items` as one batch: each one's envelope, or the error Add gave it.
  std::vector<absl::StatusOr<std::string>> SealBatch(std::vector<Item>& items);

  std::unique_ptr<envelope::BatchSealer> sealer_;  // only the sealing thread uses it
  std::vector<std::string> envelopes_;             // reused by the sealing thread
  const envelope::BatchSealerOptions options_;

  mutable std::mutex mu_;
  uint64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t records_ ABSL_GUARDED_BY(mu_) = 0;
  // From Rekey: taken by the sealing thread before its next batch.
  std::unique_ptr<envelope::BatchSealer> next_sealer_ ABSL_GUARDED_BY(mu_);
  // The sealing thread and its queue (common/group_commit.h). Made last in
  // Create: its thread uses all of the above.
  std::unique_ptr<Batcher> batcher_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_SEAL_QUEUE_H_

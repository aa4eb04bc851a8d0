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
// Thread-safe. `done` runs on the sealing thread, so it must not block.
#ifndef GATEHOUSE_GATEWAY_SEAL_QUEUE_H_
#define GATEHOUSE_GATEWAY_SEAL_QUEUE_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
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

  // Batches signed and records sealed so far (for metrics and tests).
  uint64_t batches() const;
  uint64_t records() const;

 private:
  struct Item {
    envelope::RecordLabels labels;
    envelope::RecipientKey to;
    std::string plaintext;
    Done done;
  };
  SealQueue(std::unique_ptr<envelope::BatchSealer> sealer, size_t max_batch)
      : sealer_(std::move(sealer)), max_batch_(max_batch) {}
  void Run();
  // Seals `items` as one batch and runs their callbacks.
  void SealBatch(std::vector<Item>* items);

  std::unique_ptr<envelope::BatchSealer> sealer_;  // only the sealing thread uses it
  const size_t max_batch_;
  std::vector<std::string> envelopes_;  // reused by the sealing thread

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t records_ ABSL_GUARDED_BY(mu_) = 0;
  std::mutex join_mu_;  // one Stop joins
  std::thread thread_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_SEAL_QUEUE_H_

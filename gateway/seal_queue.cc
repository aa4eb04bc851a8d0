#include "gateway/seal_queue.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace gatehouse {

absl::StatusOr<std::unique_ptr<SealQueue>> SealQueue::Create(
    std::shared_ptr<const envelope::Keyset> keyset, size_t max_batch) {
  envelope::BatchSealerOptions options;
  if (max_batch == 0 || max_batch > options.max_batch_records) {
    return absl::InvalidArgumentError(
        absl::StrCat("seal batch size must be 1..", options.max_batch_records));
  }
  options.max_batch_records = max_batch;
  absl::StatusOr<std::unique_ptr<envelope::BatchSealer>> sealer =
      envelope::BatchSealer::Create(std::move(keyset), options);
  if (!sealer.ok()) return sealer.status();
  std::unique_ptr<SealQueue> q(new SealQueue(*std::move(sealer), options));
  Batcher::Options batching;
  batching.stopped = absl::UnavailableError("the gateway is stopping; retry");
  batching.max_batch_cost = max_batch;  // each record costs 1
  // A sealed batch's records reach the store's committer together, after
  // the last one's callback: one transaction and one sync for the batch.
  batching.defer_wakes_in_done = true;
  q->batcher_ = std::make_unique<Batcher>(
      [p = q.get()](std::vector<Item>& items) { return p->SealBatch(items); },
      std::move(batching));
  return q;
}

SealQueue::~SealQueue() { Stop(); }

void SealQueue::Stop() { batcher_->Stop(); }

void SealQueue::Seal(envelope::RecordLabels labels, envelope::RecipientKey to,
                     std::string plaintext, Done done) {
  batcher_->Submit(Item{std::move(labels), std::move(to), std::move(plaintext)},
                   std::move(done));
}

absl::Status SealQueue::Rekey(std::shared_ptr<const envelope::Keyset> keyset) {
  absl::StatusOr<std::unique_ptr<envelope::BatchSealer>> sealer =
      envelope::BatchSealer::Create(std::move(keyset), options_);
  if (!sealer.ok()) return sealer.status();
  std::lock_guard<std::mutex> lock(mu_);
  next_sealer_ = *std::move(sealer);
  return absl::OkStatus();
}

uint64_t SealQueue::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

uint64_t SealQueue::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

std::vector<absl::StatusOr<std::string>> SealQueue::SealBatch(std::vector<Item>& items) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (next_sealer_ != nullptr) sealer_ = std::move(next_sealer_);
  }
  // A record Add refuses gets its error; the others are sealed together, in
  // order, so the i-th envelope belongs to the i-th record added.
  std::vector<absl::StatusOr<std::string>> results;
  results.reserve(items.size());
  std::vector<size_t> added;
  added.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    absl::Status s = sealer_->Add(items[i].labels, items[i].to, items[i].plaintext);
    if (s.ok()) {
      added.push_back(i);
      results.emplace_back(std::string());  // its envelope, below
    } else {
      results.emplace_back(std::move(s));
    }
  }
  sealer_->Finish(&envelopes_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!added.empty()) ++batches_;
    records_ += added.size();
  }
  for (size_t k = 0; k < added.size(); ++k) results[added[k]] = std::move(envelopes_[k]);
  return results;
}

}  // namespace gatehouse

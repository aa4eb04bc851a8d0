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
  std::unique_ptr<SealQueue> q(new SealQueue(*std::move(sealer), max_batch));
  q->thread_ = std::thread([p = q.get()] { p->Run(); });
  return q;
}

SealQueue::~SealQueue() { Stop(); }

void SealQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  std::lock_guard<std::mutex> lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void SealQueue::Seal(envelope::RecordLabels labels, envelope::RecipientKey to,
                     std::string plaintext, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      queue_.push_back(
          Item{std::move(labels), std::move(to), std::move(plaintext), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(absl::UnavailableError("the gateway is stopping; retry"));
}

uint64_t SealQueue::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

uint64_t SealQueue::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

void SealQueue::Run() {
  std::vector<Item> items;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is sealed
      if (queue_.size() <= max_batch_) {
        items.swap(queue_);
      } else {
        auto cut = queue_.begin() + static_cast<std::ptrdiff_t>(max_batch_);
        items.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(cut));
        queue_.erase(queue_.begin(), cut);
      }
    }
    SealBatch(&items);
    items.clear();
  }
}

void SealQueue::SealBatch(std::vector<Item>* items) {
  // A record Add refuses gets its error; the others are sealed together, in
  // order, so the i-th envelope belongs to the i-th record added.
  std::vector<Item*> added;
  added.reserve(items->size());
  for (Item& item : *items) {
    absl::Status s = sealer_->Add(item.labels, item.to, item.plaintext);
    if (s.ok()) {
      added.push_back(&item);
    } else {
      item.done(s);
    }
  }
  sealer_->Finish(&envelopes_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!added.empty()) ++batches_;
    records_ += added.size();
  }
  for (size_t i = 0; i < added.size(); ++i) added[i]->done(std::move(envelopes_[i]));
}

}  // namespace gatehouse

// Delivers outbox records to peer gateways: at once when a record is
// submitted, then again with exponential backoff (and jitter) until the peer
// acknowledges it or refuses it for good. At-least-once: the peer
// deduplicates by record id. At most one attempt per record is in flight.
//
// Thread-safe. Start() once; Stop() waits for attempts in flight.
#ifndef GATEHOUSE_GATEWAY_OUTBOX_SENDER_H_
#define GATEHOUSE_GATEWAY_OUTBOX_SENDER_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>
#include <string>
#include <thread>

#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "gatehouse/v1/config.pb.h"
#include "gateway/context.h"

namespace gatehouse {

class OutboxSender {
 public:
  using Done = std::function<void(const OutboxEntry&)>;

  explicit OutboxSender(const GatewayContext* ctx)
      : ctx_(ctx),
        store_(ctx->store),
        directory_(ctx->directory),
        peers_(ctx->peers),
        retry_(ctx->config->retry()),
        metrics_(ctx->metrics) {}
  ~OutboxSender() { Stop(); }

  void Start();
  // Stops retrying and waits for attempts in flight to finish.
  void Stop();

  // Attempts `entry` now; `done` gets its state afterwards (delivered,
  // rejected, or still queued with the next attempt scheduled). If the
  // retry loop already has an attempt for it in flight, `done` gets that
  // attempt's outcome.
  void DeliverNow(const OutboxEntry& entry, Done done);

  // A record the peer has signed for whose delivered state is still being
  // written to the store: what the store will hold. nullopt otherwise.
  std::optional<OutboxEntry> Delivering(const std::string& record_id) const;

  // Wakes the retry loop (e.g. after the directory changed).
  void Kick();

  // The delay before retry number `attempts` (1 for the first retry).
  int64_t BackoffMs(int32_t attempts) const;
  // The delay before retry number `attempts` after a peer asked for
  // `retry_after_ms` (0: it did not): the longer of the two, but never more
  // than the maximum backoff, whatever the peer sent.
  int64_t RetryDelayMs(int32_t attempts, int64_t retry_after_ms) const;

 private:
  void Run();
  void Attempt(const OutboxEntry& entry, Done done);
  // The peer's receipt, if it is signed by the recipient and is for this
  // record and envelope.
  absl::StatusOr<v1::DeliveryReceipt> CheckReceipt(const OutboxEntry& entry,
                                                   const v1::DeliverResponse& response) const;
  // Callers waiting on `id`'s attempt; with `release`, the record is no
  // longer in flight.
  std::vector<Done> TakeWaiters(const std::string& id, bool release);
  void Finish(const OutboxEntry& entry, const grpc::Status& status,
              const v1::DeliverResponse& response, int64_t retry_after_ms, Done done);

  const GatewayContext* const ctx_;
  Store* const store_;
  const DirectoryCache* const directory_;
  PeerClient* const peers_;
  const v1::RetryConfig retry_;
  Metrics* const metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // stopping_, kicked_ or in_flight_ changed
  std::set<std::string> in_flight_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, OutboxEntry> marking_ ABSL_GUARDED_BY(mu_);
  // Callers of DeliverNow waiting on an attempt the retry loop started.
  std::map<std::string, std::vector<Done>> waiters_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool kicked_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_OUTBOX_SENDER_H_

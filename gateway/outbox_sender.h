// Delivers outbox records to peer gateways: at once when a record is
// submitted, then again with exponential backoff (and jitter) until the peer
// acknowledges it or refuses it for good. At-least-once: the peer
// deduplicates by record id. At most one attempt per record is in flight.
//
// Records to one peer share its link: while fewer than kCallsPerPeer calls
// to it are in flight a record goes at once (no added wait on an idle link);
// otherwise it waits for the next call to end and goes with the others
// waiting, up to kMaxDeliverBatch of them and 1 MiB, in one DeliverBatch. A
// peer that does not know DeliverBatch gets each record by Deliver.
//
// Thread-safe. Start() once; Stop() waits for attempts in flight.
#ifndef GATEHOUSE_GATEWAY_OUTBOX_SENDER_H_
#define GATEHOUSE_GATEWAY_OUTBOX_SENDER_H_

#include <deque>
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
#include "gateway/receipt.h"

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
  // Codes after which a retry cannot succeed without someone changing
  // something: the peer refused the record itself.
  static bool IsPermanent(grpc::StatusCode code);
  // Records in flight at once, all peers.
  static constexpr int kMaxInFlight = 256;

  // What an attempt's call came to: the status, the response, the peer's
  // retry-after-ms (0 if none) and the batch signatures already checked
  // (null outside a batch).
  using Outcome = std::function<void(const grpc::Status&, const v1::DeliverResponse&,
                                     int64_t retry_after_ms, VerifiedBatches*)>;
  // A record waiting on its peer's link.
  struct Queued {
    std::string envelope;
    Outcome outcome;
  };
  // The calls to one peer organisation.
  struct Link {
    int in_flight = 0;
    std::deque<Queued> waiting;
    // Until then, records go one a call: the peer said it has no DeliverBatch.
    int64_t no_batches_until_ms = 0;
  };

  void Run();
  void Attempt(const OutboxEntry& entry, Done done);
  // Sends `envelope` on `peer`'s link (above); `outcome` gets its own answer.
  void Send(const v1::Organisation& peer, std::string envelope, Outcome outcome);
  // The next call's records from `link`, counted in flight; empty if none
  // can start.
  std::vector<Queued> NextCall(Link& link) ABSL_EXCLUSIVE_LOCKS_REQUIRED(links_mu_);
  // Starts one call with `records`: Deliver for one, DeliverBatch for more.
  void Call(const v1::Organisation& peer, std::vector<Queued> records);
  // A call to `peer` ended: starts what its link can now send, then
  // CallDone().
  void CallEnded(const v1::Organisation& peer);
  // A call's last step: Stop() waits for every call to get here.
  void CallDone();
  // The peer's receipt, if it is signed by the recipient and is for this
  // record and envelope.
  absl::StatusOr<v1::DeliveryReceipt> CheckReceipt(const OutboxEntry& entry,
                                                   const v1::DeliverResponse& response,
                                                   VerifiedBatches* verified) const;
  // Callers waiting on `id`'s attempt; with `release`, the record is no
  // longer in flight.
  std::vector<Done> TakeWaiters(const std::string& id, bool release);
  void Finish(const OutboxEntry& entry, const grpc::Status& status,
              const v1::DeliverResponse& response, int64_t retry_after_ms,
              VerifiedBatches* verified, Done done);
  // Marks a record the peer signed for delivered, with its DELIVERED entry
  // `delivered`, then ends its attempt (the record's waiters get `now`).
  void MarkDelivered(const OutboxEntry& now, v1::AuditEntry delivered);

  const GatewayContext* const ctx_;
  Store* const store_;
  const DirectoryCache* const directory_;
  PeerClient* const peers_;
  const v1::RetryConfig retry_;
  Metrics* const metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // stopping_ or kicked_ (the retry loop waits)
  std::condition_variable drained_;  // in_flight_ or calls_ fell (Stop waits)
  std::set<std::string> in_flight_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, OutboxEntry> marking_ ABSL_GUARDED_BY(mu_);
  // Callers of DeliverNow waiting on an attempt the retry loop started.
  std::map<std::string, std::vector<Done>> waiters_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool kicked_ ABSL_GUARDED_BY(mu_) = false;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;  // Deliver and DeliverBatch calls started by Call()
  std::mutex links_mu_;
  std::map<std::string, Link> links_ ABSL_GUARDED_BY(links_mu_);  // by organisation
  std::thread thread_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_OUTBOX_SENDER_H_

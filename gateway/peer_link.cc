// OutboxSender's peer links (outbox_sender.h): the calls that carry
// records to each peer, one at a time or batched.
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "gateway/outbox_sender.h"

namespace gatehouse {
namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// Calls to one peer at once while it takes batches, and the most envelope
// bytes one batch carries (well under any gateway's message limit).
constexpr int kCallsPerPeer = 4;
constexpr size_t kMaxBatchBytes = 1 << 20;
// How long a peer that said it has no DeliverBatch is sent records one by
// one before it is offered a batch again (it may have been upgraded).
constexpr int64_t kNoBatchesMs = 10 * 60 * 1000;

}  // namespace

void OutboxSender::Send(const v1::Organisation& peer, std::string envelope, Outcome outcome) {
  std::vector<Queued> call;
  {
    std::lock_guard<std::mutex> lock(links_mu_);
    Link& link = links_[peer.org_id()];
    link.waiting.push_back({std::move(envelope), std::move(outcome)});
    call = NextCall(link);
  }
  if (!call.empty()) Call(peer, std::move(call));
}

std::vector<OutboxSender::Queued> OutboxSender::NextCall(Link& link) {
  std::vector<Queued> call;
  // A peer without batches gets as many calls as records in flight.
  const bool batches = NowMs() >= link.no_batches_until_ms;
  if (link.waiting.empty() || link.in_flight >= (batches ? kCallsPerPeer : kMaxInFlight)) {
    return call;
  }
  const size_t most = batches ? kMaxDeliverBatch : 1;
  size_t bytes = 0;
  while (!link.waiting.empty() && call.size() < most &&
         (call.empty() || bytes + link.waiting.front().envelope.size() <= kMaxBatchBytes)) {
    bytes += link.waiting.front().envelope.size();
    call.push_back(std::move(link.waiting.front()));
    link.waiting.pop_front();
  }
  ++link.in_flight;
  return call;
}

void OutboxSender::Call(const v1::Organisation& peer, std::vector<Queued> records) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
  }
  const int64_t timeout = retry_.deliver_timeout_ms();
  if (records.size() == 1) {
    v1::DeliverRequest request;
    request.set_envelope(std::move(records[0].envelope));
    peers_->Deliver(peer, std::move(request), timeout,
                    [this, peer, outcome = std::move(records[0].outcome)](
                        grpc::Status status, const v1::DeliverResponse& response,
                        int64_t retry_after_ms) {
                      outcome(status, response, retry_after_ms, nullptr);
                      CallEnded(peer);
                    });
    return;
  }
  v1::DeliverBatchRequest request;
  for (const Queued& q : records) request.add_envelopes(q.envelope);
  metrics_->CountDeliverBatch(records.size());
  peers_->DeliverBatch(
      peer, std::move(request), timeout,
      [this, peer, records = std::move(records)](grpc::Status status,
                                                 const v1::DeliverBatchResponse& response,
                                                 int64_t retry_after_ms) mutable {
        const bool whole_call =
            !status.ok() || static_cast<size_t>(response.outcomes_size()) != records.size();
        // A refusal of the call is never a refusal of its records: the peer
        // has no DeliverBatch (UNIMPLEMENTED), or refused the batch itself
        // (its size, its count, a proxy's rule) with a code that would give
        // a record up. Each record goes again by Deliver, which answers for
        // it alone. Refusals to retry later (UNAVAILABLE, a deadline, a rate
        // limit with its retry-after) apply to every record as they are.
        const grpc::StatusCode code = status.error_code();
        const bool unbatch = code == grpc::StatusCode::UNIMPLEMENTED ||
                             (IsPermanent(code) &&  // a size limit, not a rate
                              (code != grpc::StatusCode::RESOURCE_EXHAUSTED || retry_after_ms <= 0));
        if (unbatch) {
          {
            std::lock_guard<std::mutex> lock(links_mu_);
            Link& link = links_[peer.org_id()];
            if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
              link.no_batches_until_ms = NowMs() + kNoBatchesMs;
            }
            // The batch's call slot becomes the first single call's.
            link.in_flight += static_cast<int>(records.size()) - 1;
          }
          for (Queued& q : records) Call(peer, std::vector<Queued>{std::move(q)});
          CallDone();
          return;
        }
        VerifiedBatches verified;
        for (size_t i = 0; i < records.size(); ++i) {
          if (whole_call) {
            grpc::Status failed = status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                             "the batch's answer has "
                                                             "the wrong number of outcomes")
                                              : status;
            records[i].outcome(failed, v1::DeliverResponse(), retry_after_ms, nullptr);
            continue;
          }
          const v1::DeliverOutcome& o = response.outcomes(static_cast<int>(i));
          records[i].outcome(
              grpc::Status(static_cast<grpc::StatusCode>(o.code()), o.message()), o.response(),
              retry_after_ms, &verified);
        }
        CallEnded(peer);
      });
}

void OutboxSender::CallEnded(const v1::Organisation& peer) {
  std::vector<std::vector<Queued>> calls;
  {
    std::lock_guard<std::mutex> lock(links_mu_);
    Link& link = links_[peer.org_id()];
    --link.in_flight;
    for (std::vector<Queued> c = NextCall(link); !c.empty(); c = NextCall(link)) {
      calls.push_back(std::move(c));
    }
  }
  for (std::vector<Queued>& c : calls) Call(peer, std::move(c));
  CallDone();
}

void OutboxSender::CallDone() {
  std::lock_guard<std::mutex> lock(mu_);
  --calls_;
  drained_.notify_all();  // the last use of this object by the call's thread
}

}  // namespace gatehouse

// Peer.DeliverBatch: each envelope goes through exactly Deliver's checks,
// decision, audit and store, concurrently; the receipts of the records held
// are signed together, once, when the last envelope has settled.
#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/defer_wakes.h"
#include "gateway/peer_client.h"  // kMaxDeliverBatch
#include "gateway/peer_service.h"
#include "transport/grpc_status.h"

namespace gatehouse {
namespace {

// One call's outcomes as they settle, on whichever threads settle them.
// Each outcome is written by the one thread that settles it; the last to
// settle (the counter orders every write before it) signs and answers.
class BatchAnswer {
 public:
  using Sign = std::function<absl::Status(const std::vector<v1::DeliverResponse*>&)>;

  BatchAnswer(int n, grpc::ServerUnaryReactor* reactor, v1::DeliverBatchResponse* response,
              Sign sign)
      : remaining_(n), reactor_(reactor), response_(response), sign_(std::move(sign)) {
    for (int i = 0; i < n; ++i) response_->add_outcomes();
  }

  v1::DeliverResponse* Answer(int i) { return response_->mutable_outcomes(i)->mutable_response(); }

  void Settle(int i, const grpc::Status& status) {
    v1::DeliverOutcome& o = *response_->mutable_outcomes(i);
    o.set_code(status.error_code());
    if (!status.ok()) {
      o.set_message(status.error_message());
      o.clear_response();
    }
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) Finish();
  }

 private:
  void Finish() {
    std::vector<v1::DeliverResponse*> held;
    for (v1::DeliverOutcome& o : *response_->mutable_outcomes()) {
      if (o.code() == grpc::StatusCode::OK) held.push_back(o.mutable_response());
    }
    if (absl::Status signed_all = sign_(held); !signed_all.ok()) {
      // Held, but with no receipt to show: Unavailable (SignReceipts), so
      // the sender retries each, answered then as a copy already held.
      const grpc::Status failed = ToGrpcStatus(signed_all);
      for (v1::DeliverOutcome& o : *response_->mutable_outcomes()) {
        if (o.code() != grpc::StatusCode::OK) continue;
        o.set_code(failed.error_code());
        o.set_message(failed.error_message());
        o.clear_response();
      }
    }
    reactor_->Finish(grpc::Status::OK);
  }

  std::atomic<int> remaining_;
  grpc::ServerUnaryReactor* const reactor_;
  v1::DeliverBatchResponse* const response_;
  const Sign sign_;
};

}  // namespace

grpc::ServerUnaryReactor* PeerService::DeliverBatch(grpc::CallbackServerContext* context,
                                                    const v1::DeliverBatchRequest* request,
                                                    v1::DeliverBatchResponse* response) {
  const int n = request->envelopes_size();
  if (n == 0 || n > kMaxDeliverBatch) {
    ctx_->metrics->CountRefusal("peer", "INVALID_ARGUMENT");
    return AnswerNow(context, absl::InvalidArgumentError(absl::StrCat(
                                  "a batch holds 1 to ", kMaxDeliverBatch, " envelopes, not ", n)));
  }
  const TrustSnapshot trust = TrustOf(*ctx_);  // every envelope is decided against it
  absl::StatusOr<Identity> caller = Admit(context, trust, n);
  if (!caller.ok()) return AnswerNow(context, caller.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto batch = std::make_shared<BatchAnswer>(
      n, reactor, response,
      [this](const std::vector<v1::DeliverResponse*>& held) { return SignReceipts(held); });
  // Each envelope is checked and opened first; then what is to be stored
  // reaches the store's committer together: one transaction and one sync
  // for the batch, and no other writer held back while envelopes open.
  std::vector<std::pair<int, Pending>> to_store;
  to_store.reserve(n);
  for (int i = 0; i < n; ++i) {
    Pending pending;
    pending.answer_later = true;
    pending.trust = trust;
    absl::Status s = Accept(*caller, request->envelopes(i), batch->Answer(i), &pending);
    if (!pending.rejection.has_value() &&
        (!s.ok() || pending.entry.event() == v1::AUDIT_EVENT_UNSPECIFIED)) {
      batch->Settle(i, ToGrpcStatus(s));  // not a record's refusal, or a repeat with its receipt
      continue;
    }
    to_store.emplace_back(i, std::move(pending));
  }
  DeferWakes defer;
  for (auto& [i, pending] : to_store) {
    auto settle = [batch, i = i](const grpc::Status& st) { batch->Settle(i, st); };
    if (pending.rejection.has_value()) {
      ReportRejection(*caller, &pending, settle);
    } else {
      Commit(std::move(pending), settle, batch->Answer(i));
    }
  }
  return reactor;
}

}  // namespace gatehouse

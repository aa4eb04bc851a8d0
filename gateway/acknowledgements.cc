#include "gateway/acknowledgements.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "gateway/peer_service.h"
#include "proto/error_details.h"
#include "transport/grpc_status.h"

namespace gatehouse {

void AcknowledgementPoller::Start() {
  rounds_.Start(std::chrono::milliseconds(ctx_->config->acknowledgement_poll_ms()),
                [this] { RunOnce(); });
}

void AcknowledgementPoller::RunOnce() {
  absl::StatusOr<std::vector<OutboxEntry>> waiting = ctx_->store->AwaitingAcknowledgement(kBatch);
  if (!waiting.ok() || waiting->empty()) return;
  std::map<std::string, std::vector<std::string>> by_recipient;
  for (const OutboxEntry& e : *waiting) {
    by_recipient[e.record.labels().recipient_org()].push_back(e.record.record_id());
  }
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (const auto& [org, ids] : by_recipient) {
    const v1::Organisation* peer = ctx_->directory->Snapshot()->Find(org);
    absl::StatusOr<std::shared_ptr<v1::Peer::Stub>> stub =
        peer != nullptr ? ctx_->peers->StubFor(*peer)
                        : absl::NotFoundError(absl::StrCat(org, " is not in the directory"));
    v1::GetAcknowledgedResponse answer;
    grpc::Status s = grpc::Status(grpc::StatusCode::UNAVAILABLE, "no channel");
    if (stub.ok()) {
      v1::GetAcknowledgedRequest request;
      for (const std::string& id : ids) request.add_record_ids(id);
      grpc::ClientContext call;
      call.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      s = (*stub)->GetAcknowledged(&call, request, &answer);
    }
    if (!s.ok()) {
      LogWarning("could not ask a peer which records were acknowledged",
                 {{"peer", org}, {"error", s.error_message()}});
    }
    for (const v1::AcknowledgedRecord& a : answer.records()) {
      absl::Status marked =
          ctx_->store->MarkTaken(a.record_id(), a.fetched_unix_ms(), a.acknowledged_unix_ms());
      if (!marked.ok()) LogWarning("fetch or acknowledgement not stored", {{"error", marked.ToString()}});
    }
    // Asked (answered or not): these go to the back of the queue.
    ctx_->store->MarkChecked(ids, now_ms).IgnoreError();
  }
}

grpc::ServerUnaryReactor* PeerService::GetAcknowledged(grpc::CallbackServerContext* context,
                                                       const v1::GetAcknowledgedRequest* request,
                                                       v1::GetAcknowledgedResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return AnswerNow(context, caller.status());
  if (request->record_ids_size() > AcknowledgementPoller::kBatch) {
    return AnswerNow(context, WithFieldViolation(
                                  absl::InvalidArgumentError(absl::StrCat(
                                      "at most ", AcknowledgementPoller::kBatch,
                                      " record ids a request; ask in several")),
                                  "record_ids", "too many"));
  }
  for (const std::string& id : request->record_ids()) {
    absl::StatusOr<MailboxSeen> seen = ctx_->store->FindInMailbox(caller->org, id);
    // Only the caller's own records: another organisation's are as unknown.
    if (!seen.ok() || seen->sender_org != caller->org ||
        (seen->acked_ms == 0 && seen->fetched_ms == 0)) {
      continue;
    }
    v1::AcknowledgedRecord* a = response->add_records();
    a->set_record_id(id);
    a->set_acknowledged_unix_ms(seen->acked_ms);
    a->set_fetched_unix_ms(seen->fetched_ms);
  }
  return AnswerNow(context, absl::OkStatus());
}

}  // namespace gatehouse

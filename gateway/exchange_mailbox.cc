// The Exchange API's mailbox calls: Fetch, Ack and Status.
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "envelope/sha256.h"
#include "gateway/exchange_service.h"
#include "gateway/peer_audit.h"
#include "gateway/record/entries.h"
#include "gateway/record/submit_check.h"
#include "gateway/sealed_record.h"
#include "gateway/stream_spool.h"
#include "transport/grpc_status.h"

namespace gatehouse {
namespace {

constexpr int kDefaultPage = 100;
constexpr int kMaxPage = 1000;

}  // namespace

grpc::ServerUnaryReactor* ExchangeService::Fetch(grpc::CallbackServerContext* context,
                                                 const v1::FetchRequest* request,
                                                 v1::FetchResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return AnswerNow(context, caller.status());
  absl::Status claims = CheckClaims(caller->uri, caller->org, caller->system, request->org_id(),
                                      request->system_id(), "fetch");
  if (!claims.ok()) return AnswerNow(context, claims);
  int64_t after = 0;
  if (!request->page_token().empty() &&
      (!absl::SimpleAtoi(request->page_token(), &after) || after < 0)) {
    return AnswerNow(context, absl::InvalidArgumentError("page_token is not one this gateway issued"));
  }
  int limit = request->max_records() <= 0 ? kDefaultPage
                                          : std::min(request->max_records(), kMaxPage);
  absl::StatusOr<std::vector<MailboxEntry>> entries =
      store_->FetchMailbox(ReaderFor(*caller),
                           after, limit + 1);
  if (!entries.ok()) return AnswerNow(context, entries.status());
  bool more = static_cast<int>(entries->size()) > limit;
  if (more) entries->pop_back();
  std::vector<v1::AuditEntry> audit;
  const std::shared_ptr<const DirectorySnapshot> directory = directory_->Snapshot();
  for (const MailboxEntry& e : *entries) {
    const v1::MailboxRecord& m = e.record;
    if (!m.envelope_file().empty()) {
      // Streamed: listed here, its payload read with FetchStream (which
      // audits FETCHED).
      v1::Record* r = response->add_records();
      *r = m.listing();
      r->set_streamed(true);
      continue;
    }
    absl::StatusOr<OpenedContent> opened =
        OpenRecord(*ctx_, *directory, m.envelope(), m.sender_org(), m.sender_key());
    if (!opened.ok()) {
      // Verified when it arrived; failing now means a key it needs is gone.
      LogError("a held record no longer opens", {{"record_id", m.record_id()},
                                                {"error", opened.status().ToString()}});
      return AnswerNow(context, absl::DataLossError(absl::StrCat(
                               "record ", m.record_id(), " from ", m.sender_org(),
                               " no longer opens (", opened.status().message(),
                               "); ask the operator to restore the key it was sealed to")));
    }
    v1::Record* r = response->add_records();
    r->set_record_id(m.record_id());
    r->set_sender_org(m.sender_org());
    r->set_sender_system(opened->content.sender_system());
    *r->mutable_labels() = LabelsOf(*opened);
    r->set_received_unix_ms(m.received_unix_ms());
    audit.push_back(FetchedEntry(*r, config_->org_id(), caller->system,
                                 Sha256(opened->content.payload())));
    r->set_payload(std::move(*opened->content.mutable_payload()));
  }
  // Released once the FETCHED entries are durable; the reactor thread does
  // not wait for them.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string next = more ? absl::StrCat(entries->back().seq) : "";
  ctx_->auditor->RecordAll(std::move(audit), /*hold_refused=*/false,
                           [reactor, response, next](absl::Status s) {
                             if (!s.ok()) {
                               response->Clear();
                               reactor->Finish(ToGrpcStatus(absl::UnavailableError(
                                   "the fetch could not be audited, so nothing is released; "
                                   "retry")));
                               return;
                             }
                             if (!next.empty()) response->set_next_page_token(next);
                             reactor->Finish(grpc::Status::OK);
                           });
  return reactor;
}

grpc::ServerUnaryReactor* ExchangeService::Ack(grpc::CallbackServerContext* context,
                                               const v1::AckRequest* request,
                                               v1::AckResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return AnswerNow(context, caller.status());
  if (request->record_ids_size() > kMaxPage) {
    return AnswerNow(context, absl::InvalidArgumentError(
                             absl::StrCat("at most ", kMaxPage, " record ids per Ack")));
  }
  std::vector<std::string> ids(request->record_ids().begin(), request->record_ids().end());
  absl::StatusOr<std::vector<MailboxAcked>> acked =
      store_->AckMailbox(ReaderFor(*caller), ids,
                         absl::ToUnixMillis(absl::Now()));
  if (!acked.ok()) return AnswerNow(context, acked.status());
  std::vector<v1::AuditEntry> audit;
  for (const MailboxAcked& a : *acked) {
    audit.push_back(AckedEntry(a.record_id, a.sender_org, config_->org_id(), caller->system));
  }
  // The acknowledgement is already stored, so a retry would find nothing to
  // acknowledge: entries the full disk refuses are held and written later.
  // Answered once the ACKED entries are durable; the reactor thread does
  // not wait for them.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  response->set_acked(static_cast<int>(acked->size()));
  ctx_->auditor->RecordAll(
      std::move(audit), /*hold_refused=*/true,
      [reactor, response](absl::Status s) {
        if (!s.ok()) {
          response->Clear();
          reactor->Finish(ToGrpcStatus(absl::UnavailableError(absl::StrCat(
              "the acknowledgement is stored but could not yet be audited (", s.message(),
              "); entries refused for want of space are held and written once the audit log "
              "has room"))));
          return;
        }
        reactor->Finish(grpc::Status::OK);
      });
  // A streamed record's spool file goes once its payload is dropped: when
  // the last system it waits for has acknowledged it (the id and envelope
  // hash stay in the store against replays).
  for (const MailboxAcked& a : *acked) {
    if (!a.payload_dropped) continue;
    std::error_code ec;
    std::filesystem::remove(InboundSpoolPath(config_->data_dir(), a.envelope_sha256), ec);
  }
  return reactor;
}

grpc::ServerUnaryReactor* ExchangeService::Status(grpc::CallbackServerContext* context,
                                                  const v1::StatusRequest* request,
                                                  v1::StatusResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return AnswerNow(context, caller.status());
  response->set_org_id(caller->org);
  response->set_system_id(caller->system);
  absl::StatusOr<int64_t> mailbox =
      store_->MailboxDepth(ReaderFor(*caller));
  if (!mailbox.ok()) return AnswerNow(context, mailbox.status());
  absl::StatusOr<int64_t> outbox = store_->OutboxDepth();
  if (!outbox.ok()) return AnswerNow(context, outbox.status());
  response->set_mailbox_depth(*mailbox);
  response->set_outbox_depth(*outbox);
  if (!request->record_id().empty()) {
    // First the record being marked delivered (answered, not yet written),
    // then the store: a mark that finishes in between is then in the store.
    std::optional<OutboxEntry> delivering = sender_->Delivering(request->record_id());
    absl::StatusOr<OutboxEntry> entry = delivering.has_value()
                                            ? *std::move(delivering)
                                            : store_->GetOutbox(request->record_id());
    // Another system's record is reported exactly as a missing one.
    if (!entry.ok() || entry->record.sender_system() != caller->system) {
      return AnswerNow(context, absl::NotFoundError(absl::StrCat(
                               "you submitted no record ", request->record_id())));
    }
    *response->mutable_receipt() = ReceiptFor(*entry);
    if (request->with_proof()) *response->mutable_proof() = CheckDeliveryProof(*ctx_, *entry);
  }
  return AnswerNow(context, absl::OkStatus());
}

}  // namespace gatehouse

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
// A page holds records of at most this many bytes (with at least one record
// whatever its size), so that a client with gRPC's default 4 MiB receive
// limit takes any page; docs/clients.md.
constexpr size_t kMaxPageBytes = (7 << 20) / 2;  // 3.5 MiB
// What a record adds to a page beyond its own bytes: its tag and length.
constexpr size_t kRecordFraming = 8;

// The recipient's view of an opened mailbox record; moves the payload out
// of `opened`.
v1::Record RecordOf(const v1::MailboxRecord& m, OpenedContent* opened) {
  v1::Record r;
  r.set_record_id(m.record_id());
  r.set_sender_org(m.sender_org());
  r.set_sender_system(opened->content.sender_system());
  *r.mutable_labels() = LabelsOf(*opened);
  r.set_received_unix_ms(m.received_unix_ms());
  r.set_payload(std::move(*opened->content.mutable_payload()));
  return r;
}

}  // namespace

grpc::ServerUnaryReactor* ExchangeService::Fetch(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) {
  return ParsedUnaryCall<v1::FetchRequest, v1::FetchResponse>::Start(
      request, response,
      [this, context](const v1::FetchRequest* r, v1::FetchResponse* out, UnaryCall* call) {
        OnFetch(context, r, out, call);
      });
}

void ExchangeService::OnFetch(grpc::CallbackServerContext* context, const v1::FetchRequest* request,
                              v1::FetchResponse* response, UnaryCall* call) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return call->Answer(caller.status());
  absl::Status claims = CheckClaims(caller->uri, caller->org, caller->system, request->org_id(),
                                      request->system_id(), "fetch");
  if (!claims.ok()) return call->Answer(claims);
  int64_t after = 0;
  if (!request->page_token().empty() &&
      (!absl::SimpleAtoi(request->page_token(), &after) || after < 0)) {
    return call->Answer(absl::InvalidArgumentError("page_token is not one this gateway issued"));
  }
  int limit = request->max_records() <= 0 ? kDefaultPage
                                          : std::min(request->max_records(), kMaxPage);
  absl::StatusOr<std::vector<MailboxEntry>> entries =
      store_->FetchMailbox(ReaderFor(*caller),
                           after, limit + 1);
  if (!entries.ok()) return call->Answer(entries.status());
  bool more = static_cast<int>(entries->size()) > limit;
  if (more) entries->pop_back();
  std::vector<v1::AuditEntry> audit;
  std::vector<MailboxKey> fetched;  // those audited FETCHED here
  const std::shared_ptr<const DirectorySnapshot> directory = TrustOf(*ctx_).directory;
  size_t page_bytes = 0;
  int64_t last_seq = after;
  for (const MailboxEntry& e : *entries) {
    const v1::MailboxRecord& m = e.record;
    v1::Record r;
    std::string sha256;  // of the payload; none for a streamed record
    if (!m.envelope_file().empty()) {
      // Streamed: listed here, its payload read with FetchStream (which
      // audits FETCHED).
      r = m.listing();
      r.set_streamed(true);
    } else {
      absl::StatusOr<OpenedContent> opened =
          OpenRecord(*ctx_, *directory, m.envelope(), m.sender_org(), m.sender_key());
      if (!opened.ok()) {
        // Verified when it arrived; failing now means a key it needs is gone.
        LogError("a held record no longer opens", {{"record_id", m.record_id()},
                                                  {"error", opened.status().ToString()}});
        return call->Answer(absl::DataLossError(absl::StrCat(
            "record ", m.record_id(), " from ", m.sender_org(), " no longer opens (",
            opened.status().message(), "); ask the operator to restore the key it was sealed to")));
      }
      sha256 = Sha256(opened->content.payload());
      r = RecordOf(m, &*opened);
    }
    const size_t bytes = r.ByteSizeLong() + kRecordFraming;
    if (response->records_size() > 0 && page_bytes + bytes > kMaxPageBytes) {
      more = true;  // the next page starts with this record
      break;
    }
    page_bytes += bytes;
    if (!sha256.empty()) {
      audit.push_back(FetchedEntry(r, config_->org_id(), caller->system, sha256));
      fetched.push_back({r.sender_org(), r.record_id()});
    }
    *response->add_records() = std::move(r);
    last_seq = e.seq;
  }
  // Released once the FETCHED entries are durable; gRPC's thread does
  // not wait for them.
  const std::string next = more ? absl::StrCat(last_seq) : "";
  ctx_->auditor->RecordAll(
      std::move(audit), /*hold_refused=*/false,
      [this, call, response, next, fetched = std::move(fetched)](absl::Status s) mutable {
        if (!s.ok()) {
          response->Clear();
          call->Finish(ToGrpcStatus(
              absl::UnavailableError("the fetch could not be audited, so nothing is released; "
                                     "retry")));
          return;
        }
        if (!next.empty()) response->set_next_page_token(next);
        NoteFetched(std::move(fetched));
        call->Finish(grpc::Status::OK);
      });
}

void ExchangeService::NoteFetched(std::vector<MailboxKey> records) {
  if (records.empty()) return;
  store_->MarkFetchedAsync(std::move(records), absl::ToUnixMillis(absl::Now()),
                           [](absl::Status s) {
                             // Only the sender's information is late: the
                             // next fetch of the record notes it again.
                             if (!s.ok()) {
                               LogWarning("a fetch was not noted for its sender",
                                          {{"error", s.ToString()}});
                             }
                           });
}

grpc::ServerUnaryReactor* ExchangeService::Ack(grpc::CallbackServerContext* context,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response) {
  return ParsedUnaryCall<v1::AckRequest, v1::AckResponse>::Start(
      request, response,
      [this, context](const v1::AckRequest* r, v1::AckResponse* out, UnaryCall* call) {
        OnAck(context, r, out, call);
      });
}

void ExchangeService::OnAck(grpc::CallbackServerContext* context, const v1::AckRequest* request,
                            v1::AckResponse* response, UnaryCall* call) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return call->Answer(caller.status());
  if (request->record_ids_size() > kMaxPage) {
    return call->Answer(
        absl::InvalidArgumentError(absl::StrCat("at most ", kMaxPage, " record ids per Ack")));
  }
  // Stored, then audited, then answered: each step on the thread that
  // finished the one before; gRPC's thread waits for neither.
  store_->AckMailboxAsync(
      ReaderFor(*caller), {request->record_ids().begin(), request->record_ids().end()},
      absl::ToUnixMillis(absl::Now()),
      [this, call, response,
       system = caller->system](absl::StatusOr<std::vector<MailboxAcked>> acked) {
        if (!acked.ok()) {
          call->Finish(ToGrpcStatus(acked.status()));
          return;
        }
        AuditAcked(*acked, system, call, response);
      });
}

void ExchangeService::AuditAcked(const std::vector<MailboxAcked>& acked, const std::string& system,
                                 UnaryCall* call, v1::AckResponse* response) {
  std::vector<v1::AuditEntry> audit;
  for (const MailboxAcked& a : acked) {
    audit.push_back(AckedEntry(a.record_id, a.sender_org, config_->org_id(), system));
  }
  // The acknowledgement is already stored, so a retry would find nothing to
  // acknowledge: entries the full disk refuses are held and written later.
  response->set_acked(static_cast<int>(acked.size()));
  ctx_->auditor->RecordAll(
      std::move(audit), /*hold_refused=*/true, [call, response](absl::Status s) {
        if (!s.ok()) {
          response->Clear();
          call->Finish(ToGrpcStatus(absl::UnavailableError(absl::StrCat(
              "the acknowledgement is stored but could not yet be audited (", s.message(),
              "); entries refused for want of space are held and written once the audit log "
              "has room"))));
          return;
        }
        call->Finish(grpc::Status::OK);
      });
  // A streamed record's spool file goes once its payload is dropped: when
  // the last system it waits for has acknowledged it (the id and envelope
  // hash stay in the store against replays).
  for (const MailboxAcked& a : acked) {
    if (!a.payload_dropped) continue;
    std::error_code ec;
    std::filesystem::remove(InboundSpoolPath(config_->data_dir(), a.envelope_sha256), ec);
  }
}

grpc::ServerUnaryReactor* ExchangeService::Status(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return ParsedUnaryCall<v1::StatusRequest, v1::StatusResponse>::Start(
      request, response,
      [this, context](const v1::StatusRequest* r, v1::StatusResponse* out, UnaryCall* call) {
        OnStatus(context, r, out, call);
      });
}

void ExchangeService::OnStatus(grpc::CallbackServerContext* context,
                               const v1::StatusRequest* request, v1::StatusResponse* response,
                               UnaryCall* call) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return call->Answer(caller.status());
  response->set_org_id(caller->org);
  response->set_system_id(caller->system);
  absl::StatusOr<int64_t> mailbox =
      store_->MailboxDepth(ReaderFor(*caller));
  if (!mailbox.ok()) return call->Answer(mailbox.status());
  absl::StatusOr<int64_t> outbox = store_->OutboxDepth();
  if (!outbox.ok()) return call->Answer(outbox.status());
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
      return call->Answer(
          absl::NotFoundError(absl::StrCat("you submitted no record ", request->record_id())));
    }
    *response->mutable_receipt() = ReceiptFor(*entry);
    if (request->with_proof()) {
      // Answered once the receiving gateway has sent its proof and it is
      // checked; the call thread does not wait for it.
      CheckDeliveryProof(*ctx_, *entry, [call, response](v1::ProofCheck proof) {
        *response->mutable_proof() = std::move(proof);
        call->Finish(grpc::Status::OK);
      });
      return;
    }
  }
  call->Answer(absl::OkStatus());
}

}  // namespace gatehouse

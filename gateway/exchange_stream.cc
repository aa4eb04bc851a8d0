// The Exchange API's streaming calls, for large records: SubmitStream seals
// the payload into the spool as it arrives; FetchStream opens it a chunk at
// a time.
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/rendezvous.h"
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

grpc::Status ExchangeService::SubmitStream(grpc::ServerContext* context, RawStream* reader) {
  v1::SubmitResponse answer;
  grpc::Status s = ReceiveStream(context, reader, &answer);
  // The one response, then OK: what a client-streaming call returns.
  if (s.ok() && !reader->Write(SerializeToBuffer(answer))) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  }
  return s;
}

grpc::Status ExchangeService::ReceiveStream(grpc::ServerContext* context, RawStream* reader,
                                            v1::SubmitResponse* response) {
  const absl::Time start = absl::Now();
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) {
    metrics_->CountRefusal("exchange", "UNAUTHENTICATED");
    return ToGrpcStatus(caller.status());
  }
  const TrustSnapshot trust = TrustOf(*ctx_);  // everything below decides against this
  if (absl::Status in_force = trust.CheckInForce(absl::Now()); !in_force.ok()) {
    metrics_->CountRefusal("exchange", "FAILED_PRECONDITION");
    return ToGrpcStatus(in_force);
  }
  v1::SubmitChunk first;
  grpc::ByteBuffer first_bytes;
  if (!reader->Read(&first_bytes)) {
    return ToGrpcStatus(absl::InvalidArgumentError("the stream ended before its first message"));
  }
  if (absl::Status parsed = ParseBuffer(first_bytes, &first); !parsed.ok()) {
    metrics_->CountRefusal("exchange", "INVALID_ARGUMENT");
    return ToGrpcStatus(parsed);
  }
  if (!first.has_head() || !first.data().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "the first message of SubmitStream carries `head` (labels) and no data"));
  }
  const v1::SubmitRequest& head = first.head();
  if (!head.payload().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "SubmitStream's head carries no payload; send it in the messages after the first"));
  }
  absl::StatusOr<std::shared_ptr<void>> claim =
      ClaimIdempotencyKey(*caller, head.idempotency_key());
  if (!claim.ok()) {
    metrics_->CountRefusal("exchange", "UNAVAILABLE");
    return ToGrpcStatus(claim.status());
  }
  if (AnswerRepeat(*caller, head.idempotency_key(), response)) return grpc::Status::OK;
  // Refusals are counted and logged where they are reported; this logs
  // what ended the call otherwise (cancelled, the spool or audit failing).
  absl::Status s = AcceptStream(*caller, head, reader, context, response, start, trust);
  if (!s.ok()) {
    LogWarning("streamed submit ended", {{"caller", caller->uri}, {"error", s.ToString()}});
  }
  return ToGrpcStatus(s);
}

absl::Status ExchangeService::AcceptStream(const Identity& caller, const v1::SubmitRequest& head,
                                           RawStream* reader,
                                           grpc::ServerContext* context,
                                           v1::SubmitResponse* response, absl::Time start,
                                           const TrustSnapshot& trust) {
  // Reported as Submit reports it; this handler has a thread of its own to
  // wait on.
  auto refuse = [&](const Refusal& refusal, const std::string& record_id) {
    Rendezvous<absl::Status> answered;
    Refuse(refusal, caller, head, record_id, trust, answered.Callback());
    return answered.Wait();
  };
  absl::Status checked = Admit(caller, context);
  if (checked.ok()) checked = CheckSubmit(*config_, caller.uri, caller.org, caller.system, head);
  if (!checked.ok()) return refuse(Refusal::Check(checked, "checks"), "");
  OutboundDecision planned = Plan(trust, caller, head, /*streamed=*/true);
  if (planned.refusal.has_value()) return refuse(*planned.refusal, planned.record_id);
  OutboundPlan& decided = planned.plan;
  const std::string record_id = planned.record_id;

  // Sealed as it arrives, straight into the spool: memory holds a chunk or
  // two, never the record.
  const std::string data_dir = config_->data_dir();
  ASSIGN_OR_RETURN(std::unique_ptr<SpoolFile> spool,
                   SpoolFile::Create(data_dir + "/" + kSpoolOut,
                                     SealedStreamLimit(config_->max_stream_bytes())));
  const uint64_t limit = static_cast<uint64_t>(config_->max_stream_bytes());
  // A message that does not parse ends the payload early, like the end of
  // the stream would; noted here, so the record is refused, not accepted
  // cut short.
  absl::Status malformed;
  PayloadSource source(std::move(decided.content),
                       [reader, &malformed](std::string* chunk) {
                         grpc::ByteBuffer bytes;
                         v1::SubmitChunk next;
                         if (!reader->Read(&bytes)) return false;
                         malformed = ParseBuffer(bytes, &next);
                         if (!malformed.ok()) return false;
                         *chunk = std::move(*next.mutable_data());
                         return true;
                       },
                       limit);
  absl::Status sealed =
      ctx_->keys->Current()->stream_sealer->Seal(decided.labels, decided.to, &source, spool.get());
  if (sealed.ok() && !malformed.ok()) sealed = malformed;
  if (sealed.ok() && context->IsCancelled()) {
    sealed = absl::CancelledError("the client cancelled the stream");
  }
  if (sealed.ok()) sealed = spool->Sync();
  if (!sealed.ok()) {
    if (source.over_limit()) {
      return refuse(Refusal::Check(absl::ResourceExhaustedError(absl::StrCat(
                                       "the payload is over this gateway's limit of ",
                                       config_->max_stream_bytes(),
                                       " bytes for a streamed record")),
                                   "checks"),
                    record_id);
    }
    if (context->IsCancelled()) {
      return absl::CancelledError("the client cancelled the stream; nothing was accepted");
    }
    if (!malformed.ok()) return refuse(Refusal::Check(malformed, "checks"), record_id);
    return refuse(Refusal::Check(absl::Status(sealed.code(),
                                              absl::StrCat("cannot seal the streamed record: ",
                                                           sealed.message())),
                                 "seal"),
                  record_id);
  }
  const std::string relative = absl::StrCat(kSpoolOut, "/", record_id, ".env");
  RETURN_IF_ERROR(spool->Commit(data_dir + "/" + relative));

  v1::AuditEntry entry = std::move(decided.entry);
  entry.set_payload_sha256(source.payload_sha256());
  entry.set_payload_bytes(source.payload_bytes());
  absl::StrAppend(entry.mutable_reason(), "; streamed ", source.payload_bytes(), " bytes");
  v1::OutboxRecord record = std::move(decided.record);
  record.set_envelope_file(relative);
  record.set_envelope_sha256(spool->sha256());
  Rendezvous<grpc::Status> done;
  auto finish = done.Callback();
  Audit([finish](const grpc::Status& s) { finish(s); }, caller.uri, head.idempotency_key(),
        response, start, std::move(entry), std::move(record));
  grpc::Status s = done.Wait();
  if (!s.ok() || response->receipt().duplicate()) {
    // Not queued (or an earlier record under this idempotency key was):
    // nothing refers to the file.
    std::error_code ec;
    std::filesystem::remove(data_dir + "/" + relative, ec);
  }
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  }
  return absl::OkStatus();
}

grpc::Status ExchangeService::FetchStream(grpc::ServerContext* context, RawStream* writer) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  grpc::ByteBuffer request_bytes;
  if (!writer->Read(&request_bytes)) {
    return ToGrpcStatus(absl::InvalidArgumentError("the call carried no FetchStreamRequest"));
  }
  v1::FetchStreamRequest parsed;
  if (absl::Status s = ParseBuffer(request_bytes, &parsed); !s.ok()) return ToGrpcStatus(s);
  const v1::FetchStreamRequest* request = &parsed;
  absl::StatusOr<MailboxEntry> held =
      store_->GetMailbox(ReaderFor(*caller),
                         request->sender_org(), request->record_id());
  if (!held.ok()) return ToGrpcStatus(held.status());
  const v1::MailboxRecord& m = held->record;
  if (m.envelope_file().empty()) {
    return ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
        "record ", m.record_id(), " was not streamed; Fetch returns its payload")));
  }
  absl::StatusOr<std::unique_ptr<envelope::FileSource>> file =
      envelope::FileSource::Open(config_->data_dir() + "/" + m.envelope_file());
  if (!file.ok()) return ToGrpcStatus(absl::DataLossError(file.status().message()));

  // Audited before anything leaves, as Fetch does: a fetch the audit log
  // cannot take releases nothing. (A record stored before its payload's
  // hash was kept has none here; the RECEIVED entry has it.)
  if (!ctx_->auditor
           ->Append(FetchedEntry(m.listing(), config_->org_id(), caller->system,
                                 m.payload_sha256()))
           .ok()) {
    return ToGrpcStatus(
        absl::UnavailableError("the fetch could not be audited, so nothing was released; retry"));
  }
  NoteFetched({{m.sender_org(), m.record_id()}});
  v1::FetchChunk first;
  *first.mutable_record() = m.listing();
  first.mutable_record()->set_streamed(true);
  if (!writer->Write(SerializeToBuffer(first))) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  }
  // Plaintext leaves a chunk at a time, each authenticated as it is
  // decrypted; the call ends OK only if the whole record was.
  ContentSink sink([writer](absl::string_view bytes) {
    v1::FetchChunk c;
    c.set_data(std::string(bytes));
    return writer->Write(SerializeToBuffer(c)) ? absl::OkStatus()
                                               : absl::CancelledError("client went away");
  });
  absl::StatusOr<OpenedContent> opened =
      OpenStreamedRecord(*ctx_, *TrustOf(*ctx_).directory, file->get(), m.sender_org(), &sink,
                         m.sender_key());
  if (!opened.ok()) {
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    LogError("a held streamed record did not open",
             {{"record_id", m.record_id()}, {"error", opened.status().ToString()}});
    return ToGrpcStatus(absl::DataLossError(absl::StrCat(
        "record ", m.record_id(), " from ", m.sender_org(), " did not open (",
        opened.status().message(), "); discard what arrived")));
  }
  if (!m.payload_sha256().empty() && sink.payload_sha256() != m.payload_sha256()) {
    // Cannot happen while the envelope's signature holds; refuse anyway.
    return ToGrpcStatus(absl::DataLossError(absl::StrCat(
        "record ", m.record_id(), " opened to another payload than on arrival; discard what "
        "arrived")));
  }
  return grpc::Status::OK;
}

}  // namespace gatehouse

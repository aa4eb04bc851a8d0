// The Peer API's streamed delivery, for large records: spooled as it
// arrives, verified and opened a chunk at a time, then decided, audited,
// receipted and stored as Deliver does.
#include <filesystem>

#include "envelope/envelope_codec.h"
#include "envelope/sha256.h"
#include "gateway/stream_spool.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/rendezvous.h"
#include "common/status_macros.h"
#include "gateway/peer_service.h"
#include "transport/grpc_status.h"

namespace gatehouse {

grpc::Status PeerService::DeliverStream(grpc::ServerContext* context,
                                        grpc::ServerReader<v1::DeliverChunk>* reader,
                                        v1::DeliverResponse* response) {
  TrustSnapshot trust = TrustOf(*ctx_);  // the whole delivery is decided against it
  absl::StatusOr<Identity> caller = Admit(context, trust);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::Status s = AcceptStream(*caller, context, reader, response, std::move(trust));
  if (s.ok()) s = SignReceipts({response});
  return ToGrpcStatus(s);
}

absl::Status PeerService::AcceptStream(const Identity& caller, grpc::ServerContext* context,
                                       grpc::ServerReader<v1::DeliverChunk>* reader,
                                       v1::DeliverResponse* response,
                                       TrustSnapshot trust) {
  const v1::GatewayConfig& config = *ctx_->config;
  // Spooled first, as it arrives: nothing is decided on bytes not yet seen.
  ASSIGN_OR_RETURN(std::unique_ptr<SpoolFile> spool,
                   SpoolFile::Create(config.data_dir() + "/" + kSpoolIn,
                                     SealedStreamLimit(config.max_stream_bytes())));
  v1::DeliverChunk chunk;
  while (reader->Read(&chunk)) {
    if (absl::Status w = spool->Write(chunk.data()); !w.ok()) {
      if (spool->over_limit()) {
        return Reject(caller, nullptr, nullptr,
                      absl::ResourceExhaustedError(absl::StrCat(
                          "the streamed envelope is over this gateway's limit of ",
                          config.max_stream_bytes(), " bytes of payload")));
      }
      return w;
    }
  }
  if (context->IsCancelled()) {
    return absl::CancelledError("the sending gateway cancelled the stream; nothing was stored");
  }
  RETURN_IF_ERROR(spool->Sync());

  ASSIGN_OR_RETURN(std::unique_ptr<envelope::FileSource> file,
                   envelope::FileSource::Open(spool->path()));
  // What it claims, checked against the connection first (as Deliver).
  absl::StatusOr<envelope::EnvelopeHeader> claimed = envelope::PeekStreamHeader(file.get());
  if (!claimed.ok()) {
    return Reject(caller, nullptr, nullptr,
                  absl::InvalidArgumentError(absl::StrCat("malformed streamed envelope: ",
                                                          claimed.status().message())));
  }
  RETURN_IF_ERROR(CheckClaimedParties(caller, *claimed));
  RETURN_IF_ERROR(file->Rewind());
  // Verified (signature over everything, then every chunk decrypted and
  // authenticated) before anything is decided; the plaintext is dropped.
  ContentSink sink;
  absl::StatusOr<OpenedContent> opened =
      OpenStreamedRecord(*ctx_, *trust.directory, file.get(), caller.org, &sink);
  file.reset();
  if (!opened.ok()) {
    return Reject(caller, nullptr, nullptr,
                  EnvelopeRefusal(opened.status(), "streamed envelope", /*from_spool=*/true));
  }
  const envelope::RecordLabels& h = opened->header.labels;
  const std::string envelope_sha256 = spool->sha256();
  Pending pending;
  pending.trust = std::move(trust);
  ASSIGN_OR_RETURN(pending.claim, Claim(h.sender_org, h.record_id));  // before the repeat check
  if (absl::Status repeat = CheckRepeat(caller, opened->header, envelope_sha256, response);
      !absl::IsNotFound(repeat)) {
    return repeat;
  }
  // Held to the end, past the cleanup below: no other call of this record
  // can have stored its envelope file meanwhile.
  const std::shared_ptr<void> claim = pending.claim;
  RETURN_IF_ERROR(
      AcceptOpened(caller, *opened, envelope_sha256, sink.payload_sha256(), sink.payload_bytes(),
                   &pending));

  // Kept sealed under a name of its own hash: another envelope can never
  // take its place.
  const std::string name = InboundSpoolName(envelope_sha256);
  RETURN_IF_ERROR(spool->Commit(config.data_dir() + "/" + name));
  v1::MailboxRecord& record = pending.record;
  record.set_envelope_file(name);
  v1::Record& listing = *record.mutable_listing();
  listing.set_record_id(h.record_id);
  listing.set_sender_org(h.sender_org);
  listing.set_sender_system(opened->content.sender_system());
  *listing.mutable_labels() = LabelsOf(*opened);
  listing.set_received_unix_ms(record.received_unix_ms());
  listing.set_streamed(true);
  Rendezvous<grpc::Status> done;
  auto finish = done.Callback();
  Commit(std::move(pending), [finish](const grpc::Status& st) { finish(st); }, response);
  grpc::Status st = done.Wait();
  if (!st.ok()) {
    // Not held: unless a copy of the same envelope was stored meanwhile,
    // nothing refers to the file.
    absl::StatusOr<MailboxSeen> held = ctx_->store->FindInMailbox(h.sender_org, h.record_id);
    if (absl::IsNotFound(held.status()) ||
        (held.ok() && held->envelope_sha256 != envelope_sha256)) {
      std::error_code ec;
      std::filesystem::remove(config.data_dir() + "/" + name, ec);
    }
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
  }
  return absl::OkStatus();
}

}  // namespace gatehouse

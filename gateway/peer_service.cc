#include "gateway/peer_service.h"

#include <filesystem>
#include <future>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "envelope/sha256.h"
#include "common/status_macros.h"
#include "audit/checkpoint.h"
#include "audit/note.h"
#include "envelope/envelope_codec.h"
#include "transport/grpc_status.h"
#include "common/log.h"
#include "gateway/record/labels.h"
#include "gateway/record/write_down.h"
#include "gateway/receipt.h"
#include "gateway/stream_spool.h"
#include "transport/tls.h"

namespace gatehouse {
namespace {

// Why an envelope that did not open is refused. Malformed (InvalidArgument)
// and sealed for keys we do not hold (NotFound) keep their codes, and so
// does Unavailable for one read back from our spool (our I/O, not the
// sender's doing); any other failure is the envelope's signature or sealing:
// Unauthenticated.
absl::Status EnvelopeRefusal(const absl::Status& s, absl::string_view what, bool from_spool) {
  const bool keep = absl::IsInvalidArgument(s) || absl::IsNotFound(s) ||
                    (from_spool && absl::IsUnavailable(s));
  return absl::Status(keep ? s.code() : absl::StatusCode::kUnauthenticated,
                      absl::StrCat(what, " refused: ", s.message()));
}

// A created time this far ahead of our clock is refused whatever the window.
constexpr int64_t kMaxClockSkewMs = 5 * 60 * 1000;

bool IsRecordId(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) || absl::ascii_isupper(c)) {
      return false;
    }
  }
  return true;
}

std::string HashBytes(const audit::Hash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const absl::Status& s) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

// The size of the newest signed checkpoint and its note.
absl::StatusOr<std::pair<uint64_t, std::string>> LatestSigned(const audit::AuditLog& log) {
  std::vector<uint64_t> sizes = log.CheckpointSizes();
  if (sizes.empty()) return absl::NotFoundError("no audit checkpoint has been signed yet");
  ASSIGN_OR_RETURN(std::string note, log.CheckpointAt(sizes.back()));
  return std::make_pair(sizes.back(), std::move(note));
}

}  // namespace

absl::StatusOr<Identity> PeerService::Authenticate(grpc::ServerContextBase* context,
                                                   const DirectorySnapshot& directory) const {
  ASSIGN_OR_RETURN(Identity caller, PeerIdentity(*context->auth_context()));
  if (caller.kind != Identity::Kind::kGateway) {
    return absl::UnauthenticatedError(
        absl::StrCat(caller.uri, " is not a gateway; the Peer API is for gateways"));
  }
  const v1::Organisation* org = directory.Find(caller.org);
  if (org == nullptr) {
    return absl::UnauthenticatedError(
        absl::StrCat("organisation '", caller.org, "' is not in the directory"));
  }
  if (org->gateway_identity() != caller.uri) {
    return absl::UnauthenticatedError(absl::StrCat(
        caller.uri, " is not the gateway the directory lists for ", caller.org));
  }
  return caller;
}

absl::Status PeerService::Reject(const Identity& caller, const envelope::EnvelopeHeader* header,
                                 const OpenedContent* opened, const absl::Status& refusal,
                                 bool policy_denied, const std::vector<std::string>& rule_ids) {
  v1::AuditEntry e;
  e.set_event(v1::AUDIT_EVENT_REJECTED);
  e.set_sender_org(caller.org);
  e.set_recipient_org(ctx_->config->org_id());
  if (header != nullptr) {
    // Unauthenticated unless `opened` is set: recorded as what was claimed.
    e.set_record_id(header->labels.record_id);
    e.mutable_labels()->set_record_type(header->labels.record_type);
    e.mutable_labels()->set_classification(header->labels.classification);
    e.mutable_labels()->set_purpose(header->labels.purpose);
    e.mutable_labels()->set_recipient_org(header->labels.recipient_org);
  }
  if (opened != nullptr) {
    *e.mutable_labels() = LabelsOf(*opened);
    e.set_sender_system(opened->content.sender_system());
    e.set_recipient_system(opened->content.recipient_system());
  }
  if (policy_denied) e.set_decision(v1::AUDIT_DECISION_DENY);
  for (const std::string& r : rule_ids) e.add_rule_ids(r);
  e.set_reason(std::string(refusal.message()));
  e.set_status_code(GrpcCodeName(static_cast<grpc::StatusCode>(refusal.code())));
  if (std::shared_ptr<const LoadedPolicy> p = ctx_->policy->live()) {
    e.set_policy_version(p->version);
  }
  ctx_->metrics->CountRecord("inbound", "rejected",
                             GrpcCodeName(static_cast<grpc::StatusCode>(refusal.code())));
  LogWarning("delivery refused", {{"record_id", e.record_id()},
                                  {"caller", caller.uri},
                                  {"error", refusal.ToString()}});
  if (!ctx_->auditor->Append(std::move(e)).ok()) {
    return absl::UnavailableError("this gateway cannot write its audit log; retry later");
  }
  return refusal;
}

absl::Status PeerService::CheckClaimedParties(const Identity& caller,
                                              const envelope::EnvelopeHeader& claimed) {
  const envelope::RecordLabels& h = claimed.labels;
  if (h.sender_org != caller.org) {
    return Reject(caller, &claimed, nullptr,
                  absl::UnauthenticatedError(absl::StrCat(
                      "the envelope claims sender organisation '", h.sender_org,
                      "' but the connection is from ", caller.uri)));
  }
  if (h.recipient_org != ctx_->config->org_id()) {
    return Reject(caller, &claimed, nullptr,
                  absl::InvalidArgumentError(absl::StrCat(
                      "record is addressed to '", h.recipient_org, "', but this is ",
                      ctx_->config->org_id(), "'s gateway")));
  }
  if (!IsRecordId(h.record_id)) {
    return Reject(caller, &claimed, nullptr,
                  absl::InvalidArgumentError("record id must be 32 lower-case hex characters"));
  }
  return absl::OkStatus();
}

absl::Status PeerService::CheckRepeat(const Identity& caller,
                                      const envelope::EnvelopeHeader& header,
                                      const std::string& envelope_sha256,
                                      v1::DeliverResponse* response) {
  // A record id seen before: the same envelope is a retry (answered with the
  // first receipt); any other envelope under that id is a replay.
  const envelope::RecordLabels& h = header.labels;
  absl::StatusOr<MailboxSeen> seen = ctx_->store->FindInMailbox(h.sender_org, h.record_id);
  if (!seen.ok()) return seen.status();  // NotFound: a new record
  if (seen->sender_org != h.sender_org) {
    // An id another organisation used is refused: our systems acknowledge
    // records by id, and one Ack must not take both.
    return Reject(caller, &header, nullptr,
                  absl::AlreadyExistsError(absl::StrCat(
                      "record id ", h.record_id,
                      " was already used by another organisation; send it under a new id")));
  }
  if (seen->envelope_sha256 != envelope_sha256) {
    return Reject(caller, &header, nullptr,
                  absl::AlreadyExistsError(absl::StrCat(
                      "replay refused: record ", h.record_id, " from ", h.sender_org,
                      " was already delivered with different contents")));
  }
  *response->mutable_receipt() = seen->receipt;
  response->set_duplicate(true);
  ctx_->metrics->CountRecord("inbound", "duplicate");
  return absl::OkStatus();
}

absl::Status PeerService::Accept(const Identity& caller, const std::string& envelope,
                                 v1::DeliverResponse* response, Pending* pending) {
  const v1::GatewayConfig& config = *ctx_->config;
  if (static_cast<int64_t>(envelope.size()) > config.max_payload_bytes() + (64 << 10)) {
    return Reject(caller, nullptr, nullptr,
                  absl::ResourceExhaustedError(absl::StrCat(
                      "envelope is ", envelope.size(), " bytes; this gateway accepts records of "
                      "at most ", config.max_payload_bytes(), " bytes")));
  }
  absl::StatusOr<envelope::EnvelopeHeader> claimed = envelope::PeekHeader(envelope);
  if (!claimed.ok()) {
    return Reject(caller, nullptr, nullptr,
                  absl::InvalidArgumentError(absl::StrCat("malformed envelope: ",
                                                          claimed.status().message())));
  }
  RETURN_IF_ERROR(CheckClaimedParties(caller, *claimed));
  const std::string envelope_sha256 = Sha256(envelope);
  // Claimed before the repeat check: a copy that found nothing stored and
  // then claimed after the first copy was stored would be audited twice.
  ASSIGN_OR_RETURN(pending->claim, Claim(claimed->labels.sender_org, claimed->labels.record_id));
  if (absl::Status repeat = CheckRepeat(caller, *claimed, envelope_sha256, response);
      !absl::IsNotFound(repeat)) {
    return repeat;
  }

  absl::StatusOr<OpenedContent> opened =
      OpenRecord(*ctx_, *pending->directory, envelope, caller.org);
  if (!opened.ok()) {
    return Reject(caller, &*claimed, nullptr,
                  EnvelopeRefusal(opened.status(), "envelope", /*from_spool=*/false));
  }
  RETURN_IF_ERROR(
      AcceptOpened(caller, *opened, envelope_sha256, Sha256(opened->content.payload()), pending));
  pending->record.set_envelope(envelope);
  return absl::OkStatus();
}

absl::Status PeerService::AcceptOpened(const Identity& caller, const OpenedContent& opened_ref,
                                       const std::string& envelope_sha256,
                                       const std::string& payload_sha256, Pending* pending) {
  const v1::GatewayConfig& config = *ctx_->config;
  const OpenedContent* opened = &opened_ref;
  const envelope::RecordLabels& h = opened->header.labels;
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  const int64_t created = opened->header.labels.created_unix_ms;
  if (created < now_ms - config.replay_window_seconds() * 1000) {
    return Reject(caller, &opened->header, &*opened,
                  absl::FailedPreconditionError(absl::StrCat(
                      "replay refused: record ", h.record_id, " was created at ", created,
                      " ms, outside this gateway's window of ", config.replay_window_seconds(),
                      " s before now (", now_ms, " ms)")));
  }
  if (created > now_ms + kMaxClockSkewMs) {
    // One of the two clocks is wrong. Not the record's fault, and it will be
    // in the window once this clock has caught up: the sender retries it.
    return Reject(caller, &opened->header, &*opened,
                  absl::UnavailableError(absl::StrCat(
                      "record ", h.record_id, " was created at ", created, " ms, more than ",
                      kMaxClockSkewMs / 1000, " s ahead of this gateway's clock (", now_ms,
                      " ms): check both gateways' clocks; it is refused until then")));
  }
  if (!opened->content.recipient_system().empty() &&
      !IsValidId(opened->content.recipient_system())) {
    return Reject(caller, &opened->header, &*opened,
                  absl::InvalidArgumentError("recipient system is not a valid id"));
  }
  const v1::Organisation* self = pending->directory->Find(config.org_id());
  if (absl::Status s = CheckNoWriteDown(h.classification,
                                        self != nullptr ? self->accreditation() : "",
                                        "this gateway");
      self != nullptr && !s.ok()) {
    return Reject(caller, &opened->header, &*opened, s, true);
  }
  // Addressed to this organisation (checked before it was opened).
  const v1::Labels labels = LabelsOf(*opened);
  std::vector<absl::string_view> caveats;
  const policy::Request req = PolicyRequestOf(h.sender_org, labels, &caveats);
  PolicyHolder::Outcome decided = ctx_->policy->Decide(req);
  const std::vector<std::string> rule_ids = PolicyHolder::Outcome::RuleIds(decided.live);
  if (decided.differs) {
    v1::AuditEntry shadow;
    shadow.set_record_id(h.record_id);
    shadow.set_sender_org(h.sender_org);
    shadow.set_recipient_org(config.org_id());
    *shadow.mutable_labels() = labels;
    decided.FillShadowEntry(&shadow);
    ctx_->auditor->Note(std::move(shadow));
    ctx_->metrics->CountRecord("inbound", "shadow_differs");
  }
  if (!decided.live.allowed) {
    return Reject(caller, &opened->header, &*opened,
                  absl::PermissionDeniedError(absl::StrCat(
                      "refused by ", config.org_id(), "'s inbound policy: ",
                      decided.live.reason, DescribeUnknown(decided.live, req))),
                  true, rule_ids);
  }

  v1::AuditEntry e;
  e.set_event(v1::AUDIT_EVENT_RECEIVED);
  e.set_record_id(h.record_id);
  e.set_sender_org(h.sender_org);
  e.set_sender_system(opened->content.sender_system());
  e.set_recipient_org(config.org_id());
  e.set_recipient_system(opened->content.recipient_system());
  *e.mutable_labels() = labels;
  e.set_decision(v1::AUDIT_DECISION_PERMIT);
  for (const std::string& r : rule_ids) e.add_rule_ids(r);
  e.set_reason(std::string(decided.live.reason));
  e.set_payload_sha256(payload_sha256);
  e.add_key_ids(envelope::KeyIdToHex(opened->header.sender_key_id));
  e.add_key_ids(envelope::KeyIdToHex(opened->header.recipient_key_id));
  e.set_policy_version(decided.live_policy->version);
  pending->entry = std::move(e);

  v1::DeliveryReceipt& receipt = pending->receipt;
  receipt.set_record_id(h.record_id);
  receipt.set_sender_org(h.sender_org);
  receipt.set_receiver_org(config.org_id());
  receipt.set_envelope_sha256(envelope_sha256);
  receipt.set_audit_origin(ctx_->auditor->log()->origin());
  receipt.set_received_unix_ms(now_ms);

  v1::MailboxRecord& record = pending->record;
  // The key that verified it, kept with it: the record stays readable
  // whatever the sender's directory entry says later.
  absl::StatusOr<std::string> sender_key =
      VerifiedBy(*pending->directory, h.sender_org, opened->header);
  if (!sender_key.ok()) {
    // The directory changed since the envelope was verified: try again.
    return Reject(caller, &opened->header, &*opened,
                  absl::UnavailableError(sender_key.status().message()));
  }
  record.set_sender_key(*std::move(sender_key));
  record.set_record_id(h.record_id);
  record.set_sender_org(h.sender_org);
  record.set_recipient_system(opened->content.recipient_system());
  record.set_received_unix_ms(now_ms);
  record.set_payload_sha256(payload_sha256);
  pending->envelope_sha256 = envelope_sha256;
  return absl::OkStatus();
}

void PeerService::Commit(Pending pending, Finisher finish, v1::DeliverResponse* response) {
  // Audited, then the receipt signed with the entry's index, then durable in
  // the mailbox: each step starts on the thread that finished the last.
  v1::AuditEntry entry = std::move(pending.entry);
  ctx_->auditor->Record(std::move(entry), [this, finish, response,
                                           pending = std::move(pending)](
                                              absl::StatusOr<uint64_t> index) mutable {
    if (!index.ok()) {
      finish(ToGrpcStatus(
          absl::UnavailableError("this gateway cannot write its audit log; retry later")));
      return;
    }
    pending.receipt.set_audit_index(*index);
    absl::StatusOr<v1::SignedReceipt> signed_receipt = SignReceipt(*ctx_->keyset, pending.receipt);
    if (!signed_receipt.ok()) {
      finish(ToGrpcStatus(signed_receipt.status()));
      return;
    }
    ctx_->store->AddToMailboxAsync(
        pending.record, pending.envelope_sha256, *signed_receipt,
        [this, finish, response, id = pending.record.record_id(),
         from = pending.record.sender_org(),
         held = std::make_shared<std::shared_ptr<void>>(std::move(pending.claim))](
            absl::StatusOr<MailboxPut> put) {
          // Stored (or refused): the record is no longer being delivered.
          // Released before the answer (whichever copy of this callback
          // runs), so a copy the sender sends as soon as it has the answer
          // finds it stored, not still claimed.
          held->reset();
          if (!put.ok()) {
            finish(ToGrpcStatus(put.status()));
            return;
          }
          *response->mutable_receipt() = put->held.receipt;
          response->set_duplicate(!put->inserted);
          ctx_->metrics->CountRecord("inbound", put->inserted ? "received" : "duplicate");
          if (put->inserted) LogInfo("received", {{"record_id", id}, {"sender_org", from}});
          finish(grpc::Status::OK);
        });
  });
}

absl::StatusOr<Identity> PeerService::Admit(grpc::ServerContextBase* context,
                                            const DirectorySnapshot& directory) {
  absl::StatusOr<Identity> caller = Authenticate(context, directory);
  if (!caller.ok()) {
    // Summarised (one audit entry per caller and reason per interval), so
    // that a flood of refused calls cannot fill the audit log.
    absl::StatusOr<Identity> claimed = PeerIdentity(*context->auth_context());
    ctx_->refusals->Refused("peer", claimed.ok() ? claimed->uri : "an unidentified caller",
                            caller.status().message());
    return caller.status();
  }
  // Deliveries need a directory in force: the peer is told to retry later
  // (its records stay queued with it).
  absl::Status in_force = directory.CheckInForce(absl::Now());
  if (in_force.ok()) in_force = ctx_->policy->CheckInForce(absl::Now());
  if (!in_force.ok()) {
    context->AddTrailingMetadata("retry-after-ms", "30000");
    ctx_->metrics->CountRefusal("peer", "UNAVAILABLE");
    return absl::UnavailableError(in_force.message());
  }
  // Over its rate a peer is told when to retry; counted and logged, not
  // audited, so that a flood cannot fill the audit log.
  if (int64_t wait_ms = listener_limiter_.Take("", absl::ToUnixMillis(absl::Now()));
      wait_ms > 0) {
    context->AddTrailingMetadata("retry-after-ms", absl::StrCat(wait_ms));
    ctx_->metrics->CountRefusal("peer", "RESOURCE_EXHAUSTED");
    return absl::ResourceExhaustedError(absl::StrCat(
        "this gateway's peer port is over its limit of ", ctx_->config->listener_rate(),
        " deliveries a second from all peers; retry after ", wait_ms, " ms"));
  }
  if (int64_t wait_ms = limiter_.Take(caller->org, absl::ToUnixMillis(absl::Now())); wait_ms > 0) {
    context->AddTrailingMetadata("retry-after-ms", absl::StrCat(wait_ms));
    ctx_->metrics->CountRefusal("peer", "RESOURCE_EXHAUSTED");
    return absl::ResourceExhaustedError(absl::StrCat(
        "organisation ", caller->org, " is over its limit of ",
        ctx_->config->deliver_rate_per_org(), " deliveries a second; retry after ", wait_ms,
        " ms"));
  }
  return caller;
}

grpc::ServerUnaryReactor* PeerService::Deliver(grpc::CallbackServerContext* context,
                                               const v1::DeliverRequest* request,
                                               v1::DeliverResponse* response) {
  Pending pending;
  pending.directory = ctx_->directory->Snapshot();
  absl::StatusOr<Identity> caller = Admit(context, *pending.directory);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::Status s = Accept(*caller, request->envelope(), response, &pending);
  if (!s.ok()) {
    ctx_->metrics->CountRefusal("peer", GrpcCodeName(static_cast<grpc::StatusCode>(s.code())));
  }
  if (!s.ok() || pending.entry.event() == v1::AUDIT_EVENT_UNSPECIFIED) {
    return Finish(context, s);  // refused, or a repeat answered with its first receipt
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Commit(std::move(pending), [reactor](const grpc::Status& st) { reactor->Finish(st); },
         response);
  return reactor;
}

grpc::Status PeerService::DeliverStream(grpc::ServerContext* context,
                                        grpc::ServerReader<v1::DeliverChunk>* reader,
                                        v1::DeliverResponse* response) {
  std::shared_ptr<const DirectorySnapshot> directory = ctx_->directory->Snapshot();
  absl::StatusOr<Identity> caller = Admit(context, *directory);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::Status s = AcceptStream(*caller, context, reader, response, std::move(directory));
  if (!s.ok()) {
    ctx_->metrics->CountRefusal("peer", GrpcCodeName(static_cast<grpc::StatusCode>(s.code())));
  }
  return ToGrpcStatus(s);
}

absl::Status PeerService::AcceptStream(const Identity& caller, grpc::ServerContext* context,
                                       grpc::ServerReader<v1::DeliverChunk>* reader,
                                       v1::DeliverResponse* response,
                                       std::shared_ptr<const DirectorySnapshot> directory) {
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
      OpenStreamedRecord(*ctx_, *directory, file.get(), caller.org, &sink);
  file.reset();
  if (!opened.ok()) {
    return Reject(caller, nullptr, nullptr,
                  EnvelopeRefusal(opened.status(), "streamed envelope", /*from_spool=*/true));
  }
  const envelope::RecordLabels& h = opened->header.labels;
  const std::string envelope_sha256 = spool->sha256();
  Pending pending;
  pending.directory = std::move(directory);
  ASSIGN_OR_RETURN(pending.claim, Claim(h.sender_org, h.record_id));  // before the repeat check
  if (absl::Status repeat = CheckRepeat(caller, opened->header, envelope_sha256, response);
      !absl::IsNotFound(repeat)) {
    return repeat;
  }
  // Held to the end, past the cleanup below: no other call of this record
  // can have stored its envelope file meanwhile.
  const std::shared_ptr<void> claim = pending.claim;
  RETURN_IF_ERROR(
      AcceptOpened(caller, *opened, envelope_sha256, sink.payload_sha256(), &pending));

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
  std::promise<grpc::Status> done;
  Commit(std::move(pending), [&done](const grpc::Status& st) { done.set_value(st); }, response);
  grpc::Status st = done.get_future().get();
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

grpc::ServerUnaryReactor* PeerService::GetCheckpoint(grpc::CallbackServerContext* context,
                                                     const v1::GetCheckpointRequest* request,
                                                     v1::GetCheckpointResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return Finish(context, caller.status());
  const audit::AuditLog& log = *ctx_->auditor->log();
  absl::StatusOr<std::pair<uint64_t, std::string>> latest = LatestSigned(log);
  if (!latest.ok()) return Finish(context, latest.status());
  response->set_checkpoint(latest->second);
  const uint64_t from = request->from_size();
  if (from > 0 && from <= latest->first) {
    absl::StatusOr<std::vector<audit::Hash>> proof = log.ConsistencyProof(from, latest->first);
    if (!proof.ok()) return Finish(context, proof.status());
    for (const audit::Hash& h : *proof) response->add_consistency_proof(HashBytes(h));
  }
  return Finish(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* PeerService::PutCosignature(grpc::CallbackServerContext* context,
                                                      const v1::PutCosignatureRequest* request,
                                                      v1::PutCosignatureResponse*) {
  std::shared_ptr<const DirectorySnapshot> directory = ctx_->directory->Snapshot();
  absl::StatusOr<Identity> caller = Authenticate(context, *directory);
  if (!caller.ok()) return Finish(context, caller.status());
  const v1::Organisation* org = directory->Find(caller->org);
  absl::StatusOr<audit::NoteVerifier> cosigner =
      audit::NoteVerifier::FromVerifierKey(org != nullptr ? org->cosigner_key() : "");
  if (!cosigner.ok()) {
    return Finish(context, absl::FailedPreconditionError(absl::StrCat(
                               "the directory lists no cosigner key for ", caller->org)));
  }
  absl::Status s = ctx_->auditor->log()->AddCosignature(request->cosigned_checkpoint(), *cosigner);
  if (s.ok()) {
    LogInfo("checkpoint cosigned by peer", {{"peer", caller->org}});
  } else {
    LogWarning("cosignature refused", {{"peer", caller->org}, {"error", s.ToString()}});
  }
  return Finish(context, s);
}

grpc::ServerUnaryReactor* PeerService::GetInclusionProof(
    grpc::CallbackServerContext* context, const v1::GetInclusionProofRequest* request,
    v1::GetInclusionProofResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return Finish(context, caller.status());
  const audit::AuditLog& log = *ctx_->auditor->log();
  const uint64_t index = request->audit_index();
  absl::StatusOr<std::pair<uint64_t, std::string>> latest = LatestSigned(log);
  if (!latest.ok()) return Finish(context, latest.status());
  if (index >= latest->first) {
    return Finish(context, absl::NotFoundError(absl::StrCat(
                               "audit entry ", index, " is not yet covered by a signed "
                               "checkpoint (latest covers ", latest->first,
                               " entries); ask again after the next one")));
  }
  absl::StatusOr<v1::AuditEntry> entry = log.ReadEntry(index);
  // Only the record's sender may see the entry; any other is reported as missing.
  if (!entry.ok() || entry->sender_org() != caller->org) {
    return Finish(context, absl::NotFoundError(absl::StrCat(
                               "no audit entry ", index, " about a record from ", caller->org)));
  }
  absl::StatusOr<std::vector<audit::Hash>> proof = log.InclusionProof(index, latest->first);
  if (!proof.ok()) return Finish(context, proof.status());
  response->set_entry(entry->SerializeAsString());
  response->set_tree_size(latest->first);
  for (const audit::Hash& h : *proof) response->add_hashes(HashBytes(h));
  response->set_checkpoint(latest->second);
  return Finish(context, absl::OkStatus());
}

}  // namespace gatehouse

#include "gateway/peer_service.h"

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "envelope/sha256.h"
#include "common/status_macros.h"
#include "proto/error_details.h"
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

absl::Status PeerService::EnvelopeRefusal(const absl::Status& s, absl::string_view what,
                                          bool from_spool) {
  const bool keep = absl::IsInvalidArgument(s) || absl::IsNotFound(s) ||
                    (from_spool && absl::IsUnavailable(s));
  return absl::Status(keep ? s.code() : absl::StatusCode::kUnauthenticated,
                      absl::StrCat(what, " refused: ", s.message()));
}

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
                                 const OpenedContent* opened, const Refusal& refusal,
                                 Pending* defer) {
  std::string policy_version;
  if (std::shared_ptr<const LoadedPolicy> p = ctx_->policy->live()) policy_version = p->version;
  v1::AuditEntry base = DeliveryEntry(caller.org, ctx_->config->org_id(), header, opened);
  if (defer != nullptr && defer->answer_later) {
    defer->rejection = Pending::Rejection{refusal, std::move(base), std::move(policy_version)};
    return refusal.status;
  }
  return ctx_->reporter->ReportAndWait(refusal, {RefusalReporter::Direction::kInbound, caller.uri},
                                       std::move(base), policy_version);
}

absl::Status PeerService::CheckClaimedParties(const Identity& caller,
                                              const envelope::EnvelopeHeader& claimed,
                                              Pending* defer) {
  std::optional<Refusal> refused =
      CheckClaimed(caller.org, caller.uri, ctx_->config->org_id(), claimed.labels);
  if (refused.has_value()) return Reject(caller, &claimed, nullptr, *refused, defer);
  return absl::OkStatus();
}

absl::Status PeerService::CheckRepeat(const Identity& caller,
                                      const envelope::EnvelopeHeader& header,
                                      const std::string& envelope_sha256,
                                      v1::DeliverResponse* response, Pending* defer) {
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
                      " was already used by another organisation; send it under a new id")), defer);
  }
  if (seen->envelope_sha256 != envelope_sha256) {
    return Reject(caller, &header, nullptr,
                  absl::AlreadyExistsError(absl::StrCat(
                      "replay refused: record ", h.record_id, " from ", h.sender_org,
                      " was already delivered with different contents")), defer);
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
                      "at most ", config.max_payload_bytes(), " bytes")), pending);
  }
  absl::StatusOr<envelope::EnvelopeHeader> claimed = envelope::PeekHeader(envelope);
  if (!claimed.ok()) {
    return Reject(caller, nullptr, nullptr,
                  absl::InvalidArgumentError(absl::StrCat("malformed envelope: ",
                                                          claimed.status().message())), pending);
  }
  RETURN_IF_ERROR(CheckClaimedParties(caller, *claimed, pending));
  const std::string envelope_sha256 = Sha256(envelope);
  // Claimed before the repeat check: a copy that found nothing stored and
  // then claimed after the first copy was stored would be audited twice.
  ASSIGN_OR_RETURN(pending->claim, Claim(claimed->labels.sender_org, claimed->labels.record_id));
  if (absl::Status repeat = CheckRepeat(caller, *claimed, envelope_sha256, response, pending);
      !absl::IsNotFound(repeat)) {
    return repeat;
  }

  absl::StatusOr<OpenedContent> opened =
      OpenRecord(*ctx_, *pending->trust.directory, envelope, caller.org);
  if (!opened.ok()) {
    return Reject(caller, &*claimed, nullptr,
                  EnvelopeRefusal(opened.status(), "envelope", /*from_spool=*/false), pending);
  }
  RETURN_IF_ERROR(
      AcceptOpened(caller, *opened, envelope_sha256, Sha256(opened->content.payload()),
                   opened->content.payload().size(), pending));
  pending->record.set_envelope(envelope);
  return absl::OkStatus();
}

absl::Status PeerService::AcceptOpened(const Identity& caller, const OpenedContent& opened,
                                       const std::string& envelope_sha256,
                                       const std::string& payload_sha256,
                                       uint64_t payload_bytes, Pending* pending) {
  InboundInput in;
  in.opened = &opened;
  in.envelope_sha256 = envelope_sha256;
  in.payload_sha256 = payload_sha256;
  in.payload_bytes = payload_bytes;
  in.now_unix_ms = absl::ToUnixMillis(absl::Now());
  in.replay_window_seconds = ctx_->config->replay_window_seconds();
  in.audit_origin = ctx_->auditor->log()->origin();
  InboundDecision d = DecideInbound(pending->trust, in);
  if (d.shadow.has_value()) {
    ctx_->auditor->Note(*std::move(d.shadow));
    ctx_->metrics->CountRecord("inbound", "shadow_differs");
  }
  if (d.refusal.has_value()) return Reject(caller, &opened.header, &opened, *d.refusal, pending);
  pending->entry = std::move(d.plan.entry);
  pending->receipt = std::move(d.plan.receipt);
  pending->record = std::move(d.plan.record);
  pending->envelope_sha256 = envelope_sha256;
  return absl::OkStatus();
}

void PeerService::Commit(Pending pending, Finisher finish, v1::DeliverResponse* response) {
  const std::string id = pending.record.record_id();
  const std::string from = pending.record.sender_org();
  InboundPlan plan{std::move(pending.entry), std::move(pending.receipt),
                   std::move(pending.record)};
  commit_.Commit(
      std::move(plan), pending.envelope_sha256,
      [this, finish, response, id, from,
       held = std::make_shared<std::shared_ptr<void>>(std::move(pending.claim))](
          absl::StatusOr<MailboxPut> put) {
        // Stored (or refused): the record is no longer being delivered.
        // Released before the answer (whichever copy of this callback runs),
        // so a copy the sender sends as soon as it has the answer finds it
        // stored, not still claimed.
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
}

absl::Status PeerService::SignReceipts(const std::vector<v1::DeliverResponse*>& answers) const {
  std::vector<v1::SignedReceipt*> unsigned_receipts;
  std::vector<std::string> bytes;
  for (v1::DeliverResponse* a : answers) {
    if (!a->has_receipt() || !a->receipt().signature().empty()) continue;
    unsigned_receipts.push_back(a->mutable_receipt());
    bytes.push_back(a->receipt().receipt());
  }
  if (bytes.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<v1::SignedReceipt>> signed_receipts =
      gatehouse::SignReceipts(*ctx_->keys->Current()->keyset, bytes);
  if (!signed_receipts.ok()) {
    // Held, but with no receipt to show: never a refusal of the record,
    // which a sender would give up on. Its retry is answered as a copy
    // already held, with this receipt signed then.
    LogError("receipt not signed", {{"error", signed_receipts.status().ToString()}});
    return absl::UnavailableError(absl::StrCat(
        "the record is held but its receipt could not be signed; retry: ",
        signed_receipts.status().message()));
  }
  for (size_t i = 0; i < signed_receipts->size(); ++i) {
    *unsigned_receipts[i] = std::move((*signed_receipts)[i]);
  }
  return absl::OkStatus();
}

absl::StatusOr<Identity> PeerService::Admit(grpc::ServerContextBase* context,
                                            const TrustSnapshot& trust, int deliveries) {
  absl::StatusOr<Identity> caller = Authenticate(context, *trust.directory);
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
  absl::Status in_force = trust.CheckInForce(absl::Now());
  if (!in_force.ok()) {
    context->AddTrailingMetadata("retry-after-ms", "30000");
    ctx_->metrics->CountRefusal("peer", "UNAVAILABLE");
    return absl::UnavailableError(in_force.message());
  }
  // Over its rate a peer is told when to retry; counted and logged, not
  // audited, so that a flood cannot fill the audit log. Its own limit
  // first: a peer over it takes nothing from the port's, which all share.
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  std::string refused;
  int64_t wait_ms = limiter_.Take(caller->org, now_ms, deliveries);
  if (wait_ms > 0) {
    refused = absl::StrCat("organisation ", caller->org, " is over its limit of ",
                           ctx_->config->deliver_rate_per_org(), " deliveries a second");
  } else if ((wait_ms = listener_limiter_.Take("", now_ms, deliveries)) > 0) {
    limiter_.Give(caller->org, deliveries);  // not delivered: not counted
    refused = absl::StrCat("this gateway's peer port is over its limit of ",
                           ctx_->config->listener_rate(), " deliveries a second from all peers");
  }
  if (wait_ms > 0) {
    context->AddTrailingMetadata("retry-after-ms", absl::StrCat(wait_ms));
    ctx_->metrics->CountRefusal("peer", "RESOURCE_EXHAUSTED");
    return RetryLater(
        absl::ResourceExhaustedError(absl::StrCat(refused, "; retry after ", wait_ms, " ms")),
        "RATE_LIMITED", absl::Milliseconds(wait_ms));
  }
  return caller;
}

void PeerService::ReportRejection(const Identity& caller, Pending* pending, Finisher settle) {
  Pending::Rejection& r = *pending->rejection;
  ctx_->reporter->Report(
      r.refusal, {RefusalReporter::Direction::kInbound, caller.uri}, std::move(r.base),
      r.policy_version,
      [settle = std::move(settle), claim = std::move(pending->claim)](absl::Status st) mutable {
        claim.reset();
        settle(ToGrpcStatus(st));
      });
}

grpc::ServerUnaryReactor* PeerService::Deliver(grpc::CallbackServerContext* context,
                                               const v1::DeliverRequest* request,
                                               v1::DeliverResponse* response) {
  Pending pending;
  pending.answer_later = true;
  pending.trust = TrustOf(*ctx_);
  absl::StatusOr<Identity> caller = Admit(context, pending.trust);
  if (!caller.ok()) return AnswerNow(context, caller.status());
  absl::Status s = Accept(*caller, request->envelope(), response, &pending);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (pending.rejection.has_value()) {
    ReportRejection(*caller, &pending, [reactor](const grpc::Status& st) { reactor->Finish(st); });
    return reactor;
  }
  if (!s.ok() || pending.entry.event() == v1::AUDIT_EVENT_UNSPECIFIED) {
    // Not a record's refusal, or a repeat answered with its receipt.
    if (s.ok()) s = SignReceipts({response});
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  Commit(std::move(pending),
         [this, reactor, response](const grpc::Status& st) {
           reactor->Finish(st.ok() ? ToGrpcStatus(SignReceipts({response})) : st);
         },
         response);
  return reactor;
}

}  // namespace gatehouse

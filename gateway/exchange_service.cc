#include "gateway/exchange_service.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "proto/error_details.h"
#include "gateway/record/submit_check.h"
#include "transport/grpc_status.h"
#include "transport/tls.h"

namespace gatehouse {
namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string NewRecordId() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

}  // namespace

v1::Receipt ReceiptFor(const OutboxEntry& entry) {
  v1::Receipt r;
  r.set_record_id(entry.record.record_id());
  r.set_state(entry.state);
  r.set_sender_org(entry.record.sender_org());
  r.set_recipient_org(entry.record.labels().recipient_org());
  r.set_accepted_unix_ms(entry.record.accepted_unix_ms());
  r.set_delivered_unix_ms(entry.delivered_ms);
  r.set_attempts(entry.attempts);
  r.set_last_error(entry.last_error);
  r.set_audit_index(entry.record.audit_index());
  *r.mutable_rule_ids() = entry.record.rule_ids();
  r.set_acknowledged_unix_ms(entry.acked_ms);
  r.set_fetched_unix_ms(entry.fetched_ms);
  if (!entry.receipt.receipt().empty()) {
    r.mutable_delivery()->ParseFromString(entry.receipt.receipt());
    *r.mutable_signed_delivery() = entry.receipt;
  }
  return r;
}

absl::StatusOr<Identity> ExchangeService::Authenticate(
    grpc::ServerContextBase* context) const {
  ASSIGN_OR_RETURN(Identity id, PeerIdentity(*context->auth_context()));
  if (id.kind != Identity::Kind::kSystem) {
    return absl::UnauthenticatedError(absl::StrCat(
        id.uri, " is a gateway certificate; the Exchange API is for systems"));
  }
  if (id.org != config_->org_id()) {
    return absl::UnauthenticatedError(absl::StrCat(
        id.uri, " belongs to organisation ", id.org, "; this gateway serves ",
        config_->org_id()));
  }
  return id;
}

absl::Status ExchangeService::Admit(const Identity& caller, grpc::ServerContextBase* context) {
  if (int64_t wait_ms = listener_limiter_.Take("", NowMs()); wait_ms > 0) {
    context->AddTrailingMetadata("retry-after-ms", absl::StrCat(wait_ms));
    return RetryLater(
        absl::ResourceExhaustedError(absl::StrCat(
            "this gateway's client port is over its limit of ", config_->listener_rate(),
            " submits a second from all systems; retry after ", wait_ms, " ms")),
        "RATE_LIMITED", absl::Milliseconds(wait_ms));
  }
  if (int64_t wait_ms = limiter_.Take(caller.uri, NowMs()); wait_ms > 0) {
    context->AddTrailingMetadata("retry-after-ms", absl::StrCat(wait_ms));
    return RetryLater(
        absl::ResourceExhaustedError(absl::StrCat(
            caller.uri, " is over its limit of ", config_->submit_rate_per_system(),
            " submits a second; retry after ", wait_ms, " ms")),
        "RATE_LIMITED", absl::Milliseconds(wait_ms));
  }
  ASSIGN_OR_RETURN(int64_t depth, store_->OutboxDepth());
  if (depth >= config_->max_outbox_records()) {
    context->AddTrailingMetadata("retry-after-ms", "1000");
    return RetryLater(
        absl::ResourceExhaustedError(absl::StrCat(
            "the outbox holds ", depth, " undelivered records, its limit; retry once peers have "
            "caught up")),
        "OUTBOX_FULL", absl::Seconds(1));
  }
  return absl::OkStatus();
}

bool ExchangeService::AnswerRepeat(const Identity& caller, const std::string& key,
                                   v1::SubmitResponse* response) {
  if (key.empty()) return false;
  absl::StatusOr<OutboxEntry> seen = store_->FindByIdempotencyKey(caller.system, key);
  if (!seen.ok()) return false;
  *response->mutable_receipt() = ReceiptFor(*seen);
  response->mutable_receipt()->set_duplicate(true);
  return true;
}

void ExchangeService::Refuse(const Refusal& refusal, const Identity& caller,
                             const v1::SubmitRequest& request, const std::string& record_id,
                             const TrustSnapshot& trust, RefusalReporter::Done done) {
  ctx_->reporter->Report(refusal, {RefusalReporter::Direction::kOutbound, caller.uri},
                         SubmitEntry(caller.org, caller.system, request.labels(), record_id),
                         trust.policy_version(), std::move(done));
}

OutboundDecision ExchangeService::Plan(const TrustSnapshot& trust, const Identity& caller,
                                       const v1::SubmitRequest& request, bool streamed) {
  OutboundInput in;
  in.record_id = NewRecordId();
  in.sender_system = caller.system;
  in.labels = &request.labels();
  in.payload = request.payload();
  in.streamed = streamed;
  in.now_unix_ms = NowMs();
  OutboundDecision d = PlanOutbound(trust, in);
  if (d.shadow.has_value()) {
    ctx_->auditor->Note(*std::move(d.shadow));
    metrics_->CountRecord("outbound", "shadow_differs");
  }
  return d;
}

grpc::ServerUnaryReactor* ExchangeService::Submit(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return ParsedUnaryCall<v1::SubmitRequest, v1::SubmitResponse>::Start(
      request, response,
      [this, context](const v1::SubmitRequest* r, v1::SubmitResponse* out, UnaryCall* call) {
        OnSubmit(context, r, out, call);
      });
}

void ExchangeService::OnSubmit(grpc::CallbackServerContext* context,
                               const v1::SubmitRequest* request, v1::SubmitResponse* response,
                               UnaryCall* call) {
  const absl::Time start = absl::Now();
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) {
    metrics_->CountRefusal("exchange", "UNAUTHENTICATED");
    return call->Answer(caller.status());
  }
  const TrustSnapshot trust = TrustOf(*ctx_);  // everything below decides against this
  if (absl::Status in_force = trust.CheckInForce(absl::Now()); !in_force.ok()) {
    metrics_->CountRefusal("exchange", "FAILED_PRECONDITION");
    return call->Answer(in_force);
  }
  // Claimed before the repeat check: a Submit with the same key that ends
  // in between is then seen as the repeat it is.
  absl::StatusOr<std::shared_ptr<void>> claim =
      ClaimIdempotencyKey(*caller, request->idempotency_key());
  if (!claim.ok()) {
    metrics_->CountRefusal("exchange", "UNAVAILABLE");
    return call->Answer(claim.status());
  }
  if (AnswerRepeat(*caller, request->idempotency_key(), response)) {
    return call->Answer(absl::OkStatus());
  }
  // A refusal is answered once it is audited, on the audit log's thread.
  auto answer = [call, claim = *claim](absl::Status s) mutable {
    claim.reset();
    call->Finish(ToGrpcStatus(s));
  };
  absl::Status checked = Admit(*caller, context);
  if (checked.ok()) {
    checked = CheckSubmit(*config_, caller->uri, caller->org, caller->system, *request);
  }
  if (!checked.ok()) {
    Refuse(Refusal::Check(checked, "checks"), *caller, *request, "", trust, std::move(answer));
    return;
  }
  OutboundDecision decided = Plan(trust, *caller, *request, /*streamed=*/false);
  if (decided.refusal.has_value()) {
    Refuse(*decided.refusal, *caller, *request, decided.record_id, trust,
           std::move(answer));
    return;
  }
  Accept(call, *caller, request, response, start, std::move(decided.plan), *std::move(claim),
         trust);
}

absl::StatusOr<std::shared_ptr<void>> ExchangeService::ClaimIdempotencyKey(
    const Identity& caller, const std::string& key) {
  if (key.empty()) return std::shared_ptr<void>();
  return submitting_.Claim(
      gatehouse::ClaimKey(caller.system, key),
      "a Submit with this idempotency key is in progress; retry to get its receipt");
}

void ExchangeService::Accept(UnaryCall* call, const Identity& caller,
                             const v1::SubmitRequest* request, v1::SubmitResponse* response,
                             absl::Time start, OutboundPlan plan, std::shared_ptr<void> claim,
                             const TrustSnapshot& trust) {
  // Sealed, audited, then durable in the outbox, then delivered: each step
  // starts when the one before has finished, on the thread that finished
  // it, so no thread waits for a disk or for another record's signature.
  // The key stays claimed until the call is answered, and no longer:
  // released just before the answer, so a retry sent on the answer finds
  // the record.
  auto held = std::make_shared<std::shared_ptr<void>>(std::move(claim));
  Finisher finish = [call, held](const grpc::Status& s) {
    held->reset();
    call->Finish(s);
  };
  ctx_->seal_queue->Seal(
      std::move(plan.labels), std::move(plan.to), std::move(plan.content),
      [this, finish, caller, request, response, start, policy_version = trust.policy_version(),
       entry = std::move(plan.entry),
       record = std::move(plan.record)](absl::StatusOr<std::string> sealed) mutable {
        if (!sealed.ok()) {
          const Refusal refused = Refusal::Check(
              absl::Status(sealed.status().code(),
                           absl::StrCat("cannot seal the record: ", sealed.status().message())),
              "seal");
          ctx_->reporter->Report(
              refused, {RefusalReporter::Direction::kOutbound, caller.uri},
              SubmitEntry(caller.org, caller.system, request->labels(), record.record_id()),
              policy_version, [finish](absl::Status s) { finish(ToGrpcStatus(s)); });
          return;
        }
        record.set_envelope(*std::move(sealed));
        Audit(finish, caller.uri, request->idempotency_key(), response, start, std::move(entry),
              std::move(record));
      });
}

void ExchangeService::Audit(Finisher finish, const std::string& sender, const std::string& key,
                            v1::SubmitResponse* response, absl::Time start, v1::AuditEntry entry,
                            v1::OutboxRecord record) {
  commit_.Commit(
      std::move(entry), std::move(record), key,
      [this, finish = std::move(finish), response, start, sender](
          absl::StatusOr<OutboxEntry> entry, bool inserted) {
        if (!entry.ok()) {
          finish(ToGrpcStatus(entry.status()));
          return;
        }
        if (!inserted) {  // the key's earlier record
          *response->mutable_receipt() = ReceiptFor(*entry);
          response->mutable_receipt()->set_duplicate(true);
          finish(grpc::Status::OK);
          return;
        }
        LogInfo("submitted", {{"record_id", entry->record.record_id()},
                              {"sender", sender},
                              {"recipient_org", entry->record.labels().recipient_org()}});
        metrics_->CountRecord("outbound", "submitted");
        sender_->DeliverNow(*entry, [this, finish, response, start](const OutboxEntry& now) {
          *response->mutable_receipt() = ReceiptFor(now);
          metrics_->submit_seconds().Observe(absl::ToDoubleSeconds(absl::Now() - start));
          finish(grpc::Status::OK);
        });
      });
}

}  // namespace gatehouse

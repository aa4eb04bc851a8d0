#include "gateway/exchange_service.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "gateway/grpc_status.h"
#include "gateway/log.h"
#include "gateway/tls.h"

namespace gatehouse {
namespace {

constexpr int kDefaultPage = 100;
constexpr int kMaxPage = 1000;
constexpr size_t kMaxIdempotencyKey = 128;
constexpr size_t kMaxLabel = 256;
constexpr int kMaxCaveats = 64;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string NewRecordId() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context, const absl::Status& s) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

absl::Status CheckLabel(absl::string_view name, const std::string& value, bool required) {
  if (required && value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("labels.", name, " is required"));
  }
  if (value.size() > kMaxLabel) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels.", name, " is longer than ", kMaxLabel, " characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckClaims(const Identity& caller, const std::string& org,
                         const std::string& system, absl::string_view action) {
  if ((!org.empty() && org != caller.org) || (!system.empty() && system != caller.system)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "your certificate is ", caller.uri, "; it cannot ", action, " as ",
        org.empty() ? caller.org : org, "/", system.empty() ? caller.system : system));
  }
  return absl::OkStatus();
}

}  // namespace

v1::Receipt ReceiptFor(const OutboxEntry& entry) {
  v1::Receipt r;
  r.set_record_id(entry.request.record_id());
  r.set_state(entry.state);
  r.set_sender_org(entry.request.sender_org());
  r.set_recipient_org(entry.request.labels().recipient_org());
  r.set_accepted_unix_ms(entry.request.accepted_unix_ms());
  r.set_delivered_unix_ms(entry.delivered_ms);
  r.set_attempts(entry.attempts);
  r.set_last_error(entry.last_error);
  return r;
}

absl::StatusOr<Identity> ExchangeService::Authenticate(
    grpc::CallbackServerContext* context) const {
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

absl::Status ExchangeService::Admit(const Identity& caller,
                                    grpc::CallbackServerContext* context) {
  if (int64_t wait_ms = limiter_.Take(caller.uri, NowMs()); wait_ms > 0) {
    context->AddTrailingMetadata("retry-after-ms", absl::StrCat(wait_ms));
    return absl::ResourceExhaustedError(absl::StrCat(
        caller.uri, " is over its limit of ", config_->submit_rate_per_system(),
        " submits a second; retry after ", wait_ms, " ms"));
  }
  ASSIGN_OR_RETURN(int64_t depth, store_->OutboxDepth());
  if (depth >= config_->max_outbox_records()) {
    context->AddTrailingMetadata("retry-after-ms", "1000");
    return absl::ResourceExhaustedError(absl::StrCat(
        "the outbox holds ", depth, " undelivered records, its limit; retry once peers have "
        "caught up"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::DeliverRequest> ExchangeService::Prepare(
    const Identity& caller, const v1::SubmitRequest& request) const {
  RETURN_IF_ERROR(CheckClaims(caller, request.sender_org(), request.sender_system(), "submit"));
  if (static_cast<int64_t>(request.payload().size()) > config_->max_payload_bytes()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "payload is ", request.payload().size(), " bytes; this gateway accepts at most ",
        config_->max_payload_bytes(), " bytes"));
  }
  if (request.idempotency_key().size() > kMaxIdempotencyKey) {
    return absl::InvalidArgumentError(absl::StrCat(
        "idempotency_key is longer than ", kMaxIdempotencyKey, " characters"));
  }
  const v1::Labels& l = request.labels();
  RETURN_IF_ERROR(CheckLabel("recipient_org", l.recipient_org(), true));
  RETURN_IF_ERROR(CheckLabel("record_type", l.record_type(), true));
  RETURN_IF_ERROR(CheckLabel("classification", l.classification(), true));
  for (auto [name, value] : {std::pair<const char*, const std::string*>{"purpose", &l.purpose()},
                             {"originator", &l.originator()},
                             {"end_user", &l.end_user()},
                             {"content_type", &l.content_type()},
                             {"recipient_system", &l.recipient_system()}}) {
    RETURN_IF_ERROR(CheckLabel(name, *value, false));
  }
  if (l.caveats_size() > kMaxCaveats) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels.caveats has more than ", kMaxCaveats, " entries"));
  }
  for (const std::string& c : l.caveats()) RETURN_IF_ERROR(CheckLabel("caveats", c, true));
  if (!l.recipient_system().empty() && !IsValidId(l.recipient_system())) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels.recipient_system '", l.recipient_system(), "' is not a valid id"));
  }
  if (l.recipient_org() == config_->org_id()) {
    return absl::InvalidArgumentError(
        "labels.recipient_org is this gateway's own organisation; Gatehouse carries "
        "records between organisations");
  }
  if (!directory_->Find(l.recipient_org()).has_value()) {
    return absl::NotFoundError(absl::StrCat("recipient organisation '", l.recipient_org(),
                                            "' is not in the directory"));
  }
  v1::DeliverRequest out;
  out.set_record_id(NewRecordId());
  out.set_sender_org(caller.org);
  out.set_sender_system(caller.system);
  *out.mutable_labels() = l;
  out.set_payload(request.payload());
  out.set_accepted_unix_ms(NowMs());
  return out;
}

grpc::ServerUnaryReactor* ExchangeService::Submit(grpc::CallbackServerContext* context,
                                                  const v1::SubmitRequest* request,
                                                  v1::SubmitResponse* response) {
  const absl::Time start = absl::Now();
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) {
    metrics_->CountRefusal("exchange", "UNAUTHENTICATED");
    return Done(context, caller.status());
  }
  absl::Status admitted = Admit(*caller, context);
  absl::StatusOr<v1::DeliverRequest> prepared =
      admitted.ok() ? Prepare(*caller, *request) : admitted;
  if (!prepared.ok()) {
    metrics_->CountRefusal(
        "exchange", GrpcCodeName(static_cast<grpc::StatusCode>(prepared.status().code())));
    LogWarning("submit refused", {{"caller", caller->uri},
                                  {"error", prepared.status().ToString()}});
    return Done(context, prepared.status());
  }
  bool inserted = false;
  absl::StatusOr<OutboxEntry> entry =
      store_->AddToOutbox(*prepared, request->idempotency_key(),
                          prepared->accepted_unix_ms(), &inserted);
  if (!entry.ok()) return Done(context, entry.status());
  if (!inserted) {
    *response->mutable_receipt() = ReceiptFor(*entry);
    response->mutable_receipt()->set_duplicate(true);
    return Done(context, absl::OkStatus());
  }
  LogInfo("submitted", {{"record_id", prepared->record_id()},
                        {"sender", caller->uri},
                        {"recipient_org", prepared->labels().recipient_org()}});
  metrics_->CountRecord("outbound", "submitted");
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  sender_->DeliverNow(*entry, [this, reactor, response, start](const OutboxEntry& now) {
    *response->mutable_receipt() = ReceiptFor(now);
    metrics_->submit_seconds().Observe(absl::ToDoubleSeconds(absl::Now() - start));
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ExchangeService::Fetch(grpc::CallbackServerContext* context,
                                                 const v1::FetchRequest* request,
                                                 v1::FetchResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return Done(context, caller.status());
  absl::Status claims = CheckClaims(*caller, request->org_id(), request->system_id(), "fetch");
  if (!claims.ok()) return Done(context, claims);
  int64_t after = 0;
  if (!request->page_token().empty() &&
      (!absl::SimpleAtoi(request->page_token(), &after) || after < 0)) {
    return Done(context, absl::InvalidArgumentError("page_token is not one this gateway issued"));
  }
  int limit = request->max_records() <= 0 ? kDefaultPage
                                          : std::min(request->max_records(), kMaxPage);
  absl::StatusOr<std::vector<MailboxEntry>> entries =
      store_->FetchMailbox(caller->system, after, limit + 1);
  if (!entries.ok()) return Done(context, entries.status());
  bool more = static_cast<int>(entries->size()) > limit;
  if (more) entries->pop_back();
  for (MailboxEntry& e : *entries) *response->add_records() = std::move(e.record);
  if (more) response->set_next_page_token(absl::StrCat(entries->back().seq));
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* ExchangeService::Ack(grpc::CallbackServerContext* context,
                                               const v1::AckRequest* request,
                                               v1::AckResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return Done(context, caller.status());
  if (request->record_ids_size() > kMaxPage) {
    return Done(context, absl::InvalidArgumentError(
                             absl::StrCat("at most ", kMaxPage, " record ids per Ack")));
  }
  std::vector<std::string> ids(request->record_ids().begin(), request->record_ids().end());
  absl::StatusOr<int> acked = store_->AckMailbox(caller->system, ids, NowMs());
  if (!acked.ok()) return Done(context, acked.status());
  response->set_acked(*acked);
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* ExchangeService::Status(grpc::CallbackServerContext* context,
                                                  const v1::StatusRequest* request,
                                                  v1::StatusResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return Done(context, caller.status());
  response->set_org_id(caller->org);
  response->set_system_id(caller->system);
  absl::StatusOr<int64_t> mailbox = store_->MailboxDepth(caller->system);
  if (!mailbox.ok()) return Done(context, mailbox.status());
  absl::StatusOr<int64_t> outbox = store_->OutboxDepth();
  if (!outbox.ok()) return Done(context, outbox.status());
  response->set_mailbox_depth(*mailbox);
  response->set_outbox_depth(*outbox);
  if (!request->record_id().empty()) {
    absl::StatusOr<OutboxEntry> entry = store_->GetOutbox(request->record_id());
    // Another system's record is reported exactly as a missing one.
    if (!entry.ok() || entry->request.sender_system() != caller->system) {
      return Done(context, absl::NotFoundError(absl::StrCat(
                               "you submitted no record ", request->record_id())));
    }
    *response->mutable_receipt() = ReceiptFor(*entry);
  }
  return Done(context, absl::OkStatus());
}

}  // namespace gatehouse

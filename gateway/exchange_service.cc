#include "gateway/exchange_service.h"

#include <openssl/rand.h>

#include <filesystem>
#include <future>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "envelope/sha256.h"
#include "common/status_macros.h"
#include "transport/grpc_status.h"
#include "common/log.h"
#include "gateway/peer_audit.h"
#include "gateway/receipt.h"
#include "gateway/sealed_record.h"
#include "gateway/record/labels.h"
#include "gateway/record/obligations.h"
#include "gateway/record/write_down.h"
#include "transport/tls.h"
#include "absl/strings/str_join.h"
#include "gateway/stream_spool.h"

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

// The audit entry's view of a Submit: parties and labels, never the payload.
v1::AuditEntry SubmitEntry(const Identity& caller, const v1::SubmitRequest& request,
                           const std::string& record_id) {
  v1::AuditEntry e;
  e.set_record_id(record_id);
  e.set_sender_org(caller.org);
  e.set_sender_system(caller.system);
  e.set_recipient_org(request.labels().recipient_org());
  e.set_recipient_system(request.labels().recipient_system());
  *e.mutable_labels() = request.labels();
  return e;
}

// The FETCHED entry for `r` taken by `system` of `org`: never the payload,
// only its hash.
v1::AuditEntry FetchedEntry(const v1::Record& r, const std::string& org,
                            const std::string& system, const std::string& payload_sha256) {
  v1::AuditEntry a;
  a.set_event(v1::AUDIT_EVENT_FETCHED);
  a.set_record_id(r.record_id());
  a.set_sender_org(r.sender_org());
  a.set_sender_system(r.sender_system());
  a.set_recipient_org(org);
  a.set_recipient_system(system);
  *a.mutable_labels() = r.labels();
  a.set_payload_sha256(payload_sha256);
  return a;
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
  if (!entry.receipt.receipt().empty()) {
    r.mutable_delivery()->ParseFromString(entry.receipt.receipt());
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
    return absl::ResourceExhaustedError(absl::StrCat(
        "this gateway's client port is over its limit of ", config_->listener_rate(),
        " submits a second from all systems; retry after ", wait_ms, " ms"));
  }
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

bool ExchangeService::AnswerRepeat(const Identity& caller, const std::string& key,
                                   v1::SubmitResponse* response) {
  if (key.empty()) return false;
  absl::StatusOr<OutboxEntry> seen = store_->FindByIdempotencyKey(caller.system, key);
  if (!seen.ok()) return false;
  *response->mutable_receipt() = ReceiptFor(*seen);
  response->mutable_receipt()->set_duplicate(true);
  return true;
}

absl::Status ExchangeService::Check(const Identity& caller,
                                    const v1::SubmitRequest& request) const {
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
  if (config_->require_purpose() && l.purpose().empty()) {
    return absl::InvalidArgumentError(
        "labels.purpose is required: this gateway audits the purpose of every record");
  }
  if (config_->require_end_user() && l.end_user().empty()) {
    return absl::InvalidArgumentError(
        "labels.end_user is required: this gateway audits the person every record is sent for");
  }
  RETURN_IF_ERROR(CheckLabel("purpose", l.purpose(), false));
  RETURN_IF_ERROR(CheckLabel("end_user", l.end_user(), false));
  for (auto [name, value] : {std::pair<const char*, const std::string*>{"originator", &l.originator()},
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
  if (!l.originator().empty() && !IsValidId(l.originator())) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels.originator '", l.originator(), "' is not a valid organisation id"));
  }
  if (l.recipient_org() == config_->org_id()) {
    return absl::InvalidArgumentError(
        "labels.recipient_org is this gateway's own organisation; Gatehouse carries "
        "records between organisations");
  }
  return absl::OkStatus();
}

absl::Status ExchangeService::Refuse(const Identity& caller, const v1::SubmitRequest& request,
                                     const std::string& record_id, const absl::Status& refusal,
                                     const std::vector<std::string>& rule_ids) {
  v1::AuditEntry e = SubmitEntry(caller, request, record_id);
  e.set_event(v1::AUDIT_EVENT_DENIED);
  e.set_decision(v1::AUDIT_DECISION_DENY);
  for (const std::string& r : rule_ids) e.add_rule_ids(r);
  e.set_reason(std::string(refusal.message()));
  e.set_status_code(GrpcCodeName(static_cast<grpc::StatusCode>(refusal.code())));
  if (std::shared_ptr<const LoadedPolicy> p = ctx_->policy->live()) {
    e.set_policy_version(p->version);
  }
  absl::StatusOr<uint64_t> index = ctx_->auditor->Append(std::move(e));
  if (!index.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the record was refused (", refusal.message(),
        ") but the refusal could not be audited; retry later"));
  }
  return refusal;
}

absl::StatusOr<ExchangeService::Decided> ExchangeService::Decide(
    const Identity& caller, const v1::SubmitRequest& request, bool streamed) {
  const v1::Labels& l = request.labels();
  const std::string record_id = NewRecordId();
  std::optional<v1::Organisation> recipient = directory_->Find(l.recipient_org());
  if (!recipient.has_value()) {
    return Refuse(caller, request, record_id,
                  absl::NotFoundError(absl::StrCat("recipient organisation '", l.recipient_org(),
                                                   "' is not in the directory")));
  }
  // The directory's accreditation is the recipient gateway's own: never send
  // above it, whatever the policy says.
  if (absl::Status s = CheckNoWriteDown(l.classification(), recipient->accreditation(),
                                        absl::StrCat(l.recipient_org(), "'s gateway"));
      !s.ok()) {
    return Refuse(caller, request, record_id, s);
  }

  std::vector<absl::string_view> caveats;
  const policy::Request req = PolicyRequestOf(config_->org_id(), l, &caveats);
  PolicyHolder::Outcome decided = ctx_->policy->Decide(req);
  if (decided.differs) {
    v1::AuditEntry shadow = SubmitEntry(caller, request, record_id);
    decided.FillShadowEntry(&shadow);
    ctx_->auditor->Note(std::move(shadow));
    metrics_->CountRecord("outbound", "shadow_differs");
  }
  const std::vector<std::string> rule_ids = PolicyHolder::Outcome::RuleIds(decided.live);
  if (!decided.live.allowed) {
    metrics_->CountRecord("outbound", "denied", policy::OutcomeName(decided.live.outcome));
    return Refuse(caller, request, record_id,
                  absl::PermissionDeniedError(absl::StrCat(
                      decided.live.reason, DescribeUnknown(decided.live, req))),
                  rule_ids);
  }

  // Obligations. One the gateway cannot carry out is a denial.
  const policy::DecisionObligations& ob = decided.live.obligations;
  absl::StatusOr<ObligationsCarriedOut> done = CarryOutObligations(
      ob, ob.redact != 0 ? decided.live_policy->engine.RedactFields(ob) : std::vector<std::string>(),
      rule_ids.empty() ? "" : rule_ids[0], l, request.payload(), config_->org_id(), streamed);
  if (!done.ok()) {
    metrics_->CountRecord("outbound", "denied", "obligation");
    return Refuse(caller, request, record_id, done.status(), rule_ids);
  }
  v1::SealedContent content;
  content.set_sender_system(caller.system);
  content.set_recipient_system(l.recipient_system());
  content.set_originator(l.originator());
  content.set_end_user(l.end_user());
  content.set_payload(std::move(done->payload));
  const std::string& obligations_done = done->summary;

  absl::StatusOr<envelope::RecipientKey> to = envelope::RecipientKeyFromDirectory(*recipient);
  if (!to.ok()) {
    return Refuse(caller, request, record_id,
                  absl::FailedPreconditionError(absl::StrCat(
                      "the directory has no usable encryption key for ", l.recipient_org(), ": ",
                      to.status().message())));
  }
  envelope::RecordLabels labels = EnvelopeLabelsOf(l, record_id, config_->org_id(), NowMs());
  v1::AuditEntry e = SubmitEntry(caller, request, record_id);
  e.set_event(v1::AUDIT_EVENT_SUBMITTED);
  e.set_decision(v1::AUDIT_DECISION_PERMIT);
  for (const std::string& r : rule_ids) e.add_rule_ids(r);
  e.set_reason(absl::StrCat(decided.live.reason, "; ", obligations_done));
  e.set_payload_sha256(Sha256(content.payload()));
  e.set_policy_version(decided.live_policy->version);

  Decided out;
  out.entry = std::move(e);
  v1::OutboxRecord& record = out.record;
  record.set_record_id(record_id);
  record.set_sender_org(config_->org_id());
  record.set_sender_system(caller.system);
  *record.mutable_labels() = l;
  record.set_accepted_unix_ms(labels.created_unix_ms);
  for (const std::string& r : rule_ids) record.add_rule_ids(r);
  out.labels = std::move(labels);
  out.to = *std::move(to);
  out.content = streamed ? StreamPrefix(content) : content.SerializeAsString();
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
  if (absl::Status in_force = CheckTrustInForce(*ctx_, absl::Now()); !in_force.ok()) {
    metrics_->CountRefusal("exchange", "FAILED_PRECONDITION");
    return Done(context, in_force);
  }
  // Claimed before the repeat check: a Submit with the same key that ends
  // in between is then seen as the repeat it is.
  absl::StatusOr<std::shared_ptr<void>> claim =
      ClaimIdempotencyKey(*caller, request->idempotency_key());
  if (!claim.ok()) {
    metrics_->CountRefusal("exchange", "UNAVAILABLE");
    return Done(context, claim.status());
  }
  if (AnswerRepeat(*caller, request->idempotency_key(), response)) {
    return Done(context, absl::OkStatus());
  }
  absl::Status checked = Admit(*caller, context);
  if (checked.ok()) checked = Check(*caller, *request);
  if (!checked.ok()) checked = Refuse(*caller, *request, "", checked);
  absl::StatusOr<Decided> decided = checked.ok() ? Decide(*caller, *request, false) : checked;
  if (!decided.ok()) {
    metrics_->CountRefusal(
        "exchange", GrpcCodeName(static_cast<grpc::StatusCode>(decided.status().code())));
    LogWarning("submit refused", {{"caller", caller->uri},
                                  {"error", decided.status().ToString()}});
    return Done(context, decided.status());
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Accept(reactor, *caller, request, response, start, *std::move(decided), *std::move(claim));
  return reactor;
}

absl::StatusOr<std::shared_ptr<void>> ExchangeService::ClaimIdempotencyKey(
    const Identity& caller, const std::string& key) {
  if (key.empty()) return std::shared_ptr<void>();
  return submitting_.Claim(
      gatehouse::ClaimKey(caller.system, key),
      "a Submit with this idempotency key is in progress; retry to get its receipt");
}

void ExchangeService::Accept(grpc::ServerUnaryReactor* reactor, const Identity& caller,
                             const v1::SubmitRequest* request, v1::SubmitResponse* response,
                             absl::Time start, Decided decided,
                             std::shared_ptr<void> claim) {
  // Sealed, audited, then durable in the outbox, then delivered: each step
  // starts when the one before has finished, on the thread that finished
  // it, so no thread waits for a disk or for another record's signature.
  v1::AuditEntry entry = std::move(decided.entry);
  v1::OutboxRecord record = std::move(decided.record);
  ctx_->seal_queue->Seal(
      std::move(decided.labels), std::move(decided.to), std::move(decided.content),
      [this, reactor, caller, request, response, start, entry = std::move(entry),
       record = std::move(record),
       claim = std::move(claim)](absl::StatusOr<std::string> sealed) mutable {
        if (!sealed.ok()) {
          absl::Status refused =
              Refuse(caller, *request, record.record_id(),
                     absl::Status(sealed.status().code(),
                                  absl::StrCat("cannot seal the record: ",
                                               sealed.status().message())));
          metrics_->CountRefusal(
              "exchange", GrpcCodeName(static_cast<grpc::StatusCode>(refused.code())));
          reactor->Finish(ToGrpcStatus(refused));
          return;
        }
        record.set_envelope(*std::move(sealed));
        // The key stays claimed until the call is answered, and no longer:
        // released just before the answer (whichever copy of the finisher
        // runs), so a retry sent on the answer finds the record.
        auto held = std::make_shared<std::shared_ptr<void>>(claim);
        claim.reset();
        Audit(
            [reactor, held](const grpc::Status& s) {
              held->reset();
              reactor->Finish(s);
            },
            caller.uri, request->idempotency_key(), response, start, std::move(entry),
            std::move(record));
      });
}

void ExchangeService::Audit(Finisher finish, const std::string& sender, const std::string& key,
                            v1::SubmitResponse* response, absl::Time start, v1::AuditEntry entry,
                            v1::OutboxRecord record) {
  // Should the record not be queued after all, a DENIED entry says so:
  // SUBMITTED alone would name a record that never existed (the system
  // retries, and its retry is a new record under a new id).
  v1::AuditEntry not_queued = entry;
  not_queued.set_event(v1::AUDIT_EVENT_DENIED);
  not_queued.clear_decision();
  not_queued.clear_rule_ids();
  ctx_->auditor->Record(
      std::move(entry),
      [this, finish = std::move(finish), response, start, key, sender,
       record = std::move(record),
       not_queued = std::move(not_queued)](absl::StatusOr<uint64_t> index) mutable {
        if (!index.ok()) {
          finish(ToGrpcStatus(absl::UnavailableError(
              "the record could not be audited, so it was not accepted; retry")));
          return;
        }
        record.set_audit_index(*index);
        const int64_t accepted = record.accepted_unix_ms();
        store_->AddToOutboxAsync(
            record, key, accepted,
            [this, finish, response, start, sender, not_queued = std::move(not_queued)](
                absl::StatusOr<OutboxEntry> entry, bool inserted) mutable {
              if (!entry.ok() || !inserted) {
                not_queued.set_reason(
                    !entry.ok()
                        ? absl::StrCat("not queued after it was audited: ",
                                       entry.status().message())
                        : absl::StrCat("not queued: its idempotency key's record ",
                                       entry->record.record_id(), " was queued meanwhile"));
                not_queued.set_status_code(GrpcCodeName(static_cast<grpc::StatusCode>(
                    !entry.ok() ? entry.status().code() : absl::StatusCode::kAlreadyExists)));
                ctx_->auditor->Note(std::move(not_queued));
              }
              if (!entry.ok()) {
                finish(ToGrpcStatus(entry.status()));
                return;
              }
              if (!inserted) {
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
      });
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
      store_->FetchMailbox(ReaderFor(*caller),
                           after, limit + 1);
  if (!entries.ok()) return Done(context, entries.status());
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
      return Done(context, absl::DataLossError(absl::StrCat(
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
  if (absl::Status s = ctx_->auditor->AppendAll(std::move(audit)); !s.ok()) {
    response->Clear();
    return Done(context, absl::UnavailableError(
                             "the fetch could not be audited, so nothing is released; retry"));
  }
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
  absl::StatusOr<std::vector<MailboxAcked>> acked =
      store_->AckMailbox(ReaderFor(*caller), ids,
                         NowMs());
  if (!acked.ok()) return Done(context, acked.status());
  std::vector<v1::AuditEntry> audit;
  for (const MailboxAcked& a : *acked) {
    v1::AuditEntry e;
    e.set_event(v1::AUDIT_EVENT_ACKED);
    e.set_record_id(a.record_id);
    e.set_sender_org(a.sender_org);
    e.set_recipient_org(config_->org_id());
    e.set_recipient_system(caller->system);
    audit.push_back(std::move(e));
  }
  // The acknowledgement is already stored, so a retry would find nothing to
  // acknowledge: entries the full disk refuses are held and written later.
  if (absl::Status s = ctx_->auditor->AppendAll(std::move(audit), /*hold_refused=*/true);
      !s.ok()) {
    return Done(context, absl::UnavailableError(absl::StrCat(
                             "the acknowledgement is stored but could not yet be audited (",
                             s.message(), "); entries refused for want of space are held "
                             "and written once the audit log has room")));
  }
  response->set_acked(static_cast<int>(acked->size()));
  // A streamed record's spool file goes once its payload is dropped: when
  // the last system it waits for has acknowledged it (the id and envelope
  // hash stay in the store against replays).
  for (const MailboxAcked& a : *acked) {
    if (!a.payload_dropped) continue;
    std::error_code ec;
    std::filesystem::remove(InboundSpoolPath(config_->data_dir(), a.envelope_sha256), ec);
  }
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* ExchangeService::Status(grpc::CallbackServerContext* context,
                                                  const v1::StatusRequest* request,
                                                  v1::StatusResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return Done(context, caller.status());
  response->set_org_id(caller->org);
  response->set_system_id(caller->system);
  absl::StatusOr<int64_t> mailbox =
      store_->MailboxDepth(ReaderFor(*caller));
  if (!mailbox.ok()) return Done(context, mailbox.status());
  absl::StatusOr<int64_t> outbox = store_->OutboxDepth();
  if (!outbox.ok()) return Done(context, outbox.status());
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
      return Done(context, absl::NotFoundError(absl::StrCat(
                               "you submitted no record ", request->record_id())));
    }
    *response->mutable_receipt() = ReceiptFor(*entry);
    if (request->with_proof()) *response->mutable_proof() = CheckDeliveryProof(*ctx_, *entry);
  }
  return Done(context, absl::OkStatus());
}

grpc::Status ExchangeService::SubmitStream(grpc::ServerContext* context,
                                           grpc::ServerReader<v1::SubmitChunk>* reader,
                                           v1::SubmitResponse* response) {
  const absl::Time start = absl::Now();
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) {
    metrics_->CountRefusal("exchange", "UNAUTHENTICATED");
    return ToGrpcStatus(caller.status());
  }
  if (absl::Status in_force = CheckTrustInForce(*ctx_, absl::Now()); !in_force.ok()) {
    metrics_->CountRefusal("exchange", "FAILED_PRECONDITION");
    return ToGrpcStatus(in_force);
  }
  v1::SubmitChunk first;
  if (!reader->Read(&first)) {
    return ToGrpcStatus(absl::InvalidArgumentError("the stream ended before its first message"));
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
  absl::Status s = AcceptStream(*caller, head, reader, context, response, start);
  if (!s.ok()) {
    metrics_->CountRefusal("exchange", GrpcCodeName(static_cast<grpc::StatusCode>(s.code())));
    LogWarning("streamed submit refused", {{"caller", caller->uri}, {"error", s.ToString()}});
  }
  return ToGrpcStatus(s);
}

absl::Status ExchangeService::AcceptStream(const Identity& caller, const v1::SubmitRequest& head,
                                           grpc::ServerReader<v1::SubmitChunk>* reader,
                                           grpc::ServerContext* context,
                                           v1::SubmitResponse* response, absl::Time start) {
  absl::Status checked = Admit(caller, context);
  if (checked.ok()) checked = Check(caller, head);
  if (!checked.ok()) return Refuse(caller, head, "", checked);
  ASSIGN_OR_RETURN(Decided decided, Decide(caller, head, true));
  const std::string& record_id = decided.record.record_id();

  // Sealed as it arrives, straight into the spool: memory holds a chunk or
  // two, never the record.
  const std::string data_dir = config_->data_dir();
  ASSIGN_OR_RETURN(std::unique_ptr<SpoolFile> spool,
                   SpoolFile::Create(data_dir + "/" + kSpoolOut,
                                     SealedStreamLimit(config_->max_stream_bytes())));
  const uint64_t limit = static_cast<uint64_t>(config_->max_stream_bytes());
  PayloadSource source(std::move(decided.content),
                       [reader](std::string* chunk) {
                         v1::SubmitChunk next;
                         if (!reader->Read(&next)) return false;
                         *chunk = std::move(*next.mutable_data());
                         return true;
                       },
                       limit);
  absl::Status sealed =
      ctx_->stream_sealer->Seal(decided.labels, decided.to, &source, spool.get());
  if (sealed.ok() && context->IsCancelled()) {
    sealed = absl::CancelledError("the client cancelled the stream");
  }
  if (sealed.ok()) sealed = spool->Sync();
  if (!sealed.ok()) {
    if (source.over_limit()) {
      return Refuse(caller, head, record_id,
                    absl::ResourceExhaustedError(absl::StrCat(
                        "the payload is over this gateway's limit of ",
                        config_->max_stream_bytes(), " bytes for a streamed record")));
    }
    if (context->IsCancelled()) {
      return absl::CancelledError("the client cancelled the stream; nothing was accepted");
    }
    return Refuse(caller, head, record_id,
                  absl::Status(sealed.code(), absl::StrCat("cannot seal the streamed record: ",
                                                           sealed.message())));
  }
  const std::string relative = absl::StrCat(kSpoolOut, "/", record_id, ".env");
  RETURN_IF_ERROR(spool->Commit(data_dir + "/" + relative));

  v1::AuditEntry entry = std::move(decided.entry);
  entry.set_payload_sha256(source.payload_sha256());
  absl::StrAppend(entry.mutable_reason(), "; streamed ", source.payload_bytes(), " bytes");
  v1::OutboxRecord record = std::move(decided.record);
  record.set_envelope_file(relative);
  record.set_envelope_sha256(spool->sha256());
  std::promise<grpc::Status> done;
  Audit([&done](const grpc::Status& s) { done.set_value(s); }, caller.uri,
        head.idempotency_key(), response, start, std::move(entry), std::move(record));
  grpc::Status s = done.get_future().get();
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

grpc::Status ExchangeService::FetchStream(grpc::ServerContext* context,
                                          const v1::FetchStreamRequest* request,
                                          grpc::ServerWriter<v1::FetchChunk>* writer) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
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
  v1::FetchChunk first;
  *first.mutable_record() = m.listing();
  first.mutable_record()->set_streamed(true);
  if (!writer->Write(first)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  // Plaintext leaves a chunk at a time, each authenticated as it is
  // decrypted; the call ends OK only if the whole record was.
  ContentSink sink([writer](absl::string_view bytes) {
    v1::FetchChunk c;
    c.set_data(std::string(bytes));
    return writer->Write(c) ? absl::OkStatus() : absl::CancelledError("client went away");
  });
  absl::StatusOr<OpenedContent> opened =
      OpenStreamedRecord(*ctx_, *directory_->Snapshot(), file->get(), m.sender_org(), &sink,
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

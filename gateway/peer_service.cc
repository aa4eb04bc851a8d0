#include "gateway/peer_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "gateway/grpc_status.h"
#include "gateway/identity.h"
#include "gateway/log.h"
#include "gateway/tls.h"

namespace gatehouse {
namespace {

bool IsRecordId(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) || absl::ascii_isupper(c)) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status PeerService::Check(const std::string& caller_uri,
                                const v1::DeliverRequest& request) const {
  ASSIGN_OR_RETURN(Identity caller, ParseIdentityUri(caller_uri));
  if (caller.kind != Identity::Kind::kGateway) {
    return absl::UnauthenticatedError(
        absl::StrCat(caller.uri, " is not a gateway; only gateways may deliver"));
  }
  if (request.sender_org() != caller.org) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the record claims sender organisation '", request.sender_org(),
        "' but the connection is from ", caller.uri));
  }
  std::optional<v1::Organisation> sender = directory_->Find(caller.org);
  if (!sender.has_value()) {
    return absl::UnauthenticatedError(
        absl::StrCat("organisation '", caller.org, "' is not in the directory"));
  }
  if (sender->gateway_identity() != caller.uri) {
    return absl::UnauthenticatedError(absl::StrCat(
        caller.uri, " is not the gateway the directory lists for ", caller.org));
  }
  if (request.labels().recipient_org() != config_->org_id()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record is addressed to '", request.labels().recipient_org(), "', but this is ",
        config_->org_id(), "'s gateway"));
  }
  if (!IsRecordId(request.record_id())) {
    return absl::InvalidArgumentError("record_id must be 32 lower-case hex characters");
  }
  if (!IsValidId(request.sender_system())) {
    return absl::InvalidArgumentError("sender_system is not a valid id");
  }
  if (!request.labels().recipient_system().empty() &&
      !IsValidId(request.labels().recipient_system())) {
    return absl::InvalidArgumentError("labels.recipient_system is not a valid id");
  }
  if (static_cast<int64_t>(request.payload().size()) > config_->max_payload_bytes()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "payload is ", request.payload().size(), " bytes; this gateway accepts at most ",
        config_->max_payload_bytes(), " bytes"));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* PeerService::Deliver(grpc::CallbackServerContext* context,
                                               const v1::DeliverRequest* request,
                                               v1::DeliverResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Identity> caller = PeerIdentity(*context->auth_context());
  absl::Status checked = caller.ok() ? Check(caller->uri, *request) : caller.status();
  if (!checked.ok()) {
    LogWarning("delivery refused", {{"record_id", request->record_id()},
                                    {"caller", caller.ok() ? caller->uri : "unknown"},
                                    {"error", checked.ToString()}});
    metrics_->CountRefusal("peer", GrpcCodeName(static_cast<grpc::StatusCode>(checked.code())));
    reactor->Finish(ToGrpcStatus(checked));
    return reactor;
  }
  v1::Record record;
  record.set_record_id(request->record_id());
  record.set_sender_org(request->sender_org());
  record.set_sender_system(request->sender_system());
  *record.mutable_labels() = request->labels();
  record.set_payload(request->payload());
  absl::StatusOr<MailboxPut> put =
      store_->AddToMailbox(record, absl::ToUnixMillis(absl::Now()));
  if (!put.ok()) {
    reactor->Finish(ToGrpcStatus(put.status()));
    return reactor;
  }
  metrics_->CountRecord("inbound", put->inserted ? "received" : "duplicate");
  if (put->inserted) {
    LogInfo("received", {{"record_id", request->record_id()},
                         {"sender_org", request->sender_org()}});
  }
  response->set_record_id(request->record_id());
  response->set_receiver_org(config_->org_id());
  response->set_received_unix_ms(put->received_ms);
  response->set_duplicate(!put->inserted);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace gatehouse

#include "proto/error_details.h"

#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace gatehouse {
namespace {

template <typename Message>
std::string TypeUrl() {
  return absl::StrCat("type.googleapis.com/", Message::descriptor()->full_name());
}

template <typename Message>
std::optional<Message> PayloadOf(const absl::Status& s) {
  auto bytes = s.GetPayload(TypeUrl<Message>());
  if (!bytes.has_value()) return std::nullopt;
  Message m;
  if (!m.ParseFromString(std::string(*bytes))) return std::nullopt;
  return m;
}

template <typename Message>
absl::Status WithPayload(absl::Status s, const Message& m) {
  if (s.ok()) return s;
  s.SetPayload(TypeUrl<Message>(), absl::Cord(m.SerializeAsString()));
  return s;
}

google::rpc::ErrorInfo ErrorInfoOrNew(const absl::Status& s) {
  google::rpc::ErrorInfo info = ErrorInfoOf(s).value_or(google::rpc::ErrorInfo());
  info.set_domain(std::string(kErrorDomain));
  if (info.reason().empty()) info.set_reason(absl::StatusCodeToString(s.code()));
  return info;
}

google::rpc::RetryInfo RetryInfoFor(absl::Duration delay) {
  google::rpc::RetryInfo retry;
  const int64_t ms = absl::ToInt64Milliseconds(delay);
  retry.mutable_retry_delay()->set_seconds(ms / 1000);
  retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
  return retry;
}

template <typename Message>
void AddDetail(google::rpc::Status* rpc, const Message& m) {
  google::protobuf::Any* any = rpc->add_details();
  any->set_type_url(TypeUrl<Message>());
  any->set_value(m.SerializeAsString());
}

template <typename Message>
void MoveDetail(const google::protobuf::Any& any, absl::Status* s) {
  Message m;
  if (any.type_url() == TypeUrl<Message>() && m.ParseFromString(any.value())) {
    *s = WithPayload(std::move(*s), m);
  }
}

}  // namespace

absl::Status WithReason(absl::Status s, absl::string_view reason) {
  google::rpc::ErrorInfo info = ErrorInfoOrNew(s);
  info.set_reason(std::string(reason));
  return WithPayload(std::move(s), info);
}

absl::Status WithMetadata(absl::Status s, absl::string_view key, absl::string_view value) {
  google::rpc::ErrorInfo info = ErrorInfoOrNew(s);
  (*info.mutable_metadata())[std::string(key)] = std::string(value);
  return WithPayload(std::move(s), info);
}

absl::Status WithRetryDelay(absl::Status s, absl::Duration delay) {
  return WithPayload(std::move(s), RetryInfoFor(delay));
}

absl::Status RetryLater(absl::Status s, absl::string_view reason, absl::Duration delay) {
  return WithRetryDelay(WithReason(std::move(s), reason), delay);
}

absl::Status WithFieldViolation(absl::Status s, absl::string_view field,
                                absl::string_view description) {
  google::rpc::BadRequest bad = BadRequestOf(s).value_or(google::rpc::BadRequest());
  google::rpc::BadRequest::FieldViolation* v = bad.add_field_violations();
  v->set_field(std::string(field));
  v->set_description(std::string(description));
  return WithPayload(std::move(s), bad);
}

absl::Status InvalidFieldError(absl::string_view field, absl::string_view description) {
  absl::Status s = absl::InvalidArgumentError(absl::StrCat(field, " ", description));
  return WithFieldViolation(WithReason(std::move(s), "INVALID_FIELD"), field, description);
}

std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const absl::Status& s) {
  return PayloadOf<google::rpc::ErrorInfo>(s);
}
std::optional<google::rpc::BadRequest> BadRequestOf(const absl::Status& s) {
  return PayloadOf<google::rpc::BadRequest>(s);
}
std::optional<google::rpc::RetryInfo> RetryInfoOf(const absl::Status& s) {
  return PayloadOf<google::rpc::RetryInfo>(s);
}

google::rpc::Status ToRpcStatus(const absl::Status& s) {
  google::rpc::Status rpc;
  rpc.set_code(static_cast<int>(s.code()));
  rpc.set_message(std::string(s.message()));
  if (s.ok()) return rpc;
  AddDetail(&rpc, ErrorInfoOrNew(s));
  if (std::optional<google::rpc::BadRequest> bad = BadRequestOf(s)) AddDetail(&rpc, *bad);
  std::optional<google::rpc::RetryInfo> retry = RetryInfoOf(s);
  if (!retry.has_value() && s.code() == absl::StatusCode::kUnavailable) {
    retry = RetryInfoFor(kDefaultRetryDelay);
  }
  if (retry.has_value()) AddDetail(&rpc, *retry);
  return rpc;
}

absl::Status FromRpcStatus(const google::rpc::Status& rpc) {
  absl::Status s(static_cast<absl::StatusCode>(rpc.code()), rpc.message());
  for (const google::protobuf::Any& any : rpc.details()) {
    MoveDetail<google::rpc::ErrorInfo>(any, &s);
    MoveDetail<google::rpc::BadRequest>(any, &s);
    MoveDetail<google::rpc::RetryInfo>(any, &s);
  }
  return s;
}

}  // namespace gatehouse

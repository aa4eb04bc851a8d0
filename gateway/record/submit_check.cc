#include "gateway/record/submit_check.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "proto/error_details.h"

namespace gatehouse {
namespace {

constexpr size_t kMaxIdempotencyKey = 128;
constexpr size_t kMaxLabel = 256;
constexpr int kMaxCaveats = 64;

absl::Status CheckLabel(absl::string_view name, const std::string& value, bool required) {
  if (required && value.empty()) {
    return InvalidFieldError(absl::StrCat("labels.", name), "is required");
  }
  if (value.size() > kMaxLabel) {
    return InvalidFieldError(absl::StrCat("labels.", name),
                             absl::StrCat("is longer than ", kMaxLabel, " characters"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckClaims(const std::string& caller_uri, const std::string& caller_org,
                         const std::string& caller_system, const std::string& org,
                         const std::string& system, absl::string_view action) {
  if ((!org.empty() && org != caller_org) || (!system.empty() && system != caller_system)) {
    return WithReason(
        absl::PermissionDeniedError(absl::StrCat("your certificate is ", caller_uri, "; it cannot ",
                                                 action, " as ", org.empty() ? caller_org : org,
                                                 "/", system.empty() ? caller_system : system)),
        "IDENTITY_MISMATCH");
  }
  return absl::OkStatus();
}

absl::Status CheckSubmit(const v1::GatewayConfig& config, const std::string& caller_uri,
                         const std::string& caller_org, const std::string& caller_system,
                         const v1::SubmitRequest& request) {
  RETURN_IF_ERROR(CheckClaims(caller_uri, caller_org, caller_system, request.sender_org(),
                              request.sender_system(), "submit"));
  if (static_cast<int64_t>(request.payload().size()) > config.max_payload_bytes()) {
    return WithMetadata(WithFieldViolation(WithReason(absl::ResourceExhaustedError(absl::StrCat(
                                                          "payload is ", request.payload().size(),
                                                          " bytes; this gateway accepts at most ",
                                                          config.max_payload_bytes(), " bytes")),
                                                      "PAYLOAD_TOO_LARGE"),
                                           "payload", "larger than this gateway accepts"),
                        "maxPayloadBytes", absl::StrCat(config.max_payload_bytes()));
  }
  if (request.idempotency_key().size() > kMaxIdempotencyKey) {
    return InvalidFieldError("idempotency_key",
                             absl::StrCat("is longer than ", kMaxIdempotencyKey, " characters"));
  }
  const v1::Labels& l = request.labels();
  RETURN_IF_ERROR(CheckLabel("recipient_org", l.recipient_org(), true));
  RETURN_IF_ERROR(CheckLabel("record_type", l.record_type(), true));
  RETURN_IF_ERROR(CheckLabel("classification", l.classification(), true));
  if (config.require_purpose() && l.purpose().empty()) {
    return InvalidFieldError("labels.purpose",
                             "is required: this gateway audits the purpose of every record");
  }
  if (config.require_end_user() && l.end_user().empty()) {
    return InvalidFieldError(
        "labels.end_user", "is required: this gateway audits the person every record is sent for");
  }
  RETURN_IF_ERROR(CheckLabel("purpose", l.purpose(), false));
  RETURN_IF_ERROR(CheckLabel("end_user", l.end_user(), false));
  for (auto [name, value] :
       {std::pair<const char*, const std::string*>{"originator", &l.originator()},
        {"content_type", &l.content_type()},
        {"recipient_system", &l.recipient_system()}}) {
    RETURN_IF_ERROR(CheckLabel(name, *value, false));
  }
  if (l.caveats_size() > kMaxCaveats) {
    return InvalidFieldError("labels.caveats",
                             absl::StrCat("has more than ", kMaxCaveats, " entries"));
  }
  for (const std::string& c : l.caveats()) RETURN_IF_ERROR(CheckLabel("caveats", c, true));
  if (!l.recipient_system().empty() && !IsValidId(l.recipient_system())) {
    return InvalidFieldError("labels.recipient_system",
                             absl::StrCat("'", l.recipient_system(), "' is not a valid id"));
  }
  if (!l.originator().empty() && !IsValidId(l.originator())) {
    return InvalidFieldError("labels.originator",
                             absl::StrCat("'", l.originator(), "' is not a valid organisation id"));
  }
  if (l.recipient_org() == config.org_id()) {
    return InvalidFieldError("labels.recipient_org",
                             "is this gateway's own organisation; Gatehouse carries records "
                             "between organisations");
  }
  return absl::OkStatus();
}

}  // namespace gatehouse

// The gRPC richer error model for every status Gatehouse answers with: a
// google.rpc.Status whose details hold an ErrorInfo (a stable reason in the
// "gatehouse" domain, with metadata such as the deciding rule), a
// BadRequest naming the field at fault, and a RetryInfo where a retry is
// due. Code that refuses attaches what it knows to the absl::Status as
// payloads; ToRpcStatus fills in the rest when the status is answered
// (transport/grpc_status.h sends it as grpc-status-details-bin).
//
// Example:
//   return InvalidFieldError("labels.caveats", "'BANANA' is not declared");
//   return WithRetryDelay(WithReason(absl::ResourceExhaustedError("..."),
//                                    "RATE_LIMITED"), absl::Seconds(2));
//
// Thread-safe: functions of values.
#ifndef GATEHOUSE_PROTO_ERROR_DETAILS_H_
#define GATEHOUSE_PROTO_ERROR_DETAILS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace gatehouse {

// ErrorInfo.domain of every Gatehouse error.
inline constexpr absl::string_view kErrorDomain = "gatehouse";
// How long a caller should wait before retrying an UNAVAILABLE call when
// the code that refused did not say.
inline constexpr absl::Duration kDefaultRetryDelay = absl::Seconds(1);

// `s` with ErrorInfo.reason set to `reason` (upper snake case, stable:
// clients branch on it). Metadata already attached is kept. OK stays OK.
absl::Status WithReason(absl::Status s, absl::string_view reason);
// `s` with ErrorInfo.metadata[key] = value (the reason is kept).
absl::Status WithMetadata(absl::Status s, absl::string_view key, absl::string_view value);
// `s` with a RetryInfo asking the caller to wait `delay` before retrying.
absl::Status WithRetryDelay(absl::Status s, absl::Duration delay);
// `s` with a BadRequest field violation for `field` (a request field path
// such as "labels.caveats").
absl::Status WithFieldViolation(absl::Status s, absl::string_view field,
                                absl::string_view description);
// `s` with `reason` and a RetryInfo of `delay`: a refusal that passes.
absl::Status RetryLater(absl::Status s, absl::string_view reason, absl::Duration delay);
// INVALID_ARGUMENT "<field> <description>", reason INVALID_FIELD, with the
// BadRequest naming `field`.
absl::Status InvalidFieldError(absl::string_view field, absl::string_view description);

// The details attached to `s`, if any.
std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const absl::Status& s);
std::optional<google::rpc::BadRequest> BadRequestOf(const absl::Status& s);
std::optional<google::rpc::RetryInfo> RetryInfoOf(const absl::Status& s);

// What a caller receives for `s` (not OK): its code and message, and as
// details an ErrorInfo always (reason defaulting to the code's name, e.g.
// "UNAVAILABLE"), then the BadRequest and RetryInfo attached; UNAVAILABLE
// gets a RetryInfo of kDefaultRetryDelay when none was attached.
google::rpc::Status ToRpcStatus(const absl::Status& s);
// The reverse, for clients and tests: the details unpacked from `rpc`.
absl::Status FromRpcStatus(const google::rpc::Status& rpc);

}  // namespace gatehouse

#endif  // GATEHOUSE_PROTO_ERROR_DETAILS_H_

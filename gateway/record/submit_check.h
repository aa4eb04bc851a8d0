// The checks a Submit passes before anything is decided: the caller's claims
// match its certificate, and the payload, idempotency key and labels are
// within the gateway's limits and well formed. Changes nothing.
//
// Example:
//   RETURN_IF_ERROR(CheckSubmit(config, caller.org, caller.system, request));
//
// Thread-safe: pure functions.
#ifndef GATEHOUSE_GATEWAY_RECORD_SUBMIT_CHECK_H_
#define GATEHOUSE_GATEWAY_RECORD_SUBMIT_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gatehouse/v1/config.pb.h"
#include "gatehouse/v1/exchange.pb.h"

namespace gatehouse {

// PermissionDenied if `org` or `system` (either may be empty: not
// claimed) differs from the caller's, authenticated as `caller_uri`;
// `action` says what the caller was doing ("submit", "fetch").
absl::Status CheckClaims(const std::string& caller_uri, const std::string& caller_org,
                         const std::string& caller_system, const std::string& org,
                         const std::string& system, absl::string_view action);

// InvalidArgument (malformed or missing labels, an over-long key, a record
// addressed to this gateway's own organisation) or ResourceExhausted (a
// payload over config.max_payload_bytes) for a Submit from
// `caller_system` of `caller_org` that cannot be taken; PermissionDenied
// for claims that are not the caller's.
absl::Status CheckSubmit(const v1::GatewayConfig& config, const std::string& caller_uri,
                         const std::string& caller_org, const std::string& caller_system,
                         const v1::SubmitRequest& request);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECORD_SUBMIT_CHECK_H_

// Structured logs: one JSON object a line on stderr, with time, level, event
// and fields. Never log a payload or key material: fields are ids, labels,
// codes and reasons.
//
// Example:
//   LogInfo("delivered", {{"record_id", id}, {"recipient_org", org}});
//
// Thread-safe: each line is written with one write(2).
#ifndef GATEHOUSE_GATEWAY_LOG_H_
#define GATEHOUSE_GATEWAY_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include <grpcpp/support/status.h>

#include "absl/strings/string_view.h"

namespace gatehouse {

using LogField = std::pair<absl::string_view, absl::string_view>;

void LogInfo(absl::string_view event, std::initializer_list<LogField> fields = {});
void LogWarning(absl::string_view event, std::initializer_list<LogField> fields = {});
void LogError(absl::string_view event, std::initializer_list<LogField> fields = {});

// "PERMISSION_DENIED" for grpc::StatusCode::PERMISSION_DENIED, and so on.
const char* GrpcCodeName(grpc::StatusCode code);

// JSON string escaping, quotes included.
std::string JsonQuote(absl::string_view s);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_LOG_H_

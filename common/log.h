// Structured logs: one JSON object a line on stderr, with time, level, event
// and fields. Never log a payload or key material: fields are ids, labels,
// codes and reasons.
//
// Example:
//   LogInfo("delivered", {{"record_id", id}, {"recipient_org", org}});
//
// Thread-safe: each line is written with one write(2).
#ifndef GATEHOUSE_COMMON_LOG_H_
#define GATEHOUSE_COMMON_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace gatehouse {

using LogField = std::pair<absl::string_view, absl::string_view>;

void LogInfo(absl::string_view event, std::initializer_list<LogField> fields = {});
void LogWarning(absl::string_view event, std::initializer_list<LogField> fields = {});
void LogError(absl::string_view event, std::initializer_list<LogField> fields = {});

// JSON string escaping, quotes included.
std::string JsonQuote(absl::string_view s);

}  // namespace gatehouse

#endif  // GATEHOUSE_COMMON_LOG_H_

// Loading a gateway's configuration and its directory from JSON files.
//
// Both are loaded strictly: an unknown or mistyped field is InvalidArgument
// naming the field, and then validated (ids well formed, required fields
// present, files that must exist do). Defaults are filled in for zero fields.
//
// Example:
//   ASSIGN_OR_RETURN(gatehouse::v1::GatewayConfig config,
//                    LoadGatewayConfig("/etc/gatehouse/nhs-trust-a.json"));
//
// Thread-safe: free functions; they read files and touch nothing else.
#ifndef GATEHOUSE_GATEWAY_CONFIG_H_
#define GATEHOUSE_GATEWAY_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gatehouse/v1/config.pb.h"
#include "common/files.h"
#include "gatehouse/v1/directory.pb.h"

namespace gatehouse {

// 4 MiB less 64 KiB: a record's labels and ids take at most ~20 KiB
// (labels of 256 bytes, 64 caveats), so a record of this payload fits in
// one Fetch response below gRPC's default 4 MiB receive limit, and every
// record Submit accepts with the default can be fetched by a default client.
inline constexpr int64_t kDefaultMaxPayloadBytes = (4 << 20) - (64 << 10);

// Parses JSON into `message`, refusing unknown fields. On error `message`
// may be partly filled; the status names the offending field.
absl::Status ParseJsonStrict(absl::string_view json, absl::string_view what,
                             google::protobuf::Message* message);

// Parses, validates and fills defaults. Relative paths in the config are
// resolved against the config file's directory.
absl::StatusOr<v1::GatewayConfig> LoadGatewayConfig(absl::string_view path);

// Parses and validates JSON text of a GatewayConfig (no file paths checked).
absl::StatusOr<v1::GatewayConfig> ParseGatewayConfig(absl::string_view json);

// Parses and validates a directory: org ids well formed and unique, every
// entry with a sector, accreditation, gateway address and a gateway identity
// equal to psn://org/<org-id>/gateway.
absl::StatusOr<v1::Directory> ParseDirectory(absl::string_view json);
// The same checks on a directory already parsed (e.g. out of a signed one).
absl::Status ValidateDirectoryEntries(const v1::Directory& directory);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_CONFIG_H_

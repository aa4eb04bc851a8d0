// Identity of a party, read only from its certificate's SAN URI.
//
// A system of an organisation is psn://org/<org-id>/system/<system-id>; a
// gateway is psn://org/<org-id>/gateway. A certificate must carry exactly one
// psn:// SAN URI: none, or more than one, is Unauthenticated. Ids are 1–64
// characters of lower-case letters, digits and '-'.
//
// Example:
//   ASSIGN_OR_RETURN(Identity who, IdentityFromCertificatePem(pem));
//   if (who.kind != Identity::Kind::kSystem) return ...;
//
// Thread-safe: free functions over their arguments.
#ifndef GATEHOUSE_TRANSPORT_IDENTITY_H_
#define GATEHOUSE_TRANSPORT_IDENTITY_H_

#include <string>
#include <vector>

#include "common/ids.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

struct Identity {
  enum class Kind { kSystem, kGateway };
  Kind kind = Kind::kSystem;
  std::string org;     // organisation id
  std::string system;  // system id; empty for a gateway
  std::string uri;     // the SAN URI it came from

  std::string ToString() const { return uri; }
};

// The SAN URI of org's gateway: psn://org/<org>/gateway.
std::string GatewayUri(absl::string_view org);

// Parses one psn:// URI. InvalidArgument if it is not one of the two forms.
absl::StatusOr<Identity> ParseIdentityUri(absl::string_view uri);

// Picks the identity from a certificate's SAN URIs: exactly one must start
// with psn://, and it must parse. Unauthenticated otherwise.
absl::StatusOr<Identity> IdentityFromSanUris(const std::vector<std::string>& uris);

// Reads the SAN URIs from a PEM certificate and applies IdentityFromSanUris.
// Unauthenticated if the PEM does not parse.
absl::StatusOr<Identity> IdentityFromCertificatePem(absl::string_view pem);

}  // namespace gatehouse

#endif  // GATEHOUSE_TRANSPORT_IDENTITY_H_

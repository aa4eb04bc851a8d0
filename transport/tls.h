// Mutual-TLS credentials for the gateway's listeners and its calls to peers,
// and the caller's identity from an authenticated call.
//
// Certificates, keys and the trust anchor are watched on disk (gRPC's
// FileWatcherCertificateProvider): replaced files are served without a
// restart. Every connection must present a certificate that chains to the
// trust anchor and is not revoked by a CRL in the CRL directory.
//
// Example:
//   ASSIGN_OR_RETURN(auto creds, MakeServerCredentials(config.tls(), revocations));
//   builder.AddListeningPort(address, creds, &port);
//   ...
//   ASSIGN_OR_RETURN(Identity who, PeerIdentity(*context->auth_context()));
//
// Thread-safe: free functions; the credentials they return are gRPC's.
#ifndef GATEHOUSE_TRANSPORT_TLS_H_
#define GATEHOUSE_TRANSPORT_TLS_H_

#include <memory>
#include <string>

#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"
#include "gatehouse/v1/config.pb.h"
#include "transport/identity.h"
#include "x509/revocation.h"

namespace gatehouse {

// Checks that the files exist (crl_dir may be empty) and that the private key is not readable by
// group or others (InvalidArgument naming the file otherwise).
absl::Status CheckTlsFiles(const v1::TlsConfig& tls);

// Server credentials requiring and verifying a client certificate, one not
// revoked by `revocations` (required) among others. With `per_call`, every
// call is also checked by it before any handler runs (see call_gate.h).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsConfig& tls, std::shared_ptr<const Revocations> revocations,
    std::shared_ptr<grpc::AuthMetadataProcessor> per_call = nullptr);

// Channel credentials that present our certificate and accept the server
// only if its certificate chains to the trust anchor, is not revoked, and
// carries exactly one psn:// SAN URI equal to `expected_server_uri`. The
// check happens in the handshake, before any request byte is sent. With
// `revocations`, a server certificate they revoke is refused too.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const v1::TlsConfig& tls, const std::string& expected_server_uri,
    std::shared_ptr<const Revocations> revocations = nullptr);

// The validity window of the first certificate in a PEM file, Unix seconds.
struct CertificateValidity {
  int64_t not_before = 0;
  int64_t not_after = 0;
};
absl::StatusOr<CertificateValidity> ReadCertificateValidity(const std::string& path);

// The identity of an authenticated caller, from its certificate.
// Unauthenticated if there is no certificate or it names no single identity.
absl::StatusOr<Identity> PeerIdentity(const grpc::AuthContext& auth);

}  // namespace gatehouse

#endif  // GATEHOUSE_TRANSPORT_TLS_H_

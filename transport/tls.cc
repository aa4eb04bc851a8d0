#include "transport/tls.h"

#include <sys/stat.h>

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"
#include "common/files.h"

namespace gatehouse {
namespace {

using grpc::experimental::ExternalCertificateVerifier;
using grpc::experimental::FileWatcherCertificateProvider;
using grpc::experimental::TlsCustomVerificationCheckRequest;

// Refuses a certificate on a CRL in force (see revocation.h); with an
// expected identity (calls to peers), also one that does not name exactly
// that identity.
class ExpectedIdentityVerifier : public ExternalCertificateVerifier {
 public:
  ExpectedIdentityVerifier(std::string expected, std::shared_ptr<const Revocations> revocations)
      : expected_(std::move(expected)), revocations_(std::move(revocations)) {}

  bool Verify(TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/,
              grpc::Status* sync_status) override {
    if (revocations_ != nullptr &&
        revocations_->Revoked(absl::string_view(request->peer_cert().data(),
                                                request->peer_cert().size()))) {
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "the peer's certificate is revoked (a CRL in tls.crlDir)");
      return true;
    }
    if (expected_.empty()) {
      *sync_status = grpc::Status::OK;
      return true;
    }
    std::vector<std::string> uris;
    for (const grpc::string_ref& u : request->uri_names()) {
      uris.emplace_back(u.data(), u.size());
    }
    absl::StatusOr<Identity> id = IdentityFromSanUris(uris);
    if (!id.ok()) {
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  std::string(id.status().message()));
    } else if (id->uri != expected_) {
      *sync_status = grpc::Status(
          grpc::StatusCode::UNAUTHENTICATED,
          absl::StrCat("peer presented ", id->uri, " but ", expected_, " was expected"));
    } else {
      *sync_status = grpc::Status::OK;
    }
    return true;  // Answered synchronously.
  }

  void Cancel(TlsCustomVerificationCheckRequest*) override {}

 private:
  const std::string expected_;  // "" on a listener: identities are checked per call
  const std::shared_ptr<const Revocations> revocations_;
};

std::shared_ptr<FileWatcherCertificateProvider> MakeProvider(const v1::TlsConfig& tls) {
  return std::make_shared<FileWatcherCertificateProvider>(
      tls.key_file(), tls.cert_file(), tls.ca_file(),
      tls.refresh_interval_seconds() > 0 ? tls.refresh_interval_seconds() : 5);
}

}  // namespace

absl::Status CheckTlsFiles(const v1::TlsConfig& tls) {
  for (auto [field, path] : {std::pair<const char*, const std::string*>{"certFile", &tls.cert_file()},
                             {"keyFile", &tls.key_file()},
                             {"caFile", &tls.ca_file()},
                             {"crlDir", &tls.crl_dir()}}) {
    struct stat st;
    if (path == &tls.crl_dir() && path->empty()) continue;  // optional for clients
    if (path->empty() || stat(path->c_str(), &st) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls.", field, " '", *path, "' does not exist"));
    }
  }
  struct stat st;
  stat(tls.key_file().c_str(), &st);
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls.keyFile '", tls.key_file(),
        "' is readable by other users; chmod 600 it"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsConfig& tls, std::shared_ptr<const Revocations> revocations,
    std::shared_ptr<grpc::AuthMetadataProcessor> per_call) {
  RETURN_IF_ERROR(CheckTlsFiles(tls));
  if (tls.crl_dir().empty()) return absl::InvalidArgumentError("tls.crlDir is required");
  if (revocations == nullptr) return absl::InvalidArgumentError("revocations are required");
  grpc::experimental::TlsServerCredentialsOptions options(MakeProvider(tls));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  // The handshake asks for a certificate and proves the caller holds its
  // key, but leaves the verification (chain, validity, revocation,
  // identity) to `per_call`, which refuses every call of a caller that
  // fails it, with the reason (call_gate.h; docs/gateway.md argues why).
  // Without `per_call` the handshake verifies the chain as before.
  if (per_call != nullptr) {
    options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
    revocations = nullptr;
  } else {
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.set_crl_directory(tls.crl_dir());
  }
  options.set_certificate_verifier(
      ExternalCertificateVerifier::Create<ExpectedIdentityVerifier>("", std::move(revocations)));
  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::experimental::TlsServerCredentials(options);
  if (per_call != nullptr) creds->SetAuthMetadataProcessor(std::move(per_call));
  return creds;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const v1::TlsConfig& tls, const std::string& expected_server_uri,
    std::shared_ptr<const Revocations> revocations) {
  RETURN_IF_ERROR(CheckTlsFiles(tls));
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(MakeProvider(tls));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  options.set_check_call_host(false);
  if (!tls.crl_dir().empty()) options.set_crl_directory(tls.crl_dir());
  options.set_certificate_verifier(
      ExternalCertificateVerifier::Create<ExpectedIdentityVerifier>(expected_server_uri,
                                                                    std::move(revocations)));
  return grpc::experimental::TlsCredentials(options);
}

absl::StatusOr<CertificateValidity> ReadCertificateValidity(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, &X509_free);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' holds no PEM certificate"));
  }
  auto to_unix = [](const ASN1_TIME* t) -> int64_t {
    struct tm tm {};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return static_cast<int64_t>(timegm(&tm));
  };
  return CertificateValidity{to_unix(X509_get0_notBefore(cert.get())),
                             to_unix(X509_get0_notAfter(cert.get()))};
}

absl::StatusOr<Identity> PeerIdentity(const grpc::AuthContext& auth) {
  std::vector<grpc::string_ref> pems = auth.FindPropertyValues("x509_pem_cert");
  if (pems.empty()) {
    return absl::UnauthenticatedError("the caller presented no client certificate");
  }
  // Parsing PEM costs hundreds of microseconds; a gateway sees few distinct
  // certificates, so remember what each one names. (Whether a certificate is
  // trusted, current and unrevoked is checked in the handshake and again on
  // every call by the listener's CallGate.)
  static absl::Mutex mu;
  static auto* cache = new absl::flat_hash_map<std::string, absl::StatusOr<Identity>>();
  std::string pem(pems[0].data(), pems[0].size());
  {
    absl::MutexLock lock(&mu);
    auto it = cache->find(pem);
    if (it != cache->end()) return it->second;
  }
  absl::StatusOr<Identity> id = IdentityFromCertificatePem(pem);
  absl::MutexLock lock(&mu);
  if (cache->size() >= 4096) cache->clear();
  cache->emplace(std::move(pem), id);
  return id;
}

}  // namespace gatehouse

#include "tools/workbench/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gatehouse/v1/config.pb.h"

namespace gatehouse::workbench {
namespace {

DeadlineStream* RawOf(BIO* bio) { return static_cast<DeadlineStream*>(BIO_get_data(bio)); }

int BioRead(BIO* bio, char* out, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = RawOf(bio)->read(out, static_cast<size_t>(size));
  return n > 0 ? static_cast<int>(n) : (n == 0 ? 0 : -1);
}

int BioWrite(BIO* bio, const char* in, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = RawOf(bio)->write(in, static_cast<size_t>(size));
  return n > 0 ? static_cast<int>(n) : -1;
}

long BioCtrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int BioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// A BIO that reads and writes through a DeadlineStream (blocking, each call
// bounded by the stream's deadline). One method for the process.
const BIO_METHOD* DeadlineBioMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "deadline stream");
    BIO_meth_set_read(m, BioRead);
    BIO_meth_set_write(m, BioWrite);
    BIO_meth_set_ctrl(m, BioCtrl);
    BIO_meth_set_create(m, BioCreate);
    return m;
  }();
  return method;
}

// "<what> <path>: <OpenSSL's reason>", emptying OpenSSL's error queue.
absl::Status FileError(absl::string_view what, const std::string& path) {
  char reason[256] = "unknown reason";
  if (unsigned long e = ERR_peek_last_error(); e != 0) ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  return absl::InvalidArgumentError(absl::StrCat(what, " ", path, ": ", reason));
}

// `cert` as PEM, what Revocations reads; "" if OpenSSL cannot write it
// (Revocations then counts it revoked).
std::string Pem(const X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

// The certificate's subject, one line ("/CN=nhs-trust-a ehr").
std::string Subject(const X509* cert) {
  char line[256] = "";
  X509_NAME_oneline(X509_get_subject_name(cert), line, sizeof line);
  return line;
}

// Revocations' messages name the gateway's settings; here they are options.
absl::Status InOptionTerms(const absl::Status& s) {
  return absl::Status(s.code(), absl::StrReplaceAll(s.message(), {{"tls.crlDir", "--crl-dir"},
                                                                  {"tls.caFile", "--client-ca"}}));
}

// The officers' CA's CRLs.
absl::StatusOr<std::unique_ptr<Revocations>> LoadCrls(const TlsFiles& files) {
  if (files.crl_dir.empty()) {
    return absl::InvalidArgumentError(
        "serving officers over mutual TLS needs --crl-dir, the directory of the CRLs of "
        "--client-ca (as certs/gen-dev-pki.sh writes DIR/crl): without it a lost officer's "
        "certificate could not be shut out");
  }
  v1::TlsConfig tls;
  tls.set_ca_file(files.client_ca);
  tls.set_crl_dir(files.crl_dir);
  absl::StatusOr<std::unique_ptr<Revocations>> crls = Revocations::Load(tls);
  if (!crls.ok()) return InOptionTerms(crls.status());
  return crls;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsContext>> TlsContext::Create(const TlsFiles& files) {
  if (files.cert.empty() && files.key.empty() && files.client_ca.empty() &&
      !files.crl_dir.empty()) {
    return absl::InvalidArgumentError(
        "--crl-dir is for mutual TLS: give --tls-cert, --tls-key and --client-ca too, or "
        "leave it out");
  }
  if (files.cert.empty() || files.key.empty() || files.client_ca.empty()) {
    return absl::InvalidArgumentError(
        "mutual TLS needs all three of --tls-cert, --tls-key and --client-ca");
  }
  absl::StatusOr<std::unique_ptr<Revocations>> crls = LoadCrls(files);
  if (!crls.ok()) return crls.status();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError("OpenSSL could not make a TLS context");
  std::unique_ptr<TlsContext> out(new TlsContext(ctx, *std::move(crls)));
  SSL_CTX_set_app_data(ctx, out.get());  // for VerifyPeer
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
    return FileError("cannot use the certificate", files.cert);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return FileError(absl::StrCat("cannot use (for ", files.cert, ") the key"), files.key);
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
  if (names == nullptr || SSL_CTX_load_verify_locations(ctx, files.client_ca.c_str(),
                                                        nullptr) != 1) {
    if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
    return FileError("cannot read the officers' CA", files.client_ca);
  }
  SSL_CTX_set_client_CA_list(ctx, names);  // takes `names`
  // No certificate, one the CA did not issue, or one on a CRL in force:
  // the handshake fails.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, &VerifyPeer);
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

int TlsContext::VerifyPeer(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok != 1 || X509_STORE_CTX_get_error_depth(store) != 0) return preverify_ok;
  const SSL* ssl = static_cast<const SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const TlsContext* self =
      ssl == nullptr ? nullptr
                     : static_cast<const TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (self != nullptr && self->CheckChain(X509_STORE_CTX_get0_chain(store)).ok()) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REVOKED);  // the client is told so
  return 0;
}

absl::Status TlsContext::CheckChain(STACK_OF(X509) * chain) const {
  if (chain == nullptr || sk_X509_num(chain) == 0) {
    return absl::UnauthenticatedError("the connection has no verified client certificate");
  }
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    const X509* cert = sk_X509_value(chain, i);
    if (revocations_->Revoked(Pem(cert))) {
      return absl::UnauthenticatedError(
          absl::StrCat("the certificate ", Subject(cert),
                       " has been revoked (a CRL of the officers' CA lists it): ask whoever "
                       "issues the officers' certificates for a new one"));
    }
  }
  return absl::OkStatus();
}

void TlsContext::ReloadCrls() const {
  const absl::Status s = InOptionTerms(revocations_->ReloadIfChanged());
  absl::MutexLock lock(&mu_);
  if (s.ok()) {
    reload_error_.clear();
  } else if (std::string(s.message()) != reload_error_) {  // tried again each time, said once
    reload_error_ = std::string(s.message());
    std::fprintf(stderr, "gatehouse-workbench: CRLs refused, the ones in force stay: %s\n",
                 reload_error_.c_str());
  }
}

absl::Status TlsContext::CheckPeer(const SSL* ssl) const {
  if (ssl == nullptr) {
    return absl::UnauthenticatedError("the connection has no verified client certificate");
  }
  ReloadCrls();
  return CheckChain(SSL_get0_verified_chain(ssl));
}

std::unique_ptr<TlsStream> TlsContext::Accept(DeadlineStream& raw) const {
  ReloadCrls();
  SSL* ssl = SSL_new(ctx_);
  BIO* bio = ssl == nullptr ? nullptr : BIO_new(DeadlineBioMethod());
  if (bio == nullptr) {
    SSL_free(ssl);
    return nullptr;
  }
  BIO_set_data(bio, &raw);
  SSL_set_bio(ssl, bio, bio);  // `ssl` owns `bio`
  if (SSL_accept(ssl) != 1) {
    ERR_clear_error();
    SSL_free(ssl);
    return nullptr;
  }
  return std::make_unique<TlsStream>(ssl, raw);
}

TlsStream::~TlsStream() {
  SSL_shutdown(ssl_);
  ERR_clear_error();
  SSL_free(ssl_);
}

bool TlsStream::is_readable() const { return SSL_pending(ssl_) > 0 || raw_.is_readable(); }

bool TlsStream::is_writable() const { return raw_.is_writable(); }

ssize_t TlsStream::read(char* ptr, size_t size) {
  const int n = SSL_read(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT_MAX)));
  if (n > 0) return n;
  const int why = SSL_get_error(ssl_, n);
  ERR_clear_error();
  return why == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

ssize_t TlsStream::write(const char* ptr, size_t size) {
  const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT_MAX)));
  if (n > 0) return n;
  ERR_clear_error();
  return -1;
}

void TlsStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  raw_.get_remote_ip_and_port(ip, port);
}

void TlsStream::get_local_ip_and_port(std::string& ip, int& port) const {
  raw_.get_local_ip_and_port(ip, port);
}

}  // namespace gatehouse::workbench

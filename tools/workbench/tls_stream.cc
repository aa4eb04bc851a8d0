#include "tools/workbench/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/strings/str_cat.h"

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

}  // namespace

absl::StatusOr<std::unique_ptr<TlsContext>> TlsContext::Create(const TlsFiles& files) {
  if (files.cert.empty() || files.key.empty() || files.client_ca.empty()) {
    return absl::InvalidArgumentError(
        "mutual TLS needs all three of --tls-cert, --tls-key and --client-ca");
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError("OpenSSL could not make a TLS context");
  std::unique_ptr<TlsContext> out(new TlsContext(ctx));
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
  // No certificate, or one the CA did not issue: the handshake fails.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<TlsStream> TlsContext::Accept(DeadlineStream& raw) const {
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

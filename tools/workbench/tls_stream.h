// Mutual TLS for the workbench when it serves more than this machine: the
// server's certificate and key, the CA whose certificates are the
// officers', and that CA's CRLs (OpenSSL). A connection completes its
// handshake only with a client certificate that chains to that CA and that
// no CRL in force lists; without one, or with any other, it is closed
// before a byte of HTTP is read. Every request checks its connection's
// certificate again (CheckPeer), against CRLs re-read when a file of the
// CRL directory changes (x509/revocation.h), so a certificate revoked
// after its connection was made is refused on the next request.
//
// TLS runs over http/deadline_stream.h's connection (through a BIO of our
// own), so the handshake counts against the same whole-request deadline as
// the request: a client that drips its handshake is cut off as one that
// drips its request is. No socket code here.
//
// TlsContext is thread-safe (its CRLs are re-read under a lock); a
// TlsStream is one connection's (not thread-safe).
//
// Example:
//   ASSIGN_OR_RETURN(auto tls, TlsContext::Create({"srv.crt", "srv.key", "officers-ca.crt",
//                                                  "officers-crls/"}));
//   DeadlineStream raw(fd, allowance, allowance);
//   if (std::unique_ptr<TlsStream> s = tls->Accept(raw)) {
//     ... for each request on it: if (!tls->CheckPeer(s->ssl()).ok()) refuse with 403;
//   }
#ifndef GATEHOUSE_TOOLS_WORKBENCH_TLS_STREAM_H_
#define GATEHOUSE_TOOLS_WORKBENCH_TLS_STREAM_H_

#include <httplib.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "http/deadline_stream.h"
#include "x509/revocation.h"

namespace gatehouse::workbench {

// The files of --tls-cert, --tls-key and --client-ca (PEM), and the
// directory of --crl-dir. All empty: no TLS.
struct TlsFiles {
  std::string cert;       // the workbench's certificate chain
  std::string key;        // its private key
  std::string client_ca;  // the CA that issues officers' certificates, and only theirs
  std::string crl_dir;    // client_ca's CRLs (PEM or DER, any file name)
  bool empty() const { return cert.empty() && key.empty() && client_ca.empty() && crl_dir.empty(); }
};

class TlsStream;

class TlsContext {
 public:
  // TLS 1.2 or later; a client certificate is required, verified against
  // `files.client_ca` and checked against the CRLs of `files.crl_dir`.
  // InvalidArgument naming the option or file (and OpenSSL's reason) if
  // one is missing, cannot be read, or the key is not the certificate's;
  // if --crl-dir is given without the other three, or they without it;
  // or, from Revocations::Load, if a CRL there does not parse, is not
  // signed by `files.client_ca` or is not current (FailedPrecondition if
  // the directory holds no CRL of that CA).
  static absl::StatusOr<std::unique_ptr<TlsContext>> Create(const TlsFiles& files);
  ~TlsContext();

  // The handshake over `raw`, which must outlive the stream, after
  // re-reading the CRLs if they changed. nullptr if it fails (no client
  // certificate, one the CA did not issue or a CRL in force lists, not
  // TLS, the deadline passed); the caller then closes the connection.
  std::unique_ptr<TlsStream> Accept(DeadlineStream& raw) const;

  // For each request on an accepted connection: re-reads the CRLs if a
  // file of the directory or the CA changed (a CRL refused then, say
  // half-written, leaves the lists in force, said once on stderr), then
  // checks the connection's verified chain. OK, or Unauthenticated naming
  // the certificate a CRL in force lists, or saying `ssl` has no verified
  // client certificate (null included).
  absl::Status CheckPeer(const SSL* ssl) const;

 private:
  TlsContext(SSL_CTX* ctx, std::unique_ptr<Revocations> revocations)
      : ctx_(ctx), revocations_(std::move(revocations)) {}
  // The handshake's check: OpenSSL calls it for each certificate of the
  // chain; at the client's own (depth 0), every one of the chain is looked
  // up on the CRLs in force.
  static int VerifyPeer(int preverify_ok, X509_STORE_CTX* store);
  // OK, or Unauthenticated naming the first certificate of `chain` that a
  // CRL in force lists; an empty or null chain is refused.
  absl::Status CheckChain(STACK_OF(X509) * chain) const;
  // Revocations::ReloadIfChanged, saying a refusal once on stderr.
  void ReloadCrls() const;

  SSL_CTX* const ctx_;
  const std::unique_ptr<Revocations> revocations_;  // thread-safe
  mutable absl::Mutex mu_;
  mutable std::string reload_error_ ABSL_GUARDED_BY(mu_);  // the last said
};

// An accepted connection as httplib reads and writes it.
class TlsStream : public httplib::Stream {
 public:
  TlsStream(SSL* ssl, DeadlineStream& raw) : ssl_(ssl), raw_(raw) {}
  ~TlsStream() override;  // sends close_notify (best effort), frees the session

  // The session, for TlsContext::CheckPeer (and httplib's Request::ssl).
  const SSL* ssl() const { return ssl_; }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return raw_.socket(); }

 private:
  SSL* const ssl_;
  DeadlineStream& raw_;
};

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_TLS_STREAM_H_

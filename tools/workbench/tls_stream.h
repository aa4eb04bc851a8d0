// Mutual TLS for the workbench when it serves more than this machine: the
// server's certificate and key, and the CA whose certificates are the
// officers' (OpenSSL). A connection completes its handshake only with a
// client certificate that chains to that CA; without one, or with any
// other, it is closed before a byte of HTTP is read.
//
// TLS runs over http/deadline_stream.h's connection (through a BIO of our
// own), so the handshake counts against the same whole-request deadline as
// the request: a client that drips its handshake is cut off as one that
// drips its request is. No socket code here.
//
// TlsContext is immutable after Create and thread-safe; a TlsStream is one
// connection's (not thread-safe).
//
// Example:
//   ASSIGN_OR_RETURN(auto tls, TlsContext::Create({"srv.crt", "srv.key", "officers-ca.crt"}));
//   DeadlineStream raw(fd, allowance, allowance);
//   if (std::unique_ptr<TlsStream> s = tls->Accept(raw)) process_request(*s, ...);
#ifndef GATEHOUSE_TOOLS_WORKBENCH_TLS_STREAM_H_
#define GATEHOUSE_TOOLS_WORKBENCH_TLS_STREAM_H_

#include <httplib.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "http/deadline_stream.h"

namespace gatehouse::workbench {

// The files of --tls-cert, --tls-key and --client-ca (PEM). All empty: no
// TLS.
struct TlsFiles {
  std::string cert;       // the workbench's certificate chain
  std::string key;        // its private key
  std::string client_ca;  // the CA that issues officers' certificates, and only theirs
  bool empty() const { return cert.empty() && key.empty() && client_ca.empty(); }
};

class TlsStream;

class TlsContext {
 public:
  // TLS 1.2 or later; a client certificate is required and verified
  // against `files.client_ca`. InvalidArgument naming the file and
  // OpenSSL's reason if one is missing, cannot be read, or the key is not
  // the certificate's.
  static absl::StatusOr<std::unique_ptr<TlsContext>> Create(const TlsFiles& files);
  ~TlsContext();

  // The handshake over `raw`, which must outlive the stream. nullptr if
  // it fails (no client certificate, one the CA did not issue, not TLS,
  // the deadline passed); the caller then closes the connection.
  std::unique_ptr<TlsStream> Accept(DeadlineStream& raw) const;

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* const ctx_;
};

// An accepted connection as httplib reads and writes it.
class TlsStream : public httplib::Stream {
 public:
  TlsStream(SSL* ssl, DeadlineStream& raw) : ssl_(ssl), raw_(raw) {}
  ~TlsStream() override;  // sends close_notify (best effort), frees the session

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

// What every API request must show before the workbench reads its body or
// does any work, and what its body must be. A page on another site (or one
// reached by DNS rebinding) must not be able to drive the workbench
// through the officer's browser:
//   - Host must name the loopback address and port the workbench serves
//     (a rebound name fails this); over mutual TLS any Host is taken, as
//     there the server's certificate is what a rebound name fails: the
//     browser refuses it for the attacker's name before sending anything;
//   - Origin, if the browser sends one, must be the workbench's own
//     (over TLS: https:// and the Host);
//   - the per-process token (generated at start-up, served only inside the
//     page, never in a cookie) must come in the X-Workbench-Token header:
//     another site can neither read it nor set the header without a CORS
//     preflight the workbench never grants;
//   - the body must be JSON (Content-Type application/json, which forms
//     cannot send), have a Content-Length (no chunked bodies) of at most
//     kMaxBodyBytes, and be well-formed UTF-8.
//
// Thread-safe: immutable after construction.
//
// Example:
//   RequestGuard guard(NewToken(), port);
//   if (auto refusal = guard.CheckHead(head)) return Answer(refusal->http_status, ...);
#ifndef GATEHOUSE_TOOLS_WORKBENCH_REQUEST_GUARD_H_
#define GATEHOUSE_TOOLS_WORKBENCH_REQUEST_GUARD_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace gatehouse::workbench {

inline constexpr size_t kMaxBodyBytes = size_t{1} << 20;  // 1 MiB
inline constexpr char kTokenHeader[] = "X-Workbench-Token";

// A request's head as the guard reads it ("" for a header not sent).
struct RequestHead {
  std::string host;
  std::string origin;
  std::string content_type;
  std::string token;
  std::string content_length;     // as sent
  std::string transfer_encoding;  // as sent
};

struct Refusal {
  int http_status;
  std::string message;  // what the sender should do
};

// 32 random bytes from the kernel, in hex. Aborts if the kernel has no
// randomness to give (nothing safe could follow).
std::string NewToken();

class RequestGuard {
 public:
  // `https`: the workbench serves mutual TLS (tls_stream.h), see above.
  RequestGuard(std::string token, int port, bool https = false)
      : token_(std::move(token)), port_(port), https_(https) {}

  // The refusal for a POST's head, or nullopt if it may be read.
  std::optional<Refusal> CheckHead(const RequestHead& head) const;
  // The refusal for a GET's Host (pages are only served to loopback
  // names; over TLS, to any non-empty Host).
  std::optional<Refusal> CheckHost(absl::string_view host) const;
  // The refusal for a body that is not well-formed UTF-8.
  static std::optional<Refusal> CheckBody(absl::string_view body);

  const std::string& token() const { return token_; }

 private:
  const std::string token_;
  const int port_;
  const bool https_;
};

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_REQUEST_GUARD_H_

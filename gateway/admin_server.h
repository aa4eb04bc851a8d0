// The admin endpoint's HTTP server: /metrics, /readyz, /healthz and the
// like, never records. On Debian's cpp-httplib; what Gatehouse adds is the
// limits an endpoint that orchestrators poll needs:
//   - GET (and HEAD) only: any other method is answered 405;
//   - a whole request (its head) must arrive within 2 s of the connection,
//     however slowly its bytes come, and the answer must be taken within
//     2 s: one slow client holds one worker for at most that long;
//   - a request line or header line over 8 KiB, a body, or a malformed
//     request line is answered 400 (or the connection closed);
//   - one request a connection.
//
// Example:
//   ASSIGN_OR_RETURN(auto admin, AdminServer::Start("127.0.0.1:0",
//       [](absl::string_view path) { return AdminServer::Response{200, "ok\n"}; }));
//
// Thread-safe: the handler is called from the server's worker threads,
// possibly at once; Stop() from any thread.
#ifndef GATEHOUSE_GATEWAY_ADMIN_SERVER_H_
#define GATEHOUSE_GATEWAY_ADMIN_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

class AdminServer {
 public:
  struct Response {
    int code = 200;
    std::string body;
    std::string content_type = "text/plain; charset=utf-8";
  };
  using Handler = std::function<Response(absl::string_view path)>;

  // Listens on an IPv4 host:port (port 0 picks one). InvalidArgument if
  // `listen` is not one, Unavailable if it cannot bind.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(const std::string& listen,
                                                            Handler handler);
  ~AdminServer();

  int port() const { return port_; }
  // Stops accepting and waits for requests being served; idempotent.
  void Stop();

  class HttpServer;  // cpp-httplib's server with the limits above (admin_server.cc)

 private:
  AdminServer(std::unique_ptr<HttpServer> http, int port);

  std::unique_ptr<HttpServer> http_;
  const int port_;
  std::atomic<bool> listen_ended_{false};
  std::thread thread_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_ADMIN_SERVER_H_

// A minimal HTTP/1.1 server for the admin endpoint: GET only, one request a
// connection, answered by a handler. For /metrics, /readyz and /healthz;
// never for records.
//
// Example:
//   ASSIGN_OR_RETURN(auto admin, AdminServer::Start("127.0.0.1:0",
//       [](absl::string_view path) { return AdminServer::Response{200, "ok\n"}; }));
//
// Thread-safe: one accept thread calls the handler; Stop() from any thread.
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

  // Listens on host:port (port 0 picks one). Unavailable if it cannot bind.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(const std::string& listen,
                                                            Handler handler);
  ~AdminServer();

  int port() const { return port_; }
  // Stops accepting; returns once the accept thread has ended.
  void Stop();

 private:
  AdminServer(int fd, int port, Handler handler)
      : fd_(fd), port_(port), handler_(std::move(handler)) {}
  void Run();
  void Serve(int conn);

  const int fd_;
  const int port_;
  const Handler handler_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_ADMIN_SERVER_H_

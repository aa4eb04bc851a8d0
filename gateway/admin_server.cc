#include "gateway/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "http/deadline_stream.h"

namespace gatehouse {
namespace {

// For a whole request's head, however slowly its bytes come, and for each
// write of the answer.
constexpr std::chrono::milliseconds kRequestAllowance{2000};
constexpr int kWorkers = 4;

void Answer(const AdminServer::Response& r, httplib::Response& res) {
  res.status = r.code;
  // Pages here load nothing and run nothing (the service-level page is
  // inline SVG), so a browser is told to allow nothing.
  res.set_header("Content-Security-Policy", "default-src 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(r.body, r.content_type.c_str());
}

}  // namespace

// httplib's server, serving each connection through a DeadlineStream, one
// request a connection.
class AdminServer::HttpServer : public httplib::Server {
 public:
  explicit HttpServer(AdminServer::Handler handler) {
    new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
    set_payload_max_length(0);  // GET only: no request has a body
    // httplib's default also sets SO_REUSEPORT, which would let a second
    // gateway share this port unnoticed: address reuse only.
    set_socket_options([](socket_t fd) {
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    });
    Get(".*", [handler = std::move(handler)](const httplib::Request& req,
                                             httplib::Response& res) {
      Answer(handler(req.path), res);
    });
    const auto only_get = [](const httplib::Request&, httplib::Response& res) {
      Answer({405, "only GET\n"}, res);
    };
    Post(".*", only_get);
    Put(".*", only_get);
    Patch(".*", only_get);
    Delete(".*", only_get);
    Options(".*", only_get);
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    bool closed = false;
    {
      DeadlineStream stream(sock, kRequestAllowance, kRequestAllowance);
      process_request(stream, /*close_connection=*/true, closed, nullptr);
    }
    shutdown(sock, SHUT_RDWR);
    close(sock);
    return true;
  }
};

AdminServer::AdminServer(std::unique_ptr<HttpServer> http, int port)
    : http_(std::move(http)), port_(port) {}

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(const std::string& listen,
                                                                 Handler handler) {
  std::pair<std::string, std::string> hp = absl::StrSplit(listen, absl::MaxSplits(':', 1));
  int port = 0;
  in_addr ignored{};
  if (!absl::SimpleAtoi(hp.second, &port) || port < 0 || port > 65535 ||
      inet_pton(AF_INET, hp.first.c_str(), &ignored) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("adminListen '", listen, "' is not an IPv4 host:port"));
  }
  auto http = std::make_unique<HttpServer>(std::move(handler));
  http->set_address_family(AF_INET);
  const int bound = port == 0 ? http->bind_to_any_port(hp.first)
                              : (http->bind_to_port(hp.first, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on adminListen ", listen, ": ", std::strerror(errno)));
  }
  std::unique_ptr<AdminServer> server(new AdminServer(std::move(http), bound));
  server->thread_ = std::thread([s = server.get()] {
    s->http_->listen_after_bind();
    s->listen_ended_ = true;
  });
  // httplib's stop() does nothing until the server runs: wait for that, so
  // that Stop() right after Start() cannot miss it.
  while (!server->http_->is_running() && !server->listen_ended_) std::this_thread::yield();
  if (server->listen_ended_) {
    server->thread_.join();
    return absl::UnavailableError(absl::StrCat("adminListen ", listen, " stopped at once"));
  }
  return server;
}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::Stop() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace gatehouse

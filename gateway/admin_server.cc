#include "gateway/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gatehouse {
namespace {

using Clock = std::chrono::steady_clock;

// For a whole request's head, however slowly its bytes come, and for each
// write of the answer.
constexpr std::chrono::milliseconds kRequestAllowance{2000};
constexpr int kWorkers = 4;

int MillisUntil(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool WaitFor(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return timeout_ms > 0 && poll(&p, 1, timeout_ms) == 1 && (p.revents & (events | POLLHUP)) != 0;
}

void AddressOf(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  const int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                      : getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  char text[INET_ADDRSTRLEN] = "";
  if (rc == 0 && addr.sin_family == AF_INET) {
    inet_ntop(AF_INET, &addr.sin_addr, text, sizeof(text));
    port = ntohs(addr.sin_port);
  }
  ip = text;
}

// An accepted connection whose reads end at one deadline for the whole
// request (httplib's own sockets time out each read, so a client dripping
// a byte a second would hold a worker without end).
class DeadlineStream : public httplib::Stream {
 public:
  explicit DeadlineStream(int fd) : fd_(fd), read_deadline_(Clock::now() + kRequestAllowance) {}

  bool is_readable() const override {
    return used_ < filled_ || WaitFor(fd_, POLLIN, MillisUntil(read_deadline_));
  }
  bool is_writable() const override {
    return WaitFor(fd_, POLLOUT, static_cast<int>(kRequestAllowance.count()));
  }
  ssize_t read(char* ptr, size_t size) override {
    if (used_ == filled_) {
      if (!is_readable()) return -1;
      const ssize_t n = recv(fd_, buffer_, sizeof(buffer_), 0);
      if (n <= 0) return n;
      used_ = 0;
      filled_ = static_cast<size_t>(n);
    }
    const size_t take = std::min(size, filled_ - used_);
    std::memcpy(ptr, buffer_ + used_, take);
    used_ += take;
    return static_cast<ssize_t>(take);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    return send(fd_, ptr, size, MSG_NOSIGNAL);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(fd_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(fd_, false, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  const int fd_;
  const Clock::time_point read_deadline_;
  char buffer_[4096];
  size_t used_ = 0;
  size_t filled_ = 0;
};

void Answer(const AdminServer::Response& r, httplib::Response& res) {
  res.status = r.code;
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
      DeadlineStream stream(sock);
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

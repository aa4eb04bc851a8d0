#include "gateway/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gatehouse {
namespace {

constexpr size_t kMaxRequestHead = 8192;
// For a whole request, however slowly its bytes come: one client must not
// hold this single-threaded server (and so /readyz) for long.
constexpr int kReadTimeoutMs = 2000;

const char* Reason(int code) {
  switch (code) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 400: return "Bad Request";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

void WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(const std::string& listen,
                                                                 Handler handler) {
  std::pair<std::string, std::string> hp = absl::StrSplit(listen, absl::MaxSplits(':', 1));
  int port = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (!absl::SimpleAtoi(hp.second, &port) || port < 0 || port > 65535 ||
      inet_pton(AF_INET, hp.first.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("adminListen '", listen, "' is not an IPv4 host:port"));
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 16) != 0) {
    std::string err = std::strerror(errno);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(absl::StrCat("cannot listen on adminListen ", listen, ": ", err));
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::unique_ptr<AdminServer> server(new AdminServer(fd, ntohs(addr.sin_port), std::move(handler)));
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  return server;
}

AdminServer::~AdminServer() {
  Stop();
  close(fd_);
}

void AdminServer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void AdminServer::Run() {
  while (!stopping_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    Serve(conn);
    close(conn);
  }
}

void AdminServer::Serve(int conn) {
  // A reader that never reads cannot block the answer for long either.
  timeval send_timeout{kReadTimeoutMs / 1000, 0};
  setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  const absl::Time deadline = absl::Now() + absl::Milliseconds(kReadTimeoutMs);
  std::string head;
  char buf[1024];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < kMaxRequestHead) {
    const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) return;
    pollfd p{conn, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left_ms)) <= 0) return;
    ssize_t n = recv(conn, buf, sizeof(buf), 0);
    if (n <= 0) return;
    head.append(buf, static_cast<size_t>(n));
  }
  std::vector<std::string> first = absl::StrSplit(head.substr(0, head.find("\r\n")), ' ');
  Response r;
  if (first.size() != 3 || first[2].rfind("HTTP/1.", 0) != 0) {
    r = {400, "bad request\n"};
  } else if (first[0] != "GET") {
    r = {405, "only GET\n"};
  } else {
    std::string path = first[1].substr(0, first[1].find('?'));
    r = handler_(path);
  }
  WriteAll(conn, absl::StrCat("HTTP/1.1 ", r.code, " ", Reason(r.code), "\r\nContent-Type: ",
                              r.content_type, "\r\nContent-Length: ", r.body.size(),
                              "\r\nConnection: close\r\n\r\n", r.body));
}

}  // namespace gatehouse

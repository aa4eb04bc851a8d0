// FaultProxy in front of an echo server on loopback: each fault is checked by
// what a client (and the echo server) sees through it.
#include "tests/gateway/fault_proxy.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace gatehouse {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// A socket bound to 127.0.0.1 on an ephemeral port, listening if `listen_too`;
// returns the fd (or -1) and sets *port.
int BindLoopback(bool listen_too, int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      (listen_too && listen(fd, 16) != 0) ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

// An owned file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// A blocking client socket connected to 127.0.0.1:port, or -1.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(port);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    sent += n;
  }
  return true;
}

// Why Receive stopped.
enum class End { kMax, kEof, kReset, kTimeout, kError };

std::ostream& operator<<(std::ostream& os, End end) {
  const char* names[] = {"max", "EOF", "reset", "timeout", "error"};
  return os << names[static_cast<int>(end)];
}

struct Received {
  std::string data;
  End end = End::kMax;
};

// Reads until `max` bytes, EOF, an error, or `timeout_ms` without a byte.
Received Receive(int fd, size_t max, int timeout_ms) {
  Received r;
  char buf[16384];
  while (r.data.size() < max) {
    pollfd p = {fd, POLLIN, 0};
    int ready = poll(&p, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      r.end = End::kTimeout;
      return r;
    }
    ssize_t n = recv(fd, buf, std::min(sizeof(buf), max - r.data.size()), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      r.end = n == 0 ? End::kEof : errno == ECONNRESET ? End::kReset : End::kError;
      return r;
    }
    r.data.append(buf, n);
  }
  return r;
}

// Bytes whose every value appears, so a flip anywhere shows.
std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 31 + 7);
  return s;
}

// Echoes every connection back until EOF (then closes), one thread each;
// remembers what it received and how connections ended.
class EchoServer {
 public:
  EchoServer() : listen_fd_(BindLoopback(true, &port_)) {
    if (listen_fd_ < 0 || pipe2(stop_, O_CLOEXEC) != 0) return;
    thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~EchoServer() {
    if (thread_.joinable()) {
      while (write(stop_[1], "x", 1) < 0 && errno == EINTR) {
      }
      thread_.join();
      close(stop_[0]);
      close(stop_[1]);
    }
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  // 0 if the server could not start.
  int port() const { return thread_.joinable() ? port_ : 0; }
  std::string seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  int accepted() const {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_;
  }
  int resets() const {
    std::lock_guard<std::mutex> lock(mu_);
    return resets_;
  }

 private:
  // False once the server is stopping.
  bool WaitReadable(int fd) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    while (poll(fds, 2, -1) < 0 && errno == EINTR) {
    }
    return fds[1].revents == 0;
  }

  void AcceptLoop() {
    std::vector<std::thread> conns;
    while (WaitReadable(listen_fd_)) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++accepted_;
      }
      conns.emplace_back([this, fd] { Echo(fd); });
    }
    for (auto& t : conns) t.join();
  }

  void Echo(int fd) {
    char buf[16384];
    while (WaitReadable(fd)) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        std::lock_guard<std::mutex> lock(mu_);
        if (n < 0 && errno == ECONNRESET) ++resets_;
        break;
      }
      std::string chunk(buf, n);
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_ += chunk;
      }
      if (!SendAll(fd, chunk)) break;
    }
    close(fd);
  }

  int port_ = 0;
  int listen_fd_;
  int stop_[2] = {-1, -1};
  mutable std::mutex mu_;
  std::string seen_;  // Guarded by mu_.
  int accepted_ = 0;  // Guarded by mu_.
  int resets_ = 0;    // Guarded by mu_.
  std::thread thread_;
};

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(echo_.port(), 0);
    proxy_ = FaultProxy::Start(echo_.port());
    ASSERT_NE(proxy_, nullptr);
  }

  // Sends `data` on `fd` and reads as many bytes back (5 s of silence at most).
  static std::string RoundTrip(int fd, const std::string& data) {
    if (!SendAll(fd, data)) return "<send failed>";
    return Receive(fd, data.size(), 5000).data;
  }

  EchoServer echo_;  // declared first: outlives the proxy's upstream sockets
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FaultProxyTest, PassEchoesBytesExactlyAndPassesOnHalfClose) {
  const std::string data = Pattern(300 * 1000);  // many chunks, partial writes
  Fd fd(Connect(proxy_->port()));
  ASSERT_GE(fd.get(), 0);
  std::thread sender([&] {
    EXPECT_TRUE(SendAll(fd.get(), data));
    shutdown(fd.get(), SHUT_WR);
  });
  Received r = Receive(fd.get(), data.size() + 1, 5000);
  sender.join();
  EXPECT_EQ(r.end, End::kEof);  // our FIN reached the echo server, its FIN came back
  EXPECT_EQ(r.data.size(), data.size());
  EXPECT_TRUE(r.data == data);
  EXPECT_TRUE(echo_.seen() == data);
  EXPECT_EQ(proxy_->connections(), 1);
  EXPECT_EQ(proxy_->bytes_up(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(proxy_->flipped(), 0);
}

TEST_F(FaultProxyTest, FlipBytesCorruptsWhatUpstreamSees) {
  proxy_->FlipBytes(10);
  const std::string data = Pattern(1000);
  std::string corrupted = data;
  for (size_t i = 9; i < corrupted.size(); i += 10) corrupted[i] ^= 0x01;
  Fd fd(Connect(proxy_->port()));
  ASSERT_GE(fd.get(), 0);
  std::string echoed = RoundTrip(fd.get(), data);
  EXPECT_NE(echoed, data);
  EXPECT_EQ(echo_.seen(), corrupted);
  EXPECT_EQ(echoed, corrupted);  // the way back is not corrupted again
  EXPECT_EQ(proxy_->flipped(), 100);
}

TEST_F(FaultProxyTest, RefuseClosesNewConnections) {
  proxy_->Refuse();
  Fd fd(Connect(proxy_->port()));  // the kernel completes the handshake
  ASSERT_GE(fd.get(), 0);
  SendAll(fd.get(), "ping");  // may fail: the proxy has closed
  Received r = Receive(fd.get(), 4, 2000);
  EXPECT_TRUE(r.end == End::kEof || r.end == End::kReset) << r.end;
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(proxy_->connections(), 1);
  EXPECT_EQ(echo_.accepted(), 0);
}

TEST_F(FaultProxyTest, RefuseClosesOpenConnections) {
  Fd fd(Connect(proxy_->port()));
  ASSERT_GE(fd.get(), 0);
  ASSERT_EQ(RoundTrip(fd.get(), "ping"), "ping");
  proxy_->Refuse();
  Received r = Receive(fd.get(), 1, 2000);
  EXPECT_TRUE(r.end == End::kEof || r.end == End::kReset) << r.end;
  EXPECT_EQ(r.data, "");
}

TEST_F(FaultProxyTest, BlackholeHoldsNewConnectionsSilentlyUntilPass) {
  proxy_->Blackhole();
  Fd fd(Connect(proxy_->port()));
  ASSERT_GE(fd.get(), 0);
  ASSERT_TRUE(SendAll(fd.get(), "ping"));
  Received r = Receive(fd.get(), 4, 300);
  EXPECT_EQ(r.end, End::kTimeout);  // neither data nor EOF nor reset
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(echo_.accepted(), 0);
  proxy_->Pass();
  EXPECT_EQ(Receive(fd.get(), 4, 5000).data, "ping");
}

TEST_F(FaultProxyTest, BlackholeStallsOpenConnections) {
  Fd fd(Connect(proxy_->port()));
  ASSERT_GE(fd.get(), 0);
  ASSERT_EQ(RoundTrip(fd.get(), "ping"), "ping");
  proxy_->Blackhole();
  ASSERT_TRUE(SendAll(fd.get(), "pong"));
  Received r = Receive(fd.get(), 4, 300);
  EXPECT_EQ(r.end, End::kTimeout);
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(echo_.seen(), "ping");
}

TEST_F(FaultProxyTest, ResetAllResetsBothSidesAndKeepsMode) {
  Fd fd(Connect(proxy_->port()));
  ASSERT_GE(fd.get(), 0);
  ASSERT_EQ(RoundTrip(fd.get(), "ping"), "ping");
  proxy_->ResetAll();
  Received r = Receive(fd.get(), 1, 2000);
  EXPECT_EQ(r.end, End::kReset);
  // The echo server sees its reset when its thread wakes.
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
  while (echo_.resets() == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(echo_.resets(), 1);
  // Still in Pass mode: a new connection works.
  Fd again(Connect(proxy_->port()));
  ASSERT_GE(again.get(), 0);
  EXPECT_EQ(RoundTrip(again.get(), "again"), "again");
}

TEST_F(FaultProxyTest, DelayHoldsEachChunk) {
  proxy_->Delay(200);
  Fd fd(Connect(proxy_->port()));
  ASSERT_GE(fd.get(), 0);
  Clock::time_point start = Clock::now();
  EXPECT_EQ(RoundTrip(fd.get(), "x"), "x");
  EXPECT_GE(Clock::now() - start, milliseconds(150));
}

TEST(FaultProxyUpstreamTest, UnreachableUpstreamResetsClient) {
  int port = 0;
  Fd bound_not_listening(BindLoopback(false, &port));  // connecting to it is refused
  ASSERT_GE(bound_not_listening.get(), 0);
  std::unique_ptr<FaultProxy> proxy = FaultProxy::Start(port);
  ASSERT_NE(proxy, nullptr);
  Fd fd(Connect(proxy->port()));
  ASSERT_GE(fd.get(), 0);
  Received r = Receive(fd.get(), 1, 2000);
  EXPECT_EQ(r.end, End::kReset);
}

}  // namespace
}  // namespace gatehouse

#include "tests/gateway/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace gatehouse {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kChunk = 16 * 1024;

// Conn::kill values, in increasing severity.
constexpr int kNone = 0;
constexpr int kClose = 1;  // close both sockets
constexpr int kReset = 2;  // SO_LINGER 0, then close both sockets

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);  // not retried on EINTR: Linux has closed it anyway
  fd = -1;
}

// Closes `fd` with an RST instead of a FIN.
void ResetFd(int& fd) {
  if (fd < 0) return;
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  CloseFd(fd);
}

// Makes the read end of a non-blocking pipe readable. A full pipe already is.
void Poke(int write_fd) {
  char b = 0;
  while (write(write_fd, &b, 1) < 0 && errno == EINTR) {
  }
}

void Drain(int read_fd) {
  char buf[64];
  for (;;) {
    ssize_t n = read(read_fd, buf, sizeof(buf));
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    return;
  }
}

bool Transient(int err) { return err == EINTR || err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

struct FaultProxy::Conn {
  ~Conn() {
    CloseFd(wake[0]);
    CloseFd(wake[1]);
  }

  // Owned by the connection's thread.
  int client = -1;
  int upstream = -1;
  // Non-blocking pipe: control threads poke wake[1] after changing the fault
  // or `kill`; the connection's thread polls wake[0].
  int wake[2] = {-1, -1};
  std::atomic<int> kill{kNone};  // raised only under mu_
  bool done = false;             // Guarded by mu_: the sockets are closed.
  std::thread thread;
};

// One direction of a connection: a chunk read from `from` waits in `buf`
// until `due`, then is written to `to`. One chunk at a time.
struct FaultProxy::Flow {
  Flow(int from_fd, int to_fd, bool client_to_upstream)
      : from(from_fd), to(to_fd), up(client_to_upstream) {}

  const int from;
  const int to;
  const bool up;       // client to upstream
  int64_t offset = 0;  // bytes read from `from` so far
  std::vector<char> buf;
  size_t written = 0;  // of buf
  Clock::time_point due;
  bool eof = false;  // `from` sent EOF, passed on as shutdown(to, SHUT_WR)

  bool Pending() const { return written < buf.size(); }
  bool Finished() const { return eof && !Pending(); }
};

std::unique_ptr<FaultProxy> FaultProxy::Start(int upstream_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  int stop[2];
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      pipe2(stop, O_NONBLOCK | O_CLOEXEC) != 0) {
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<FaultProxy>(
      new FaultProxy(fd, ntohs(addr.sin_port), upstream_port, stop));
}

FaultProxy::FaultProxy(int listen_fd, int port, int upstream_port, const int stop_pipe[2])
    : listen_fd_(listen_fd),
      port_(port),
      upstream_port_(upstream_port),
      stop_{stop_pipe[0], stop_pipe[1]} {
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FaultProxy::~FaultProxy() {
  Poke(stop_[1]);
  acceptor_.join();
  KillAll(kClose);
  std::vector<std::shared_ptr<Conn>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns.swap(conns_);
  }
  for (auto& c : conns) c->thread.join();
  close(listen_fd_);
  close(stop_[0]);
  close(stop_[1]);
}

void FaultProxy::Pass() { SetFault(Mode::kPass, 0); }
void FaultProxy::FlipBytes(int every_n_bytes) { SetFault(Mode::kFlip, std::max(1, every_n_bytes)); }
void FaultProxy::Delay(int ms) { SetFault(Mode::kDelay, std::max(0, ms)); }
void FaultProxy::Blackhole() { SetFault(Mode::kBlackhole, 0); }

void FaultProxy::Refuse() {
  // New connections see kRefuse in AcceptLoop; every one accepted before is
  // in conns_ by the time KillAll looks.
  SetFault(Mode::kRefuse, 0);
  KillAll(kClose);
}

void FaultProxy::ResetAll() { KillAll(kReset); }

void FaultProxy::SetFault(Mode mode, int n) {
  std::lock_guard<std::mutex> lock(mu_);
  fault_ = Fault{mode, n};
  for (auto& c : conns_) Poke(c->wake[1]);  // a held connection may resume
}

FaultProxy::Fault FaultProxy::CurrentFault() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fault_;
}

void FaultProxy::KillAll(int kill) {
  std::unique_lock<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Conn>> victims = conns_;
  for (auto& c : victims) {
    if (c->kill.load() < kill) c->kill.store(kill);
    Poke(c->wake[1]);
  }
  done_cv_.wait(lock, [&] {
    return std::all_of(victims.begin(), victims.end(), [](auto& c) { return c->done; });
  });
}

void FaultProxy::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    int ready = poll(fds, 2, -1);
    if (fds[1].revents != 0) return;
    int fd = ready > 0 ? accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC) : -1;
    if (fd < 0) {
      // EMFILE and the like leave the listener readable: back off, not spin.
      if (!Transient(errno) && errno != ECONNABORTED) poll(&fds[1], 1, 10);
      continue;
    }
    ++connections_;
    Reap();
    auto c = std::make_shared<Conn>();
    c->client = fd;
    std::lock_guard<std::mutex> lock(mu_);
    if (fault_.mode == Mode::kRefuse || pipe2(c->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
      CloseFd(c->client);
      continue;
    }
    c->thread = std::thread([this, conn = c.get()] { Serve(*conn); });
    conns_.push_back(std::move(c));
  }
}

// Joins the threads of connections that have ended.
void FaultProxy::Reap() {
  std::vector<std::shared_ptr<Conn>> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto mid = std::stable_partition(conns_.begin(), conns_.end(),
                                     [](const auto& c) { return !c->done; });
    ended.assign(mid, conns_.end());
    conns_.erase(mid, conns_.end());
  }
  for (auto& c : ended) c->thread.join();
}

void FaultProxy::Serve(Conn& c) {
  int how = std::max(Run(c), c.kill.load());
  if (how == kReset) {
    ResetFd(c.client);
    ResetFd(c.upstream);
  } else {
    CloseFd(c.client);
    CloseFd(c.upstream);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    c.done = true;
  }
  done_cv_.notify_all();
}

// Forwards both directions until both have ended, a socket fails (kReset) or
// the connection is killed. Returns how to close.
int FaultProxy::Run(Conn& c) {
  if (!AwaitUpstream(c)) return c.kill.load() != kNone ? c.kill.load() : kReset;
  Flow flows[2] = {Flow(c.client, c.upstream, true), Flow(c.upstream, c.client, false)};
  for (;;) {
    if (int kill = c.kill.load(); kill != kNone) return kill;
    if (flows[0].Finished() && flows[1].Finished()) return kClose;
    pollfd fds[3] = {{c.wake[0], POLLIN, 0}};
    int nfds = 1;
    int slot[2] = {-1, -1};
    int timeout = -1;
    if (CurrentFault().mode != Mode::kBlackhole) {
      Clock::time_point now = Clock::now();
      for (int i = 0; i < 2; ++i) {
        Flow& f = flows[i];
        if (f.Pending() && f.due > now) {
          int wait = std::chrono::ceil<std::chrono::milliseconds>(f.due - now).count();
          timeout = timeout < 0 ? wait : std::min(timeout, wait);
        } else if (f.Pending() || !f.eof) {
          slot[i] = nfds;
          fds[nfds++] = f.Pending() ? pollfd{f.to, POLLOUT, 0} : pollfd{f.from, POLLIN, 0};
        }
      }
    }
    if (poll(fds, nfds, timeout) < 0) {
      if (errno == EINTR) continue;
      return kReset;
    }
    if (fds[0].revents != 0) {  // the fault or kill changed: look again
      Drain(c.wake[0]);
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (slot[i] < 0 || fds[slot[i]].revents == 0) continue;
      if (!(flows[i].Pending() ? Write(flows[i]) : Read(flows[i]))) return kReset;
    }
  }
}

// Waits out Blackhole, then connects to the upstream. False if killed or the
// upstream could not be reached.
bool FaultProxy::AwaitUpstream(Conn& c) {
  for (;;) {
    if (c.kill.load() != kNone) return false;
    if (CurrentFault().mode != Mode::kBlackhole) return ConnectUpstream(c);
    pollfd wake = {c.wake[0], POLLIN, 0};
    if (poll(&wake, 1, -1) > 0) Drain(c.wake[0]);
  }
}

bool FaultProxy::ConnectUpstream(Conn& c) {
  c.upstream = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.upstream < 0) return false;
  sockaddr_in addr = Loopback(upstream_port_);
  if (connect(c.upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return true;
  if (errno != EINPROGRESS && errno != EINTR) return false;
  for (;;) {
    pollfd fds[2] = {{c.upstream, POLLOUT, 0}, {c.wake[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) {
      Drain(c.wake[0]);
      if (c.kill.load() != kNone) return false;
    }
    if (fds[0].revents != 0) {
      int err = 0;
      socklen_t len = sizeof(err);
      return getsockopt(c.upstream, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
  }
}

// Reads one chunk into the (empty) flow, applying the fault in force.
// False on a socket error.
bool FaultProxy::Read(Flow& flow) {
  flow.buf.resize(kChunk);
  flow.written = 0;
  ssize_t n = read(flow.from, flow.buf.data(), flow.buf.size());
  if (n <= 0) {
    flow.buf.clear();
    if (n < 0) return Transient(errno);
    flow.eof = true;
    shutdown(flow.to, SHUT_WR);  // may fail if `to` is gone; its next write will say so
    return true;
  }
  flow.buf.resize(n);
  Fault fault = CurrentFault();
  if (flow.up && fault.mode == Mode::kFlip) {
    for (ssize_t i = 0; i < n; ++i) {
      if ((flow.offset + i + 1) % fault.n != 0) continue;
      flow.buf[i] ^= 0x01;
      ++flipped_;
    }
  }
  flow.offset += n;
  flow.due = Clock::now() + std::chrono::milliseconds(fault.mode == Mode::kDelay ? fault.n : 0);
  return true;
}

// Writes what it can of the flow's chunk. False on a socket error.
bool FaultProxy::Write(Flow& flow) {
  ssize_t n = send(flow.to, flow.buf.data() + flow.written, flow.buf.size() - flow.written,
                   MSG_NOSIGNAL);
  if (n < 0) return Transient(errno);
  flow.written += n;
  if (flow.up) bytes_up_ += n;
  return true;
}

}  // namespace gatehouse

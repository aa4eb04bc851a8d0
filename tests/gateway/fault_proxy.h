// A TCP proxy on loopback that puts network faults between a client and a
// server under test: corrupted bytes, delay, a black hole, refused and reset
// connections. Integration tests start it in front of a real port and point
// the client at port() instead.
//
// Each accepted connection gets its own upstream connection to
// 127.0.0.1:upstream_port and its own thread; EOF from one side is passed on
// as a half-close (shutdown(SHUT_WR)) to the other, and a socket error on
// either side resets both.
//
// Thread-safe: the fault setters and counters may be called from any thread
// while connections are served. One fault mode is in force at a time; each
// setter replaces the last one.
//
// Example:
//   std::unique_ptr<FaultProxy> proxy = FaultProxy::Start(cluster.peer_port("council-a"));
//   ASSERT_NE(proxy, nullptr);
//   cluster.SetAddress("council-a", absl::StrCat("127.0.0.1:", proxy->port()));
//   proxy->FlipBytes(100);  // from now on, peers see corrupted TLS records
#ifndef GATEHOUSE_TESTS_GATEWAY_FAULT_PROXY_H_
#define GATEHOUSE_TESTS_GATEWAY_FAULT_PROXY_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace gatehouse {

class FaultProxy {
 public:
  // Listens on 127.0.0.1 on an ephemeral port, in Pass mode. Returns nullptr
  // if the listening socket could not be made. The upstream is not contacted
  // until a client connects; if it refuses then, that client is reset.
  static std::unique_ptr<FaultProxy> Start(int upstream_port);

  // Closes every connection and the listening socket; joins all threads.
  ~FaultProxy();

  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }

  // Forwards faithfully (the default). Connections held by Blackhole() resume.
  void Pass();
  // Client-to-upstream bytes at stream offsets n-1, 2n-1, ... (counted from
  // the start of each connection) are XORed with 0x01 as they are read.
  // Upstream-to-client bytes are unchanged. REQUIRES: every_n_bytes >= 1.
  void FlipBytes(int every_n_bytes);
  // Each chunk read, in either direction, is held `ms` milliseconds before
  // it is written. Each direction holds one chunk at a time, so this also
  // caps throughput at one chunk (up to 16 KiB) per `ms`.
  void Delay(int ms);
  // Connections are accepted but nothing is read, written or closed: calls
  // time out. New connections do not reach the upstream. Another mode
  // resumes forwarding of what the kernel has buffered meanwhile.
  void Blackhole();
  // Closes newly accepted connections at once, and closes both sockets of
  // every open connection before returning. Upstream sees no new connection.
  void Refuse();
  // Resets (SO_LINGER 0, then close) both sockets of every open connection
  // before returning, so both peers see ECONNRESET. The mode is unchanged.
  void ResetAll();

  // Connections accepted, refused ones included.
  int64_t connections() const { return connections_.load(); }
  // Client-to-upstream bytes written to the upstream (after any flips).
  int64_t bytes_up() const { return bytes_up_.load(); }
  // Bytes corrupted by FlipBytes().
  int64_t flipped() const { return flipped_.load(); }

 private:
  enum class Mode { kPass, kFlip, kDelay, kBlackhole, kRefuse };
  struct Fault {
    Mode mode;
    int n;  // every_n_bytes for kFlip, ms for kDelay
  };
  struct Conn;
  struct Flow;

  FaultProxy(int listen_fd, int port, int upstream_port, const int stop_pipe[2]);

  void SetFault(Mode mode, int n);
  Fault CurrentFault() const;
  // Closes (kill = kClose) or resets every open connection; waits until done.
  void KillAll(int kill);
  void AcceptLoop();
  void Reap();
  void Serve(Conn& c);
  int Run(Conn& c);
  bool AwaitUpstream(Conn& c);
  bool ConnectUpstream(Conn& c);
  bool Read(Flow& flow);
  bool Write(Flow& flow);

  const int listen_fd_;
  const int port_;
  const int upstream_port_;
  const int stop_[2];  // written once by the destructor, to stop AcceptLoop
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::condition_variable done_cv_;  // a Conn's done became true
  Fault fault_{Mode::kPass, 0};  // Guarded by mu_.
  std::vector<std::shared_ptr<Conn>> conns_;  // Guarded by mu_.

  std::atomic<int64_t> connections_{0};
  std::atomic<int64_t> bytes_up_{0};
  std::atomic<int64_t> flipped_{0};
};

}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_GATEWAY_FAULT_PROXY_H_

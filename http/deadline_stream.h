// One accepted connection of an HTTP server on cpp-httplib (the gateway's
// admin endpoint, the policy workbench), as httplib reads and writes it, with one deadline for the whole request: its head and body must have
// arrived within `read_allowance` of the connection, however slowly their
// bytes come (httplib's own sockets time out each read, so a client
// dripping a byte a second would hold a worker without end), and each write
// of the answer must go within `write_allowance`. A server serves each
// connection through one by overriding httplib::Server's
// process_and_close_socket.
//
// Not thread-safe: one connection, one worker.
#ifndef GATEHOUSE_HTTP_DEADLINE_STREAM_H_
#define GATEHOUSE_HTTP_DEADLINE_STREAM_H_

#include <httplib.h>

#include <chrono>
#include <string>

namespace gatehouse {

class DeadlineStream : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;
  DeadlineStream(int fd, std::chrono::milliseconds read_allowance,
                 std::chrono::milliseconds write_allowance);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

 private:
  const int fd_;
  const Clock::time_point read_deadline_;
  const std::chrono::milliseconds write_allowance_;
  char buffer_[16384];
  size_t used_ = 0;
  size_t filled_ = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_HTTP_DEADLINE_STREAM_H_

#include "http/deadline_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace gatehouse {
namespace {

int MillisUntil(DeadlineStream::Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - DeadlineStream::Clock::now())
                        .count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool WaitFor(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return timeout_ms > 0 && poll(&p, 1, timeout_ms) == 1 &&
         (p.revents & (events | POLLHUP)) != 0;
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

}  // namespace

DeadlineStream::DeadlineStream(int fd, std::chrono::milliseconds read_allowance,
                               std::chrono::milliseconds write_allowance)
    : fd_(fd), read_deadline_(Clock::now() + read_allowance), write_allowance_(write_allowance) {}

bool DeadlineStream::is_readable() const {
  return used_ < filled_ || WaitFor(fd_, POLLIN, MillisUntil(read_deadline_));
}

bool DeadlineStream::is_writable() const {
  return WaitFor(fd_, POLLOUT, static_cast<int>(write_allowance_.count()));
}

ssize_t DeadlineStream::read(char* ptr, size_t size) {
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

ssize_t DeadlineStream::write(const char* ptr, size_t size) {
  if (!is_writable()) return -1;
  return send(fd_, ptr, size, MSG_NOSIGNAL);
}

void DeadlineStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  AddressOf(fd_, true, ip, port);
}

void DeadlineStream::get_local_ip_and_port(std::string& ip, int& port) const {
  AddressOf(fd_, false, ip, port);
}

}  // namespace gatehouse

// PgListener (pg_listener.h): LISTEN on a connection of its own, poll()
// its socket, and reconnect with a backoff when it is lost.
#include "pg/pg_listener.h"

#include <poll.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

namespace gatehouse::postgres {
namespace {

constexpr int kPollMs = 100;  // how long close can wait for the thread
constexpr int kFirstBackoffMs = 100;
constexpr int kMaxBackoffMs = 5000;

}  // namespace

PgListener::PgListener(Options options)
    : options_(std::move(options)), thread_([this] { Run(); }) {}

PgListener::~PgListener() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool PgListener::Stopped(int ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_; });
}

void PgListener::Run() {
  while (!Stopped(0) && !options_.wanted()) {
    if (Stopped(kPollMs)) return;
  }
  int backoff_ms = 0;  // the first attempt after a loss is at once
  while (!Stopped(backoff_ms)) {
    std::unique_ptr<PgConnection> conn = Listen();
    if (conn == nullptr) {
      backoff_ms = std::clamp(2 * backoff_ms, kFirstBackoffMs, kMaxBackoffMs);
      continue;
    }
    backoff_ms = 0;
    options_.on_change();  // what was sent while nothing listened is lost: look again
    while (!Stopped(0) && Poll(*conn)) {
    }
  }
}

std::unique_ptr<PgConnection> PgListener::Listen() const {
  absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(options_.connect);
  if (!conn.ok() || !(*conn)->Run("LISTEN " + options_.channel).ok()) return nullptr;
  return *std::move(conn);
}

bool PgListener::Poll(PgConnection& conn) const {
  pollfd fd = {conn.Socket(), POLLIN, 0};
  if (fd.fd < 0) return false;
  const int ready = poll(&fd, 1, kPollMs);
  if (ready <= 0) return !conn.broken();  // a timeout, or EINTR: poll again
  absl::StatusOr<std::vector<int>> senders = conn.TakeNotifications();
  if (!senders.ok()) return false;
  if (std::any_of(senders->begin(), senders->end(),
                  [this](int pid) { return !options_.own(pid); })) {
    options_.on_change();
  }
  return true;
}

}  // namespace gatehouse::postgres

// PgPool (pg_pool.h): lends connections, opens them when needed, replaces
// lost ones.
#include "pg/pg_pool.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace gatehouse::postgres {

PgPool::PgPool(ConnectOptions options, int size, absl::Duration wait)
    : options_(std::move(options)), size_(size), wait_(wait) {}

PgPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->GiveBack(std::move(conn_));
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire() {
  std::unique_ptr<PgConnection> conn;
  {
    std::unique_lock<std::mutex> lock(mu_);
    const bool free = returned_.wait_for(lock, absl::ToChronoMilliseconds(wait_),
                                         [this] { return !idle_.empty() || open_ < size_; });
    if (!free) {
      return absl::UnavailableError(absl::StrCat("store: all ", size_,
                                                 " PostgreSQL connections stayed busy for ",
                                                 absl::FormatDuration(wait_)));
    }
    while (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
      if (!conn->LostWhileIdle()) return Lease(this, std::move(conn));
      conn.reset();  // lost: its slot is used for a new one below
      --open_;
    }
    ++open_;
  }
  absl::StatusOr<std::unique_ptr<PgConnection>> fresh = PgConnection::Connect(options_);
  if (!fresh.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    returned_.notify_one();
    return fresh.status();
  }
  return Lease(this, *std::move(fresh));
}

void PgPool::GiveBack(std::unique_ptr<PgConnection> conn) {
  const bool lost = conn->broken();
  if (lost) conn.reset();  // closed outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  if (lost) {
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
  returned_.notify_one();
}

}  // namespace gatehouse::postgres

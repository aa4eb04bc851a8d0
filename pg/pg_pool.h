// PgPool: a bounded pool of PostgreSQL connections for reads (gatehouse_pg). At most `size` connections are open; a caller
// finding all of them lent waits for one, up to a time limit. Connections
// are opened when first needed, and one found lost (the server closed it,
// say by pg_terminate_backend or a restart) is replaced by a new one, so the
// pool heals by itself.
//
// Example:
//   PgPool pool(options, 4);
//   absl::StatusOr<int64_t> n = pool.Read([](PgConnection& c) -> absl::StatusOr<int64_t> {
//     ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT COUNT(*) FROM outbox"));
//     return r.Int(0, 0);
//   });
//
// Thread-safe.
#ifndef GATEHOUSE_PG_PG_POOL_H_
#define GATEHOUSE_PG_PG_POOL_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pg/pg_connection.h"

namespace gatehouse::postgres {

class PgPool {
 public:
  // A connection lent to one caller; given back (or dropped, if lost) when
  // destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    PgConnection& operator*() const { return *conn_; }
    PgConnection* operator->() const { return conn_.get(); }

   private:
    friend class PgPool;
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // REQUIRES: size >= 1. Connects to nothing yet.
  PgPool(ConnectOptions options, int size, absl::Duration wait = absl::Seconds(30));
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // A connection, alive as far as can be told without asking the server.
  // Unavailable if none could be opened, or none was given back in time.
  absl::StatusOr<Lease> Acquire();

  // Runs `read` (PgConnection& -> absl::StatusOr<T>) on a lent connection.
  // If the connection turns out lost, runs it once more on a new one: a
  // read changes nothing, so running it again is safe. Only for reads.
  template <typename Fn>
  auto Read(Fn&& read) -> decltype(read(std::declval<PgConnection&>())) {
    for (int attempt = 0;; ++attempt) {
      auto lease = Acquire();
      if (!lease.ok()) return lease.status();
      auto result = read(**lease);
      if (result.ok() || !(*lease)->broken() || attempt > 0) return result;
    }
  }

 private:
  void GiveBack(std::unique_ptr<PgConnection> conn);

  const ConnectOptions options_;
  const int size_;
  const absl::Duration wait_;
  std::mutex mu_;
  std::condition_variable returned_;  // a connection came back, or a slot freed
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle, lent, or being opened
};

}  // namespace gatehouse::postgres

#endif  // GATEHOUSE_PG_PG_POOL_H_

// PgListener: a thread with a PostgreSQL connection of its own that
// LISTENs on one channel and calls `on_change` when another session
// NOTIFYs it (gatehouse_pg; PostgresStore uses it
// so that a replica's Watch wakes for every replica's commits).
//
// The connection is made only once `wanted()` is true (someone follows the
// store's changes), and kept from then on. A lost connection (a server
// restart, pg_terminate_backend) is made again by the thread, at once and
// then with a backoff (0.1 s doubling to 5 s). After every LISTEN, the
// first one included, `on_change` is called once: a notification sent
// while nothing was listening is lost, so whoever follows looks again.
// A notification whose sender `own(pid)` says is ours is skipped.
//
// The thread waits for input with poll() and a 100 ms timeout, so the
// destructor returns within about that (or, while a connection is being
// made, once libpq gives up: connect_timeout, 10 s, for a server that
// does not answer).
//
// Example:
//   PgListener listener({connect, "gatehouse_changes", [&] { return true; },
//                        [](int pid) { return false; }, [&] { signal.Notify(); }});
//
// Thread-safe: the callbacks run on the listener's thread.
#ifndef GATEHOUSE_PG_PG_LISTENER_H_
#define GATEHOUSE_PG_PG_LISTENER_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "pg/pg_connection.h"

namespace gatehouse::postgres {

class PgListener {
 public:
  struct Options {
    ConnectOptions connect;
    std::string channel;  // an SQL identifier, as it is
    // Whether to listen yet; asked every 100 ms until the first connection.
    std::function<bool()> wanted;
    // Whether backend `pid`'s notification is our own (skipped).
    std::function<bool(int pid)> own;
    // Called on another session's notification, and after each LISTEN.
    std::function<void()> on_change;
  };

  // Starts the thread.
  explicit PgListener(Options options);
  // Stops the thread and closes its connection.
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

 private:
  void Run();
  // Connects and LISTENs; null if either fails.
  std::unique_ptr<PgConnection> Listen() const;
  // Waits for input on `conn` for up to 100 ms and handles what came;
  // false if the connection is lost.
  bool Poll(PgConnection& conn) const;
  // Waits `ms` or until the destructor runs; true if it did.
  bool Stopped(int ms);

  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: runs Run, which uses all of the above
};

}  // namespace gatehouse::postgres

#endif  // GATEHOUSE_PG_PG_LISTENER_H_

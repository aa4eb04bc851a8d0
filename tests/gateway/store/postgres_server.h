// PostgresServer: a real PostgreSQL 15 server for a test, in a scratch
// folder of its own, listening on a Unix socket in that folder (no TCP
// port, so servers of tests run in parallel never meet; a test that needs
// TCP, to put a fault proxy in the way, asks for a loopback port), with
// fsync and synchronous_commit on. Stopped (a fast shutdown, killed if it does not
// end in 30 s) and its folder removed when destroyed.
//
// initdb refuses to run as root: as root, the server runs as Debian's
// `postgres` system user (the folder is made theirs); otherwise as the
// caller. Authentication is `trust` for the local socket, whose folder only
// that user (and root) may enter. The cluster is made with initdb
// --no-sync (its template files are not synced once; the server itself
// syncs every commit). The server gets SIGQUIT if the thread that started
// it ends, so a test that dies does not leave it running.
//
// Errors name what to do: FailedPrecondition if PostgreSQL 15 is not
// installed (scripts/setup.sh installs it) or, as root, there is no
// `postgres` user; Unavailable if it does not start, with its log's end.
//
// Example:
//   ASSIGN_OR_RETURN(PostgresServer* server, PostgresServer::Shared());
//   ASSIGN_OR_RETURN(std::string db, server->CreateDatabase());
//   PostgresStoreOptions options;
//   options.dsn = server->Dsn(db);
//
// Thread-safe.
#ifndef GATEHOUSE_TESTS_GATEWAY_STORE_POSTGRES_SERVER_H_
#define GATEHOUSE_TESTS_GATEWAY_STORE_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gatehouse::testing {

class PostgresServer {
 public:
  // Makes a cluster in a new scratch folder and starts a server on it;
  // returns once it accepts connections.
  // With `tcp`, it also listens on a free loopback port (TcpDsn).
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(bool tcp = false);
  // This process's server, started on the first call and stopped at exit;
  // each call after a failed start returns that failure.
  static absl::StatusOr<PostgresServer*> Shared();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Stops the server and waits for it to exit; its data and socket folder
  // stay. A fast shutdown (SIGINT: sessions ended, a checkpoint) or, with
  // `crash`, an immediate one (SIGQUIT: no checkpoint, recovery from the
  // WAL at the next start, as after a power cut).
  absl::Status Stop(bool crash = false);
  // Starts it again on the same data and socket, after Stop.
  absl::Status Restart() { return Launch(); }

  // A libpq conninfo for database `db`, as the server's superuser.
  std::string Dsn(const std::string& db) const;
  // The same over TCP to 127.0.0.1 (only if started with `tcp`).
  std::string TcpDsn(const std::string& db) const;
  // Its loopback TCP port, 0 if it has none.
  int tcp_port() const { return tcp_ ? port_ : 0; }
  // A new, empty database of a name no other call returns.
  absl::StatusOr<std::string> CreateDatabase();
  // Drops `db`, closing every connection to it first.
  absl::Status DropDatabase(const std::string& db);
  // Makes a login role `role` whose password is `password`, and has the
  // server ask for it (scram-sha-256) whenever `role` connects; every other
  // role still connects without one.
  absl::Status AddPasswordRole(const std::string& role, const std::string& password);
  // Runs `sql` in `db` as the superuser; the first row's first column, or
  // "" if it returns no rows.
  absl::StatusOr<std::string> Query(const std::string& db, const std::string& sql) const;

 private:
  PostgresServer(std::string dir, uid_t uid, gid_t gid, int port, bool tcp)
      : dir_(std::move(dir)), uid_(uid), gid_(gid), port_(port), tcp_(tcp) {}
  // Starts the postmaster as uid_, and waits until it accepts connections.
  absl::Status Launch();
  // The last lines of the server's log, for an error message.
  std::string LogTail() const;

  const std::string dir_;  // the scratch folder: data/, the socket, server.log
  const uid_t uid_;
  const gid_t gid_;
  const int port_;  // names the socket file, and is the TCP port with tcp_
  const bool tcp_;
  pid_t pid_ = -1;  // the postmaster
};

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_GATEWAY_STORE_POSTGRES_SERVER_H_

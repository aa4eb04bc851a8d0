// A small libpq wrapper (gatehouse_pg), for the PostgreSQL store
// (gateway/store/postgres/) and the audit log kept beside it
// (audit/postgres/): one connection (PgConnection) with its
// prepared statements, the parameters of a call (PgParams) and its result
// (PgResult, owning the PGresult).
//
// Every statement is prepared once per connection, named after its text,
// and executed with binary results: integers, booleans and bytes come back
// as they are stored, with no text decoding. Parameters go as text (numbers,
// strings) or as bytes (bytea).
//
// Errors are mapped once, here (see PgConnection::Exec): a lost connection
// or a server shutting down is Unavailable and marks the connection
// broken(); a unique key already used is AlreadyExists; bad bytes for a text
// column are InvalidArgument; anything else is Unavailable, naming the
// server's message.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> c, PgConnection::Connect(options));
//   ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT size FROM peer_checkpoint WHERE org = $1",
//                                        PgParams().Text(org)));
//   if (r.rows() == 1) size = r.Int(0, 0);
//
// Not thread-safe: a connection is used by one thread at a time (the pool,
// pg_pool.h, lends it to one caller; the committer owns its own). PgParams
// and PgResult are values.
#ifndef GATEHOUSE_PG_PG_CONNECTION_H_
#define GATEHOUSE_PG_PG_CONNECTION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace gatehouse::postgres {

// Where and how to connect. Never a password: a password file or a client
// certificate authenticates (gateway/store/postgres/postgres_store.h says more).
struct ConnectOptions {
  std::string dsn;            // a libpq conninfo string or postgresql:// URI
  std::string password_file;  // libpq's passfile (PGPASSFILE); "" for libpq's default
  std::string client_cert;    // sslcert; "" for none
  std::string client_key;     // sslkey
  std::string root_cert;      // sslrootcert: the server's CA
  // The longest a statement (or BEGIN, COMMIT) may go unanswered before the
  // connection is given up (Unavailable, broken()): a link that drops
  // packets without a reset must not hold a thread, or the locks of its
  // transaction, for as long as TCP retries. Longer than any statement of
  // ours takes on a working server (a COMMIT waits for one fsync).
  absl::Duration statement_timeout = absl::Seconds(10);
};

// InvalidArgument if `options.dsn` does not parse, or names a password
// (a configuration must never hold one).
absl::Status CheckConnectOptions(const ConnectOptions& options);

// The parameters of one statement, $1 onwards, in order.
class PgParams {
 public:
  PgParams& Text(std::string v) { return Add(std::move(v), 0); }
  PgParams& Int(int64_t v) { return Add(std::to_string(v), 0); }
  // A bytea parameter: the bytes as they are.
  PgParams& Bytes(std::string v) { return Add(std::move(v), 1); }
  // NULL, of whatever type the statement expects there.
  PgParams& Null();
  // A text[] parameter (for = ANY($n), unnest($n)).
  PgParams& TextArray(const std::vector<std::string>& v);

  int size() const { return static_cast<int>(values_.size()); }

 private:
  friend class PgConnection;
  PgParams& Add(std::string v, int format);

  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> formats_;
};

// A statement's result, in binary format; owns its PGresult.
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  PgResult(PgResult&& other) noexcept : r_(other.r_) { other.r_ = nullptr; }
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const;
  // Rows a write changed (UPDATE, INSERT, DELETE).
  int64_t affected() const;
  bool IsNull(int row, int col) const;
  // A smallint, integer or bigint column; 0 for NULL.
  int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const;
  // A text or bytea column's bytes ("" for NULL).
  std::string Bytes(int row, int col) const;

 private:
  PGresult* r_;
};

class PgConnection {
 public:
  // Connects and sets the session up (synchronous_commit on, UTC, warnings
  // only, a transaction idle for half the statement deadline ended by the
  // server). Unavailable, with libpq's message, if
  // it cannot connect.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(const ConnectOptions& options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Prepares `sql` on first use (once per connection), executes it with
  // `params` and returns its rows. Errors as the file comment says.
  absl::StatusOr<PgResult> Exec(const std::string& sql, const PgParams& params = PgParams());
  // Runs `sql`, one or more statements without parameters or results
  // (BEGIN, COMMIT, DDL), unprepared.
  absl::Status Run(const std::string& sql);

  // True once the connection is known to be lost: every later call fails,
  // so the owner replaces it.
  bool broken() const;
  // Whether the server has closed the connection since its last use (as
  // after pg_terminate_backend): reads what arrived, without waiting.
  bool LostWhileIdle();

  // For a LISTENing connection (pg_listener.h): the socket to poll() for
  // input, and this session's backend process id (what a notification's
  // sender is known by).
  int Socket() const;
  int BackendPid() const;
  // Reads what arrived, without waiting, and returns the backend pid of
  // each notification received, oldest first (none: empty). Unavailable,
  // and broken(), if the connection is lost.
  absl::StatusOr<std::vector<int>> TakeNotifications();

 private:
  PgConnection(PGconn* conn, absl::Duration timeout) : conn_(conn), timeout_(timeout) {}
  // Collects the result of the command just sent, waiting at most timeout_
  // (then the connection is abandoned_). With several statements (Run),
  // the first error or else the last result.
  absl::StatusOr<PgResult> Await(const char* what);
  absl::Status Abandoned() const;
  // Maps a failed call's result (null: no result at all) to a status.
  absl::Status Error(const PGresult* r, const char* what) const;

  PGconn* conn_;
  const absl::Duration timeout_;
  bool abandoned_ = false;  // no answer in time: every later call fails
  std::map<std::string, std::string> prepared_;  // SQL text -> statement name
};

}  // namespace gatehouse::postgres

#endif  // GATEHOUSE_PG_PG_CONNECTION_H_

// SQLite helpers of SqliteStore's files (internal to gatehouse_store, not a
// public header): prepared statements cached per connection (Stmt), and
// Exec for statements without results. Every SQLite failure becomes
// Unavailable ("store: <what> failed: <sqlite's message>"): the caller may
// try again.
//
// Thread-safety: a connection is used by one thread at a time (the
// committer, or a reader holding SqliteStore's read lock); the cache of idle
// statements has a lock of its own.
//
// Example:
//   Stmt s(db, "SELECT size FROM peer_checkpoint WHERE org = ?");
//   RETURN_IF_ERROR(s.ok());
//   s.Bind(1, org);
//   RETURN_IF_ERROR(s.Check(s.Step(), "read"));
#ifndef GATEHOUSE_GATEWAY_STORE_SQLITE_STATEMENT_H_
#define GATEHOUSE_GATEWAY_STORE_SQLITE_STATEMENT_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace gatehouse::sqlite {

// A prepared statement from the connection's cache (preparing afresh cost
// about a tenth of a gateway's CPU), given back, reset and unbound, on
// scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // OK if the statement prepared; check before using it.
  absl::Status ok() const { return Check(rc_, "prepare"); }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }
  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int Step() { return sqlite3_step(stmt_); }
  bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  // A text or blob column's bytes ("" for NULL).
  std::string Text(int col);
  // OK for SQLITE_OK, SQLITE_DONE and SQLITE_ROW; else Unavailable naming
  // `what`.
  absl::Status Check(int rc, const char* what) const;
  // Steps once, for a statement that writes.
  absl::Status Done() { return Check(Step(), "write"); }

 private:
  sqlite3* db_;
  std::string sql_;  // a copy: some statements are built at runtime
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

// Runs `sql` (one or more statements, no results). Unavailable on failure.
absl::Status Exec(sqlite3* db, const char* sql);

// Finalises every cached statement of `db`; call before closing it.
void DropStatements(sqlite3* db);

}  // namespace gatehouse::sqlite

#endif  // GATEHOUSE_GATEWAY_STORE_SQLITE_STATEMENT_H_

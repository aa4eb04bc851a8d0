#include "gateway/store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/rendezvous.h"
#include "common/status_macros.h"

namespace gatehouse {
namespace {

// The schema: the one version 2 created (kBaseSchema), then each of
// kMigrations in turn. A new file gets the base and every migration; a file
// an older version wrote gets the migrations it lacks. Either way all of it,
// with the new user_version, is one transaction: a failure leaves the file as
// it was. A change to the schema is a migration appended here, never an edit
// of what an existing file already has.
constexpr int kBaseVersion = 2;
constexpr const char* kBaseSchema = R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  record_id       TEXT PRIMARY KEY,
  sender_system   TEXT NOT NULL,
  idempotency_key TEXT,
  record          BLOB NOT NULL,
  state           INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  accepted_ms     INTEGER NOT NULL,
  delivered_ms    INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  receipt         BLOB,
  UNIQUE (sender_system, idempotency_key)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_ms);
CREATE TABLE IF NOT EXISTS mailbox (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  sender_org       TEXT NOT NULL,
  record_id        TEXT NOT NULL,
  recipient_system TEXT NOT NULL,
  record           BLOB,
  envelope_sha256  BLOB NOT NULL,
  receipt          BLOB NOT NULL,
  received_ms      INTEGER NOT NULL,
  acked_ms         INTEGER,
  UNIQUE (sender_org, record_id)
);
CREATE INDEX IF NOT EXISTS mailbox_open ON mailbox (acked_ms, recipient_system, seq);
CREATE INDEX IF NOT EXISTS mailbox_record ON mailbox (record_id);
CREATE TABLE IF NOT EXISTS peer_checkpoint (
  org   TEXT PRIMARY KEY,
  size  INTEGER NOT NULL,
  root  BLOB NOT NULL,
  note  TEXT NOT NULL
);
)sql";

// kMigrations[i] takes the schema from version kBaseVersion + i to the next.
constexpr const char* kMigrations[] = {
    // 3: a record addressed to the organisation as a whole (recipient_system
    // '') is acknowledged by each system that may take it, for itself; its
    // payload is dropped once all of them have (until then the rows here
    // say who has). Looked up by the key, whole or by its first two columns.
    R"sql(
CREATE TABLE mailbox_ack (
  sender_org TEXT NOT NULL,
  record_id  TEXT NOT NULL,
  system     TEXT NOT NULL,
  acked_ms   INTEGER NOT NULL,
  PRIMARY KEY (sender_org, record_id, system)
) WITHOUT ROWID;
)sql",
};
constexpr int kSchemaVersion = kBaseVersion + static_cast<int>(std::size(kMigrations));

// Prepared statements kept per connection and reused: preparing a
// statement (parsing its SQL) cost about a tenth of a gateway's CPU when
// every call prepared afresh. Keyed by connection and SQL text. A connection is used
// by one thread at a time (the committer, or a reader holding read_mu_); the
// map of idle statements has a lock of its own.
class StmtCache {
 public:
  static sqlite3_stmt* Take(sqlite3* db, const std::string& sql, int* rc) {
    {
      std::lock_guard<std::mutex> lock(mu());
      auto it = idle().find(Key(db, sql));
      if (it != idle().end() && !it->second.empty()) {
        sqlite3_stmt* stmt = it->second.back();
        it->second.pop_back();
        *rc = SQLITE_OK;
        return stmt;
      }
    }
    sqlite3_stmt* stmt = nullptr;
    *rc = sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    return stmt;
  }
  // Back for reuse, reset and unbound (or finalised if it never prepared).
  static void Give(sqlite3* db, const std::string& sql, sqlite3_stmt* stmt) {
    if (stmt == nullptr) return;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    std::lock_guard<std::mutex> lock(mu());
    idle()[Key(db, sql)].push_back(stmt);
  }
  // Finalises every statement of `db`, before it is closed.
  static void Drop(sqlite3* db) {
    std::lock_guard<std::mutex> lock(mu());
    for (auto it = idle().begin(); it != idle().end();) {
      if (it->first.first == db) {
        for (sqlite3_stmt* stmt : it->second) sqlite3_finalize(stmt);
        it = idle().erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  using Key = std::pair<sqlite3*, std::string>;
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static std::map<Key, std::vector<sqlite3_stmt*>>& idle() {
    static auto* m = new std::map<Key, std::vector<sqlite3_stmt*>>();
    return *m;
  }
};

// A prepared statement from the connection's cache, given back on scope
// exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db), sql_(sql) {
    stmt_ = StmtCache::Take(db, sql, &rc_);
  }
  ~Stmt() {
    if (rc_ == SQLITE_OK) {
      StmtCache::Give(db_, sql_, stmt_);
    } else {
      sqlite3_finalize(stmt_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

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
  std::string Text(int col) {
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
  }
  absl::Status Check(int rc, const char* what) const {
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return absl::OkStatus();
    return absl::UnavailableError(
        absl::StrCat("store: ", what, " failed: ", sqlite3_errmsg(db_)));
  }
  absl::Status Done() { return Check(Step(), "write"); }

 private:
  sqlite3* db_;
  std::string sql_;  // a copy: some statements are built at runtime
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return absl::UnavailableError(absl::StrCat("store: ", msg));
  }
  return absl::OkStatus();
}

constexpr const char* kOutboxColumns =
    "SELECT idempotency_key, record, state, attempts, next_attempt_ms, "
    "delivered_ms, last_error, receipt FROM outbox ";

absl::StatusOr<OutboxEntry> ReadOutboxRow(Stmt& s) {
  OutboxEntry e;
  e.idempotency_key = s.Text(0);
  if (!e.record.ParseFromString(s.Text(1)) ||
      (!s.IsNull(7) && !e.receipt.ParseFromString(s.Text(7)))) {
    return absl::DataLossError("store: an outbox row does not parse");
  }
  e.state = static_cast<v1::RecordState>(s.Int(2));
  e.attempts = static_cast<int32_t>(s.Int(3));
  e.next_attempt_ms = s.Int(4);
  e.delivered_ms = s.Int(5);
  e.last_error = s.Text(6);
  return e;
}

// A mailbox row selected as (seq, record).
absl::StatusOr<MailboxEntry> ReadMailboxRow(Stmt& s) {
  MailboxEntry e;
  e.seq = s.Int(0);
  if (!e.record.ParseFromString(s.Text(1))) {
    return absl::DataLossError("store: a mailbox row does not parse");
  }
  return e;
}

// The schema version of `db`: 0 for a new, empty file.
absl::StatusOr<int64_t> SchemaVersion(sqlite3* db) {
  Stmt version(db, "PRAGMA user_version");
  Stmt tables(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'");
  RETURN_IF_ERROR(version.ok());
  RETURN_IF_ERROR(tables.ok());
  RETURN_IF_ERROR(version.Check(version.Step(), "read"));
  RETURN_IF_ERROR(tables.Check(tables.Step(), "read"));
  if (tables.Int(0) == 0) return 0;
  // A file with tables but version 0 is not one of ours: refused below.
  return version.Int(0) == 0 ? -1 : version.Int(0);
}

// Brings `db` to kSchemaVersion in one transaction (see kBaseSchema); on
// failure leaves it as it was. FailedPrecondition for a version it cannot
// migrate.
absl::Status Migrate(sqlite3* db, const std::string& path) {
  RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(int64_t version, SchemaVersion(db));
    if (version == 0) {
      RETURN_IF_ERROR(Exec(db, kBaseSchema));
      version = kBaseVersion;
    }
    if (version < kBaseVersion || version > kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store: ", path, " has schema version ", std::max<int64_t>(version, 0),
          "; this gateway reads versions ", kBaseVersion, " to ", kSchemaVersion,
          ". Deliver or export what it holds with the gateway that wrote it"));
    }
    for (int64_t v = version; v < kSchemaVersion; ++v) {
      RETURN_IF_ERROR(Exec(db, kMigrations[v - kBaseVersion]));
    }
    return Exec(db, absl::StrCat("PRAGMA user_version = ", kSchemaVersion).c_str());
  }();
  if (st.ok()) st = Exec(db, "COMMIT");
  if (!st.ok()) Exec(db, "ROLLBACK").IgnoreError();
  return st;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  auto open = [&](sqlite3** db) -> absl::Status {
    int rc = sqlite3_open_v2(path.c_str(), db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = *db ? sqlite3_errmsg(*db) : "out of memory";
      StmtCache::Drop(*db);
      sqlite3_close(*db);
      *db = nullptr;
      return absl::UnavailableError(absl::StrCat("store: cannot open ", path, ": ", msg));
    }
    sqlite3_busy_timeout(*db, 5000);
    return absl::OkStatus();
  };
  sqlite3* writer = nullptr;
  RETURN_IF_ERROR(open(&writer));
  absl::Status st = Exec(writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  if (st.ok()) st = Migrate(writer, path);
  sqlite3* reader = nullptr;
  if (st.ok()) st = open(&reader);
  if (!st.ok()) {
    StmtCache::Drop(writer);
    sqlite3_close(writer);
    return st;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(writer, reader));
  Stmt count(writer, "SELECT COUNT(*) FROM outbox WHERE state = 1");
  RETURN_IF_ERROR(count.ok());
  RETURN_IF_ERROR(count.Check(count.Step(), "read"));
  {
    std::lock_guard<std::mutex> lock(store->write_mu_);
    store->queued_ = count.Int(0);
  }
  store->committer_ = std::thread([s = store.get()] { s->CommitLoop(); });
  return store;
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    stopping_ = true;
  }
  write_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  StmtCache::Drop(writer_);
  sqlite3_close(writer_);
  std::lock_guard<std::mutex> lock(read_mu_);
  StmtCache::Drop(reader_);
  sqlite3_close(reader_);
}

StoreStats SqliteStore::Stats() const {
  std::lock_guard<std::mutex> lock(write_mu_);
  return stats_;
}

absl::Status SqliteStore::RunWrite(
    std::function<absl::Status(sqlite3*, int64_t* queued_delta)> apply) {
  Write w;
  w.apply = std::move(apply);
  if (std::this_thread::get_id() == committer_.get_id()) {
    // Called on the committer thread itself (a callback of an earlier write
    // that writes again, e.g. a delivery attempt that failed at once):
    // queueing would wait for this very thread. It owns the connection, so
    // it commits the write here, as a group of one.
    CommitGroup({&w});
    return w.result;
  }
  std::unique_lock<std::mutex> lock(write_mu_);
  if (stopping_) return absl::UnavailableError("store: closing");
  pending_.push_back(&w);
  write_cv_.notify_all();
  write_cv_.wait(lock, [&w] { return w.done; });
  return w.result;
}

void SqliteStore::RunWriteAsync(
    std::function<absl::Status(sqlite3*, int64_t* queued_delta)> apply,
    std::function<void(absl::Status)> on_done) {
  auto* w = new Write;
  w->apply = std::move(apply);
  w->on_done = std::move(on_done);
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (!stopping_) {
      pending_.push_back(w);
      write_cv_.notify_all();
      return;
    }
  }
  std::function<void(absl::Status)> done = std::move(w->on_done);
  delete w;
  done(absl::UnavailableError("store: closing"));
}

void SqliteStore::CommitLoop() {
  while (true) {
    std::deque<Write*> batch;
    {
      std::unique_lock<std::mutex> lock(write_mu_);
      write_cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, nothing left
      batch.swap(pending_);
    }
    std::vector<Write*> async = CommitGroup(batch);
    write_cv_.notify_all();
    for (Write* w : async) {
      w->on_done(w->result);
      delete w;
    }
  }
}

std::vector<SqliteStore::Write*> SqliteStore::CommitGroup(const std::deque<Write*>& batch) {
  const int64_t start = absl::GetCurrentTimeNanos();
  absl::Status txn = Exec(writer_, "BEGIN IMMEDIATE");
  if (txn.ok()) {
    for (Write* w : batch) {
      if (!(w->result = Exec(writer_, "SAVEPOINT w")).ok()) continue;
      w->result = w->apply(writer_, &w->queued_delta);
      if (!w->result.ok()) {
        w->queued_delta = 0;
        Exec(writer_, "ROLLBACK TO w").IgnoreError();
        if (sqlite3_get_autocommit(writer_)) {
          // SQLite rolled the whole transaction back (an I/O error, a full
          // disk, no memory): nothing of the group stays, and a later
          // SAVEPOINT would start a transaction of its own, committed apart
          // from the group. Fail the group.
          txn = absl::UnavailableError(
              absl::StrCat("store: the group's transaction was rolled back: ",
                           w->result.message()));
          break;
        }
      }
      Exec(writer_, "RELEASE w").IgnoreError();
    }
    if (txn.ok()) {
      txn = Exec(writer_, "COMMIT");
      if (!txn.ok()) Exec(writer_, "ROLLBACK").IgnoreError();
    }
  }
  std::vector<Write*> async;
  std::lock_guard<std::mutex> lock(write_mu_);
  ++stats_.commits;
  stats_.commit_nanos += absl::GetCurrentTimeNanos() - start;
  for (Write* w : batch) {
    if (!txn.ok()) {
      w->result = txn;  // nothing of this group is durable
    } else if (w->result.ok()) {
      queued_ += w->queued_delta;
    }
    if (w->on_done) {
      async.push_back(w);
    } else {
      w->done = true;  // the waiter owns it: touch it no more
    }
  }
  return async;
}

void SqliteStore::AddToOutboxAsync(const v1::OutboxRecord& request,
                                   const std::string& idempotency_key, int64_t now_ms,
                                   OutboxDone done) {
  struct State {
    v1::OutboxRecord request;
    std::string key;
    std::string bytes;
    OutboxEntry result;
    bool inserted = false;
  };
  auto st = std::make_shared<State>();
  st->request = request;
  st->key = idempotency_key;
  st->bytes = request.SerializeAsString();
  RunWriteAsync(
      [this, st, now_ms](sqlite3* db, int64_t* delta) -> absl::Status {
        st->inserted = false;
        if (!st->key.empty()) {
          Stmt find(db,
                    "SELECT record_id FROM outbox WHERE sender_system = ? AND idempotency_key = ?");
          RETURN_IF_ERROR(find.ok());
          find.Bind(1, st->request.sender_system());
          find.Bind(2, st->key);
          int rc = find.Step();
          if (rc == SQLITE_ROW) {
            ASSIGN_OR_RETURN(st->result, GetOutboxOn(db, find.Text(0)));
            return absl::OkStatus();
          }
          RETURN_IF_ERROR(find.Check(rc, "lookup"));
        }
        Stmt s(db,
               "INSERT INTO outbox (record_id, sender_system, idempotency_key, record, state, "
               "next_attempt_ms, accepted_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
        RETURN_IF_ERROR(s.ok());
        s.Bind(1, st->request.record_id());
        s.Bind(2, st->request.sender_system());
        if (st->key.empty()) {
          s.BindNull(3);
        } else {
          s.Bind(3, st->key);
        }
        s.BindBlob(4, st->bytes);
        s.Bind(5, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
        s.Bind(6, now_ms);
        s.Bind(7, now_ms);
        RETURN_IF_ERROR(s.Done());
        *delta = 1;
        st->inserted = true;
        return absl::OkStatus();
      },
      [st, now_ms, done = std::move(done)](absl::Status status) {
        if (!status.ok()) {
          done(status, false);
          return;
        }
        if (st->inserted) {
          st->result = OutboxEntry();
          st->result.record = std::move(st->request);
          st->result.idempotency_key = std::move(st->key);
          st->result.next_attempt_ms = now_ms;
        }
        done(std::move(st->result), st->inserted);
      });
}

absl::StatusOr<OutboxEntry> SqliteStore::AddToOutbox(const v1::OutboxRecord& request,
                                                     const std::string& idempotency_key,
                                                     int64_t now_ms, bool* inserted) {
  using Result = std::pair<absl::StatusOr<OutboxEntry>, bool>;
  Rendezvous<Result> r;
  AddToOutboxAsync(request, idempotency_key, now_ms,
                   [cb = r.Callback()](absl::StatusOr<OutboxEntry> e, bool ins) {
                     cb(Result(std::move(e), ins));
                   });
  Result result = r.Wait();
  *inserted = result.second;
  return std::move(result.first);
}

absl::StatusOr<std::vector<OutboxEntry>> SqliteStore::DueForDelivery(int64_t now_ms, int limit) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, (std::string(kOutboxColumns) +
                   "WHERE state = ? AND next_attempt_ms <= ? ORDER BY next_attempt_ms LIMIT ?")
                      .c_str());
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
  s.Bind(2, now_ms);
  s.Bind(3, limit);
  std::vector<OutboxEntry> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(OutboxEntry e, ReadOutboxRow(s));
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return out;
}

absl::StatusOr<int64_t> SqliteStore::NextAttemptMs() {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, "SELECT MIN(next_attempt_ms) FROM outbox WHERE state = ?");
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
  int rc = s.Step();
  RETURN_IF_ERROR(s.Check(rc, "read"));
  if (rc != SQLITE_ROW || s.IsNull(0)) return -1;
  return s.Int(0);
}

void SqliteStore::MarkDeliveredAsync(const std::string& record_id, int64_t delivered_ms,
                                     const v1::SignedReceipt& receipt, WriteDone done) {
  RunWriteAsync(
      [record_id, delivered_ms, receipt_bytes = receipt.SerializeAsString()](
          sqlite3* db, int64_t* delta) -> absl::Status {
        Stmt s(db, "UPDATE outbox SET state = ?, delivered_ms = ?, last_error = '', "
                   "attempts = attempts + 1, receipt = ? WHERE record_id = ? AND state = ?");
        RETURN_IF_ERROR(s.ok());
        s.Bind(1, static_cast<int64_t>(v1::RECORD_STATE_DELIVERED));
        s.Bind(2, delivered_ms);
        s.BindBlob(3, receipt_bytes);
        s.Bind(4, record_id);
        s.Bind(5, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
        RETURN_IF_ERROR(s.Done());
        *delta = -sqlite3_changes(db);
        return absl::OkStatus();
      },
      std::move(done));
}

absl::Status SqliteStore::MarkDelivered(const std::string& record_id, int64_t delivered_ms,
                                        const v1::SignedReceipt& receipt) {
  Rendezvous<absl::Status> r;
  MarkDeliveredAsync(record_id, delivered_ms, receipt, r.Callback());
  return r.Wait();
}

absl::Status SqliteStore::MarkAttemptFailed(const std::string& record_id,
                                            int64_t next_attempt_ms,
                                            const std::string& error) {
  return RunWrite([&](sqlite3* db, int64_t*) -> absl::Status {
    Stmt s(db, "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?, "
               "last_error = ? WHERE record_id = ? AND state = ?");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, next_attempt_ms);
    s.Bind(2, error);
    s.Bind(3, record_id);
    s.Bind(4, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
    return s.Done();
  });
}

absl::Status SqliteStore::MarkRejected(const std::string& record_id,
                                       const std::string& error) {
  return RunWrite([&](sqlite3* db, int64_t* delta) -> absl::Status {
    Stmt s(db, "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ? "
               "WHERE record_id = ? AND state = ?");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, static_cast<int64_t>(v1::RECORD_STATE_REJECTED));
    s.Bind(2, error);
    s.Bind(3, record_id);
    s.Bind(4, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
    RETURN_IF_ERROR(s.Done());
    *delta = -sqlite3_changes(db);
    return absl::OkStatus();
  });
}

absl::StatusOr<OutboxEntry> SqliteStore::FindByIdempotencyKey(const std::string& system,
                                                              const std::string& key) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, (std::string(kOutboxColumns) +
                   "WHERE sender_system = ? AND idempotency_key = ?").c_str());
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, system);
  s.Bind(2, key);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError("no such idempotency key");
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return ReadOutboxRow(s);
}

absl::StatusOr<OutboxEntry> SqliteStore::GetOutbox(const std::string& record_id) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return GetOutboxOn(reader_, record_id);
}

absl::StatusOr<OutboxEntry> SqliteStore::GetOutboxOn(sqlite3* db, const std::string& record_id) {
  Stmt s(db, (std::string(kOutboxColumns) + "WHERE record_id = ?").c_str());
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, record_id);
  int rc = s.Step();
  if (rc == SQLITE_DONE) {
    return absl::NotFoundError(absl::StrCat("no record ", record_id, " in the outbox"));
  }
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return ReadOutboxRow(s);
}

absl::StatusOr<int64_t> SqliteStore::OutboxDepth() {
  std::lock_guard<std::mutex> lock(write_mu_);
  return queued_;
}

namespace {

absl::StatusOr<MailboxSeen> FindMailboxOn(sqlite3* db, const std::string& sender_org,
                                          const std::string& record_id) {
  // By index mailbox_record; the sender's own row first if there are more.
  Stmt find(db, "SELECT sender_org, envelope_sha256, receipt FROM mailbox WHERE record_id = ? "
                "ORDER BY sender_org = ? DESC LIMIT 1");
  RETURN_IF_ERROR(find.ok());
  find.Bind(1, record_id);
  find.Bind(2, sender_org);
  int rc = find.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError("not in the mailbox");
  RETURN_IF_ERROR(find.Check(rc, "lookup"));
  MailboxSeen seen;
  seen.sender_org = find.Text(0);
  seen.envelope_sha256 = find.Text(1);
  if (!seen.receipt.ParseFromString(find.Text(2))) {
    return absl::DataLossError("store: a mailbox receipt does not parse");
  }
  return seen;
}

}  // namespace

absl::StatusOr<MailboxSeen> SqliteStore::FindInMailbox(const std::string& sender_org,
                                                       const std::string& record_id) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return FindMailboxOn(reader_, sender_org, record_id);
}

absl::StatusOr<std::set<std::string>> SqliteStore::HeldEnvelopes(
    const std::set<std::string>& among) {
  std::set<std::string> held;
  if (among.empty()) return held;
  std::lock_guard<std::mutex> lock(read_mu_);
  // acked_ms stays NULL until the last system a record waits for has
  // acknowledged it (an organisation-wide record's payload is kept till then).
  Stmt s(reader_, "SELECT envelope_sha256 FROM mailbox WHERE acked_ms IS NULL");
  RETURN_IF_ERROR(s.ok());
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    std::string sha = s.Text(0);
    if (among.count(sha) > 0) held.insert(std::move(sha));
  }
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return held;
}

void SqliteStore::AddToMailboxAsync(const v1::MailboxRecord& record,
                                    const std::string& envelope_sha256,
                                    const v1::SignedReceipt& receipt, MailboxDone done) {
  struct State {
    std::string sender_org, record_id, recipient_system, record_bytes, sha, receipt_bytes;
    int64_t received_ms = 0;
    v1::SignedReceipt receipt;
    MailboxPut put;
  };
  auto st = std::make_shared<State>();
  st->sender_org = record.sender_org();
  st->record_id = record.record_id();
  st->recipient_system = record.recipient_system();
  st->record_bytes = record.SerializeAsString();
  st->sha = envelope_sha256;
  st->receipt = receipt;
  st->receipt_bytes = receipt.SerializeAsString();
  st->received_ms = record.received_unix_ms();
  RunWriteAsync(
      [st](sqlite3* db, int64_t*) -> absl::Status {
        absl::StatusOr<MailboxSeen> held = FindMailboxOn(db, st->sender_org, st->record_id);
        if (held.ok() && held->sender_org == st->sender_org) {
          st->put = MailboxPut{false, *std::move(held)};
          return absl::OkStatus();
        }
        if (!held.ok() && !absl::IsNotFound(held.status())) return held.status();
        Stmt s(db, "INSERT INTO mailbox (sender_org, record_id, recipient_system, record, "
                   "envelope_sha256, receipt, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
        RETURN_IF_ERROR(s.ok());
        s.Bind(1, st->sender_org);
        s.Bind(2, st->record_id);
        s.Bind(3, st->recipient_system);
        s.BindBlob(4, st->record_bytes);
        s.BindBlob(5, st->sha);
        s.BindBlob(6, st->receipt_bytes);
        s.Bind(7, st->received_ms);
        RETURN_IF_ERROR(s.Done());
        st->put = MailboxPut{true, MailboxSeen{st->sender_org, st->sha, st->receipt}};
        return absl::OkStatus();
      },
      [st, done = std::move(done)](absl::Status status) {
        if (!status.ok()) {
          done(status);
        } else {
          done(std::move(st->put));
        }
      });
}

absl::StatusOr<MailboxPut> SqliteStore::AddToMailbox(const v1::MailboxRecord& record,
                                                     const std::string& envelope_sha256,
                                                     const v1::SignedReceipt& receipt) {
  Rendezvous<absl::StatusOr<MailboxPut>> r;
  AddToMailboxAsync(record, envelope_sha256, receipt, r.Callback());
  return r.Wait();
}

namespace {

// The mailbox rows a reader sees (see MailboxReader), in a statement that
// binds them with BindReader. ?2 is '' if the reader takes
// organisation-wide records, else its system again (so it adds nothing);
// an organisation-wide row it has acknowledged is left out. Searched by
// index mailbox_open, and mailbox_ack's key.
constexpr const char* kVisibleTo =
    "acked_ms IS NULL AND recipient_system IN (?1, ?2) AND NOT (recipient_system = '' AND "
    "EXISTS (SELECT 1 FROM mailbox_ack a WHERE a.sender_org = mailbox.sender_org AND "
    "a.record_id = mailbox.record_id AND a.system = ?1))";

// REQUIRES: !reader.system.empty() (an empty one would match the
// organisation-wide rows as its own).
void BindReader(Stmt& s, const MailboxReader& reader) {
  s.Bind(1, reader.system);
  s.Bind(2, reader.TakesOrgWide() ? std::string() : reader.system);
}

// A mailbox row a reader is about to acknowledge.
struct VisibleRow {
  std::string sender_org;
  std::string envelope_sha256;
  bool org_wide = false;
};

// The rows under `record_id` visible to `reader` (more than one only if
// several organisations used the id). By index mailbox_record.
absl::StatusOr<std::vector<VisibleRow>> VisibleById(sqlite3* db, const MailboxReader& reader,
                                                    const std::string& record_id) {
  Stmt s(db, absl::StrCat("SELECT sender_org, envelope_sha256, recipient_system = '' "
                          "FROM mailbox WHERE record_id = ?3 AND ", kVisibleTo).c_str());
  RETURN_IF_ERROR(s.ok());
  BindReader(s, reader);
  s.Bind(3, record_id);
  std::vector<VisibleRow> rows;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) rows.push_back({s.Text(0), s.Text(1), s.Int(2) != 0});
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return rows;
}

// Drops the payload of (sender_org, record_id), keeping its id.
absl::Status DropPayload(sqlite3* db, const std::string& sender_org,
                         const std::string& record_id, int64_t now_ms) {
  Stmt s(db, "UPDATE mailbox SET acked_ms = ?, record = NULL WHERE sender_org = ? AND "
             "record_id = ? AND acked_ms IS NULL");
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, now_ms);
  s.Bind(2, sender_org);
  s.Bind(3, record_id);
  return s.Done();
}

// Records reader.system's acknowledgement of the organisation-wide record
// (sender_org, record_id), which it has not acknowledged before. If every
// system of reader.org_recipients now has, drops the payload (and the
// acknowledgements, needed no more) and returns true.
absl::StatusOr<bool> AckOrgWide(sqlite3* db, const MailboxReader& reader,
                                const std::string& sender_org, const std::string& record_id,
                                int64_t now_ms) {
  {
    Stmt s(db, "INSERT INTO mailbox_ack (sender_org, record_id, system, acked_ms) "
               "VALUES (?, ?, ?, ?)");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, sender_org);
    s.Bind(2, record_id);
    s.Bind(3, reader.system);
    s.Bind(4, now_ms);
    RETURN_IF_ERROR(s.Done());
  }
  std::set<std::string> waiting(reader.org_recipients.begin(), reader.org_recipients.end());
  {
    Stmt s(db, "SELECT system FROM mailbox_ack WHERE sender_org = ? AND record_id = ?");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, sender_org);
    s.Bind(2, record_id);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) waiting.erase(s.Text(0));
    RETURN_IF_ERROR(s.Check(rc, "read"));
  }
  if (!waiting.empty()) return false;
  RETURN_IF_ERROR(DropPayload(db, sender_org, record_id, now_ms));
  Stmt s(db, "DELETE FROM mailbox_ack WHERE sender_org = ? AND record_id = ?");
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, sender_org);
  s.Bind(2, record_id);
  RETURN_IF_ERROR(s.Done());
  return true;
}

}  // namespace

absl::StatusOr<std::vector<MailboxEntry>> SqliteStore::FetchMailbox(const MailboxReader& reader,
                                                                    int64_t after_seq,
                                                                    int limit) {
  std::vector<MailboxEntry> out;
  if (reader.system.empty()) return out;
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, absl::StrCat("SELECT seq, record FROM mailbox WHERE ", kVisibleTo,
                               " AND seq > ?3 ORDER BY seq LIMIT ?4").c_str());
  RETURN_IF_ERROR(s.ok());
  BindReader(s, reader);
  s.Bind(3, after_seq);
  s.Bind(4, limit);
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(MailboxEntry e, ReadMailboxRow(s));
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return out;
}

absl::StatusOr<MailboxEntry> SqliteStore::GetMailbox(const MailboxReader& reader,
                                                     const std::string& sender_org,
                                                     const std::string& record_id) {
  absl::Status not_found = absl::NotFoundError(absl::StrCat(
      "record ", record_id, " from ", sender_org, " is not waiting in the mailbox of ",
      reader.system));
  if (reader.system.empty()) return not_found;
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, absl::StrCat("SELECT seq, record FROM mailbox WHERE sender_org = ?3 AND "
                               "record_id = ?4 AND ", kVisibleTo).c_str());
  RETURN_IF_ERROR(s.ok());
  BindReader(s, reader);
  s.Bind(3, sender_org);
  s.Bind(4, record_id);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return not_found;
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return ReadMailboxRow(s);
}

absl::StatusOr<std::vector<MailboxAcked>> SqliteStore::AckMailbox(
    const MailboxReader& reader, const std::vector<std::string>& record_ids, int64_t now_ms) {
  std::vector<MailboxAcked> acked;
  if (reader.system.empty()) return acked;
  absl::Status st = RunWrite([&](sqlite3* db, int64_t*) -> absl::Status {
    acked.clear();
    for (const std::string& id : record_ids) {
      // A row acknowledged here is not visible again: an id given twice is
      // acknowledged once.
      ASSIGN_OR_RETURN(std::vector<VisibleRow> rows, VisibleById(db, reader, id));
      for (VisibleRow& row : rows) {
        MailboxAcked a{row.sender_org, id, std::move(row.envelope_sha256), true};
        if (row.org_wide) {
          ASSIGN_OR_RETURN(a.payload_dropped, AckOrgWide(db, reader, row.sender_org, id, now_ms));
        } else {
          RETURN_IF_ERROR(DropPayload(db, row.sender_org, id, now_ms));
        }
        acked.push_back(std::move(a));
      }
    }
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(st);
  return acked;
}

absl::StatusOr<int64_t> SqliteStore::MailboxDepth(const MailboxReader& reader) {
  if (reader.system.empty()) return 0;
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, absl::StrCat("SELECT COUNT(*) FROM mailbox WHERE ", kVisibleTo).c_str());
  RETURN_IF_ERROR(s.ok());
  BindReader(s, reader);
  RETURN_IF_ERROR(s.Check(s.Step(), "read"));
  return s.Int(0);
}

absl::StatusOr<int64_t> SqliteStore::HeldMailboxRecords() {
  std::lock_guard<std::mutex> lock(read_mu_);
  // By index mailbox_open.
  Stmt s(reader_, "SELECT COUNT(*) FROM mailbox WHERE acked_ms IS NULL");
  RETURN_IF_ERROR(s.ok());
  RETURN_IF_ERROR(s.Check(s.Step(), "read"));
  return s.Int(0);
}

absl::StatusOr<PeerCheckpoint> SqliteStore::GetPeerCheckpoint(const std::string& org) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, "SELECT size, root, note FROM peer_checkpoint WHERE org = ?");
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, org);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("no checkpoint of ", org));
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return PeerCheckpoint{static_cast<uint64_t>(s.Int(0)), s.Text(1), s.Text(2)};
}

absl::Status SqliteStore::PutPeerCheckpoint(const std::string& org, const PeerCheckpoint& cp) {
  return RunWrite([&](sqlite3* db, int64_t*) -> absl::Status {
    Stmt s(db, "INSERT OR REPLACE INTO peer_checkpoint (org, size, root, note) "
               "VALUES (?, ?, ?, ?)");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, org);
    s.Bind(2, static_cast<int64_t>(cp.size));
    s.BindBlob(3, cp.root);
    s.Bind(4, cp.note);
    return s.Done();
  });
}

}  // namespace gatehouse

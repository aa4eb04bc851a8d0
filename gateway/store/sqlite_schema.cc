#include "gateway/store/sqlite_schema.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gateway/store/sqlite_statement.h"

namespace gatehouse::sqlite {
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
    // 4: every outbox row remembers when it last changed state (queued,
    // delivered, rejected) as a number that only grows, so that Watch can
    // follow a system's records from a cursor. Existing rows are numbered
    // in the order they were inserted.
    R"sql(
ALTER TABLE outbox ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET change_seq = rowid;
CREATE INDEX outbox_change ON outbox (change_seq);
CREATE INDEX outbox_changes_of ON outbox (sender_system, change_seq);
)sql",
    // 5: a delivered record learns when the recipient's systems
    // acknowledged it (acked_ms); checked_ms says when the recipient's
    // gateway was last asked, so the oldest-asked are asked first.
    R"sql(
ALTER TABLE outbox ADD COLUMN acked_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN checked_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_unacknowledged ON outbox (state, checked_ms);
)sql",
    // 6: when a system first fetched a mailbox record (NULL until one
    // has), for the sender's gateway to learn (Peer.GetAcknowledged); and
    // on the sender's side, when that was (0 until learnt).
    R"sql(
ALTER TABLE mailbox ADD COLUMN fetched_ms INTEGER;
ALTER TABLE outbox ADD COLUMN fetched_ms INTEGER NOT NULL DEFAULT 0;
)sql",
    // 7: one commit a record (gateway/queued_audit_log.h). Audit entries
    // are numbered here, in the same transaction as the rows they speak
    // of, and wait in audit_queue until the file audit log holds them.
    // audit_sequence's one row is the next number; absent until the log
    // this store goes with first numbers from it.
    R"sql(
CREATE TABLE audit_queue (
  idx   INTEGER PRIMARY KEY,
  entry BLOB NOT NULL
);
CREATE TABLE audit_sequence (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  next INTEGER NOT NULL
);
)sql",
};
constexpr int kSchemaVersion = kBaseVersion + static_cast<int>(std::size(kMigrations));

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

}  // namespace

// Brings `db` to kSchemaVersion in one transaction (see kBaseSchema); on
// failure leaves it as it was. FailedPrecondition for a version it cannot
// migrate.
absl::Status MigrateSchema(sqlite3* db, const std::string& path) {
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

}  // namespace gatehouse::sqlite

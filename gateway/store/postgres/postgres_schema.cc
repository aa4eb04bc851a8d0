// PostgresStore's schema (postgres_schema.h): the migrations, and the
// versioned, locked, one-transaction-each way they are applied.
#include "gateway/store/postgres/postgres_schema.h"

#include <cstdint>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gatehouse::postgres {
namespace {

// kMigrations[i] takes the schema from version i to i + 1.
//
// 1: the schema SqliteStore reached at its version 6 (sqlite_schema.cc),
// with the same meaning column by column. Protobuf messages, receipts and
// hashes are bytea; ids, systems and errors text. change_seq comes from a
// sequence (SQLite takes MAX + 1 under its single writer); mailbox.seq is
// an identity column. Both have the default cache of 1: each number is the
// next in the whole database, not in a session's cached range, which the
// commit order lock (postgres_store.cc) relies on.
//
// 2: delivery leases (postgres_outbox.cc): the store that last claimed a
// queued row for delivery, and until when (the database's clock, in Unix
// ms). Claims and settles find rows by record id and the outbox_due index;
// outbox_leased, over the few rows under a lease, tells another store when
// the earliest lease ends (NextAttemptMs).
//
// 3: the organisation's audit log (postgres_audit_log.h). audit_head's one
// row holds the next entry number (sequenced) and the tree's size
// (integrated); audit_entry the serialized entries; audit_tree the perfect
// subtree hashes (level, index), as audit/tree_store.h keeps them in files;
// audit_checkpoint the signed notes; audit_cosignature peers' lines, one a
// key a checkpoint, served in the order they came.
constexpr const char kMigration1[] = R"sql(
CREATE SEQUENCE outbox_change_seq AS BIGINT;
CREATE TABLE outbox (
  record_id       TEXT PRIMARY KEY,
  sender_system   TEXT NOT NULL,
  idempotency_key TEXT,
  record          BYTEA NOT NULL,
  state           INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms BIGINT NOT NULL,
  accepted_ms     BIGINT NOT NULL,
  delivered_ms    BIGINT NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  receipt         BYTEA,
  change_seq      BIGINT NOT NULL DEFAULT nextval('outbox_change_seq'),
  acked_ms        BIGINT NOT NULL DEFAULT 0,
  checked_ms      BIGINT NOT NULL DEFAULT 0,
  fetched_ms      BIGINT NOT NULL DEFAULT 0,
  UNIQUE (sender_system, idempotency_key)
);
ALTER SEQUENCE outbox_change_seq OWNED BY outbox.change_seq;
CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);
CREATE INDEX outbox_changes_of ON outbox (sender_system, change_seq);
CREATE INDEX outbox_unacknowledged ON outbox (state, checked_ms);
CREATE TABLE mailbox (
  seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sender_org       TEXT NOT NULL,
  record_id        TEXT NOT NULL,
  recipient_system TEXT NOT NULL,
  record           BYTEA,
  envelope_sha256  BYTEA NOT NULL,
  receipt          BYTEA NOT NULL,
  received_ms      BIGINT NOT NULL,
  acked_ms         BIGINT,
  fetched_ms       BIGINT,
  UNIQUE (sender_org, record_id)
);
CREATE INDEX mailbox_open ON mailbox (recipient_system, seq) WHERE acked_ms IS NULL;
CREATE INDEX mailbox_record ON mailbox (record_id);
CREATE TABLE mailbox_ack (
  sender_org TEXT NOT NULL,
  record_id  TEXT NOT NULL,
  system     TEXT NOT NULL,
  acked_ms   BIGINT NOT NULL,
  PRIMARY KEY (sender_org, record_id, system)
);
CREATE TABLE peer_checkpoint (
  org   TEXT PRIMARY KEY,
  size  BIGINT NOT NULL,
  root  BYTEA NOT NULL,
  note  TEXT NOT NULL
);
)sql";

constexpr const char kMigration2[] = R"sql(
ALTER TABLE outbox
  ADD COLUMN lease_owner    TEXT,
  ADD COLUMN lease_until_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_leased ON outbox (lease_until_ms) WHERE lease_owner IS NOT NULL;
)sql";

constexpr const char kMigration3[] = R"sql(
CREATE TABLE audit_head (
  one        BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
  sequenced  BIGINT NOT NULL,
  integrated BIGINT NOT NULL
);
INSERT INTO audit_head (sequenced, integrated) VALUES (0, 0);
CREATE TABLE audit_entry (
  idx   BIGINT PRIMARY KEY,
  entry BYTEA NOT NULL
);
CREATE TABLE audit_tree (
  level SMALLINT NOT NULL,
  idx   BIGINT NOT NULL,
  hash  BYTEA NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE audit_checkpoint (
  size BIGINT PRIMARY KEY,
  note TEXT NOT NULL
);
CREATE TABLE audit_cosignature (
  size     BIGINT NOT NULL REFERENCES audit_checkpoint (size),
  name     TEXT NOT NULL,
  key_id   BIGINT NOT NULL,
  line     TEXT NOT NULL,
  added    BIGINT GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (size, name, key_id)
);
)sql";

constexpr const char* kMigrations[] = {kMigration1, kMigration2, kMigration3};
constexpr int kLatest = static_cast<int>(std::size(kMigrations));

// Any number, the same in every gateway: the advisory lock migrations hold.
constexpr int64_t kMigrationLock = 0x6761746568736531;  // "gatehse1"

// The database's schema version, inside the migration's transaction: 0 for
// an empty database, -1 for one with tables but no schema_version.
absl::StatusOr<int64_t> CurrentVersion(PgConnection& c) {
  ASSIGN_OR_RETURN(PgResult known,
                   c.Exec("SELECT to_regclass('schema_version') IS NOT NULL, "
                          "(SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema())"));
  if (!known.Bool(0, 0)) return known.Int(0, 1) == 0 ? 0 : -1;
  ASSIGN_OR_RETURN(PgResult v, c.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
  return v.Int(0, 0);
}

// Applies the next migration, if any, in one transaction. Sets *done when
// the database is at kLatest.
absl::Status MigrateOnce(PgConnection& c, bool* done) {
  RETURN_IF_ERROR(
      c.Exec("SELECT pg_advisory_xact_lock($1)", PgParams().Int(kMigrationLock)).status());
  ASSIGN_OR_RETURN(int64_t version, CurrentVersion(c));
  if (version < 0) {
    return absl::FailedPreconditionError(
        "store: the PostgreSQL database holds tables but no schema_version table: it is not a "
        "Gatehouse store. Give the gateway a database (or schema) of its own");
  }
  if (version > kLatest) {
    return absl::FailedPreconditionError(
        absl::StrCat("store: the PostgreSQL database has schema version ", version,
                     "; this gateway knows versions up to ", kLatest,
                     ". A newer gateway migrated it: run that version (or newer) against it"));
  }
  if (version == kLatest) {
    *done = true;
    return absl::OkStatus();
  }
  if (version == 0) {
    RETURN_IF_ERROR(
        c.Run("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
              "migrated_at TIMESTAMPTZ NOT NULL DEFAULT now())"));
  }
  RETURN_IF_ERROR(c.Run(kMigrations[version]));
  return c.Exec("INSERT INTO schema_version (version) VALUES ($1)", PgParams().Int(version + 1))
      .status();
}

}  // namespace

int LatestSchemaVersion() { return kLatest; }

absl::Status MigrateSchema(PgConnection& c) {
  for (bool done = false; !done;) {
    RETURN_IF_ERROR(c.Run("BEGIN"));
    absl::Status st = MigrateOnce(c, &done);
    if (st.ok()) st = c.Run("COMMIT");
    if (!st.ok()) {
      c.Run("ROLLBACK").IgnoreError();
      return st;
    }
  }
  return absl::OkStatus();
}

}  // namespace gatehouse::postgres

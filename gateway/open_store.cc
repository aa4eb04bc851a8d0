#include "gateway/open_store.h"

#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "audit/audit_log.h"
#include "audit/log_directory.h"
#include "audit/postgres/postgres_audit_log.h"
#include "gateway/queued_audit_log.h"
#include "gateway/store/postgres/postgres_store.h"
#include "gateway/store/sqlite_store.h"

namespace gatehouse {

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const v1::GatewayConfig& c) {
  if (!c.store().has_postgres()) return SqliteStore::Open(c.data_dir() + "/gatehouse.db");
  const v1::PostgresStoreConfig& pg = c.store().postgres();
  PostgresStoreOptions options;
  options.dsn = pg.dsn();
  options.password_file = pg.password_file();
  options.client_cert = pg.client_cert_file();
  options.client_key = pg.client_key_file();
  options.root_cert = pg.root_cert_file();
  if (pg.read_connections() > 0) options.read_connections = pg.read_connections();
  if (pg.delivery_lease_seconds() > 0) {
    options.delivery_lease_ms = int64_t{pg.delivery_lease_seconds()} * 1000;
  }
  if (options.delivery_lease_ms <= c.retry().deliver_timeout_ms()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config: store.postgres.deliveryLeaseSeconds (", options.delivery_lease_ms / 1000,
        " s) must exceed retry.deliverTimeoutMs (", c.retry().deliver_timeout_ms(), " ms)"));
  }
  if (pg.statement_timeout_seconds() > 0) {
    options.statement_timeout = absl::Seconds(pg.statement_timeout_seconds());
  }
  options.lease_owner = pg.replica_id();
  if (options.lease_owner.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    options.lease_owner = absl::StrCat(host, ":", c.data_dir());
  }
  absl::StatusOr<std::unique_ptr<PostgresStore>> store = PostgresStore::Open(options);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("store.postgres: ", store.status().message()));
  }
  return std::unique_ptr<Store>(*std::move(store));
}

absl::StatusOr<std::unique_ptr<audit::AuditTrail>> OpenAuditLog(
    const v1::GatewayConfig& c, Store* store, std::shared_ptr<const audit::NoteSigner> signer) {
  if (auto* postgres = dynamic_cast<PostgresStore*>(store); postgres != nullptr) {
    // A log already kept in files is not continued in the database: the
    // same key would sign a second history from entry 0, which peers that
    // cosigned the first would rightly call a fork.
    absl::StatusOr<std::vector<audit::SegmentFile>> segments = audit::ListSegments(c.audit().dir());
    if (segments.ok() && !segments->empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "audit log: audit.dir '", c.audit().dir(),
          "' holds this organisation's audit log in files, and with store.postgres the log is "
          "kept in the database: one key must not sign two histories. Keep the gateway on "
          "SQLite, or archive that log (auditctl export --tiles; keep the directory) and move "
          "it out of audit.dir, and give the database log a new log key (audit.keyFile) whose "
          "name peers are told of in the directory"));
    }
    // Every replica of the organisation appends to the one log in the database.
    PostgresAuditLogOptions options;
    options.UseStore(postgres);
    options.signer = std::move(signer);
    options.checkpoint_every_entries = c.audit().checkpoint_every_entries();
    options.checkpoint_interval = absl::Milliseconds(c.audit().checkpoint_interval_ms());
    absl::StatusOr<std::unique_ptr<PostgresAuditLog>> log =
        PostgresAuditLog::Open(std::move(options));
    if (!log.ok()) {
      return absl::Status(log.status().code(), absl::StrCat("audit log in store.postgres: ",
                                                            log.status().message()));
    }
    return std::unique_ptr<audit::AuditTrail>(*std::move(log));
  }
  audit::AuditLogOptions options;
  options.signer = std::move(signer);
  options.checkpoint_every_entries = c.audit().checkpoint_every_entries();
  options.checkpoint_interval = absl::Milliseconds(c.audit().checkpoint_interval_ms());
  absl::StatusOr<std::unique_ptr<audit::AuditLog>> log =
      audit::AuditLog::Open(c.audit().dir(), options);
  if (!log.ok()) {
    return absl::Status(log.status().code(), absl::StrCat("audit log '", c.audit().dir(),
                                                          "': ", log.status().message()));
  }
  if (auto* sqlite = dynamic_cast<SqliteStore*>(store); sqlite != nullptr) {
    // Entries are numbered in the store with the rows they speak of, and
    // the file log follows (one commit a record: gateway/queued_audit_log.h).
    absl::StatusOr<std::unique_ptr<QueuedAuditLog>> queued =
        QueuedAuditLog::Open(sqlite, *std::move(log));
    if (!queued.ok()) {
      return absl::Status(queued.status().code(),
                          absl::StrCat("audit log '", c.audit().dir(), "' with the store '",
                                       c.data_dir(), "/gatehouse.db': ",
                                       queued.status().message()));
    }
    return std::unique_ptr<audit::AuditTrail>(*std::move(queued));
  }
  return std::unique_ptr<audit::AuditTrail>(*std::move(log));
}

}  // namespace gatehouse

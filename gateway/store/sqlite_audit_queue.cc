// SqliteStore's audit queue: audit entries numbered in the store's group
// commit, with the rows they speak of, until the file audit log holds them
// (gateway/queued_audit_log.h).
#include <sqlite3.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gateway/store/sqlite_statement.h"
#include "gateway/store/sqlite_store.h"

namespace gatehouse {

using sqlite::Stmt;

namespace {

// The next index, or NotFound before StartAuditSequence.
absl::StatusOr<uint64_t> NextIndexOn(sqlite3* db) {
  Stmt s(db, "SELECT next FROM audit_sequence WHERE id = 1");
  RETURN_IF_ERROR(s.ok());
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError("store: audit entries are not numbered yet");
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return static_cast<uint64_t>(s.Int(0));
}

absl::Status ForgetOn(sqlite3* db, uint64_t below) {
  Stmt s(db, "DELETE FROM audit_queue WHERE idx < ?");
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, static_cast<int64_t>(below));
  return s.Done();
}

}  // namespace

void SqliteStore::QueueAuditEntryAsync(std::string entry, uint64_t forget_below,
                                       IndexedApply with,
                                       std::function<void(absl::StatusOr<uint64_t>)> done) {
  auto index = std::make_shared<uint64_t>(0);
  RunWriteAsync(
      [entry = std::move(entry), forget_below, with = std::move(with), index](
          sqlite3* db, int64_t* delta) -> absl::Status {
        absl::StatusOr<uint64_t> next = NextIndexOn(db);
        if (absl::IsNotFound(next.status())) {
          return absl::FailedPreconditionError(next.status().message());
        }
        RETURN_IF_ERROR(next.status());
        *index = *next;
        Stmt queue(db, "INSERT INTO audit_queue (idx, entry) VALUES (?, ?)");
        RETURN_IF_ERROR(queue.ok());
        queue.Bind(1, static_cast<int64_t>(*index));
        queue.BindBlob(2, entry);
        RETURN_IF_ERROR(queue.Done());
        Stmt count(db, "UPDATE audit_sequence SET next = next + 1 WHERE id = 1");
        RETURN_IF_ERROR(count.ok());
        RETURN_IF_ERROR(count.Done());
        if (with) RETURN_IF_ERROR(with(db, *index, delta));
        if (forget_below > 0) RETURN_IF_ERROR(ForgetOn(db, forget_below));
        return absl::OkStatus();
      },
      [index, done = std::move(done)](absl::Status status) {
        if (!status.ok()) {
          done(std::move(status));
        } else {
          done(*index);
        }
      });
}

absl::StatusOr<SqliteStore::AuditQueue> SqliteStore::ReadAuditQueue() {
  std::lock_guard<std::mutex> lock(read_mu_);
  // One read transaction, so the number and the queue agree.
  RETURN_IF_ERROR(sqlite::Exec(reader_, "BEGIN"));
  absl::StatusOr<AuditQueue> out = [&]() -> absl::StatusOr<AuditQueue> {
    AuditQueue q;
    absl::StatusOr<uint64_t> next = NextIndexOn(reader_);
    if (next.ok()) {
      q.next = *next;
    } else if (!absl::IsNotFound(next.status())) {
      return next.status();
    }
    Stmt s(reader_, "SELECT idx, entry FROM audit_queue ORDER BY idx");
    RETURN_IF_ERROR(s.ok());
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      q.entries.emplace_back(static_cast<uint64_t>(s.Int(0)), s.Text(1));
    }
    RETURN_IF_ERROR(s.Check(rc, "read"));
    return q;
  }();
  sqlite::Exec(reader_, "COMMIT").IgnoreError();
  return out;
}

absl::Status SqliteStore::StartAuditSequence(uint64_t next) {
  return RunWrite([next](sqlite3* db, int64_t*) -> absl::Status {
    absl::StatusOr<uint64_t> held = NextIndexOn(db);
    if (held.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("store: audit entries are numbered already (next ", *held, ")"));
    }
    if (!absl::IsNotFound(held.status())) return held.status();
    Stmt s(db, "INSERT INTO audit_sequence (id, next) VALUES (1, ?)");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, static_cast<int64_t>(next));
    return s.Done();
  });
}

absl::Status SqliteStore::ForgetAuditEntries(uint64_t below) {
  return RunWrite([below](sqlite3* db, int64_t*) { return ForgetOn(db, below); });
}

}  // namespace gatehouse

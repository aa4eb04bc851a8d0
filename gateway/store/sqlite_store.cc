// SqliteStore: opening (schema, the two connections), closing, and the group
// commit every write goes through. Each interface's calls are in a file of
// their own (sqlite_store.h lists them).
#include "gateway/store/sqlite_store.h"

#include <sqlite3.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "gateway/store/sqlite_schema.h"
#include "gateway/store/sqlite_statement.h"

namespace gatehouse {

using sqlite::DropStatements;
using sqlite::Exec;
using sqlite::Stmt;

namespace {

// Opens a connection to `path`, creating the file if needed.
absl::Status OpenConnection(const std::string& path, sqlite3** db) {
  int rc = sqlite3_open_v2(path.c_str(), db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = *db ? sqlite3_errmsg(*db) : "out of memory";
    DropStatements(*db);
    sqlite3_close(*db);
    *db = nullptr;
    return absl::UnavailableError(absl::StrCat("store: cannot open ", path, ": ", msg));
  }
  sqlite3_busy_timeout(*db, 5000);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  sqlite3* writer = nullptr;
  RETURN_IF_ERROR(OpenConnection(path, &writer));
  // temp_store=MEMORY: a write's savepoint journal (the pages it changed,
  // for undoing it alone) stays in memory. By default it moves to a
  // temporary file past 64 KiB, and a record's joint write often reaches
  // that: each page copy then costs two system calls until the commit.
  absl::Status st = Exec(writer,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                         "PRAGMA temp_store=MEMORY;");
  if (st.ok()) st = sqlite::MigrateSchema(writer, path);
  sqlite3* reader = nullptr;
  if (st.ok()) st = OpenConnection(path, &reader);
  if (!st.ok()) {
    DropStatements(writer);
    sqlite3_close(writer);
    return st;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(writer, reader));
  Stmt count(writer, "SELECT COUNT(*) FROM outbox WHERE state = 1");
  RETURN_IF_ERROR(count.ok());
  RETURN_IF_ERROR(count.Check(count.Step(), "read"));
  {
    std::lock_guard<std::mutex> lock(store->stats_mu_);
    store->queued_ = count.Int(0);
  }
  Committer::Options options;
  options.stopped = absl::UnavailableError("store: closing");
  store->committer_ = std::make_unique<Committer>(
      [s = store.get()](std::vector<Apply>& batch) { return s->CommitGroup(batch); },
      std::move(options));
  return store;
}

SqliteStore::~SqliteStore() {
  if (committer_) committer_->Stop();  // commits what is queued
  DropStatements(writer_);
  sqlite3_close(writer_);
  std::lock_guard<std::mutex> lock(read_mu_);
  DropStatements(reader_);
  sqlite3_close(reader_);
}

StoreStats SqliteStore::Stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

absl::Status SqliteStore::RunWrite(Apply apply) {
  return committer_->SubmitAndWait(std::move(apply));
}

void SqliteStore::RunWriteAsync(Apply apply, std::function<void(absl::Status)> on_done) {
  committer_->Submit(std::move(apply), std::move(on_done));
}

std::vector<absl::Status> SqliteStore::CommitGroup(std::vector<Apply>& batch) {
  const int64_t start = absl::GetCurrentTimeNanos();
  std::vector<absl::Status> results(batch.size());
  std::vector<int64_t> deltas(batch.size(), 0);
  absl::Status txn = Exec(writer_, "BEGIN IMMEDIATE");
  if (txn.ok()) txn = ApplyEach(batch, &results, &deltas);
  if (txn.ok()) {
    txn = Exec(writer_, "COMMIT");
    if (!txn.ok()) Exec(writer_, "ROLLBACK").IgnoreError();
  }
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.commits;
    stats_.commit_nanos += absl::GetCurrentTimeNanos() - start;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!txn.ok()) {
        results[i] = txn;  // nothing of this group is durable
      } else if (results[i].ok()) {
        queued_ += deltas[i];
      }
    }
  }
  if (txn.ok()) changes_.Notify();
  return results;
}

absl::Status SqliteStore::ApplyEach(std::vector<Apply>& batch, std::vector<absl::Status>* results,
                                    std::vector<int64_t>* deltas) {
  for (size_t i = 0; i < batch.size(); ++i) {
    absl::Status& result = (*results)[i];
    if (!(result = Exec(writer_, "SAVEPOINT w")).ok()) continue;
    result = batch[i](writer_, &(*deltas)[i]);
    if (!result.ok()) {
      Exec(writer_, "ROLLBACK TO w").IgnoreError();
      if (sqlite3_get_autocommit(writer_)) {
        // SQLite rolled the whole transaction back (an I/O error, a full
        // disk, no memory): nothing of the group stays, and a later
        // SAVEPOINT would start a transaction of its own, committed apart
        // from the group. Fail the group.
        return absl::UnavailableError(absl::StrCat(
            "store: the group's transaction was rolled back: ", result.message()));
      }
    }
    Exec(writer_, "RELEASE w").IgnoreError();
  }
  return absl::OkStatus();
}

}  // namespace gatehouse

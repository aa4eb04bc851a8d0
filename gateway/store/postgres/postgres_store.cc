// PostgresStore: opening (options, schema, connections), closing, and the
// group commit every write goes through. Each interface's calls are in a
// file of their own (postgres_store.h lists them).
#include "gateway/store/postgres/postgres_store.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "gateway/store/postgres/pg_connection.h"
#include "gateway/store/postgres/pg_pool.h"
#include "gateway/store/postgres/postgres_schema.h"

namespace gatehouse {

using postgres::PgConnection;

namespace {

postgres::ConnectOptions ConnectOptionsOf(const PostgresStoreOptions& options) {
  return postgres::ConnectOptions{options.dsn, options.password_file, options.client_cert,
                                  options.client_key, options.root_cert};
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const PostgresStoreOptions& options) {
  const postgres::ConnectOptions connect = ConnectOptionsOf(options);
  RETURN_IF_ERROR(postgres::CheckConnectOptions(connect));
  if (options.read_connections < 1) {
    return absl::InvalidArgumentError(absl::StrCat("store: PostgreSQL read_connections is ",
                                                   options.read_connections, "; at least 1"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer, PgConnection::Connect(connect));
  RETURN_IF_ERROR(postgres::MigrateSchema(*writer));
  std::unique_ptr<PostgresStore> store(new PostgresStore(
      std::move(writer), std::make_unique<postgres::PgPool>(connect, options.read_connections),
      options));
  Committer::Options group;
  group.stopped = absl::UnavailableError("store: closing");
  store->committer_ = std::make_unique<Committer>(
      [s = store.get()](std::vector<Apply>& batch) { return s->CommitGroup(batch); },
      std::move(group));
  return store;
}

PostgresStore::PostgresStore(std::unique_ptr<PgConnection> writer,
                             std::unique_ptr<postgres::PgPool> readers,
                             const PostgresStoreOptions& options)
    : options_(options), writer_(std::move(writer)), readers_(std::move(readers)) {}

PostgresStore::~PostgresStore() {
  if (committer_) committer_->Stop();  // commits what is queued
}

StoreStats PostgresStore::Stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

absl::Status PostgresStore::Begin() {
  for (int attempt = 0;; ++attempt) {
    if (writer_ == nullptr || writer_->LostWhileIdle()) {
      writer_.reset();
      ASSIGN_OR_RETURN(writer_, PgConnection::Connect(ConnectOptionsOf(options_)));
    }
    absl::Status st = writer_->Run("BEGIN");
    // Lost before the group started: nothing was done, so try once more.
    if (st.ok() || !writer_->broken() || attempt > 0) return st;
  }
}

std::vector<absl::Status> PostgresStore::CommitGroup(std::vector<Apply>& batch) {
  const int64_t start = absl::GetCurrentTimeNanos();
  std::vector<absl::Status> results(batch.size());
  absl::Status txn = Begin();
  if (txn.ok()) {
    txn = ApplyEach(batch, &results);
    if (txn.ok()) {
      txn = writer_->Run("COMMIT");
      if (!txn.ok() && writer_->broken()) {
        txn = absl::UnavailableError(absl::StrCat(
            "store: the connection to PostgreSQL was lost at COMMIT, so whether the write was "
            "kept is unknown; retry it (an add is found again by its key): ",
            txn.message()));
      }
    } else if (!writer_->broken()) {
      writer_->Run("ROLLBACK").IgnoreError();
    }
  }
  if (!txn.ok()) {
    results.assign(batch.size(), txn);  // nothing of this group is durable
    return results;
  }
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.commits;
    stats_.commit_nanos += absl::GetCurrentTimeNanos() - start;
  }
  changes_.Notify();
  return results;
}

absl::Status PostgresStore::ApplyEach(std::vector<Apply>& batch,
                                      std::vector<absl::Status>* results) {
  // A group of one needs no savepoint: its failure fails the transaction.
  const bool savepoints = batch.size() > 1;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (savepoints) RETURN_IF_ERROR(writer_->Run("SAVEPOINT w"));
    absl::Status& result = (*results)[i];
    result = batch[i](*writer_);
    if (!result.ok()) {
      if (!savepoints || writer_->broken()) return result;
      RETURN_IF_ERROR(writer_->Run("ROLLBACK TO SAVEPOINT w"));
    }
    if (savepoints) RETURN_IF_ERROR(writer_->Run("RELEASE SAVEPOINT w"));
  }
  return absl::OkStatus();
}

}  // namespace gatehouse

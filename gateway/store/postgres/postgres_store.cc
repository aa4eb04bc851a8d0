// PostgresStore: opening (options, schema, connections), closing, and the
// group commit every write goes through. Each interface's calls are in a
// file of their own (postgres_store.h lists them).
#include "gateway/store/postgres/postgres_store.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "pg/pg_connection.h"
#include "pg/pg_listener.h"
#include "pg/pg_pool.h"
#include "gateway/store/postgres/postgres_schema.h"

namespace gatehouse {

using postgres::PgConnection;
using postgres::PgParams;
using postgres::PgResult;

namespace {

// The commit order lock: every write group takes it (transaction-scoped,
// pg_advisory_xact_lock) before anything else, so groups of every store on
// the database commit one at a time, each allocating its numbers (outbox
// change_seq, mailbox seq) after the one before it committed. Numbers
// therefore become visible in the order they grow: a reader that has seen
// number n will never find a row below n committed later. (Commit makes a
// transaction visible before it releases its locks.) Taken first, before
// any row lock, so two groups never wait for each other the other way round.
// Advisory locks are per database: another Gatehouse database on the server
// has its own. Differs from postgres_schema.cc's migration lock.
constexpr int64_t kCommitOrderLock = 0x6761746568736f32;  // "gatehso2"

// The channel every write group NOTIFYs before it commits, and every
// store's listener LISTENs on (pg_listener.h): PostgreSQL delivers a
// notification only on commit, to sessions of the same database, so
// another Gatehouse database on the server has its own.
constexpr char kChangesChannel[] = "gatehouse_changes";

postgres::ConnectOptions ConnectOptionsOf(const PostgresStoreOptions& options) {
  return postgres::ConnectOptions{options.dsn,        options.password_file,
                                  options.client_cert, options.client_key,
                                  options.root_cert,   options.statement_timeout};
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
  if (options.delivery_lease_ms < 1) {
    return absl::InvalidArgumentError(absl::StrCat("store: PostgreSQL delivery_lease_ms is ",
                                                   options.delivery_lease_ms, "; at least 1"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer, PgConnection::Connect(connect));
  RETURN_IF_ERROR(postgres::MigrateSchema(*writer));
  std::string owner = options.lease_owner;
  if (owner.empty()) {
    ASSIGN_OR_RETURN(PgResult random, writer->Exec("SELECT gen_random_uuid()::text"));
    owner = random.Bytes(0, 0);
  }
  std::unique_ptr<PostgresStore> store(new PostgresStore(
      std::move(writer), std::make_unique<postgres::PgPool>(connect, options.read_connections),
      options, std::move(owner)));
  store->writer_pid_ = store->writer_->BackendPid();
  Committer::Options group;
  group.stopped = absl::UnavailableError("store: closing");
  store->committer_ = std::make_unique<Committer>(
      [s = store.get()](std::vector<Apply>& batch) { return s->CommitGroup(batch); },
      std::move(group));
  // Made only once someone follows changes() (a Watch): a store nobody
  // watches through keeps read_connections + 1 connections.
  postgres::PgListener::Options listen;
  listen.connect = connect;
  listen.channel = kChangesChannel;
  listen.wanted = [s = store.get()] { return s->changes_.listeners() > 0; };
  listen.own = [s = store.get()](int pid) { return pid == s->writer_pid_.load(); };
  listen.on_change = [s = store.get()] { s->changes_.Notify(); };
  store->listener_ = std::make_unique<postgres::PgListener>(std::move(listen));
  return store;
}

PostgresStore::PostgresStore(std::unique_ptr<PgConnection> writer,
                             std::unique_ptr<postgres::PgPool> readers,
                             const PostgresStoreOptions& options, std::string lease_owner)
    : options_(options),
      lease_owner_(std::move(lease_owner)),
      writer_(std::move(writer)),
      readers_(std::move(readers)) {}

PostgresStore::~PostgresStore() {
  listener_.reset();                   // stops its thread within about 100 ms
  if (committer_) committer_->Stop();  // commits what is queued
}

absl::StatusOr<std::unique_ptr<PgConnection>> PostgresStore::Connect() const {
  return PgConnection::Connect(ConnectOptionsOf(options_));
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
      writer_pid_ = writer_->BackendPid();
    }
    absl::Status st = writer_->Run("BEGIN");
    if (st.ok()) {
      st = writer_->Exec("SELECT pg_advisory_xact_lock($1)", PgParams().Int(kCommitOrderLock))
               .status();
      if (!st.ok() && !writer_->broken()) writer_->Run("ROLLBACK").IgnoreError();
    }
    // Lost before the group wrote anything: nothing was done, so try once more.
    if (st.ok() || !writer_->broken() || attempt > 0) return st;
  }
}

std::vector<absl::Status> PostgresStore::CommitGroup(std::vector<Apply>& batch) {
  const int64_t start = absl::GetCurrentTimeNanos();
  std::vector<absl::Status> results(batch.size());
  absl::Status txn = Begin();
  if (txn.ok()) {
    txn = ApplyEach(batch, &results);
    // One notification a group, sent by the server only if it commits: the
    // other stores' listeners wake their followers (ours are told below).
    if (txn.ok()) txn = writer_->Run(absl::StrCat("NOTIFY ", kChangesChannel));
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

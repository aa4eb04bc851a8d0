// Store on PostgreSQL (15, Debian's), with synchronous_commit on: a write
// returns once its transaction is durable on the server.
//
// Writes are group-committed (common/group_commit.h), as SqliteStore's:
// callers on many threads hand their change to one committer thread, with
// a connection of its own, which applies every change waiting in one
// transaction (each under a savepoint, so one failing change does not undo
// another; a group of one needs none) and commits once. A write is a
// function applied inside the group's transaction, so a second table
// written by the same function (an audit entry's) commits with it or not at
// all. A change that touches many rows (MarkChecked, MarkFetchedAsync) is
// one multi-row statement. Reads go through a bounded pool of further
// connections (PostgresStoreOptions::read_connections) and see every
// committed change.
//
// A connection the server closed (a restart, pg_terminate_backend, a
// network cut) is replaced on the next call: a read is run again once on
// the new connection; a write whose group had not started is too. A
// connection lost inside a group fails the group with Unavailable and
// commits none of it; lost at COMMIT, its outcome is unknown, and the
// writes get Unavailable (an outbox add retried with its idempotency key,
// or a mailbox add retried with its record id, finds the first if it did
// commit).
//
// Several stores (replicas of one gateway, in one process or many) may
// share a database. Every write group first takes a transaction-level
// advisory lock of the store's (kCommitOrderLock), so that groups commit
// one at a time and the numbers they allocate (outbox change_seq, mailbox
// seq) become visible in the order they were allocated: a reader following
// either cursor never passes a number whose row commits later. A record id
// or idempotency key used by two stores at once is decided by its unique
// key: one row, the second add gets what AddToOutbox and AddToMailbox say
// of one already held. DueForDelivery claims the rows it returns for
// PostgresStoreOptions::delivery_lease_ms (FOR UPDATE SKIP LOCKED): until
// the lease ends, or the row is settled (MarkDelivered, MarkAttemptFailed,
// MarkRejected), no other store gets it, and NextAttemptMs tells the others
// when the lease ends; the store holding it gets it again, so one store
// alone behaves as the interface says. A store that dies holding leases
// has its rows taken over once they end.
//
// Each committed write group also NOTIFYs a channel of the database's
// (gatehouse_changes), in its transaction, so the server delivers it only
// on commit. Once changes() has a listener (a Watch), the store LISTENs on
// it with a connection of its own (pg_listener.h) and notifies changes()
// for every other store's commit, and once after each (re)LISTEN: a Watch
// through one replica sees what another stored.
//
// The schema is created and migrated at Open (postgres_schema.h). One file
// per interface: postgres_store.cc (open, close, the group commit),
// postgres_outbox.cc (OutboxStore, IdempotencyStore), postgres_mailbox.cc,
// postgres_peer_checkpoint.cc; pg_connection.h and pg_pool.h wrap libpq.
//
// Example:
//   PostgresStoreOptions options;
//   options.dsn = "host=/run/postgresql dbname=gatehouse user=gatehouse";
//   options.password_file = "/etc/gatehouse/pgpass";  // or a client certificate
//   ASSIGN_OR_RETURN(std::unique_ptr<PostgresStore> store, PostgresStore::Open(options));
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_STORE_POSTGRES_POSTGRES_STORE_H_
#define GATEHOUSE_GATEWAY_STORE_POSTGRES_POSTGRES_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/group_commit.h"
#include "gateway/store/record_adds.h"
#include "gateway/store/store.h"

namespace gatehouse {

namespace postgres {
class PgConnection;
class PgListener;
class PgPool;
}  // namespace postgres

struct PostgresStoreOptions {
  // libpq's connection string or URI (store.postgres.dsn), e.g.
  // "host=db.internal dbname=gatehouse user=gatehouse sslmode=verify-full".
  // Never holds a password: Open refuses one that does.
  std::string dsn;
  // A password file in libpq's format (PGPASSFILE: host:port:db:user:password
  // lines, mode 0600). Empty: libpq's default (~/.pgpass, or $PGPASSFILE).
  std::string password_file;
  // A client certificate and its key for the database (sslcert, sslkey),
  // and the CA the server's certificate is checked against (sslrootcert).
  // Empty: none given (libpq's defaults).
  std::string client_cert;
  std::string client_key;
  std::string root_cert;
  // Connections for reads, at most; writes have one more, the committer's,
  // and following other stores' commits (changes()) one more, the
  // listener's, made when changes() first has a listener.
  int read_connections = 4;
  // How long DueForDelivery's claim on a row keeps it from other stores,
  // by the database's clock. Longer than an attempt can take (the default
  // retry.deliverTimeoutMs is 5 s, plus 1 s a MiB for a streamed record), so
  // another store does not deliver a record again while its holder still
  // is (harmless, the receiver de-duplicates, but wasted); short enough
  // that a dead store's records move on soon. The holder renews the lease
  // when less than half is left, each time DueForDelivery returns the row.
  int64_t delivery_lease_ms = 30000;
  // Whose the claims are: a name for this replica, the same across its
  // restarts (so that a replica killed mid-delivery takes its own claims
  // back at once) and different from every other replica's (two with one
  // name would both deliver a record; the receiver de-duplicates). Empty:
  // a random one for each Open.
  std::string lease_owner;
  // The longest a statement may go unanswered before its connection is
  // given up (pg/pg_connection.h, ConnectOptions::statement_timeout).
  absl::Duration statement_timeout = absl::Seconds(10);
};

class PostgresStore final : public Store {
 public:
  // Connects, and creates or migrates the schema (each migration one
  // transaction). Errors, each changing nothing: InvalidArgument if the
  // DSN does not parse or holds a password, read_connections < 1 or
  // delivery_lease_ms < 1;
  // Unavailable, with libpq's message, if the server cannot be reached or
  // refuses us; FailedPrecondition if the database holds a schema newer than
  // this gateway knows, or tables that are not a Gatehouse store's.
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(const PostgresStoreOptions& options);
  // Commits every write queued before it, then closes the connections.
  ~PostgresStore() override;

  // OutboxStore.
  absl::StatusOr<OutboxEntry> AddToOutbox(const v1::OutboxRecord& record,
                                          const std::string& idempotency_key, int64_t now_ms,
                                          bool* inserted) override;
  void AddToOutboxAsync(const v1::OutboxRecord& record, const std::string& idempotency_key,
                        int64_t now_ms, OutboxDone done) override;
  absl::StatusOr<std::vector<OutboxEntry>> DueForDelivery(int64_t now_ms, int limit) override;
  absl::StatusOr<int64_t> NextAttemptMs() override;
  absl::Status MarkDelivered(const std::string& record_id, int64_t delivered_ms,
                             const v1::SignedReceipt& receipt) override;
  void MarkDeliveredAsync(const std::string& record_id, int64_t delivered_ms,
                          const v1::SignedReceipt& receipt, WriteDone done) override;
  absl::Status MarkAttemptFailed(const std::string& record_id, int64_t next_attempt_ms,
                                 const std::string& error) override;
  absl::Status MarkRejected(const std::string& record_id, const std::string& error) override;
  absl::StatusOr<OutboxEntry> GetOutbox(const std::string& record_id) override;
  absl::StatusOr<int64_t> OutboxDepth() override;
  absl::StatusOr<std::vector<OutboxEntry>> OutboxChanges(const std::string& sender_system,
                                                         int64_t after_seq, int limit) override;
  absl::StatusOr<std::vector<OutboxEntry>> AwaitingAcknowledgement(int limit) override;
  absl::Status MarkChecked(const std::vector<std::string>& record_ids, int64_t now_ms) override;
  absl::Status MarkTaken(const std::string& record_id, int64_t fetched_ms,
                         int64_t acked_ms) override;

  // IdempotencyStore.
  absl::StatusOr<OutboxEntry> FindByIdempotencyKey(const std::string& system,
                                                   const std::string& key) override;

  // MailboxStore.
  absl::StatusOr<MailboxPut> AddToMailbox(const v1::MailboxRecord& record,
                                          const std::string& envelope_sha256,
                                          const v1::SignedReceipt& receipt) override;
  void AddToMailboxAsync(const v1::MailboxRecord& record, const std::string& envelope_sha256,
                         const v1::SignedReceipt& receipt, MailboxDone done) override;
  absl::StatusOr<MailboxSeen> FindInMailbox(const std::string& sender_org,
                                            const std::string& record_id) override;
  absl::StatusOr<std::set<std::string>> HeldEnvelopes(const std::set<std::string>& among) override;
  absl::StatusOr<std::vector<MailboxEntry>> FetchMailbox(const MailboxReader& reader,
                                                         int64_t after_seq, int limit) override;
  absl::StatusOr<MailboxEntry> GetMailbox(const MailboxReader& reader,
                                          const std::string& sender_org,
                                          const std::string& record_id) override;
  absl::StatusOr<std::vector<MailboxAcked>> AckMailbox(const MailboxReader& reader,
                                                       const std::vector<std::string>& record_ids,
                                                       int64_t now_ms) override;
  void AckMailboxAsync(const MailboxReader& reader, std::vector<std::string> record_ids,
                       int64_t now_ms, AckDone done) override;
  void MarkFetchedAsync(std::vector<MailboxKey> records, int64_t now_ms,
                        std::function<void(absl::Status)> done) override;
  absl::StatusOr<int64_t> MailboxDepth(const MailboxReader& reader) override;
  absl::StatusOr<int64_t> HeldMailboxRecords() override;

  // PeerCheckpointStore.
  absl::StatusOr<PeerCheckpoint> GetPeerCheckpoint(const std::string& org) override;
  absl::Status PutPeerCheckpoint(const std::string& org, const PeerCheckpoint& cp) override;

  // StoreStatsSource: commits counts the groups committed (not those that
  // failed).
  StoreStats Stats() const override;

  // Store: notified after each group this store commits, and (once it has
  // a listener) when another store on the database commits one.
  ChangeSignal* changes() override { return &changes_; }

  // For the audit log kept in the same database (postgres_audit_log.h).
  // A change, applied by the committer inside a group's transaction.
  using Apply = std::function<absl::Status(postgres::PgConnection&)>;
  // Queues `apply` into the next write group: it runs inside the group's
  // transaction, under the commit order lock, with the outbox and mailbox
  // writes of that group; `done` gets whether the group committed it (on
  // the committer thread, or at once with Unavailable if closing).
  void ApplyInWriteGroup(Apply apply, std::function<void(absl::Status)> done) {
    RunWriteAsync(std::move(apply), std::move(done));
  }
  // One commit a record (gateway/joint_commit.h): the writes that
  // AddToOutboxAsync and AddToMailboxAsync make, for a caller that runs
  // them inside a write of its own in the same group, just after it has
  // appended the record's audit entry at `audit_index`
  // (PostgresAuditLog::AppendWith): `apply` sets that index (the outbox
  // record's audit_index; for the mailbox, `receipt_at` makes the signed
  // receipt naming it) and writes the row. A record not inserted (its
  // idempotency key's earlier record, a copy already held) fails `apply`
  // with Cancelled, so that the entry appended with it is undone too;
  // `result` then still answers as the Async forms do (inserted false, the
  // row held). Any other error of `apply` or of the group is the result.
  template <typename R>
  using IndexedWrite =
      IndexedWriteOf<std::function<absl::Status(postgres::PgConnection&, uint64_t audit_index)>,
                     R>;
  static IndexedWrite<OutboxAddResult> OutboxAddAt(const v1::OutboxRecord& record,
                                                   const std::string& idempotency_key,
                                                   int64_t now_ms);
  static IndexedWrite<absl::StatusOr<MailboxPut>> MailboxAddAt(const v1::MailboxRecord& record,
                                                               const std::string& envelope_sha256,
                                                               ReceiptAt receipt_at);
  // MarkDelivered with the DELIVERED entry; a record no longer queued
  // withdraws the entry and answers OK (SqliteStore::MarkDeliveredAt).
  static IndexedWrite<absl::Status> MarkDeliveredAt(const std::string& record_id,
                                                    int64_t delivered_ms,
                                                    const v1::SignedReceipt& receipt);
  // A new connection to the store's database, with its settings.
  absl::StatusOr<std::unique_ptr<postgres::PgConnection>> Connect() const;
  // The pool the store's reads use (PgPool::Read), for reads of the same
  // database.
  postgres::PgPool& read_pool() const { return *readers_; }

 private:
  using Committer = GroupCommit<Apply, absl::Status>;
  // A write and what its caller gets once it is committed (or not): R
  // from the commit's status and what `apply` left behind.
  template <typename R>
  struct Write {
    Apply apply;
    std::function<R(absl::Status)> result;
  };

  PostgresStore(std::unique_ptr<postgres::PgConnection> writer,
                std::unique_ptr<postgres::PgPool> readers, const PostgresStoreOptions& options,
                std::string lease_owner);

  // Queues `apply` and waits until it is committed (or failed). On the
  // committer thread (a `done` of an earlier write that writes again),
  // commits it at once, as a group of one.
  absl::Status RunWrite(Apply apply) { return committer_->SubmitAndWait(std::move(apply)); }
  // Queues `apply`; `on_done` runs on the committer thread with its result
  // (or at once, on this thread, with Unavailable if the store is closing).
  void RunWriteAsync(Apply apply, std::function<void(absl::Status)> on_done) {
    committer_->Submit(std::move(apply), std::move(on_done));
  }
  template <typename R>
  R Await(Write<R> w) {
    return w.result(RunWrite(std::move(w.apply)));
  }
  template <typename R>
  void Submit(Write<R> w, std::function<void(R)> done) {
    RunWriteAsync(std::move(w.apply), [result = std::move(w.result), done = std::move(done)](
                                          absl::Status s) { done(result(std::move(s))); });
  }

  // The writes that have a synchronous and an asynchronous form.
  static Write<OutboxAddResult> AddToOutboxWrite(
      const v1::OutboxRecord& record, const std::string& idempotency_key, int64_t now_ms);
  static Write<absl::Status> MarkDeliveredWrite(const std::string& record_id, int64_t delivered_ms,
                                                const v1::SignedReceipt& receipt);
  static Write<absl::StatusOr<MailboxPut>> AddToMailboxWrite(const v1::MailboxRecord& record,
                                                             const std::string& envelope_sha256,
                                                             const v1::SignedReceipt& receipt);
  static Write<absl::StatusOr<std::vector<MailboxAcked>>> AckMailboxWrite(
      const MailboxReader& reader, std::vector<std::string> record_ids, int64_t now_ms);

  // Commits `batch` as one transaction; one result per write. On the
  // committer thread only.
  std::vector<absl::Status> CommitGroup(std::vector<Apply>& batch);
  // Opens the group's transaction, replacing a lost writer connection, and
  // takes the commit order lock (postgres_store.cc).
  absl::Status Begin();
  // Applies each write of `batch` into `results`; the group's error if the
  // whole transaction is lost.
  absl::Status ApplyEach(std::vector<Apply>& batch, std::vector<absl::Status>* results);

  const PostgresStoreOptions options_;
  // This store's name on the rows it claims for delivery: random, made at
  // Open, so no other store (or this one reopened) shares it.
  const std::string lease_owner_;
  // Used only by the committer thread (and Open); replaced when lost.
  std::unique_ptr<postgres::PgConnection> writer_;
  // writer_'s backend pid: the listener skips its notifications (this
  // store's followers are told by the committer).
  std::atomic<int> writer_pid_{0};
  std::unique_ptr<postgres::PgPool> readers_;

  ChangeSignal changes_;  // notified after every committed group, ours or another store's
  mutable std::mutex stats_mu_;
  StoreStats stats_ ABSL_GUARDED_BY(stats_mu_);
  // Group commit of every write; its stop drains what is queued. Made last
  // in Open: its thread uses all of the above.
  std::unique_ptr<Committer> committer_;
  // LISTENs for other stores' commits and notifies changes_ (pg_listener.h).
  // Made after the committer; stopped first.
  std::unique_ptr<postgres::PgListener> listener_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_POSTGRES_POSTGRES_STORE_H_

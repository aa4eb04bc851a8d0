// Store on SQLite in WAL mode with synchronous=FULL: a committed change
// survives a crash of the process or the machine.
//
// Writes are group-committed (common/group_commit.h): callers on many
// threads hand their change to one committer thread, which applies every
// change waiting in one transaction (each under its own savepoint, so one
// failing change does not undo another) and syncs once. A write call returns when its change is
// durable. Reads use a second connection and see every committed change.
// A write is a function applied to the writer connection inside the
// group's transaction (Apply): a second table written by the same
// function (an audit entry's, say) commits with it or not at all.
//
// The implementation is one file per interface: sqlite_store.cc (open,
// close, the group commit), sqlite_outbox.cc (OutboxStore and
// IdempotencyStore), sqlite_mailbox.cc, sqlite_peer_checkpoint.cc; with
// sqlite_schema.{h,cc} (schema, migrations) and sqlite_statement.{h,cc}
// (cached prepared statements).
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store,
//                    SqliteStore::Open("/var/lib/gatehouse/gatehouse.db"));
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_STORE_SQLITE_STORE_H_
#define GATEHOUSE_GATEWAY_STORE_SQLITE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <mutex>

#include "absl/base/thread_annotations.h"
#include "common/group_commit.h"
#include "gateway/store/record_adds.h"
#include "gateway/store/store.h"

struct sqlite3;

namespace gatehouse {

class SqliteStore final : public Store {
 public:
  // Opens or creates the database at `path`. A database an earlier version
  // of this store wrote (schema version 2 on) is brought up to this
  // version's schema, in one transaction: on any failure it is left as it
  // was. Unavailable if it cannot be opened or migrated; FailedPrecondition
  // (and the file left unchanged) if it holds a schema this store cannot
  // migrate (older than 2, or newer than its own).
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  // OutboxStore.
  absl::StatusOr<OutboxEntry> AddToOutbox(const v1::OutboxRecord& record,
                                          const std::string& idempotency_key,
                                          int64_t now_ms, bool* inserted) override;
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

  // StoreStatsSource.
  StoreStats Stats() const override;

  // Store.
  ChangeSignal* changes() override { return &changes_; }

  // One commit a record (sqlite_audit_queue.cc; gateway/queued_audit_log.h
  // keeps the file audit log in step): an audit entry is numbered here, in
  // the group's transaction, together with the row it speaks of, and waits
  // in the table audit_queue until the file log holds it.
  //
  // A write given the index of the entry it commits with; *queued_delta as
  // for every write.
  using IndexedApply =
      std::function<absl::Status(sqlite3*, uint64_t audit_index, int64_t* queued_delta)>;
  // A write with its index, and what its caller gets from the status of
  // the write (Cancelled: withdrawn, see below).
  template <typename R>
  using IndexedWrite = IndexedWriteOf<IndexedApply, R>;
  // The outbox add, the record's audit_index set to the entry's. An add that
  // inserts nothing (its key's earlier record is held) fails with Cancelled,
  // so that its entry is undone with it, and its result answers as
  // AddToOutboxAsync does (the held record, inserted false).
  static IndexedWrite<OutboxAddResult> OutboxAddAt(const v1::OutboxRecord& record,
                                                   const std::string& idempotency_key,
                                                   int64_t now_ms);
  // The mailbox add with the receipt `receipt_at` signs for the entry's
  // index (only if the record is not held yet). A copy already held:
  // Cancelled, answered as AddToMailboxAsync does.
  static IndexedWrite<absl::StatusOr<MailboxPut>> MailboxAddAt(const v1::MailboxRecord& record,
                                                               const std::string& envelope_sha256,
                                                               ReceiptAt receipt_at);
  // MarkDelivered with the DELIVERED entry. A record no longer queued (marked
  // already, or given up) withdraws the entry and answers OK, as
  // MarkDelivered does for it.
  static IndexedWrite<absl::Status> MarkDeliveredAt(const std::string& record_id,
                                                    int64_t delivered_ms,
                                                    const v1::SignedReceipt& receipt);
  // In one write: numbers `entry` (an audit entry, serialized) with the next
  // index, queues it, runs `with` (if set) with that index, and deletes the
  // queued entries below `forget_below` (those the file log holds). `done`
  // (on the committer thread, in index order across calls) gets the index
  // once committed, or the error: then neither the entry nor `with`'s
  // change is kept. FailedPrecondition before StartAuditSequence.
  void QueueAuditEntryAsync(std::string entry, uint64_t forget_below, IndexedApply with,
                            std::function<void(absl::StatusOr<uint64_t>)> done);
  struct AuditQueue {
    std::optional<uint64_t> next;  // the next index; none before StartAuditSequence
    std::vector<std::pair<uint64_t, std::string>> entries;  // queued, by index
  };
  absl::StatusOr<AuditQueue> ReadAuditQueue();
  // Numbers from `next` on, where nothing was numbered yet
  // (FailedPrecondition otherwise).
  absl::Status StartAuditSequence(uint64_t next);
  // Deletes the queued entries below `below`.
  absl::Status ForgetAuditEntries(uint64_t below);

 private:
  // One change, applied by the committer inside the group's transaction
  // under a savepoint of its own. It sets *queued_delta to the change it
  // made in the number of queued outbox rows, counted once committed.
  using Apply = std::function<absl::Status(sqlite3*, int64_t* queued_delta)>;
  using Committer = GroupCommit<Apply, absl::Status>;

  SqliteStore(sqlite3* writer, sqlite3* reader) : writer_(writer), reader_(reader) {}
  // Queues `apply` and waits until it is committed (or failed). On the
  // committer thread (a callback of an earlier write that writes again),
  // commits it at once, as a group of one.
  absl::Status RunWrite(Apply apply);
  // Queues `apply`; `on_done` runs on the committer thread with its result
  // (or at once, on this thread, with Unavailable if the store is closing).
  void RunWriteAsync(Apply apply, std::function<void(absl::Status)> on_done);
  // Commits `batch` as one transaction, each write in a savepoint of its
  // own; one result per write. On the committer thread only.
  std::vector<absl::Status> CommitGroup(std::vector<Apply>& batch);
  // Applies each write of `batch` under its own savepoint into `results`
  // and `deltas`; the group's error if SQLite rolled the whole transaction
  // back.
  absl::Status ApplyEach(std::vector<Apply>& batch, std::vector<absl::Status>* results,
                         std::vector<int64_t>* deltas);

  sqlite3* const writer_;  // used only by the committer thread (and Open)

  mutable std::mutex read_mu_;
  sqlite3* const reader_ ABSL_GUARDED_BY(read_mu_);

  ChangeSignal changes_;  // notified after every committed group
  mutable std::mutex stats_mu_;
  int64_t queued_ ABSL_GUARDED_BY(stats_mu_) = 0;  // outbox rows still queued
  StoreStats stats_ ABSL_GUARDED_BY(stats_mu_);
  // Group commit of every write (common/group_commit.h); its stop drains
  // what is queued. Made last in Open: its thread uses all of the above.
  std::unique_ptr<Committer> committer_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_SQLITE_STORE_H_

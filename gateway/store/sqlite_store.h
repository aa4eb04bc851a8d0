// Store on SQLite in WAL mode with synchronous=FULL: a committed change
// survives a crash of the process or the machine.
//
// Writes are group-committed: callers on many threads hand their change to
// one committer thread, which applies every change waiting in one
// transaction (each under its own savepoint, so one failing change does not
// undo another) and syncs once. A write call returns when its change is
// durable. Reads use a second connection and see every committed change.
// A write is a function applied to the writer connection inside the
// group's transaction (Write::apply): a second table written by the same
// function (an audit entry's, say) commits with it or not at all.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store,
//                    SqliteStore::Open("/var/lib/gatehouse/gatehouse.db"));
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_STORE_SQLITE_STORE_H_
#define GATEHOUSE_GATEWAY_STORE_SQLITE_STORE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
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
  absl::StatusOr<int64_t> MailboxDepth(const MailboxReader& reader) override;
  absl::StatusOr<int64_t> HeldMailboxRecords() override;

  // PeerCheckpointStore.
  absl::StatusOr<PeerCheckpoint> GetPeerCheckpoint(const std::string& org) override;
  absl::Status PutPeerCheckpoint(const std::string& org, const PeerCheckpoint& cp) override;

  // StoreStatsSource.
  StoreStats Stats() const override;

 private:
  // One change, run by the committer inside the group's transaction.
  struct Write {
    std::function<absl::Status(sqlite3*, int64_t* queued_delta)> apply;
    int64_t queued_delta = 0;  // set by `apply`; counted once committed
    absl::Status result;
    bool done = false;
    // Async writes: called on the committer thread once the group is
    // committed (or failed); the Write is then deleted.
    std::function<void(absl::Status)> on_done;
  };

  SqliteStore(sqlite3* writer, sqlite3* reader) : writer_(writer), reader_(reader) {}
  // Queues `apply` and waits until it is committed (or failed).
  absl::Status RunWrite(std::function<absl::Status(sqlite3*, int64_t* queued_delta)> apply);
  // Queues `apply`; `on_done` runs on the committer thread with its result.
  void RunWriteAsync(std::function<absl::Status(sqlite3*, int64_t* queued_delta)> apply,
                     std::function<void(absl::Status)> on_done);
  void CommitLoop();
  // Commits `batch` as one transaction (each write in a savepoint of its
  // own); on the committer thread only. Returns the async writes, whose
  // callbacks the caller runs.
  std::vector<Write*> CommitGroup(const std::deque<Write*>& batch);
  absl::StatusOr<OutboxEntry> GetOutboxOn(sqlite3* db, const std::string& record_id);

  sqlite3* const writer_;  // used only by the committer thread (and Open)

  mutable std::mutex read_mu_;
  sqlite3* const reader_ ABSL_GUARDED_BY(read_mu_);

  mutable std::mutex write_mu_;
  std::condition_variable write_cv_;  // pending_, stopping_ or a Write's done changed
  std::deque<Write*> pending_ ABSL_GUARDED_BY(write_mu_);
  bool stopping_ ABSL_GUARDED_BY(write_mu_) = false;
  int64_t queued_ ABSL_GUARDED_BY(write_mu_) = 0;  // outbox rows still queued
  StoreStats stats_ ABSL_GUARDED_BY(write_mu_);
  std::thread committer_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_SQLITE_STORE_H_

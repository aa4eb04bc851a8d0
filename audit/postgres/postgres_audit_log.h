// PostgresAuditLog: one organisation's audit log in the PostgreSQL database
// its gateway's replicas share (PostgresStore), whatever the number of
// replicas. An audit::AuditTrail, so the gateway uses it as it uses the
// file log (audit/audit_log.h); the Merkle tree, checkpoints and proofs are
// the same RFC 6962/9162 and C2SP ones, so `auditctl` checks either alike.
//
// Two roles, as Tessera splits them:
//
//   Sequencing: every replica appends. Entries are numbered and stored in
//   the store's write group (options.sequence; the gateway passes
//   PostgresStore::ApplyInWriteGroup), all those queued when the group
//   runs at once: one statement that takes the next numbers from
//   audit_head and inserts the entries, inside the group's transaction and
//   under its commit order lock, so entries of every replica are numbered without gaps, in the order
//   their groups commit, and an entry is acknowledged (durable) when its
//   group commits, with the outbox and mailbox rows of that group. A
//   record's own entry is appended with AppendWith: numbered in the same
//   write as the record's row, so both commit in one transaction or
//   neither does (one commit a record; gateway/joint_commit.h).
//
//   Integrating: one replica at a time (the holder of a session-level
//   advisory lock; when its session ends, by a crash or a cut, the server
//   frees the lock and another replica takes it within
//   integrator_retry; a holder that leaves entries waiting for
//   integrator_stall has its session ended by the replica that notices). It
//   reads the entries past audit_head.integrated,
//   hashes them into the tree, writes the completed nodes (audit_tree) and
//   the new integrated size in one transaction, fenced by the size it read
//   (an integrator that lost its lock without knowing it cannot move the
//   tree), and signs a checkpoint every checkpoint_every_entries entries or
//   checkpoint_interval (audit_checkpoint).
//
// Every replica serves checkpoints, proofs (from audit_tree, O(log^2 n)
// node reads, checked before they are returned), entries and
// cosignatures (audit_cosignature, at most one a cosigner key a
// checkpoint, decided in a transaction under an advisory lock).
//
// Open refuses (DataLoss) a database whose newest checkpoint is not signed
// by the signer or a previous key, or whose stored tree does not reproduce
// that checkpoint's root: the log is not trusted, not repaired.
//
// Example:
//   PostgresAuditLogOptions options;
//   options.signer = signer;
//   options.UseStore(store.get());  // a PostgresStore on the same database
//   ASSIGN_OR_RETURN(std::unique_ptr<PostgresAuditLog> log, PostgresAuditLog::Open(options));
//   log->AppendAsync(entry, [](absl::StatusOr<uint64_t> index) { ... });
//
// Thread-safety: thread-safe. One thread inside: the integrator's.
#ifndef GATEHOUSE_AUDIT_POSTGRES_POSTGRES_AUDIT_LOG_H_
#define GATEHOUSE_AUDIT_POSTGRES_POSTGRES_AUDIT_LOG_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "audit/audit_trail.h"
#include "audit/note.h"
#include "pg/pg_connection.h"
#include "pg/pg_pool.h"

namespace gatehouse {

struct PostgresAuditLogOptions {
  // A statement run inside a transaction that commits it with others.
  using Apply = std::function<absl::Status(postgres::PgConnection&)>;
  // Runs `apply` inside a write group of the store on the same database,
  // under its commit order lock, and calls `done` with whether the group
  // committed. Required.
  std::function<void(Apply apply, std::function<void(absl::Status)> done)> sequence;
  // A new connection to the database (the integrator's session). Required.
  std::function<absl::StatusOr<std::unique_ptr<postgres::PgConnection>>()> connect;
  // Connections for reads (proofs, checkpoints, entries). Required; must
  // outlive the log.
  postgres::PgPool* reads = nullptr;
  // The store's group commits and the time they took, for stats(); optional.
  std::function<std::pair<uint64_t, uint64_t>()> commits;
  // Sets the four above from `store` (a PostgresStore: ApplyInWriteGroup,
  // Connect, read_pool, Stats), which must outlive the log. A template so
  // that this library does not link the store's.
  template <typename Store>
  void UseStore(Store* store) {
    sequence = [store](Apply apply, std::function<void(absl::Status)> done) {
      store->ApplyInWriteGroup(std::move(apply), std::move(done));
    };
    connect = [store] { return store->Connect(); };
    reads = &store->read_pool();
    commits = [store] {
      const auto stats = store->Stats();
      return std::make_pair(static_cast<uint64_t>(stats.commits),
                            static_cast<uint64_t>(stats.commit_nanos));
    };
  }
  // Signs checkpoints (type 0x01; its name is the origin). Required.
  std::shared_ptr<const audit::NoteSigner> signer;
  // Keys that signed earlier checkpoints, before a rotation to `signer`.
  std::vector<audit::NoteVerifier> previous_keys;
  uint64_t checkpoint_every_entries = 10000;
  absl::Duration checkpoint_interval = absl::Seconds(1);
  // Unix nanoseconds, for entries appended with time_unix_ns 0.
  std::function<int64_t()> clock_ns;
  // How often a replica that is not the integrator tries to become it (and
  // waits after losing its session).
  absl::Duration integrator_retry = absl::Seconds(1);
  // How often the integrator looks for new entries when it found none.
  absl::Duration integrate_poll = absl::Milliseconds(20);
  // An integrator that leaves entries waiting this long (its process
  // frozen, or its session alive on a dead link) has its session ended by
  // another replica, which takes over.
  absl::Duration integrator_stall = absl::Seconds(10);
};

class PostgresAuditLog final : public audit::AuditTrail {
 public:
  // Checks the log in the database (its tables come with PostgresStore's
  // schema migrations) and starts the integrator thread. InvalidArgument
  // without a signer, sequence, connect or reads; DataLoss as the file
  // comment says; Unavailable if the database cannot be read.
  static absl::StatusOr<std::unique_ptr<PostgresAuditLog>> Open(PostgresAuditLogOptions options);
  ~PostgresAuditLog() override;

  // audit::AuditTrail. Size() is the larger of the entries this replica
  // numbered and the integrated size it last read.
  void AppendAsync(const gatehouse::v1::AuditEntry& entry,
                   std::function<void(absl::StatusOr<uint64_t>)> done) override;
  uint64_t Size() const override { return size_.load(); }

  // One commit a record: appends `entry` and runs `then` with its index in
  // the store's write group, with the other entries queued meanwhile: in
  // the group's transaction, `then` (under a savepoint of its own) before
  // the one statement that stores the entries, so the entry and what
  // `then` writes (the record's row) are kept together or not at all, and
  // the entries of a group stay one statement. `done` gets the index once
  // the group commits, or `then`'s error (the entry not kept, the numbers
  // without a gap), or the group's.
  using Then = std::function<absl::Status(postgres::PgConnection&, uint64_t index)>;
  void AppendWith(const gatehouse::v1::AuditEntry& entry, Then then,
                  std::function<void(absl::StatusOr<uint64_t>)> done);
  audit::AuditLogStats stats() const override;
  std::string origin() const override { return options_.signer->name(); }
  std::string RecoverySummary() const override { return summary_; }
  bool UnavailableIsTransient() const override { return true; }
  absl::StatusOr<audit::CheckpointNote> LatestCheckpointNote() const override;
  absl::StatusOr<std::vector<audit::Hash>> InclusionProof(uint64_t index,
                                                          uint64_t tree_size) const override;
  absl::StatusOr<std::vector<audit::Hash>> ConsistencyProof(uint64_t size1,
                                                            uint64_t size2) const override;
  absl::StatusOr<gatehouse::v1::AuditEntry> ReadEntry(uint64_t index) const override;
  absl::Status ForEachEntry(
      uint64_t start, const std::function<bool(uint64_t, absl::string_view)>& fn) const override;
  absl::Status AddCosignature(absl::string_view cosigned_note,
                              const audit::NoteVerifier& cosigner) override;
  // Waits for the appends queued before it, stops the integrator and, if
  // this replica is the integrator, integrates and signs what is left.
  absl::Status Close() override;

  // Whether this replica is the integrator now.
  bool integrating() const { return integrating_.load(); }

 private:
  class Integrator;
  explicit PostgresAuditLog(PostgresAuditLogOptions options) : options_(std::move(options)) {}
  absl::Status CheckOnOpen();
  // CheckOnOpen's checks, inside its read-only snapshot on `c`.
  absl::Status CheckSnapshot(postgres::PgConnection& c);
  void Run();  // the integrator thread
  void Grew(uint64_t size);
  // Stamps and serializes `entry` for an append, counted as pending; the
  // error if it is too large or the log closed.
  absl::StatusOr<std::string> Admit(const gatehouse::v1::AuditEntry& entry);
  // Queues an append (AppendAsync; AppendWith with `then`) for the store's
  // next write group.
  void Enqueue(const gatehouse::v1::AuditEntry& entry, Then then,
               std::function<void(absl::StatusOr<uint64_t>)> done);
  // `count` appends answered, `appended` of them appended.
  void Answered(size_t count, size_t appended);

  const PostgresAuditLogOptions options_;
  std::string summary_;
  std::atomic<uint64_t> size_{0};
  std::atomic<bool> integrating_{false};

  std::mutex close_mu_;  // held by Close, so that one caller joins the thread
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int pending_ ABSL_GUARDED_BY(mu_) = 0;  // appends queued, not yet answered
  bool stop_ ABSL_GUARDED_BY(mu_) = false;  // closed and nothing pending: the integrator ends
  // Entries waiting for the write (in the store's next group) that numbers
  // and inserts them all with one statement, and whether that write is queued.
  struct Queued {
    std::string bytes;
    Then then;  // AppendWith's, else null
    std::function<void(absl::StatusOr<uint64_t>)> done;
    absl::Status result;  // then's; an entry whose then failed is not kept
    uint64_t index = 0;   // once numbered
  };
  // Numbers and stores `batch`'s entries, running each `then` with its
  // entry's index first, inside the group's transaction.
  static absl::Status Sequence(postgres::PgConnection& c, std::vector<Queued>& batch);
  std::vector<Queued> queued_ ABSL_GUARDED_BY(mu_);
  bool sequencing_ ABSL_GUARDED_BY(mu_) = false;
  audit::AuditLogStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_AUDIT_POSTGRES_POSTGRES_AUDIT_LOG_H_

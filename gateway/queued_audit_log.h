// QueuedAuditLog: the file audit log (audit/audit_log.h) kept by a gateway
// on SQLite so that a record's audit entry and its store row are one
// durable commit. Every entry (a record's, and every other the gateway
// writes) is numbered in the SQLite store's group commit, in the same
// transaction as the row it speaks of (SqliteStore::QueueAuditEntryAsync),
// and answered once that commits: one fsync, the store's. The file log then
// appends the queued entries in index order, by its own group commit, and
// the store forgets them once they are durable there; so the file log's
// fdatasync is off the record's path.
//
// What holds, and when:
//   - An entry answered is durable (in the store's queue or the file log)
//     and its row is committed with it: both or neither, whatever crashes.
//   - The file log holds entries in index order with no gap: each is
//     appended only as the index the store gave it (AuditLog::AppendAtAsync).
//   - Open integrates what a crash left queued (entries the file log lacks,
//     checked contiguous from its size) and checks that queued entries the
//     file log already holds are byte for byte the same: the store and the
//     log that disagree, or a gap, refuse to open (DataLoss).
//   - Signed checkpoints, proofs and Size() cover integrated entries only,
//     as on PostgreSQL (sequenced, then integrated). An entry waits in the
//     store's queue for one file group commit, a few milliseconds.
//   - A failed file append (a full disk, a failed fdatasync) stops
//     integration, and every later append is refused (Unavailable: fail
//     closed); what is queued stays in the store. Once the appends in
//     flight have ended, a thread of its own tries Open's integration
//     again (after 1 s, doubling to 30 s) and, when the file log takes
//     every queued entry at its own index, appends are taken again. A file
//     log whose tail is unknown (a failed fdatasync) refuses until the
//     gateway is restarted; so does one that disagrees with the store.
//
// Example:
//   ASSIGN_OR_RETURN(auto log, QueuedAuditLog::Open(sqlite_store, std::move(file_log)));
//   log->AppendWith(entry, SqliteStore::OutboxAddAt(record, key, now).apply, done);
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_QUEUED_AUDIT_LOG_H_
#define GATEHOUSE_GATEWAY_QUEUED_AUDIT_LOG_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "audit/audit_log.h"
#include "audit/audit_trail.h"
#include "gateway/store/sqlite_store.h"

namespace gatehouse {

class QueuedAuditLog final : public audit::AuditTrail {
 public:
  // Most entries answered but not yet integrated; beyond it appends are
  // refused with Unavailable until the file log catches up.
  static constexpr int64_t kMaxPending = 65536;

  // Takes `log` and brings it up to `store`'s queue (above). `store` must
  // outlive it. A store that never numbered entries starts numbering at
  // the log's size. DataLoss when the two disagree (the store numbers from
  // below the log's size, a queued entry differs from the log's, entries
  // numbered are in neither), leaving both unchanged.
  static absl::StatusOr<std::unique_ptr<QueuedAuditLog>> Open(
      SqliteStore* store, std::unique_ptr<audit::AuditLog> log);
  ~QueuedAuditLog() override;

  // Numbers `entry` and runs `with` (if set) with its index, in one write
  // of the store; `done` gets the index once that commits (on the store's
  // committer thread, in index order), or the error: then neither is kept.
  // `with` failing with Cancelled withdraws the entry without an error of
  // the log's.
  void AppendWith(const v1::AuditEntry& entry, SqliteStore::IndexedApply with,
                  std::function<void(absl::StatusOr<uint64_t>)> done);

  // AuditTrail.
  void AppendAsync(const v1::AuditEntry& entry,
                   std::function<void(absl::StatusOr<uint64_t>)> done) override;
  uint64_t Size() const override { return log_->Size(); }
  // Refused appends are tried again: integration resumes by itself.
  bool UnavailableIsTransient() const override { return true; }
  absl::Status Writable() const override;
  audit::AuditLogStats stats() const override { return log_->stats(); }
  std::string origin() const override { return log_->origin(); }
  std::string RecoverySummary() const override;
  absl::StatusOr<audit::CheckpointNote> LatestCheckpointNote() const override {
    return log_->LatestCheckpointNote();
  }
  absl::StatusOr<std::vector<audit::Hash>> InclusionProof(uint64_t index,
                                                          uint64_t tree_size) const override {
    return log_->InclusionProof(index, tree_size);
  }
  absl::StatusOr<std::vector<audit::Hash>> ConsistencyProof(uint64_t size1,
                                                            uint64_t size2) const override {
    return log_->ConsistencyProof(size1, size2);
  }
  absl::StatusOr<v1::AuditEntry> ReadEntry(uint64_t index) const override {
    return log_->ReadEntry(index);
  }
  absl::Status ForEachEntry(
      uint64_t start, const std::function<bool(uint64_t, absl::string_view)>& fn) const override {
    return log_->ForEachEntry(start, fn);
  }
  absl::Status AddCosignature(absl::string_view cosigned_note,
                              const audit::NoteVerifier& cosigner) override {
    return log_->AddCosignature(cosigned_note, cosigner);
  }
  // Refuses further appends, waits until every answered entry is in the
  // file log, forgets them in the store, and closes the file log.
  absl::Status Close() override;

  // The file log (for tests and tools).
  audit::AuditLog& file_log() { return *log_; }

 private:
  QueuedAuditLog(SqliteStore* store, std::unique_ptr<audit::AuditLog> log)
      : store_(store), log_(std::move(log)) {}
  // Appends the queued entries the file log lacks (Open's work, and
  // Resume's); `*integrated` gets how many.
  absl::Status Recover(size_t* integrated);
  // The resuming thread (above): Recover() again once integration stopped
  // and nothing is in flight, until it succeeds or the log is closed.
  void ResumeLoop();
  // Hands entry `index` to the file log (on the store's committer thread,
  // in index order).
  void Integrate(uint64_t index, std::string payload);
  void Finished() ABSL_LOCKS_EXCLUDED(mu_);

  SqliteStore* const store_;
  const std::unique_ptr<audit::AuditLog> log_;
  std::string recovered_;  // what Open integrated, for RecoverySummary

  mutable std::mutex mu_;
  std::condition_variable idle_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status integrate_error_ ABSL_GUARDED_BY(mu_);  // sticky
  int64_t pending_ ABSL_GUARDED_BY(mu_) = 0;  // appends not yet integrated or failed
  uint64_t integrated_ ABSL_GUARDED_BY(mu_) = 0;  // the file log's size, as integration saw it
  uint64_t forget_sent_ ABSL_GUARDED_BY(mu_) = 0;  // the last forget_below handed to a write
  // Resuming after integrate_error_: woken when it is set, when appends in
  // flight end, and at Close.
  std::condition_variable wake_;
  absl::Time resume_at_ ABSL_GUARDED_BY(mu_);
  absl::Duration resume_backoff_ ABSL_GUARDED_BY(mu_) = absl::Seconds(1);
  std::thread resumer_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_QUEUED_AUDIT_LOG_H_

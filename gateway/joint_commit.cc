#include "gateway/joint_commit.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

#include "audit/postgres/postgres_audit_log.h"
#include "gateway/queued_audit_log.h"
#include "gateway/store/postgres/postgres_store.h"
#include "gateway/store/sqlite_store.h"

namespace gatehouse {
namespace {

// Over a log whose AppendWith runs a store write with the entry's index in
// the entry's transaction: PostgresAuditLog with PostgresStore's writes, or
// QueuedAuditLog with SqliteStore's.
template <typename Log, typename StoreT>
class JointCommitOn final : public JointCommit {
 public:
  JointCommitOn(Log* log, Auditor* auditor) : log_(log), auditor_(auditor) {}

  void AddToOutbox(v1::AuditEntry submitted, const v1::OutboxRecord& record,
                   const std::string& idempotency_key, int64_t now_ms,
                   OutboxStore::OutboxDone done) override {
    Commit(std::move(submitted), StoreT::OutboxAddAt(record, idempotency_key, now_ms),
           [done = std::move(done)](OutboxAddResult r) {
             done(std::move(r.first), r.second);
           });
  }

  void AddToMailbox(v1::AuditEntry received, const v1::MailboxRecord& record,
                    const std::string& envelope_sha256, ReceiptAt receipt_at,
                    MailboxStore::MailboxDone done) override {
    Commit(std::move(received),
           StoreT::MailboxAddAt(record, envelope_sha256, std::move(receipt_at)),
           std::move(done));
  }

  void MarkDelivered(v1::AuditEntry delivered, const std::string& record_id,
                     int64_t delivered_ms, const v1::SignedReceipt& receipt,
                     OutboxStore::WriteDone done) override {
    Commit(std::move(delivered), StoreT::MarkDeliveredAt(record_id, delivered_ms, receipt),
           std::move(done));
  }

 private:
  // Appends `entry` with `write` in one write of the store's group; `done`
  // gets the write's result from the group's status. A row refused as
  // already held (AlreadyExists: a record id used before) withdraws the
  // entry as Cancelled, so the Auditor does not count it as the log's
  // failure, and its caller still gets AlreadyExists.
  template <typename R, typename Done>
  void Commit(v1::AuditEntry entry, typename StoreT::template IndexedWrite<R> write, Done done) {
    auto refused = std::make_shared<absl::Status>();
    auto apply = [refused, apply = std::move(write.apply)](auto&&... args) -> absl::Status {
      absl::Status status = apply(std::forward<decltype(args)>(args)...);
      if (!absl::IsAlreadyExists(status)) return status;
      *refused = status;
      return absl::CancelledError(status.message());
    };
    auditor_->RecordVia(
        std::move(entry),
        [this, apply = std::move(apply)](const v1::AuditEntry& stamped, Auditor::Done appended) {
          log_->AppendWith(stamped, apply, std::move(appended));
        },
        [refused, result = std::move(write.result), done = std::move(done)](
            absl::StatusOr<uint64_t> index) {
          // Only a write withdrawn by the wrapper above answers its refusal;
          // a group that failed after it (nothing kept) answers the group's.
          const bool withdrawn = !refused->ok() && absl::IsCancelled(index.status());
          done(result(withdrawn ? *refused : index.status()));
        });
  }

  Log* const log_;
  Auditor* const auditor_;
};

}  // namespace

absl::Status RetryableUnlessDuplicate(const absl::Status& status) {
  if (status.ok() || absl::IsAlreadyExists(status) || absl::IsUnavailable(status)) return status;
  return absl::UnavailableError(absl::StrCat(
      "the record could not be audited and stored, so it was not accepted; retry: ",
      status.message()));
}

std::unique_ptr<JointCommit> MakeJointCommit(Store* store, audit::AuditTrail* log,
                                             Auditor* auditor) {
  if (auto* postgres_log = dynamic_cast<PostgresAuditLog*>(log);
      postgres_log != nullptr && dynamic_cast<PostgresStore*>(store) != nullptr) {
    return std::make_unique<JointCommitOn<PostgresAuditLog, PostgresStore>>(postgres_log,
                                                                            auditor);
  }
  if (auto* queued_log = dynamic_cast<QueuedAuditLog*>(log);
      queued_log != nullptr && dynamic_cast<SqliteStore*>(store) != nullptr) {
    return std::make_unique<JointCommitOn<QueuedAuditLog, SqliteStore>>(queued_log, auditor);
  }
  return nullptr;
}

}  // namespace gatehouse

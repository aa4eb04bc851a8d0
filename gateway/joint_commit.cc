#include "gateway/joint_commit.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

#include "audit/postgres/postgres_audit_log.h"
#include "gateway/store/postgres/postgres_store.h"

namespace gatehouse {
namespace {

class PostgresJointCommit final : public JointCommit {
 public:
  PostgresJointCommit(PostgresAuditLog* log, Auditor* auditor) : log_(log), auditor_(auditor) {}

  void AddToOutbox(v1::AuditEntry submitted, const v1::OutboxRecord& record,
                   const std::string& idempotency_key, int64_t now_ms,
                   OutboxStore::OutboxDone done) override {
    Commit(std::move(submitted), PostgresStore::OutboxAddAt(record, idempotency_key, now_ms),
           [done = std::move(done)](PostgresStore::OutboxAddResult r) {
             done(std::move(r.first), r.second);
           });
  }

  void AddToMailbox(v1::AuditEntry received, const v1::MailboxRecord& record,
                    const std::string& envelope_sha256, ReceiptAt receipt_at,
                    MailboxStore::MailboxDone done) override {
    Commit(std::move(received),
           PostgresStore::MailboxAddAt(record, envelope_sha256, std::move(receipt_at)),
           std::move(done));
  }

 private:
  // Appends `entry` with `write` in one write of the store's group; `done`
  // gets the write's result from the group's status.
  template <typename R, typename Done>
  void Commit(v1::AuditEntry entry, PostgresStore::IndexedWrite<R> write, Done done) {
    auditor_->RecordVia(
        std::move(entry),
        [this, apply = std::move(write.apply)](const v1::AuditEntry& stamped,
                                               Auditor::Done appended) {
          log_->AppendWith(stamped, apply, std::move(appended));
        },
        [result = std::move(write.result), done = std::move(done)](
            absl::StatusOr<uint64_t> index) { done(result(index.status())); });
  }

  PostgresAuditLog* const log_;
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
  auto* postgres_log = dynamic_cast<PostgresAuditLog*>(log);
  if (dynamic_cast<PostgresStore*>(store) == nullptr || postgres_log == nullptr) return nullptr;
  return std::make_unique<PostgresJointCommit>(postgres_log, auditor);
}

}  // namespace gatehouse

#include "gateway/outbound_commit.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace gatehouse {

void OutboundCommit::Commit(v1::AuditEntry submitted, v1::OutboxRecord record,
                            const std::string& idempotency_key, OutboxStore::OutboxDone done) {
  if (joint_ != nullptr) {
    const int64_t accepted = record.accepted_unix_ms();
    joint_->AddToOutbox(std::move(submitted), record, idempotency_key, accepted,
                        [done = std::move(done)](absl::StatusOr<OutboxEntry> entry, bool inserted) {
                          if (!entry.ok()) entry = RetryableUnlessDuplicate(entry.status());
                          done(std::move(entry), inserted);
                        });
    return;
  }
  // Should the record not be queued after all, a DENIED entry says so:
  // SUBMITTED alone would name a record that never existed (the system
  // retries, and its retry is a new record under a new id).
  v1::AuditEntry not_queued = submitted;
  not_queued.set_event(v1::AUDIT_EVENT_DENIED);
  not_queued.clear_decision();
  not_queued.clear_rule_ids();
  audit_->Record(std::move(submitted), [this, record = std::move(record), idempotency_key,
                                        not_queued = std::move(not_queued),
                                        done = std::move(done)](
                                           absl::StatusOr<uint64_t> index) mutable {
    if (!index.ok()) {
      done(absl::UnavailableError("the record could not be audited, so it was not accepted; "
                                  "retry"),
           false);
      return;
    }
    record.set_audit_index(*index);
    const int64_t accepted = record.accepted_unix_ms();
    outbox_->AddToOutboxAsync(
        record, idempotency_key, accepted,
        [this, not_queued = std::move(not_queued), done = std::move(done)](
            absl::StatusOr<OutboxEntry> entry, bool inserted) mutable {
          if (!entry.ok() || !inserted) {
            not_queued.set_reason(
                !entry.ok() ? absl::StrCat("not queued after it was audited: ",
                                           entry.status().message())
                            : absl::StrCat("not queued: its idempotency key's record ",
                                           entry->record.record_id(), " was queued meanwhile"));
            not_queued.set_status_code(absl::StatusCodeToString(
                !entry.ok() ? entry.status().code() : absl::StatusCode::kAlreadyExists));
            audit_->Note(std::move(not_queued));
          }
          done(std::move(entry), inserted);
        });
  });
}

}  // namespace gatehouse

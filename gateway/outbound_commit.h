// The outbound record path's audit+store stage: a sealed record's SUBMITTED
// entry is made durable in the audit log, then its row in the outbox, each
// step started by the one before (no thread waits). What it guarantees:
//   - nothing is queued that was not audited first: an entry the log
//     refuses answers Unavailable and nothing is stored;
//   - a record audited but not queued (the store failed, or a Submit with
//     the same idempotency key was queued meanwhile) is followed by a
//     DENIED entry saying so, so SUBMITTED never names a record that does
//     not exist.
//
//   plan (record/outbound.h) -> seal (SealQueue) -> commit (this) -> deliver
//
// Example:
//   OutboundCommit commit(auditor, store);
//   commit.Commit(std::move(plan.entry), std::move(record), key,
//                 [](absl::StatusOr<OutboxEntry> e, bool inserted) { ... });
//
// Thread-safe if the sink and store are.
#ifndef GATEHOUSE_GATEWAY_OUTBOUND_COMMIT_H_
#define GATEHOUSE_GATEWAY_OUTBOUND_COMMIT_H_

#include <string>

#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/store.pb.h"
#include "gateway/auditor.h"
#include "gateway/joint_commit.h"
#include "gateway/store/outbox_store.h"

namespace gatehouse {

class OutboundCommit {
 public:
  // With `joint` (may be null), the entry and the row commit together
  // (gateway/joint_commit.h) and none of the above DENIED entries is needed;
  // its errors are answered as RetryableUnlessDuplicate says.
  OutboundCommit(AuditSink* audit, OutboxStore* outbox, JointCommit* joint = nullptr)
      : audit_(audit), outbox_(outbox), joint_(joint) {}

  // Audits `submitted`, then queues `record` (its audit_index set to the
  // entry's) under `idempotency_key` (may be empty); `done` gets the stored
  // entry and whether it was inserted (false: the key's earlier record),
  // or Unavailable if it could not be audited, or the store's error.
  void Commit(v1::AuditEntry submitted, v1::OutboxRecord record,
              const std::string& idempotency_key, OutboxStore::OutboxDone done);

 private:
  AuditSink* const audit_;
  OutboxStore* const outbox_;
  JointCommit* const joint_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_OUTBOUND_COMMIT_H_

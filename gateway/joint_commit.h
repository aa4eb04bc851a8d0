// One commit a record: a record's audit entry and its store row (the
// outbox's on the sender, the mailbox's on the receiver; the outbox's mark
// of delivery with its DELIVERED entry) made durable in one transaction, so
// neither is ever kept without the other. Built where the
// store numbers the log's entries in its own transactions: PostgreSQL
// (PostgresStore and PostgresAuditLog, one database), and SQLite with the
// file log kept through it (SqliteStore and QueuedAuditLog,
// gateway/queued_audit_log.h). Elsewhere (a test's fakes) the two commit in
// turn instead (gateway/outbound_commit.h, gateway/inbound_commit.h).
//
// What it changes, against the two commits in turn:
//   - a lost COMMIT (outcome unknown) leaves the entry and the row both or
//     neither, so the retry that follows (by idempotency key, or the
//     sender's redelivery) never adds a second SUBMITTED or RECEIVED entry;
//   - a record not stored (its key's earlier record, a copy already held, a
//     store error) leaves no entry, so no DENIED entry has to say so;
//   - the receipt, which names the entry's index, is made inside the
//     write and stored unsigned (it is signed when answered);
//   - a row refused as a record id already used (AlreadyExists) withdraws
//     its entry without counting as a failure of the audit log.
//
// Example:
//   std::unique_ptr<JointCommit> joint = MakeJointCommit(store, log, auditor);
//   if (joint) joint->AddToOutbox(entry, record, key, now_ms, done);
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_JOINT_COMMIT_H_
#define GATEHOUSE_GATEWAY_JOINT_COMMIT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "audit/audit_trail.h"
#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/store.pb.h"
#include "gateway/auditor.h"
#include "gateway/store/record_adds.h"
#include "gateway/store/store.h"

namespace gatehouse {

class JointCommit {
 public:
  virtual ~JointCommit() = default;
  // Appends `submitted` and queues `record` (its audit_index set to the
  // entry's) under `idempotency_key` in one transaction; `done` gets what
  // OutboxStore::AddToOutboxAsync gives. Not inserted (the key's earlier
  // record) or an error: no entry is kept.
  virtual void AddToOutbox(v1::AuditEntry submitted, const v1::OutboxRecord& record,
                           const std::string& idempotency_key, int64_t now_ms,
                           OutboxStore::OutboxDone done) = 0;
  // The receipt (stored unsigned) naming the record's audit index.
  using ReceiptAt = ::gatehouse::ReceiptAt;
  // Appends `received` and stores `record` with the receipt `receipt_at`
  // makes in one transaction; `done` gets what
  // MailboxStore::AddToMailboxAsync gives. A copy already held (its first
  // receipt answered) or an error: no entry is kept.
  virtual void AddToMailbox(v1::AuditEntry received, const v1::MailboxRecord& record,
                            const std::string& envelope_sha256, ReceiptAt receipt_at,
                            MailboxStore::MailboxDone done) = 0;
  // Appends `delivered` and marks the outbox record `record_id` delivered
  // with the peer's `receipt` in one transaction, so a crash never keeps
  // the mark without its DELIVERED entry; `done` gets OK once both are
  // durable. A record no longer queued (marked already) keeps no entry and
  // answers OK; an error keeps neither (the record stays queued, and its
  // next attempt gets the same receipt back from the peer).
  virtual void MarkDelivered(v1::AuditEntry delivered, const std::string& record_id,
                             int64_t delivered_ms, const v1::SignedReceipt& receipt,
                             OutboxStore::WriteDone done) = 0;
};

// A joint commit's error as a stage answers it: every error but AlreadyExists
// (a record id already used, the caller's to fix) becomes Unavailable with
// the reason, since the record was neither audited nor stored and a retry
// can succeed (a log closing, a database error). So no caller, nor a peer
// deciding whether to give a record up, takes a passing refusal of the
// audit log for the record's own.
absl::Status RetryableUnlessDuplicate(const absl::Status& status);

// The joint commit of `store` and `log` through `auditor` (which appends to
// `log`), or nullptr where they cannot commit together (neither both
// PostgreSQL's nor a SqliteStore with a QueuedAuditLog). All three must
// outlive it.
std::unique_ptr<JointCommit> MakeJointCommit(Store* store, audit::AuditTrail* log,
                                             Auditor* auditor);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_JOINT_COMMIT_H_

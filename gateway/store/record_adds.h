// What both stores (SQLite's and PostgreSQL's) share of a record's add to
// the outbox or the mailbox: the add's state, what its caller is answered
// from the write's status, and the shape of an add given its audit entry's
// index (one commit a record: gateway/joint_commit.h). Header only, so
// that the two store libraries need not link each other.
//
// An add given its entry's index that stores nothing (its idempotency key's
// record is held, a copy of the record is held) fails its write with
// Cancelled and sets `withdrawn`, so that the entry is undone with it; its
// answer is still the held record, as the plain add answers.
//
// Thread-compatible: an add's state is touched by its write, then its answer.
#ifndef GATEHOUSE_GATEWAY_STORE_RECORD_ADDS_H_
#define GATEHOUSE_GATEWAY_STORE_RECORD_ADDS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gatehouse/v1/peer.pb.h"
#include "gatehouse/v1/store.pb.h"
#include "gateway/store/mailbox_store.h"
#include "gateway/store/outbox_store.h"

namespace gatehouse {

// A write (`Apply`: the store's, given the entry's index) and what its
// caller gets from the write's status.
template <typename Apply, typename R>
struct IndexedWriteOf {
  Apply apply;
  std::function<R(absl::Status)> result;
};

using OutboxAddResult = std::pair<absl::StatusOr<OutboxEntry>, bool>;
// The receipt to store with a record, naming its audit entry `audit_index`
// (InboundCommit stores it unsigned; the answer signs it).
using ReceiptAt = std::function<absl::StatusOr<v1::SignedReceipt>(uint64_t audit_index)>;

struct OutboxAdd {
  v1::OutboxRecord request;
  std::string key;
  std::string bytes;  // request, serialized
  int64_t now_ms = 0;
  OutboxEntry result;  // the key's record, when not inserted
  bool inserted = false;
  bool withdrawn = false;  // not inserted, so its audit entry was undone with it
};

inline std::shared_ptr<OutboxAdd> NewOutboxAdd(const v1::OutboxRecord& request,
                                               const std::string& idempotency_key,
                                               int64_t now_ms) {
  auto st = std::make_shared<OutboxAdd>();
  st->request = request;
  st->key = idempotency_key;
  st->now_ms = now_ms;
  return st;
}

// What the caller of an outbox add gets from the write's status.
inline OutboxAddResult AnswerOutboxAdd(OutboxAdd* st, absl::Status status) {
  if (!status.ok() && !(absl::IsCancelled(status) && st->withdrawn)) return {status, false};
  if (st->inserted) {
    st->result = OutboxEntry();
    st->result.record = std::move(st->request);
    st->result.idempotency_key = std::move(st->key);
    st->result.next_attempt_ms = st->now_ms;
  }
  return {std::move(st->result), st->inserted};
}

struct MailboxAdd {
  std::string sender_org, record_id, recipient_system, record_bytes, sha;
  int64_t received_ms = 0;
  v1::SignedReceipt receipt;
  MailboxPut put;
  bool withdrawn = false;  // not inserted, so its audit entry was undone with it
};

inline std::shared_ptr<MailboxAdd> NewMailboxAdd(const v1::MailboxRecord& record,
                                                 const std::string& envelope_sha256) {
  auto st = std::make_shared<MailboxAdd>();
  st->sender_org = record.sender_org();
  st->record_id = record.record_id();
  st->recipient_system = record.recipient_system();
  st->record_bytes = record.SerializeAsString();
  st->sha = envelope_sha256;
  st->received_ms = record.received_unix_ms();
  return st;
}

// What the caller of a mailbox add gets from the write's status.
inline absl::StatusOr<MailboxPut> AnswerMailboxAdd(MailboxAdd* st, absl::Status status) {
  if (!status.ok() && !(absl::IsCancelled(status) && st->withdrawn)) return status;
  return std::move(st->put);
}

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_RECORD_ADDS_H_

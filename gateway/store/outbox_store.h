// OutboxStore: the outbox, records accepted from our systems, kept until a
// peer gateway acknowledges them (or refuses them for good). The outbox
// sender takes what is due, and marks each attempt's outcome.
//
// Every mutating call returns only once its change is durable. On error
// nothing is changed. Errors: Unavailable if the storage cannot be read or
// written, or the store is closing (try again); DataLoss if a stored entry
// does not parse.
//
// Example:
//   bool inserted = false;
//   ASSIGN_OR_RETURN(OutboxEntry e, outbox.AddToOutbox(record, key, now_ms, &inserted));
//   ...
//   ASSIGN_OR_RETURN(std::vector<OutboxEntry> due, outbox.DueForDelivery(now_ms, 100));
//
// Implementations are thread-safe.
#ifndef GATEHOUSE_GATEWAY_STORE_OUTBOX_STORE_H_
#define GATEHOUSE_GATEWAY_STORE_OUTBOX_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gatehouse/v1/exchange.pb.h"
#include "gatehouse/v1/peer.pb.h"
#include "gatehouse/v1/store.pb.h"

namespace gatehouse {

struct OutboxEntry {
  v1::OutboxRecord record;      // the sealed envelope and what we know of it
  std::string idempotency_key;  // empty if the client gave none
  v1::RecordState state = v1::RECORD_STATE_QUEUED;
  int32_t attempts = 0;
  int64_t next_attempt_ms = 0;
  int64_t delivered_ms = 0;
  std::string last_error;
  v1::SignedReceipt receipt;    // the peer's, once delivered
  // Grows with every change of state of any outbox row (queued, delivered,
  // rejected); this row's latest. The cursor of OutboxChanges.
  int64_t change_seq = 0;
  // When the recipient's systems acknowledged it (state ACKNOWLEDGED);
  // 0 until then.
  int64_t acked_ms = 0;
  // When a system of the recipient first fetched it (state FETCHED, or
  // ACKNOWLEDGED after); 0 until learnt.
  int64_t fetched_ms = 0;
};

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  // Asynchronous forms of the writes on the record path, for servers that
  // must not park a thread per call: `done` runs once the change is durable
  // (or failed), on a thread of the store's; it must be quick. A synchronous
  // write made from `done` is allowed (a delivery that fails at once marks
  // its record for retry there): it is committed at once, on its own. The
  // defaults call the synchronous forms.
  //
  // Each takes, when called, everything its change needs (nothing is read
  // from the caller afterwards), and decides inside the change whatever
  // depends on what is stored (here: whether an idempotency key was used):
  // so a later change can commit an audit entry in the same transaction
  // (gateway/store/README.md).
  using OutboxDone = std::function<void(absl::StatusOr<OutboxEntry> entry, bool inserted)>;
  using WriteDone = std::function<void(absl::Status)>;
  // As AddToOutbox; `done` gets the entry and whether it was inserted.
  virtual void AddToOutboxAsync(const v1::OutboxRecord& record,
                                const std::string& idempotency_key, int64_t now_ms,
                                OutboxDone done) {
    bool inserted = false;
    absl::StatusOr<OutboxEntry> e = AddToOutbox(record, idempotency_key, now_ms, &inserted);
    done(std::move(e), inserted);
  }
  // As MarkDelivered.
  virtual void MarkDeliveredAsync(const std::string& record_id, int64_t delivered_ms,
                                  const v1::SignedReceipt& receipt, WriteDone done) {
    done(MarkDelivered(record_id, delivered_ms, receipt));
  }

  // Adds a record to the outbox, due now. If the submitting system already
  // used `idempotency_key`, stores nothing and returns the existing entry
  // with *inserted = false.
  //
  // Otherwise returns the new entry (queued, no attempts, next attempt at
  // `now_ms`) with *inserted = true. An empty key is never a match. A
  // record id already in the outbox under another key (or none) is an
  // error, and stores nothing; the gateway makes ids unique. On error,
  // *inserted = false.
  virtual absl::StatusOr<OutboxEntry> AddToOutbox(const v1::OutboxRecord& record,
                                                  const std::string& idempotency_key,
                                                  int64_t now_ms, bool* inserted) = 0;
  // Queued entries whose next attempt is at or before now, oldest first.
  // "Oldest" is the earliest next attempt; at most `limit`; empty if none.
  virtual absl::StatusOr<std::vector<OutboxEntry>> DueForDelivery(int64_t now_ms,
                                                                  int limit) = 0;
  // The earliest next attempt of any queued entry, or -1 if none is queued.
  virtual absl::StatusOr<int64_t> NextAttemptMs() = 0;
  // Marks a record delivered with the peer's receipt.
  //
  // Counts the attempt, and clears last_error. A record that is not queued
  // (unknown, delivered, rejected) is left unchanged; that is not an error.
  virtual absl::Status MarkDelivered(const std::string& record_id, int64_t delivered_ms,
                                     const v1::SignedReceipt& receipt) = 0;
  // Counts a failed attempt and schedules the next.
  //
  // A record that is not queued is left unchanged (a late failure report
  // does not undo a delivery); that is not an error.
  virtual absl::Status MarkAttemptFailed(const std::string& record_id,
                                         int64_t next_attempt_ms,
                                         const std::string& error) = 0;
  // Marks a record refused for good by the peer; it is not retried.
  //
  // Counts the attempt. A record that is not queued is left unchanged; that
  // is not an error.
  virtual absl::Status MarkRejected(const std::string& record_id, const std::string& error) = 0;
  // NotFound if no such record was submitted through this gateway.
  virtual absl::StatusOr<OutboxEntry> GetOutbox(const std::string& record_id) = 0;
  // Records not yet delivered.
  //
  // That is, queued: a rejected record is not counted.
  virtual absl::StatusOr<int64_t> OutboxDepth() = 0;
  // `sender_system`'s records whose latest change has change_seq >
  // after_seq, in the order of those changes, at most `limit`: what Watch
  // follows. A row that changed twice since is listed once, as it is now.
  virtual absl::StatusOr<std::vector<OutboxEntry>> OutboxChanges(const std::string& sender_system,
                                                                int64_t after_seq, int limit) = 0;
  // Delivered (or fetched) records not yet known to be acknowledged by the
  // recipient's systems, those whose recipient was asked longest ago
  // (MarkChecked) first, at most `limit`.
  virtual absl::StatusOr<std::vector<OutboxEntry>> AwaitingAcknowledgement(int limit) = 0;
  // Notes that the recipients of `record_ids` were asked at `now_ms`.
  virtual absl::Status MarkChecked(const std::vector<std::string>& record_ids,
                                   int64_t now_ms) = 0;
  // What the recipient's gateway said of a delivered record: a system
  // first fetched it at `fetched_ms` (0: not fetched), its systems
  // acknowledged it at `acked_ms` (0: not yet). State becomes ACKNOWLEDGED
  // if acked_ms is set, else FETCHED if fetched_ms is (each a change, for
  // OutboxChanges); the first fetched_ms learnt is kept. A record not
  // DELIVERED or FETCHED, or already in the state it would get, is left as
  // it is: learning the same again is not a change.
  virtual absl::Status MarkTaken(const std::string& record_id, int64_t fetched_ms,
                                 int64_t acked_ms) = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_OUTBOX_STORE_H_

// The gateway's durable state: the outbox (records accepted from our systems,
// until a peer gateway acknowledges them) and the mailbox (records delivered
// to us, until our systems acknowledge them).
//
// One small interface, so that a shared store (PostgreSQL, for several
// replicas of one gateway) is a second implementation, not a rewrite. Every
// mutating call returns only once its change is durable. On error nothing
// is changed.
//
// Implementations are thread-safe.
#ifndef GATEHOUSE_GATEWAY_STORE_H_
#define GATEHOUSE_GATEWAY_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gatehouse/v1/exchange.pb.h"
#include "gatehouse/v1/peer.pb.h"

namespace gatehouse {

struct OutboxEntry {
  v1::DeliverRequest request;   // what is sent to the peer, payload included
  std::string idempotency_key;  // empty if the client gave none
  v1::RecordState state = v1::RECORD_STATE_QUEUED;
  int32_t attempts = 0;
  int64_t next_attempt_ms = 0;
  int64_t delivered_ms = 0;
  std::string last_error;
};

struct MailboxEntry {
  int64_t seq = 0;  // increasing; the page token
  v1::Record record;
};

struct MailboxPut {
  bool inserted = false;     // false: already held (a redelivery)
  int64_t received_ms = 0;   // when it was first stored
};

class Store {
 public:
  virtual ~Store() = default;

  // Adds a record to the outbox, due now. If the submitting system already
  // used `idempotency_key`, stores nothing and returns the existing entry
  // with *inserted = false.
  virtual absl::StatusOr<OutboxEntry> AddToOutbox(const v1::DeliverRequest& request,
                                                  const std::string& idempotency_key,
                                                  int64_t now_ms, bool* inserted) = 0;
  // Queued entries whose next attempt is at or before now, oldest first.
  virtual absl::StatusOr<std::vector<OutboxEntry>> DueForDelivery(int64_t now_ms,
                                                                  int limit) = 0;
  // The earliest next attempt of any queued entry, or -1 if none is queued.
  virtual absl::StatusOr<int64_t> NextAttemptMs() = 0;
  // Marks a record delivered. NotFound if it is not in the outbox.
  virtual absl::Status MarkDelivered(const std::string& record_id, int64_t delivered_ms) = 0;
  // Counts a failed attempt and schedules the next.
  virtual absl::Status MarkAttemptFailed(const std::string& record_id,
                                         int64_t next_attempt_ms,
                                         const std::string& error) = 0;
  // Marks a record refused for good by the peer; it is not retried.
  virtual absl::Status MarkRejected(const std::string& record_id, const std::string& error) = 0;
  // NotFound if no such record was submitted through this gateway.
  virtual absl::StatusOr<OutboxEntry> GetOutbox(const std::string& record_id) = 0;
  // Records not yet delivered.
  virtual absl::StatusOr<int64_t> OutboxDepth() = 0;

  // Stores a record delivered to us, unless one with the same sender
  // organisation and record id is already held.
  virtual absl::StatusOr<MailboxPut> AddToMailbox(const v1::Record& record,
                                                  int64_t now_ms) = 0;
  // Unacknowledged records for `system` (addressed to it or to any system of
  // our organisation) with seq > after_seq, oldest first.
  virtual absl::StatusOr<std::vector<MailboxEntry>> FetchMailbox(const std::string& system,
                                                                 int64_t after_seq,
                                                                 int limit) = 0;
  // Acknowledges those of `record_ids` visible to `system`; returns how many.
  // The record's id is kept (so a redelivery is still recognised); its
  // payload is dropped.
  virtual absl::StatusOr<int> AckMailbox(const std::string& system,
                                         const std::vector<std::string>& record_ids,
                                         int64_t now_ms) = 0;
  // Unacknowledged records visible to `system`; all of them if empty.
  virtual absl::StatusOr<int64_t> MailboxDepth(const std::string& system) = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_H_

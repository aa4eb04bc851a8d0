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
#include <functional>
#include <set>
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
};

// Counters since the store was opened, for metrics.
struct StoreStats {
  int64_t commits = 0;       // durable transactions (group commits: each may hold many writes)
  int64_t commit_nanos = 0;  // total time in them: applying the writes, writing, syncing
};

struct MailboxEntry {
  int64_t seq = 0;  // increasing; the page token
  v1::MailboxRecord record;
};

// What the mailbox remembers of a record, even after it is acknowledged.
struct MailboxSeen {
  std::string sender_org;  // the organisation that delivered it
  std::string envelope_sha256;
  v1::SignedReceipt receipt;
};

struct MailboxPut {
  bool inserted = false;  // false: already held (a redelivery)
  MailboxSeen held;       // what is held now (the first delivery's)
};

// Who reads the mailbox: one system of our organisation, and the systems
// that may take records addressed to the organisation as a whole.
//
// A record addressed to a system is visible to that system alone, until it
// acknowledges it. A record addressed to the organisation (no recipient
// system) is visible to each system named in `org_recipients`, until that
// system acknowledges it; to no other system, and to none if the list is
// empty. A reader with an empty `system` sees nothing.
//
// Example:
//   MailboxReader reader =
//       MailboxReader::Of(caller.system, config.org_recipient_systems());
//   ASSIGN_OR_RETURN(std::vector<MailboxEntry> page, store.FetchMailbox(reader, 0, 100));
struct MailboxReader {
  std::string system;                       // the calling system
  std::vector<std::string> org_recipients;  // GatewayConfig.org_recipient_systems

  // The reader for `system` under a config's org_recipient_systems (any
  // range of strings).
  template <typename Range>
  static MailboxReader Of(std::string system, const Range& org_recipients) {
    return MailboxReader{std::move(system), {org_recipients.begin(), org_recipients.end()}};
  }

  // Whether `system` may take organisation-wide records.
  bool TakesOrgWide() const {
    if (system.empty()) return false;
    for (const std::string& s : org_recipients) {
      if (s == system) return true;
    }
    return false;
  }
};

// A record a system acknowledged.
struct MailboxAcked {
  std::string sender_org;
  std::string record_id;
  std::string envelope_sha256;  // names a streamed record's spool file
  // True if this acknowledgement dropped the payload: the record waits for
  // no system any more, so a streamed record's spool file may be removed.
  // False for an organisation-wide record another named system has not yet
  // acknowledged: its payload (and spool file) is still needed.
  bool payload_dropped = false;
};

// A peer gateway's audit checkpoint this gateway last verified and cosigned.
struct PeerCheckpoint {
  uint64_t size = 0;
  std::string root;  // 32 bytes
  std::string note;
};

class Store {
 public:
  virtual ~Store() = default;

  // Asynchronous forms of the writes on the record path, for servers that
  // must not park a thread per call: `done` runs once the change is durable
  // (or failed), on a thread of the store's; it must be quick. A synchronous
  // write made from `done` is allowed (a delivery that fails at once marks
  // its record for retry there): it is committed at once, on its own. The
  // defaults call the synchronous forms.
  using OutboxDone = std::function<void(absl::StatusOr<OutboxEntry> entry, bool inserted)>;
  using MailboxDone = std::function<void(absl::StatusOr<MailboxPut>)>;
  using WriteDone = std::function<void(absl::Status)>;
  virtual void AddToOutboxAsync(const v1::OutboxRecord& record,
                                const std::string& idempotency_key, int64_t now_ms,
                                OutboxDone done) {
    bool inserted = false;
    absl::StatusOr<OutboxEntry> e = AddToOutbox(record, idempotency_key, now_ms, &inserted);
    done(std::move(e), inserted);
  }
  virtual void AddToMailboxAsync(const v1::MailboxRecord& record,
                                 const std::string& envelope_sha256,
                                 const v1::SignedReceipt& receipt, MailboxDone done) {
    done(AddToMailbox(record, envelope_sha256, receipt));
  }
  virtual void MarkDeliveredAsync(const std::string& record_id, int64_t delivered_ms,
                                  const v1::SignedReceipt& receipt, WriteDone done) {
    done(MarkDelivered(record_id, delivered_ms, receipt));
  }

  // Adds a record to the outbox, due now. If the submitting system already
  // used `idempotency_key`, stores nothing and returns the existing entry
  // with *inserted = false.
  virtual absl::StatusOr<OutboxEntry> AddToOutbox(const v1::OutboxRecord& record,
                                                  const std::string& idempotency_key,
                                                  int64_t now_ms, bool* inserted) = 0;
  // Queued entries whose next attempt is at or before now, oldest first.
  virtual absl::StatusOr<std::vector<OutboxEntry>> DueForDelivery(int64_t now_ms,
                                                                  int limit) = 0;
  // The earliest next attempt of any queued entry, or -1 if none is queued.
  virtual absl::StatusOr<int64_t> NextAttemptMs() = 0;
  // Marks a record delivered with the peer's receipt.
  virtual absl::Status MarkDelivered(const std::string& record_id, int64_t delivered_ms,
                                     const v1::SignedReceipt& receipt) = 0;
  // The outbox entry already holding `idempotency_key` for `system`, or NotFound.
  virtual absl::StatusOr<OutboxEntry> FindByIdempotencyKey(const std::string& system,
                                                           const std::string& key) = 0;
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

  // Stores a record delivered to us with the receipt we signed for it,
  // unless one with the same sender organisation and record id is already
  // held (then returns what is held).
  virtual absl::StatusOr<MailboxPut> AddToMailbox(const v1::MailboxRecord& record,
                                                  const std::string& envelope_sha256,
                                                  const v1::SignedReceipt& receipt) = 0;
  // What is remembered of a record delivered under `record_id`, acknowledged
  // or not: `sender_org`'s own if it delivered one, else another
  // organisation's (Ack names records by id alone, so an id is one sender's;
  // the caller compares MailboxSeen::sender_org). NotFound if no organisation
  // delivered one. One indexed read.
  virtual absl::StatusOr<MailboxSeen> FindInMailbox(const std::string& sender_org,
                                                    const std::string& record_id) = 0;
  // Those of `among` (envelope SHA-256s: a streamed record's spool file is
  // named by it) under which a mailbox record whose payload is still held is
  // kept: one some system has yet to acknowledge (an organisation-wide record
  // counts until every system it waits for has). One pass over those
  // records, however many are asked about.
  virtual absl::StatusOr<std::set<std::string>> HeldEnvelopes(
      const std::set<std::string>& among) = 0;
  // The records visible to `reader` (see MailboxReader) with seq > after_seq,
  // oldest first, at most `limit`. Empty if none is.
  virtual absl::StatusOr<std::vector<MailboxEntry>> FetchMailbox(const MailboxReader& reader,
                                                                 int64_t after_seq,
                                                                 int limit) = 0;
  // The record (sender_org, record_id) if it is visible to `reader`;
  // NotFound otherwise (not held, acknowledged, or another system's: the
  // caller cannot tell which).
  virtual absl::StatusOr<MailboxEntry> GetMailbox(const MailboxReader& reader,
                                                  const std::string& sender_org,
                                                  const std::string& record_id) = 0;
  // Acknowledges, for reader.system, those of `record_ids` visible to
  // `reader`, and returns them. One system's acknowledgement never takes a
  // record from another:
  //  - a record addressed to reader.system: its payload is dropped;
  //  - an organisation-wide record: the acknowledgement is recorded for
  //    reader.system (it sees the record no more); its payload is dropped
  //    only once every system of reader.org_recipients has acknowledged it.
  // MailboxAcked::payload_dropped says which. A record's id is kept either
  // way, so a redelivery is still recognised. Ids not visible to `reader`
  // (unknown, already acknowledged by it, another system's) are left
  // unchanged and are not returned. On error nothing is acknowledged.
  virtual absl::StatusOr<std::vector<MailboxAcked>> AckMailbox(
      const MailboxReader& reader, const std::vector<std::string>& record_ids,
      int64_t now_ms) = 0;
  // How many records are visible to `reader` (0 for an empty reader.system).
  virtual absl::StatusOr<int64_t> MailboxDepth(const MailboxReader& reader) = 0;
  // How many records some system has yet to take (the payload is held), for
  // metrics: an organisation-wide record counts once, until the last system
  // it waits for acknowledges it.
  virtual absl::StatusOr<int64_t> HeldMailboxRecords() = 0;

  // The checkpoint of `org`'s audit log this gateway last cosigned; NotFound if none.
  virtual absl::StatusOr<PeerCheckpoint> GetPeerCheckpoint(const std::string& org) = 0;
  virtual absl::Status PutPeerCheckpoint(const std::string& org, const PeerCheckpoint& cp) = 0;

  virtual StoreStats Stats() const = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_H_

// MailboxStore: the mailbox, records peer gateways delivered to us, kept
// until our systems acknowledge them. A record's id (and the receipt we
// signed for it) is kept after its payload is dropped, so a redelivery is
// recognised and answered with the first receipt.
//
// Who sees a record is MailboxReader's rule (mailbox_reader.h).
//
// Every mutating call returns only once its change is durable. On error
// nothing is changed. Errors: Unavailable if the storage cannot be read or
// written, or the store is closing (try again); DataLoss if a stored record
// or receipt does not parse.
//
// Example:
//   ASSIGN_OR_RETURN(MailboxPut put, mailbox.AddToMailbox(record, sha256, receipt));
//   if (!put.inserted) return put.held.receipt;  // a redelivery
//   ...
//   MailboxReader reader = MailboxReader::Of("care", config.org_recipient_systems());
//   ASSIGN_OR_RETURN(std::vector<MailboxEntry> page, mailbox.FetchMailbox(reader, 0, 100));
//
// Implementations are thread-safe.
#ifndef GATEHOUSE_GATEWAY_STORE_MAILBOX_STORE_H_
#define GATEHOUSE_GATEWAY_STORE_MAILBOX_STORE_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gatehouse/v1/peer.pb.h"
#include "gatehouse/v1/store.pb.h"
#include "gateway/store/mailbox_reader.h"

namespace gatehouse {

struct MailboxEntry {
  int64_t seq = 0;  // increasing; the page token
  v1::MailboxRecord record;
};

// What the mailbox remembers of a record, even after it is acknowledged.
struct MailboxSeen {
  std::string sender_org;  // the organisation that delivered it
  std::string envelope_sha256;
  v1::SignedReceipt receipt;
  // When the last system it waited for acknowledged it; 0 until then.
  int64_t acked_ms = 0;
  // When a system first fetched it (MarkFetched); 0 until one has.
  int64_t fetched_ms = 0;
};

// A mailbox record by its key.
struct MailboxKey {
  std::string sender_org;
  std::string record_id;
};

struct MailboxPut {
  bool inserted = false;  // false: already held (a redelivery)
  MailboxSeen held;       // what is held now (the first delivery's)
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

class MailboxStore {
 public:
  virtual ~MailboxStore() = default;

  // The asynchronous form of AddToMailbox, under the rules of the
  // asynchronous writes in outbox_store.h: `done` runs once the change is
  // durable (or failed), on a thread of the store's, and must be quick;
  // whether the record is already held is decided inside the change. The
  // default calls AddToMailbox.
  using MailboxDone = std::function<void(absl::StatusOr<MailboxPut>)>;
  virtual void AddToMailboxAsync(const v1::MailboxRecord& record,
                                 const std::string& envelope_sha256,
                                 const v1::SignedReceipt& receipt, MailboxDone done) {
    done(AddToMailbox(record, envelope_sha256, receipt));
  }

  using AckDone = std::function<void(absl::StatusOr<std::vector<MailboxAcked>>)>;
  // The asynchronous form of AckMailbox, under the same rules. The default
  // calls AckMailbox.
  virtual void AckMailboxAsync(const MailboxReader& reader, std::vector<std::string> record_ids,
                               int64_t now_ms, AckDone done) {
    done(AckMailbox(reader, record_ids, now_ms));
  }

  // Stores a record delivered to us with the receipt we signed for it,
  // unless one with the same sender organisation and record id is already
  // held (then returns what is held).
  //
  // A record's id stays held after it is acknowledged: a redelivery then
  // stores nothing, and is not offered to any system again.
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
  // Notes that a system fetched each of `records` at `now_ms` (its gateway
  // audited FETCHED), unless one already had: the first fetch is kept.
  // Unknown keys are left alone. `done` runs once durable, as for the
  // asynchronous writes above. Only informs the sender (a record's state
  // FETCHED), so the caller need not wait for it.
  virtual void MarkFetchedAsync(std::vector<MailboxKey> records, int64_t now_ms,
                                std::function<void(absl::Status)> done) = 0;
  // How many records are visible to `reader` (0 for an empty reader.system).
  virtual absl::StatusOr<int64_t> MailboxDepth(const MailboxReader& reader) = 0;
  // How many records some system has yet to take (the payload is held), for
  // metrics: an organisation-wide record counts once, until the last system
  // it waits for acknowledges it.
  virtual absl::StatusOr<int64_t> HeldMailboxRecords() = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_MAILBOX_STORE_H_

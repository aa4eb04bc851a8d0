// Ledger: the per-record timelines of one gateway's audit log, built by
// feeding it the log's entries in order. It is what every service-level
// figure is computed from (figures.h): for each record this gateway sent,
// when it was SUBMITTED, DELIVERED or EXPIRED; for each record a peer sent
// it, when it was RECEIVED and first FETCHED; every refusal (DENIED,
// REJECTED) and every restart (GATEWAY_STARTED), each with its leaf index
// so a report can say which entries it used.
//
// Incremental: the gateway can Add() each entry as it is appended and
// compute figures at any time; Prune() forgets records settled before a
// time, to keep a window. The offline tool feeds a whole log.
//
// Which entries count (docs/service-levels.md):
//   outbound (we sent; peer = recipient_org): SUBMITTED, DELIVERED, EXPIRED
//     (by record id; the first of each kind wins) and DENIED (a refusal);
//   inbound (peer sent us; peer = sender_org): RECEIVED, first FETCHED,
//     ACKED (by record id) and REJECTED (a refusal);
//   GATEWAY_STARTED: a restart. Every other event is ignored.
//
// Thread-safety: thread-compatible (a const Ledger may be read from many
// threads; Add and Prune need exclusive access).
//
// Example:
//   Ledger ledger;
//   for (each entry i, e of the log) ledger.Add(i, e);
//   absl::StatusOr<std::string> org = ledger.OwnOrg();
#ifndef GATEHOUSE_SLA_LEDGER_H_
#define GATEHOUSE_SLA_LEDGER_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "gatehouse/v1/audit.pb.h"

namespace gatehouse::sla {

// "No such event": every time field defaults to this.
constexpr int64_t kNoTime = 0;

// One event's time and the leaf index of its entry.
struct Event {
  int64_t at_ns = kNoTime;
  uint64_t index = 0;
  bool seen() const { return at_ns != kNoTime; }
};

struct OutboundRecord {
  std::string record_id;
  std::string own_org;  // sender_org
  std::string peer;     // recipient_org
  Event submitted, delivered, expired;
  uint64_t bytes = 0;  // the payload's size, from SUBMITTED
  // When the record stopped waiting: delivered, else expired, else none.
  const Event& settled() const { return delivered.seen() ? delivered : expired; }
};

struct InboundRecord {
  std::string record_id;
  std::string own_org;  // recipient_org
  std::string peer;     // sender_org
  Event received, first_fetched, acked;
  uint64_t bytes = 0;  // the payload's size, from RECEIVED
};

struct Refusal {
  Event event;
  bool outbound = false;  // DENIED (we refused to send) vs REJECTED (we refused to take)
  std::string own_org, peer, record_id, status_code, rule, reason;
};

struct Restart {
  Event event;
  std::string reason;
};

class Ledger {
 public:
  // Takes entry `index` of the log into account. Entries must come in log
  // order; an entry that is not about a record between organisations (and
  // not a restart) is ignored.
  void Add(uint64_t index, const gatehouse::v1::AuditEntry& entry);

  // Forgets records settled (delivered, expired, fetched) and refusals and
  // restarts that happened before `before_ns`. Figures for periods starting
  // at or after `before_ns` + the availability grace are unchanged (a
  // delivery counts as the link working for a grace after it).
  void Prune(int64_t before_ns);

  // The organisation this log belongs to: the sender of outbound events and
  // the recipient of inbound ones. InvalidArgument naming them if the log
  // holds more than one; NotFound if it holds no record events.
  absl::StatusOr<std::string> OwnOrg() const;

  const absl::flat_hash_map<std::string, OutboundRecord>& outbound() const { return outbound_; }
  const absl::flat_hash_map<std::string, InboundRecord>& inbound() const { return inbound_; }
  const std::vector<Refusal>& refusals() const { return refusals_; }
  const std::vector<Restart>& restarts() const { return restarts_; }

 private:
  absl::flat_hash_map<std::string, OutboundRecord> outbound_;  // by record id
  absl::flat_hash_map<std::string, InboundRecord> inbound_;    // by record id
  std::vector<Refusal> refusals_;
  std::vector<Restart> restarts_;
  std::set<std::string> own_orgs_;
};

}  // namespace gatehouse::sla

#endif  // GATEHOUSE_SLA_LEDGER_H_

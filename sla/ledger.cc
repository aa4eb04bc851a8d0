#include "sla/ledger.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gatehouse::sla {
namespace {

using gatehouse::v1::AuditEntry;

// The first event of a kind wins: a redelivery answered with the first
// receipt, or a second FETCHED, does not move the record's times.
void SetOnce(Event* e, uint64_t index, const AuditEntry& entry) {
  if (!e->seen()) *e = Event{entry.time_unix_ns(), index};
}

}  // namespace

void Ledger::Add(uint64_t index, const AuditEntry& e) {
  using gatehouse::v1::AuditEvent;
  const AuditEvent ev = e.event();
  if (ev == gatehouse::v1::AUDIT_EVENT_GATEWAY_STARTED) {
    restarts_.push_back({{e.time_unix_ns(), index}, e.reason()});
    return;
  }
  // An entry time of 0 would read as "no event"; the log never writes one.
  if (e.time_unix_ns() == kNoTime) return;
  const bool outbound = ev == gatehouse::v1::AUDIT_EVENT_SUBMITTED ||
                        ev == gatehouse::v1::AUDIT_EVENT_DELIVERED ||
                        ev == gatehouse::v1::AUDIT_EVENT_EXPIRED ||
                        ev == gatehouse::v1::AUDIT_EVENT_DENIED;
  const bool inbound = ev == gatehouse::v1::AUDIT_EVENT_RECEIVED ||
                       ev == gatehouse::v1::AUDIT_EVENT_REJECTED ||
                       ev == gatehouse::v1::AUDIT_EVENT_FETCHED ||
                       ev == gatehouse::v1::AUDIT_EVENT_ACKED;
  if (!outbound && !inbound) return;
  const std::string& own = outbound ? e.sender_org() : e.recipient_org();
  const std::string& peer = outbound ? e.recipient_org() : e.sender_org();
  // An entry without both organisations is not between two of them.
  if (peer.empty() || own.empty()) return;
  if (ev == gatehouse::v1::AUDIT_EVENT_DENIED || ev == gatehouse::v1::AUDIT_EVENT_REJECTED) {
    refusals_.push_back({{e.time_unix_ns(), index}, outbound, own, peer, e.record_id(),
                         e.status_code(), e.rule_ids_size() > 0 ? e.rule_ids(0) : "",
                         e.reason()});
    own_orgs_.insert(own);
    return;
  }
  if (e.record_id().empty()) return;
  own_orgs_.insert(own);
  if (outbound) {
    // EXPIRED may concern a mailbox too: it counts only for a record we sent.
    if (ev == gatehouse::v1::AUDIT_EVENT_EXPIRED && outbound_.count(e.record_id()) == 0) return;
    OutboundRecord& r = outbound_[e.record_id()];
    if (r.record_id.empty()) r = {e.record_id(), own, peer, {}, {}, {}};
    if (ev == gatehouse::v1::AUDIT_EVENT_SUBMITTED) {
      if (!r.submitted.seen()) r.bytes = e.payload_bytes();
      SetOnce(&r.submitted, index, e);
    }
    if (ev == gatehouse::v1::AUDIT_EVENT_DELIVERED) SetOnce(&r.delivered, index, e);
    if (ev == gatehouse::v1::AUDIT_EVENT_EXPIRED) SetOnce(&r.expired, index, e);
    return;
  }
  InboundRecord& r = inbound_[e.record_id()];
  if (r.record_id.empty()) r = {e.record_id(), own, peer, {}, {}, {}};
  if (ev == gatehouse::v1::AUDIT_EVENT_RECEIVED) {
    if (!r.received.seen()) r.bytes = e.payload_bytes();
    SetOnce(&r.received, index, e);
  }
  if (ev == gatehouse::v1::AUDIT_EVENT_FETCHED) SetOnce(&r.first_fetched, index, e);
  if (ev == gatehouse::v1::AUDIT_EVENT_ACKED) SetOnce(&r.acked, index, e);
}

void Ledger::Prune(int64_t before_ns) {
  absl::erase_if(outbound_, [&](const auto& kv) {
    const Event& s = kv.second.settled();
    return s.seen() && s.at_ns < before_ns;
  });
  absl::erase_if(inbound_, [&](const auto& kv) {
    const Event& f = kv.second.first_fetched;
    return f.seen() && f.at_ns < before_ns;
  });
  refusals_.erase(std::remove_if(refusals_.begin(), refusals_.end(),
                                 [&](const Refusal& r) { return r.event.at_ns < before_ns; }),
                  refusals_.end());
  restarts_.erase(std::remove_if(restarts_.begin(), restarts_.end(),
                                 [&](const Restart& r) { return r.event.at_ns < before_ns; }),
                  restarts_.end());
}

absl::StatusOr<std::string> Ledger::OwnOrg() const {
  if (own_orgs_.empty()) return absl::NotFoundError("the log holds no record exchanged with a peer");
  if (own_orgs_.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the log holds records of several organisations (", absl::StrJoin(own_orgs_, ", "),
        "); name one"));
  }
  return *own_orgs_.begin();
}

}  // namespace gatehouse::sla

#include "sla/figures.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "sla/intervals.h"
#include "sla/percentile.h"

namespace gatehouse::sla {
namespace {

using gatehouse::v1::SlaBucket;
using gatehouse::v1::SlaPeer;
using gatehouse::v1::SlaRefusals;

constexpr int64_t kForever = std::numeric_limits<int64_t>::max();
constexpr size_t kMaxListedIds = 100;
constexpr size_t kMaxRefusalGroups = 100;
constexpr int64_t kHourNs = 3600LL * 1000000000LL;
constexpr int64_t kDayNs = 24 * kHourNs;
constexpr size_t kMaxBuckets = 2000;

// What one peer's figures are built from, besides the report fields.
struct PeerWork {
  std::vector<std::pair<int64_t, int64_t>> deliveries;  // (delivered at, latency)
  std::vector<int64_t> submitted, denied, received, rejected;
  Outcomes outcomes;
};

// Leaf indexes of the entries the figures rest on.
class UsedEntries {
 public:
  void Add(const Event& e) {
    if (e.seen()) indexes_.push_back(e.index);
  }
  void Fill(gatehouse::v1::SlaBinding* b) {
    std::sort(indexes_.begin(), indexes_.end());
    indexes_.erase(std::unique(indexes_.begin(), indexes_.end()), indexes_.end());
    if (indexes_.empty()) return;
    b->set_first_index(indexes_.front());
    b->set_last_index(indexes_.back());
    b->set_entries_used(indexes_.size());
  }

 private:
  std::vector<uint64_t> indexes_;
};

class RefusalGroups {
 public:
  void Add(const Refusal& r) {
    auto key = std::make_tuple(r.status_code, r.rule, r.reason);
    if (counts_.size() >= kMaxRefusalGroups && counts_.count(key) == 0) {
      key = std::make_tuple(std::string("(other)"), std::string(), std::string("(more kinds than listed)"));
    }
    ++counts_[key];
  }
  void Fill(google::protobuf::RepeatedPtrField<SlaRefusals>* out) const {
    for (const auto& [key, n] : counts_) {
      SlaRefusals* g = out->Add();
      g->set_status_code(std::get<0>(key));
      g->set_rule(std::get<1>(key));
      g->set_reason(std::get<2>(key));
      g->set_count(n);
    }
    std::stable_sort(out->begin(), out->end(),
                     [](const SlaRefusals& a, const SlaRefusals& b) { return a.count() > b.count(); });
  }

 private:
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> counts_;
};

// Slices of [from, to) `width` long (the last may be shorter), widened if
// there would be more than kMaxBuckets.
std::vector<SlaBucket> Slices(int64_t from, int64_t to, int64_t width) {
  const int64_t span = to - from;
  width = std::max(width, (span + static_cast<int64_t>(kMaxBuckets) - 1) / static_cast<int64_t>(kMaxBuckets));
  std::vector<SlaBucket> out;
  for (int64_t s = from; s < to; s = s > to - width ? to : s + width) {
    SlaBucket b;
    b.set_start_ns(s);
    b.set_end_ns(s > to - width ? to : s + width);
    out.push_back(b);
  }
  return out;
}

void FillSlices(const PeerWork& w, int64_t from, std::vector<SlaBucket>* slices) {
  if (slices->empty()) return;
  const int64_t width = (*slices)[0].end_ns() - (*slices)[0].start_ns();
  auto at = [&](int64_t t) -> SlaBucket& { return (*slices)[static_cast<size_t>((t - from) / width)]; };
  for (int64_t t : w.submitted) at(t).set_submitted(at(t).submitted() + 1);
  for (int64_t t : w.denied) at(t).set_denied(at(t).denied() + 1);
  for (int64_t t : w.received) at(t).set_received(at(t).received() + 1);
  for (int64_t t : w.rejected) at(t).set_rejected(at(t).rejected() + 1);
  std::vector<std::vector<int64_t>> latencies(slices->size());
  for (const auto& [t, lat] : w.deliveries) {
    latencies[static_cast<size_t>((t - from) / width)].push_back(lat);
  }
  for (size_t i = 0; i < slices->size(); ++i) {
    SlaBucket& b = (*slices)[i];
    b.set_delivered(latencies[i].size());
    *b.mutable_delivery_latency() = Summarize(std::move(latencies[i]));
    b.set_down_ns(LengthWithin(w.outcomes.down, b.start_ns(), b.end_ns()));
  }
}

// The outbound half of one peer's figures.
void Outbound(const Ledger& ledger, const FigureOptions& o, const std::string& org,
              const std::string& peer, SlaPeer* out, PeerWork* w, UsedEntries* used) {
  const int64_t from = o.from_ns, to = o.to_ns, grace = absl::ToInt64Nanoseconds(o.grace);
  auto in = [&](const Event& e) { return e.seen() && e.at_ns >= from && e.at_ns < to; };
  gatehouse::v1::SlaOutbound* f = out->mutable_outbound();
  std::vector<Interval> overdue, fresh;
  std::vector<std::pair<int64_t, int>> depth;  // (time, +1 submitted / -1 settled)
  std::vector<const OutboundRecord*> listed;
  int64_t oldest_pending = kForever;
  for (const auto& [id, r] : ledger.outbound()) {
    if (r.own_org != org || r.peer != peer) continue;
    const Event& sub = r.submitted;
    const Event& del = r.delivered;
    const Event& settled = r.settled();
    // A delivery shows the link worked for a grace after it.
    if (del.seen() && del.at_ns >= from - grace && del.at_ns < to) {
      fresh.push_back({del.at_ns, del.at_ns + grace});
      used->Add(del);
    }
    const bool active = (sub.seen() ? sub.at_ns < to : in(settled)) &&
                        (!settled.seen() || settled.at_ns >= from);
    if (!active) continue;
    listed.push_back(&r);
    for (const Event* e : {&sub, &del, &r.expired}) {
      if (e->seen() && e->at_ns < to) used->Add(*e);
    }
    if (in(sub)) {
      f->set_submitted(f->submitted() + 1);
      f->set_submitted_bytes(f->submitted_bytes() + r.bytes);
      w->submitted.push_back(sub.at_ns);
    }
    if (sub.seen() && sub.at_ns < from) f->set_pending_at_start(f->pending_at_start() + 1);
    if (in(del)) {
      f->set_delivered(f->delivered() + 1);
      f->set_delivered_bytes(f->delivered_bytes() + r.bytes);
      if (!sub.seen()) {
        f->set_delivered_without_submit(f->delivered_without_submit() + 1);
      } else if (del.at_ns < sub.at_ns) {
        f->set_clock_steps(f->clock_steps() + 1);
        if (static_cast<size_t>(f->clock_step_record_ids_size()) < kMaxListedIds) {
          f->add_clock_step_record_ids(r.record_id);
        }
      } else {
        if (sub.at_ns < from) f->set_delivered_submitted_before(f->delivered_submitted_before() + 1);
        w->deliveries.push_back({del.at_ns, del.at_ns - sub.at_ns});
        w->outcomes.records.push_back(
            {Outcomes::State::kDelivered, sub.at_ns, del.at_ns, del.at_ns - sub.at_ns});
      }
    } else if (!del.seen() && in(r.expired)) {
      f->set_expired(f->expired() + 1);
      w->outcomes.records.push_back({Outcomes::State::kExpired, sub.at_ns, r.expired.at_ns, 0});
    }
    if (!sub.seen()) continue;
    if (!settled.seen() || settled.at_ns >= to) {
      f->set_pending_at_end(f->pending_at_end() + 1);
      oldest_pending = std::min(oldest_pending, sub.at_ns);
      w->outcomes.records.push_back({Outcomes::State::kWaiting, sub.at_ns, 0, to - sub.at_ns});
    }
    // A clock step back makes a record that never waited: no depth, no overdue.
    if (settled.seen() && settled.at_ns < sub.at_ns) continue;
    depth.push_back({sub.at_ns, +1});
    if (settled.seen()) depth.push_back({settled.at_ns, -1});
    overdue.push_back({sub.at_ns + grace, settled.seen() ? settled.at_ns : kForever});
  }
  // Outbox depth: settle before submit at one instant, so a record handed
  // straight on is never counted twice.
  std::sort(depth.begin(), depth.end());
  int64_t d = 0;
  bool started = false;
  auto consider = [&](int64_t at) {
    if (d > 0 && static_cast<uint64_t>(d) > f->max_outbox_depth()) {
      f->set_max_outbox_depth(d);
      f->set_max_outbox_depth_at_ns(at);
    }
  };
  for (const auto& [t, delta] : depth) {
    if (t >= to) break;
    if (t >= from && !started) {
      started = true;
      consider(from);  // what was waiting when the period began
    }
    d += delta;
    if (t >= from) consider(t);
  }
  if (!started) consider(from);
  if (oldest_pending != kForever) f->set_oldest_pending_at_end_ns(oldest_pending);
  // Availability: overdue and no recent delivery (docs/service-levels.md).
  const std::vector<Interval> down = Subtract(Union(overdue), Union(fresh));
  w->outcomes.down = Clip(down, from, to);
  int64_t down_ns = 0;
  for (const Interval& i : down) {
    if (i.end <= from || i.start >= to) continue;
    gatehouse::v1::SlaInterval* x = f->add_outages();
    x->set_start_ns(std::max(i.start, from));
    x->set_end_ns(std::min(i.end, to));
    x->set_clipped_start(i.start < from);
    x->set_clipped_end(i.end > to);
    down_ns += x->end_ns() - x->start_ns();
    if (x->end_ns() - x->start_ns() >
        f->longest_outage().end_ns() - f->longest_outage().start_ns()) {
      *f->mutable_longest_outage() = *x;
    }
  }
  f->set_down_ns(down_ns);
  const absl::int128 up = to - from - down_ns;
  f->set_availability_ppm(static_cast<uint32_t>(up * 1000000 / (to - from)));
  if (o.with_records) {
    std::sort(listed.begin(), listed.end(), [](const OutboundRecord* a, const OutboundRecord* b) {
      const int64_t ta = a->submitted.seen() ? a->submitted.at_ns : a->delivered.at_ns;
      const int64_t tb = b->submitted.seen() ? b->submitted.at_ns : b->delivered.at_ns;
      return std::tie(ta, a->record_id) < std::tie(tb, b->record_id);
    });
    for (const OutboundRecord* r : listed) {
      gatehouse::v1::SlaOutboundRecord* x = f->add_records();
      x->set_record_id(r->record_id);
      x->set_submitted_ns(r->submitted.at_ns);
      x->set_delivered_ns(r->delivered.at_ns);
      x->set_expired_ns(r->expired.at_ns);
    }
  }
}

void Inbound(const Ledger& ledger, const FigureOptions& o, const std::string& org,
             const std::string& peer, SlaPeer* out, PeerWork* w, UsedEntries* used) {
  auto in = [&](const Event& e) { return e.seen() && e.at_ns >= o.from_ns && e.at_ns < o.to_ns; };
  gatehouse::v1::SlaInbound* f = out->mutable_inbound();
  std::vector<int64_t> fetch;
  std::vector<const InboundRecord*> listed;
  for (const auto& [id, r] : ledger.inbound()) {
    if (r.own_org != org || r.peer != peer) continue;
    if (in(r.received)) {
      f->set_received(f->received() + 1);
      f->set_received_bytes(f->received_bytes() + r.bytes);
      w->received.push_back(r.received.at_ns);
      listed.push_back(&r);
      used->Add(r.received);
    }
    if (in(r.first_fetched)) {
      f->set_fetched(f->fetched() + 1);
      used->Add(r.first_fetched);
      if (r.received.seen() && r.first_fetched.at_ns < r.received.at_ns) {
        f->set_clock_steps(f->clock_steps() + 1);
        if (static_cast<size_t>(f->clock_step_record_ids_size()) < kMaxListedIds) {
          f->add_clock_step_record_ids(r.record_id);
        }
      } else if (r.received.seen()) {
        fetch.push_back(r.first_fetched.at_ns - r.received.at_ns);
        used->Add(r.received);
      }
    }
    if (in(r.acked)) {
      f->set_acked(f->acked() + 1);
      used->Add(r.acked);
    }
  }
  *f->mutable_fetch_latency() = Summarize(std::move(fetch));
  if (o.with_records) {
    std::sort(listed.begin(), listed.end(), [](const InboundRecord* a, const InboundRecord* b) {
      return std::tie(a->received.at_ns, a->record_id) < std::tie(b->received.at_ns, b->record_id);
    });
    for (const InboundRecord* r : listed) {
      gatehouse::v1::SlaInboundRecord* x = f->add_records();
      x->set_record_id(r->record_id);
      x->set_received_ns(r->received.at_ns);
      x->set_first_fetched_ns(r->first_fetched.at_ns);
    }
  }
}

// Every peer `org` exchanged a record or a refusal with.
std::set<std::string> PeersOf(const Ledger& ledger, const std::string& org) {
  std::set<std::string> out;
  for (const auto& [id, r] : ledger.outbound()) {
    if (r.own_org == org) out.insert(r.peer);
  }
  for (const auto& [id, r] : ledger.inbound()) {
    if (r.own_org == org) out.insert(r.peer);
  }
  for (const Refusal& r : ledger.refusals()) {
    if (r.own_org == org) out.insert(r.peer);
  }
  return out;
}

std::string Rfc3339(int64_t ns) {
  return absl::FormatTime(absl::RFC3339_full, absl::FromUnixNanos(ns), absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<gatehouse::v1::ServiceLevelReport> ComputeReport(const Ledger& ledger,
                                                                const FigureOptions& o) {
  if (o.from_ns >= o.to_ns) {
    return absl::InvalidArgumentError(
        absl::StrCat("the period is empty: from ", Rfc3339(o.from_ns), " is not before to ", Rfc3339(o.to_ns)));
  }
  if (o.grace <= absl::ZeroDuration()) return absl::InvalidArgumentError("the grace must be positive");
  std::string org = o.org;
  if (org.empty()) {
    absl::StatusOr<std::string> own = ledger.OwnOrg();
    if (!own.ok()) return own.status();
    org = *own;
  }
  std::set<std::string> peers = PeersOf(ledger, org);
  if (!o.peer.empty()) {
    if (peers.count(o.peer) == 0) {
      return absl::NotFoundError(absl::StrCat(org, " never exchanged a record with ", o.peer));
    }
    peers = {o.peer};
  }
  gatehouse::v1::ServiceLevelReport report;
  report.set_format(kReportFormat);
  report.set_org(org);
  report.set_from_ns(o.from_ns);
  report.set_to_ns(o.to_ns);
  report.set_from(Rfc3339(o.from_ns));
  report.set_to(Rfc3339(o.to_ns));
  report.set_grace_ns(absl::ToInt64Nanoseconds(o.grace));
  UsedEntries used;
  for (const Restart& r : ledger.restarts()) {
    if (r.event.at_ns < o.from_ns || r.event.at_ns >= o.to_ns) continue;
    gatehouse::v1::SlaRestart* x = report.add_restarts();
    x->set_at_ns(r.event.at_ns);
    x->set_leaf_index(r.event.index);
    x->set_reason(r.reason);
    used.Add(r.event);
  }
  const int64_t chart_width = o.to_ns - o.from_ns <= 7 * kDayNs ? kHourNs : kDayNs;
  for (const std::string& peer : peers) {
    SlaPeer* p = report.add_peers();
    p->set_peer(peer);
    PeerWork w;
    w.outcomes.from_ns = o.from_ns;
    w.outcomes.to_ns = o.to_ns;
    Outbound(ledger, o, org, peer, p, &w, &used);
    Inbound(ledger, o, org, peer, p, &w, &used);
    RefusalGroups denied, rejected;
    for (const Refusal& r : ledger.refusals()) {
      if (r.own_org != org || r.peer != peer || r.event.at_ns < o.from_ns || r.event.at_ns >= o.to_ns) {
        continue;
      }
      used.Add(r.event);
      (r.outbound ? denied : rejected).Add(r);
      (r.outbound ? w.denied : w.rejected).push_back(r.event.at_ns);
    }
    p->mutable_outbound()->set_denied(w.denied.size());
    p->mutable_inbound()->set_rejected(w.rejected.size());
    denied.Fill(p->mutable_outbound()->mutable_refusals());
    rejected.Fill(p->mutable_inbound()->mutable_refusals());
    std::vector<int64_t> latencies;
    for (const auto& d : w.deliveries) latencies.push_back(d.second);
    *p->mutable_outbound()->mutable_delivery_latency() = Summarize(std::move(latencies));
    std::vector<SlaBucket> buckets = Slices(o.from_ns, o.to_ns, chart_width);
    std::vector<SlaBucket> days = Slices(o.from_ns, o.to_ns, kDayNs);
    FillSlices(w, o.from_ns, &buckets);
    FillSlices(w, o.from_ns, &days);
    std::vector<int64_t> ends;
    for (const SlaBucket& b : buckets) ends.push_back(b.end_ns());
    for (const Objective& obj : o.objectives) *p->add_objectives() = Evaluate(obj, w.outcomes, ends);
    for (SlaBucket& b : buckets) *p->add_buckets() = std::move(b);
    for (SlaBucket& b : days) *p->add_days() = std::move(b);
  }
  used.Fill(report.mutable_binding());
  return report;
}

}  // namespace gatehouse::sla

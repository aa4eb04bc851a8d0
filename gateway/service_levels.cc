#include "gateway/service_levels.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "audit/log_directory.h"
#include "common/log.h"
#include "google/protobuf/util/json_util.h"
#include "sla/figures.h"
#include "sla/html_report.h"

namespace gatehouse {
namespace {

std::vector<sla::Objective> Parse(const google::protobuf::RepeatedPtrField<std::string>& specs) {
  if (specs.empty()) return sla::DefaultObjectives();
  std::vector<sla::Objective> out;
  // Validated with the config: each parses.
  for (const std::string& spec : specs) out.push_back(*sla::ParseObjective(spec));
  return out;
}

}  // namespace

ServiceLevels::ServiceLevels(std::string org, const v1::ServiceLevelConfig& config)
    : org_(std::move(org)),
      window_(absl::Hours(config.window_hours())),
      grace_(absl::Seconds(config.grace_seconds())),
      refresh_(absl::Seconds(config.refresh_seconds())),
      max_records_(static_cast<size_t>(config.max_records())),
      objectives_(Parse(config.objectives())) {
  for (const auto& [peer, objectives] : config.peer_objectives()) {
    peer_objectives_[peer] = Parse(objectives.objectives());
  }
}

absl::Status ServiceLevels::Load(const std::string& audit_dir, uint64_t up_to, absl::Time now) {
  return Read([&](const EntryFn& fn) { return audit::ForEachEntry(audit_dir, 0, fn); }, up_to,
              now);
}

absl::Status ServiceLevels::Load(const audit::AuditTrail& log, uint64_t up_to, absl::Time now) {
  return Read([&](const EntryFn& fn) { return log.ForEachEntry(0, fn); }, up_to, now);
}

absl::Status ServiceLevels::Read(const std::function<absl::Status(const EntryFn&)>& entries,
                                 uint64_t up_to, absl::Time now) {
  sla::Ledger ledger;
  const int64_t from_ns = absl::ToUnixNanos(now - window_ - grace_);
  int64_t covered_from = INT64_MIN;
  // A record settled before the window no longer counts; one still waiting
  // does, so every entry is read, and what is old pruned as the scan goes:
  // memory stays as bounded as it is afterwards.
  auto prune = [&] {
    ledger.Prune(from_ns);
    covered_from = std::max(covered_from, Bound(&ledger));
  };
  absl::Status read = entries([&](uint64_t i, absl::string_view bytes) {
    if (i >= up_to) return false;
    v1::AuditEntry e;
    if (e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) ledger.Add(i, e);
    if (i % 65536 == 65535) prune();
    return true;
  });
  prune();
  std::lock_guard<std::mutex> lock(mu_);
  ledger_ = std::move(ledger);
  if (covered_from != INT64_MIN) {
    covered_from_ns_ = std::max(covered_from_ns_, covered_from);
    ++bounded_;
  }
  loaded_ = true;
  {
    // Entries read back above are not taken twice.
    std::lock_guard<std::mutex> queue(queue_mu_);
    queued_.erase(std::remove_if(queued_.begin(), queued_.end(),
                                 [up_to](const auto& q) { return q.first < up_to; }),
                  queued_.end());
  }
  Drain();
  return read;
}

void ServiceLevels::Add(uint64_t index, const v1::AuditEntry& entry) {
  switch (entry.event()) {
    case v1::AUDIT_EVENT_SUBMITTED:
    case v1::AUDIT_EVENT_DELIVERED:
    case v1::AUDIT_EVENT_EXPIRED:
    case v1::AUDIT_EVENT_DENIED:
    case v1::AUDIT_EVENT_RECEIVED:
    case v1::AUDIT_EVENT_REJECTED:
    case v1::AUDIT_EVENT_FETCHED:
    case v1::AUDIT_EVENT_ACKED:
    case v1::AUDIT_EVENT_GATEWAY_STARTED:
      break;
    default:
      return;  // no figure uses it
  }
  size_t queued;
  {
    std::lock_guard<std::mutex> queue(queue_mu_);
    queued_.emplace_back(index, entry);
    queued = queued_.size();
  }
  // A busy gateway's queue is taken in between refreshes too, unless a
  // refresh is running: this thread never waits for one.
  if (queued >= kDrainAt && mu_.try_lock()) {
    std::lock_guard<std::mutex> lock(mu_, std::adopt_lock);
    Drain();
  }
}

void ServiceLevels::Drain() {
  if (!loaded_) return;  // Load takes them, in order
  std::vector<std::pair<uint64_t, v1::AuditEntry>> entries;
  {
    std::lock_guard<std::mutex> queue(queue_mu_);
    entries.swap(queued_);
  }
  for (const auto& [index, entry] : entries) {
    if (entry.event() == v1::AUDIT_EVENT_DELIVERED) CountDelivery(entry);
    ledger_.Add(index, entry);
  }
}

void ServiceLevels::CountDelivery(const v1::AuditEntry& entry) {
  const std::string& peer = entry.recipient_org();
  ++delivered_[peer];
  auto submitted = ledger_.outbound().find(entry.record_id());
  if (submitted == ledger_.outbound().end() || !submitted->second.submitted.seen()) return;
  const absl::Duration took =
      absl::Nanoseconds(entry.time_unix_ns() - submitted->second.submitted.at_ns);
  for (const sla::Objective& o : ObjectivesOf(peer)) {
    if (o.kind == sla::Objective::Kind::kDelivery && took > o.within) ++late_[{peer, o.Name()}];
  }
}

int64_t ServiceLevels::Bound(sla::Ledger* ledger) const {
  const size_t held = ledger->outbound().size() + ledger->inbound().size();
  if (held <= max_records_) return INT64_MIN;
  // Drop settled records, oldest first, down to three quarters of the
  // bound (so this does not run at every refresh); records still waiting
  // stay, whatever their number: they are what the figures are about.
  std::vector<int64_t> settled;
  for (const auto& [id, r] : ledger->outbound()) {
    if (r.settled().seen()) settled.push_back(r.settled().at_ns);
  }
  for (const auto& [id, r] : ledger->inbound()) {
    if (r.first_fetched.seen()) settled.push_back(r.first_fetched.at_ns);
  }
  const size_t drop = std::min(settled.size(), held - max_records_ * 3 / 4);
  if (drop == 0) return INT64_MIN;
  std::nth_element(settled.begin(), settled.begin() + (drop - 1), settled.end());
  const int64_t cut = settled[drop - 1] + 1;
  ledger->Prune(cut);
  LogWarning("service levels: the live window is shortened to stay within serviceLevels.maxRecords",
             {{"records", absl::StrCat(held)}, {"max_records", absl::StrCat(max_records_)}});
  // Prune keeps figures exact for periods from a grace after the cut.
  return cut + absl::ToInt64Nanoseconds(grace_);
}

const std::vector<sla::Objective>& ServiceLevels::ObjectivesOf(const std::string& peer) const {
  auto own = peer_objectives_.find(peer);
  return own != peer_objectives_.end() ? own->second : objectives_;
}

void ServiceLevels::Start() {
  Refresh(absl::Now());
  rounds_.Start(absl::ToChronoMilliseconds(refresh_), [this] { Refresh(absl::Now()); });
}

void ServiceLevels::Refresh(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!loaded_) return;
  Drain();
  if (const int64_t from = Bound(&ledger_); from != INT64_MIN) {
    covered_from_ns_ = std::max(covered_from_ns_, from);
    ++bounded_;
  }
  sla::FigureOptions o;
  o.from_ns = std::max(absl::ToUnixNanos(now - window_), covered_from_ns_);
  o.to_ns = absl::ToUnixNanos(now);
  o.grace = grace_;
  o.org = org_;
  o.with_records = false;
  o.objectives = objectives_;
  absl::StatusOr<v1::ServiceLevelReport> report = sla::ComputeReport(ledger_, o);
  if (!report.ok()) {
    LogWarning("service levels not computed", {{"error", report.status().ToString()}});
    return;
  }
  // A peer with objectives of its own is computed again with them.
  for (v1::SlaPeer& peer : *report->mutable_peers()) {
    if (peer_objectives_.count(peer.peer()) == 0) continue;
    o.peer = peer.peer();
    o.objectives = peer_objectives_.at(peer.peer());
    absl::StatusOr<v1::ServiceLevelReport> own = sla::ComputeReport(ledger_, o);
    if (own.ok() && own->peers_size() == 1) peer = own->peers(0);
  }
  report_ = *std::move(report);
  // What the next window can still need: records settled before it, and
  // refusals and restarts, are forgotten.
  ledger_.Prune(absl::ToUnixNanos(now - window_ - grace_));
}

v1::ServiceLevelReport ServiceLevels::Report() const {
  std::lock_guard<std::mutex> lock(mu_);
  return report_;
}

std::string ServiceLevels::Json() const {
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(Report(), &out, o);
  return out;
}

std::string ServiceLevels::Html() const { return sla::RenderHtml(Report()); }

std::vector<Gauge> ServiceLevels::Gauges() const {
  const v1::ServiceLevelReport report = Report();
  std::vector<Gauge> out;
  const std::string window = absl::StrCat(absl::ToInt64Hours(window_), "h");
  for (const v1::SlaPeer& p : report.peers()) {
    const std::string peer = Labels({{"peer", p.peer()}});
    const v1::SlaOutbound& ob = p.outbound();
    out.push_back({"gatehouse_sla_delivery_latency_seconds",
                   "Delivery latency (submitted to receipt) over the window, by quantile.",
                   ob.delivery_latency().p99_ns() / 1e9,
                   Labels({{"peer", p.peer()}, {"quantile", "0.99"}})});
    out.push_back({"gatehouse_sla_delivery_latency_seconds", "",
                   ob.delivery_latency().p50_ns() / 1e9,
                   Labels({{"peer", p.peer()}, {"quantile", "0.5"}})});
    out.push_back({"gatehouse_sla_availability_ratio",
                   "Share of the window the link to the peer was available.",
                   ob.availability_ppm() / 1e6, peer});
    bool down_now = false;
    for (const v1::SlaInterval& i : ob.outages()) down_now |= i.clipped_end();
    out.push_back({"gatehouse_sla_link_down",
                   "1 while the link to the peer is down (a record waits past the grace).",
                   down_now ? 1.0 : 0.0, peer});
    out.push_back({"gatehouse_sla_records_pending", "Records to the peer not yet delivered.",
                   static_cast<double>(ob.pending_at_end()), peer});
    for (const v1::SlaObjective& o : p.objectives()) {
      const std::string labels =
          Labels({{"peer", p.peer()}, {"objective", o.name()}, {"window", window}});
      out.push_back({"gatehouse_sla_objective_met", "1 if the objective is met over the window.",
                     o.met() ? 1.0 : 0.0, labels});
      out.push_back({"gatehouse_sla_error_budget_remaining_ratio",
                     "Share of the objective's error budget left over the window.",
                     o.remaining_fraction(), labels});
    }
  }
  out.push_back({"gatehouse_sla_window_start_timestamp_seconds",
                  "Start of the window the live figures cover, Unix seconds (later than "
                  "serviceLevels.windowHours ago when maxRecords shortened it).",
                  report.from_ns() / 1e9, ""});
  std::lock_guard<std::mutex> lock(mu_);
  out.push_back({"gatehouse_sla_window_shortened_total",
                 "Times the live window was shortened to stay within serviceLevels.maxRecords.",
                 static_cast<double>(bounded_), "", true});
  for (const auto& [peer, n] : delivered_) {
    out.push_back({"gatehouse_sla_delivered_total",
                   "Records delivered to the peer since the gateway started.",
                   static_cast<double>(n), Labels({{"peer", peer}}), true});
  }
  for (const auto& [key, n] : late_) {
    out.push_back({"gatehouse_sla_delivered_late_total",
                   "Records delivered later than a delivery objective allows, since start.",
                   static_cast<double>(n),
                   Labels({{"peer", key.first}, {"objective", key.second}}),
                   true});
  }
  // All the lines of one metric together, its first (with the help) first.
  std::stable_sort(out.begin(), out.end(),
                   [](const Gauge& a, const Gauge& b) { return a.name < b.name; });
  return out;
}

}  // namespace gatehouse

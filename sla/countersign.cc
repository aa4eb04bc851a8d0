#include "sla/countersign.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "sla/figures.h"
#include "sla/percentile.h"

namespace gatehouse::sla {
namespace {

using gatehouse::v1::ServiceLevelReport;

std::string At(int64_t ns) {
  return absl::FormatTime(absl::RFC3339_full, absl::FromUnixNanos(ns), absl::UTCTimeZone());
}

// The report's figures must be the ones its records give: otherwise it was
// edited after it was computed, and nothing in it can be agreed to.
absl::Status CheckFiguresFollow(const ServiceLevelReport& report) {
  const gatehouse::v1::SlaOutbound& out = report.peers(0).outbound();
  std::vector<int64_t> latencies;
  for (const auto& r : out.records()) {
    if (r.delivered_ns() >= report.from_ns() && r.delivered_ns() < report.to_ns() &&
        r.submitted_ns() != 0 && r.delivered_ns() >= r.submitted_ns()) {
      latencies.push_back(r.delivered_ns() - r.submitted_ns());
    }
  }
  if (!google::protobuf::util::MessageDifferencer::Equals(Summarize(latencies),
                                                          out.delivery_latency())) {
    return absl::DataLossError(
        "the report's delivery latency does not follow from the records it lists: it was "
        "changed after it was computed");
  }
  if (static_cast<uint64_t>(report.peers(0).inbound().records_size()) !=
      report.peers(0).inbound().received()) {
    return absl::DataLossError("the report's received count does not match the records it lists");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Difference>> CompareWithOwnLog(const ServiceLevelReport& report,
                                                          const Ledger& own,
                                                          const std::string& own_org,
                                                          absl::Duration tolerance) {
  if (report.format() != kReportFormat) {
    return absl::InvalidArgumentError(absl::StrCat("not a service-level report (format '",
                                                   report.format(), "', want ", kReportFormat, ")"));
  }
  if (report.org() == own_org) {
    return absl::InvalidArgumentError(absl::StrCat("the report is ", own_org,
                                                   "'s own; a peer countersigns it"));
  }
  if (report.peers_size() != 1 || report.peers(0).peer() != own_org) {
    std::string peers;
    for (const auto& p : report.peers()) absl::StrAppend(&peers, peers.empty() ? "" : ", ", p.peer());
    return absl::InvalidArgumentError(absl::StrCat(
        "the report is about ", peers.empty() ? "no peer" : peers, ", not ", own_org,
        " alone: ask ", report.org(), " for a report with --peer ", own_org));
  }
  if (auto st = CheckFiguresFollow(report); !st.ok()) return st;
  const std::string& sender = report.org();
  const int64_t from = report.from_ns(), to = report.to_ns();
  const int64_t tol = absl::ToInt64Nanoseconds(tolerance);
  std::vector<Difference> diffs;
  auto differ = [&](const std::string& id, std::string what) { diffs.push_back({id, std::move(what)}); };

  // Records the report's gateway sent us: our RECEIVED must exist and lie in
  // [SUBMITTED - tol, DELIVERED + tol].
  std::set<std::string> listed;
  for (const auto& r : report.peers(0).outbound().records()) {
    listed.insert(r.record_id());
    auto mine = own.inbound().find(r.record_id());
    const Event received = mine != own.inbound().end() && mine->second.peer == sender
                               ? mine->second.received : Event{};
    const bool delivered_in = r.delivered_ns() >= from && r.delivered_ns() < to;
    if (delivered_in && !received.seen()) {
      differ(r.record_id(), absl::StrCat(sender, " logged it DELIVERED at ", At(r.delivered_ns()),
                                         "; our log never RECEIVED it"));
    } else if (received.seen() && r.delivered_ns() != 0 && received.at_ns > r.delivered_ns() + tol) {
      differ(r.record_id(), absl::StrCat("we RECEIVED it at ", At(received.at_ns), ", after ", sender,
                                         " logged it DELIVERED at ", At(r.delivered_ns())));
    } else if (received.seen() && r.submitted_ns() != 0 && received.at_ns < r.submitted_ns() - tol) {
      differ(r.record_id(), absl::StrCat("we RECEIVED it at ", At(received.at_ns), ", before ", sender,
                                         " logged it SUBMITTED at ", At(r.submitted_ns())));
    }
  }
  // Well inside the period, the report must list whatever we RECEIVED: such
  // a record was submitted before the end and delivered after the start.
  for (const auto& [id, r] : own.inbound()) {
    if (r.peer != sender || r.own_org != own_org || !r.received.seen()) continue;
    if (r.received.at_ns >= from + tol && r.received.at_ns < to - tol && listed.count(id) == 0) {
      differ(id, absl::StrCat("we RECEIVED it at ", At(r.received.at_ns), "; the report does not list it"));
    }
  }

  // Records we sent the report's gateway: it must have RECEIVED them between
  // our SUBMITTED and DELIVERED, within the tolerance.
  listed.clear();
  for (const auto& r : report.peers(0).inbound().records()) {
    listed.insert(r.record_id());
    auto mine = own.outbound().find(r.record_id());
    if (mine == own.outbound().end() || mine->second.peer != sender ||
        !mine->second.submitted.seen()) {
      differ(r.record_id(), absl::StrCat(sender, " RECEIVED it at ", At(r.received_ns()),
                                         "; our log never SUBMITTED it to ", sender));
      continue;
    }
    const OutboundRecord& m = mine->second;
    if (r.received_ns() < m.submitted.at_ns - tol) {
      differ(r.record_id(), absl::StrCat(sender, " RECEIVED it at ", At(r.received_ns()),
                                         ", before we logged it SUBMITTED at ", At(m.submitted.at_ns)));
    } else if (m.delivered.seen() && r.received_ns() > m.delivered.at_ns + tol) {
      differ(r.record_id(), absl::StrCat(sender, " RECEIVED it at ", At(r.received_ns()),
                                         ", after we logged it DELIVERED at ", At(m.delivered.at_ns)));
    }
  }
  // A record we submitted and saw delivered well inside the period was
  // received inside it: the report must list it.
  for (const auto& [id, m] : own.outbound()) {
    if (m.peer != sender || m.own_org != own_org || !m.submitted.seen() || !m.delivered.seen()) continue;
    if (m.submitted.at_ns >= from + tol && m.delivered.at_ns < to - tol && listed.count(id) == 0) {
      differ(id, absl::StrCat("we logged it DELIVERED at ", At(m.delivered.at_ns),
                              "; the report does not list it as RECEIVED"));
    }
  }
  std::sort(diffs.begin(), diffs.end(),
            [](const Difference& a, const Difference& b) { return a.record_id < b.record_id; });
  return diffs;
}

}  // namespace gatehouse::sla

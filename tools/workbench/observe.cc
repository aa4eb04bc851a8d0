#include "tools/workbench/observe.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gatehouse::workbench {
namespace {

constexpr int64_t kMinuteNs = int64_t{60} * 1000000000;
constexpr int64_t kDayNs = kMinuteNs * 60 * 24;
constexpr int64_t kWidthsNs[] = {kMinuteNs,      5 * kMinuteNs, 15 * kMinuteNs, 60 * kMinuteNs,
                                 360 * kMinuteNs, kDayNs,       7 * kDayNs};

bool IsDecision(const v1::AuditEntry& e) {
  return e.decision() == v1::AUDIT_DECISION_PERMIT || e.decision() == v1::AUDIT_DECISION_DENY;
}

Flow FlowOf(const v1::AuditEntry& e) {
  const v1::Labels& l = e.labels();
  return Flow{e.sender_org(), e.recipient_org(), l.record_type(), l.classification(),
              l.purpose(), absl::StrJoin(l.caveats(), ", ")};
}

std::string RuleOf(const v1::AuditEntry& e) {
  return e.rule_ids().empty() ? "(no rule)" : e.rule_ids(0);
}

// Adds one entry to `flow`'s row of `rows`, with `reason` and `rules`.
void Count(std::map<Flow, Counted>* rows, const Flow& flow, const std::string& reason,
           const std::vector<std::string>& rules) {
  Counted& c = (*rows)[flow];
  c.flow = flow;
  ++c.count;
  ++c.reasons[reason];
  for (const std::string& r : rules) {
    if (std::find(c.rules.begin(), c.rules.end(), r) == c.rules.end()) c.rules.push_back(r);
  }
}

// The rows, most entries first (ties by flow), at most kMaxObservedRows.
std::vector<Counted> Top(std::map<Flow, Counted> rows) {
  std::vector<Counted> out;
  for (auto& [flow, c] : rows) out.push_back(std::move(c));
  std::stable_sort(out.begin(), out.end(),
                   [](const Counted& a, const Counted& b) { return a.count > b.count; });
  if (out.size() > kMaxObservedRows) out.resize(kMaxObservedRows);
  return out;
}

int64_t BucketWidth(int64_t span_ns) {
  for (int64_t w : kWidthsNs) {
    if (span_ns / w < kMaxBuckets) return w;
  }
  return (span_ns / (kMaxBuckets - 1) / kDayNs + 1) * kDayNs;  // whole days
}

void FillBuckets(const std::vector<v1::AuditEntry>& entries, Observation* o) {
  if (o->last_ns == 0) return;  // no decision with a time
  o->bucket_ns = BucketWidth(o->last_ns - o->first_ns);
  const int64_t origin = o->first_ns - o->first_ns % o->bucket_ns;
  o->buckets.resize(static_cast<size_t>((o->last_ns - origin) / o->bucket_ns + 1));
  for (size_t i = 0; i < o->buckets.size(); ++i) {
    o->buckets[i].start_ns = origin + static_cast<int64_t>(i) * o->bucket_ns;
  }
  for (const v1::AuditEntry& e : entries) {
    if (!IsDecision(e) || e.time_unix_ns() <= 0) continue;
    auto& slot = o->buckets[static_cast<size_t>((e.time_unix_ns() - origin) / o->bucket_ns)]
                     .by_rule[RuleOf(e)];
    (e.decision() == v1::AUDIT_DECISION_PERMIT ? slot.first : slot.second)++;
  }
}

// What `draft` decides for the labels `e` records, as a gateway would.
policy::Decision DecideByDraft(const policy::Engine& draft, const v1::AuditEntry& e) {
  const v1::Labels& l = e.labels();
  std::vector<absl::string_view> caveats(l.caveats().begin(), l.caveats().end());
  policy::Request req;
  req.sender = e.sender_org();
  req.recipient = e.recipient_org();
  req.record_type = l.record_type();
  req.classification = l.classification();
  req.purpose = l.purpose();
  req.originator = l.originator();
  req.caveats = caveats;
  req.requester_role = l.end_user_role();
  req.legal_basis = l.legal_basis();
  return draft.Evaluate(req);
}

void CountDraftChange(const policy::Engine& draft, const v1::AuditEntry& e,
                      std::map<Flow, Counted>* rows, Observation* o) {
  const policy::Decision d = DecideByDraft(draft, e);
  const bool was = e.decision() == v1::AUDIT_DECISION_PERMIT;
  if (d.allowed == was) return;
  ++o->draft_changed;
  std::vector<std::string> rules;
  for (int i = 0; i < d.recorded_rules(); ++i) rules.emplace_back(d.rule_id(i));
  Count(rows, FlowOf(e),
        was ? absl::StrCat("was permitted, the draft denies: ", d.reason)
            : std::string("was denied, the draft permits it"),
        rules);
}

}  // namespace

bool Flow::operator<(const Flow& o) const {
  return std::tie(sender, recipient, record_type, classification, purpose, caveats) <
         std::tie(o.sender, o.recipient, o.record_type, o.classification, o.purpose, o.caveats);
}

absl::StatusOr<std::vector<v1::AuditEntry>> ParseAuditExport(absl::string_view text) {
  std::vector<v1::AuditEntry> out;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (out.size() == kMaxExportEntries) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the export has more than ", kMaxExportEntries,
          " entries; export less (auditctl export --since ... --until ...)"));
    }
    v1::AuditInclusionProof row;
    const auto status = google::protobuf::util::JsonStringToMessage(
        std::string(line), &row, google::protobuf::util::JsonParseOptions());
    if (!status.ok() || !row.has_entry()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_no, ": not an entry of auditctl export (",
          status.ok() ? "no \"entry\"" : std::string(status.message()), ")"));
    }
    out.push_back(std::move(*row.mutable_entry()));
  }
  return out;
}

Observation Observe(const std::vector<v1::AuditEntry>& entries, const policy::Engine* draft) {
  Observation o;
  o.entries = static_cast<int>(entries.size());
  o.with_draft = draft != nullptr;
  std::map<Flow, Counted> denied, shadow, changes;
  for (const v1::AuditEntry& e : entries) {
    if (e.event() == v1::AUDIT_EVENT_SHADOW_DIFFERS) {
      ++o.shadow_differences;
      Count(&shadow, FlowOf(e), e.reason(), {e.rule_ids().begin(), e.rule_ids().end()});
      continue;
    }
    if (!IsDecision(e)) continue;
    const bool permit = e.decision() == v1::AUDIT_DECISION_PERMIT;
    (permit ? o.permits : o.denies)++;
    (permit ? o.rules[RuleOf(e)].first : o.rules[RuleOf(e)].second)++;
    if (const int64_t t = e.time_unix_ns(); t > 0) {  // the chart's span: timed entries
      o.first_ns = o.first_ns == 0 ? t : std::min(o.first_ns, t);
      o.last_ns = std::max(o.last_ns, t);
    }
    if (!permit) Count(&denied, FlowOf(e), e.reason(), {e.rule_ids().begin(), e.rule_ids().end()});
    if (draft != nullptr) CountDraftChange(*draft, e, &changes, &o);
  }
  FillBuckets(entries, &o);
  o.most_denied = Top(std::move(denied));
  o.shadow = Top(std::move(shadow));
  o.draft_changes = Top(std::move(changes));
  return o;
}

}  // namespace gatehouse::workbench

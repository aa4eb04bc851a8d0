// Api::Observe: an audit export summed up (observe.h) as JSON, with the
// draft's decisions on the same traffic when the draft compiles.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "policy/bundle.h"
#include "tools/workbench/draft.h"
#include "tools/workbench/observe.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

std::string Time(int64_t ns) {
  return ns == 0 ? "" : policy::FormatBundleTime(absl::FromUnixNanos(ns));
}

JsonValue Strings(const std::vector<std::string>& items) {
  std::vector<JsonValue> out;
  for (const std::string& s : items) out.push_back(Str(s));
  return List(std::move(out));
}

JsonValue RuleCounts(const std::map<std::string, std::pair<int, int>>& rules) {
  std::vector<JsonValue> out;
  for (const auto& [rule, n] : rules) {
    out.push_back(Object({{"rule", Str(rule)}, {"permits", Num(n.first)},
                          {"denies", Num(n.second)}}));
  }
  return List(std::move(out));
}

// A row of a table: the flow, how many entries, their reasons most first.
JsonValue Rows(const std::vector<Counted>& rows) {
  std::vector<JsonValue> out;
  for (const Counted& c : rows) {
    std::vector<std::pair<std::string, int>> reasons(c.reasons.begin(), c.reasons.end());
    std::stable_sort(reasons.begin(), reasons.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::vector<JsonValue> why;
    for (const auto& [reason, n] : reasons) {
      why.push_back(Object({{"reason", Str(reason)}, {"count", Num(n)}}));
    }
    const Flow& f = c.flow;
    out.push_back(Object({{"sender", Str(f.sender)}, {"recipient", Str(f.recipient)},
                          {"record_type", Str(f.record_type)},
                          {"classification", Str(f.classification)},
                          {"purpose", Str(f.purpose)}, {"caveats", Str(f.caveats)},
                          {"count", Num(c.count)}, {"reasons", List(std::move(why))},
                          {"rules", Strings(c.rules)}}));
  }
  return List(std::move(out));
}

JsonValue ObservationJson(const Observation& o, const std::string& draft_error) {
  std::vector<JsonValue> buckets;
  for (const TimeBucket& b : o.buckets) {
    buckets.push_back(Object({{"start", Str(Time(b.start_ns))}, {"rules", RuleCounts(b.by_rule)}}));
  }
  JsonValue draft = Object({{"evaluated", Bool(o.with_draft)}, {"error", Str(draft_error)},
                            {"changed", Num(o.draft_changed)}, {"changes", Rows(o.draft_changes)}});
  return Object({{"entries", Num(o.entries)}, {"permits", Num(o.permits)},
                 {"denies", Num(o.denies)}, {"shadow_differences", Num(o.shadow_differences)},
                 {"first", Str(Time(o.first_ns))}, {"last", Str(Time(o.last_ns))},
                 {"bucket_seconds", Num(static_cast<double>(o.bucket_ns / 1000000000))},
                 {"buckets", List(std::move(buckets))}, {"rules", RuleCounts(o.rules)},
                 {"most_denied", Rows(o.most_denied)}, {"shadow", Rows(o.shadow)},
                 {"draft", std::move(draft)}});
}

}  // namespace

absl::StatusOr<JsonValue> Api::Observe(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"export", "source"});
  if (!body.ok()) return body.status();
  auto exported = body->String("export");
  if (!exported.ok()) return exported.status();
  auto source = body->OptionalString("source");
  if (!source.ok()) return source.status();
  auto entries = ParseAuditExport(*exported);
  if (!entries.ok()) return entries.status();
  // The draft on the same traffic, when there is one and it compiles; its
  // error otherwise, as the traffic's summary stands without it.
  std::string draft_error;
  absl::StatusOr<policy::Engine> engine = absl::NotFoundError("");
  if (!source->empty()) {
    engine = EngineOf(CompileDraft(*source));
    if (!engine.ok()) draft_error = std::string(engine.status().message());
  }
  return ObservationJson(
      gatehouse::workbench::Observe(*entries, engine.ok() ? &*engine : nullptr), draft_error);
}

}  // namespace gatehouse::workbench

// What-ifs decided by the engine, for /api/ask and /api/flows.
#include "tools/workbench/what_if.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "policy/describe.h"

namespace gatehouse::workbench {
namespace {

// The obligations of an allowed decision in a few letters each.
std::string Marks(const policy::Decision& d) {
  if (!d.allowed) return "";
  const policy::DecisionObligations& o = d.obligations;
  std::vector<std::string> marks;
  if (o.encrypt) marks.push_back("enc");
  if (o.redact != 0) marks.push_back("redact");
  if (o.retain_days != 0) marks.push_back("keep");
  if (o.notify_originator) marks.push_back("notify");
  if (o.require_recipient_system) marks.push_back("sys");
  return absl::StrJoin(marks, ", ");
}

JsonValue DecisionJson(const policy::Engine& engine, const policy::Decision& d,
                       std::string explanation) {
  std::vector<JsonValue> rules;
  for (int i = 0; i < d.recorded_rules(); ++i) rules.push_back(Str(d.rule_id(i)));
  return Object({
      {"allowed", Bool(d.allowed)},
      {"outcome", Str(policy::OutcomeName(d.outcome))},
      {"reason", Str(d.reason)},
      {"rules", List(std::move(rules))},
      {"obligations", Str(d.allowed ? policy::DescribeObligations(engine, d.obligations) : "")},
      {"marks", Str(Marks(d))},
      {"explanation", Str(explanation)},
  });
}

}  // namespace

absl::StatusOr<WhatIf> WhatIfOf(const JsonBody& body) {
  WhatIf w;
  const std::pair<const char*, std::string*> strings[] = {
      {"sender", &w.sender},         {"recipient", &w.recipient},
      {"type", &w.type},             {"classification", &w.classification},
      {"purpose", &w.purpose},       {"originator", &w.originator},
      {"role", &w.role},             {"legal_basis", &w.basis}};
  for (const auto& [key, out] : strings) {
    auto v = body.OptionalString(key);  // a missing label is the engine's to refuse
    if (!v.ok()) return v.status();
    *out = *std::move(v);
  }
  auto caveats = body.StringList("caveats");
  if (!caveats.ok()) return caveats.status();
  w.caveats = *std::move(caveats);
  return w;
}

JsonValue DecideWhatIf(const policy::Engine& engine, const WhatIf& w, bool explain) {
  const std::vector<absl::string_view> caveats(w.caveats.begin(), w.caveats.end());
  policy::Request request;
  request.sender = w.sender;
  request.recipient = w.recipient;
  request.record_type = w.type;
  request.classification = w.classification;
  request.purpose = w.purpose;
  request.originator = w.originator;
  request.caveats = caveats;
  request.requester_role = w.role;
  request.legal_basis = w.basis;
  policy::ResolvedRequest resolved;
  policy::Decision d;
  if (!engine.Resolve(request, &resolved, &d)) {
    return DecisionJson(engine, d, explain ? std::string(d.reason) : "");
  }
  d = engine.EvaluateResolved(resolved);
  if (!explain) return DecisionJson(engine, d, "");
  JsonValue out = DecisionJson(engine, d, policy::ExplainDecision(engine, resolved, d));
  (*out.mutable_struct_value()->mutable_fields())["request"] =
      Str(policy::DescribeRequest(engine.model().domains, resolved));
  return out;
}

}  // namespace gatehouse::workbench

// Api::Ask: one what-if request decided and explained, as `policyc explain`.
#include "absl/strings/string_view.h"
#include "policy/describe.h"
#include "policy/engine.h"
#include "tools/workbench/draft.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

// The labels of a what-if, owned; `views` backs the request's caveats.
struct Labels {
  std::string sender, recipient, type, classification, purpose, originator, role, basis;
  std::vector<std::string> caveats;
  std::vector<absl::string_view> views;

  policy::Request AsRequest() {
    views.assign(caveats.begin(), caveats.end());
    policy::Request r;
    r.sender = sender;
    r.recipient = recipient;
    r.record_type = type;
    r.classification = classification;
    r.purpose = purpose;
    r.originator = originator;
    r.caveats = views;
    r.requester_role = role;
    r.legal_basis = basis;
    return r;
  }
};

absl::StatusOr<Labels> LabelsOf(const JsonBody& body) {
  Labels l;
  const std::pair<const char*, std::string*> strings[] = {
      {"sender", &l.sender},         {"recipient", &l.recipient},
      {"type", &l.type},             {"classification", &l.classification},
      {"purpose", &l.purpose},       {"originator", &l.originator},
      {"role", &l.role},             {"legal_basis", &l.basis}};
  for (const auto& [key, out] : strings) {
    auto v = body.OptionalString(key);  // a missing label is the engine's to refuse
    if (!v.ok()) return v.status();
    *out = *std::move(v);
  }
  auto caveats = body.StringList("caveats");
  if (!caveats.ok()) return caveats.status();
  l.caveats = *std::move(caveats);
  return l;
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
      {"explanation", Str(explanation)},
  });
}

}  // namespace

absl::StatusOr<JsonValue> Api::Ask(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"source", "sender", "recipient", "type", "classification",
                                     "purpose", "originator", "caveats", "role", "legal_basis"});
  if (!body.ok()) return body.status();
  auto source = body->String("source");
  if (!source.ok()) return source.status();
  auto labels = LabelsOf(*body);
  if (!labels.ok()) return labels.status();
  auto engine = EngineOf(CompileDraft(*source));
  if (!engine.ok()) return engine.status();
  const policy::Request request = labels->AsRequest();
  policy::ResolvedRequest resolved;
  policy::Decision d;
  if (!engine->Resolve(request, &resolved, &d)) {
    return DecisionJson(*engine, d, std::string(d.reason));
  }
  d = engine->EvaluateResolved(resolved);
  JsonValue out = DecisionJson(*engine, d, policy::ExplainDecision(*engine, resolved, d));
  (*out.mutable_struct_value()->mutable_fields())["request"] =
      Str(policy::DescribeRequest(engine->model().domains, resolved));
  return out;
}

}  // namespace gatehouse::workbench

// Api::Compare: what the draft changes from another version, as `policyc
// diff` says it (policy/diff.h), with each change's flows and causes.
#include "absl/strings/str_cat.h"
#include "policy/describe.h"
#include "policy/diff.h"
#include "tools/workbench/draft.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

// Groups of each kind, and flows a group, sent to the page; the text
// (DescribeDiff) says how many more there are.
constexpr size_t kMaxChanges = 200;
constexpr size_t kMaxFlows = 7;

const char* KindName(policy::FlowChange::Kind kind) {
  switch (kind) {
    case policy::FlowChange::Kind::kNewlyPermitted: return "newly permitted";
    case policy::FlowChange::Kind::kNewlyDenied: return "newly denied";
    case policy::FlowChange::Kind::kObligationsChanged: return "obligations changed";
  }
  return "changed";
}

JsonValue ChangeJson(const policy::PolicyDiff& diff, const policy::FlowChange& c) {
  std::vector<JsonValue> flows;
  if (c.has_summary) {
    flows.push_back(Str(absl::StrCat(policy::DescribeFlow(diff.domains, c.summary, &diff.common),
                                     " (where either version allows it)")));
  } else {
    for (size_t i = 0; i < c.where.size() && i < kMaxFlows; ++i) {
      flows.push_back(Str(policy::DescribeFlow(diff.domains, c.where[i], &diff.common)));
    }
  }
  std::vector<JsonValue> causes;
  for (const std::string& cause : c.causes) causes.push_back(Str(cause));
  return Object({{"kind", Str(KindName(c.kind))},
                 {"flows", List(std::move(flows))},
                 {"more_flows", Num(c.has_summary || c.where.size() <= kMaxFlows
                                        ? 0
                                        : static_cast<double>(c.where.size() - kMaxFlows))},
                 {"before", Str(c.before)},
                 {"after", Str(c.after)},
                 {"obligations", Str(c.obligations)},
                 {"causes", List(std::move(causes))}});
}

absl::StatusOr<policy::Model> CompiledOrError(absl::string_view source, absl::string_view name) {
  Draft d = CompileDraft(source, name);
  auto engine = EngineOf(d);  // the same refusal, naming the first error
  if (!engine.ok()) return engine.status();
  return std::move(d.model);
}

}  // namespace

absl::StatusOr<JsonValue> Api::Compare(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"source", "against"});
  if (!body.ok()) return body.status();
  auto source = body->String("source");
  if (!source.ok()) return source.status();
  policy::Model before;
  if (body->Has("against")) {
    auto against = body->String("against");
    if (!against.ok()) return against.status();
    auto model = CompiledOrError(*against, "against.ghp");
    if (!model.ok()) return model.status();
    before = *std::move(model);
  } else if (bundle_model_) {
    before = *bundle_model_;
  } else {
    return absl::InvalidArgumentError(
        "nothing to compare with: give \"against\", or start the workbench with --bundle");
  }
  auto after = CompiledOrError(*source, kDraftName);
  if (!after.ok()) return after.status();
  auto diff = policy::DiffPolicies(before, *after);
  if (!diff.ok()) return diff.status();
  std::vector<JsonValue> changes, declarations;
  for (size_t i = 0; i < diff->changes.size() && i < kMaxChanges; ++i) {
    changes.push_back(ChangeJson(*diff, diff->changes[i]));
  }
  for (const std::string& d : diff->declarations) declarations.push_back(Str(d));
  return Object({{"empty", Bool(diff->Empty())},
                 {"declarations", List(std::move(declarations))},
                 {"changes", List(std::move(changes))},
                 {"text", Str(policy::DescribeDiff(*diff, 40))}});
}

}  // namespace gatehouse::workbench

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

// The labels of one flow of `cube` for the picture (/api/flows): its first
// record type, purpose and classification, and the caveats it requires.
JsonValue PictureOf(const policy::Domains& domains, const policy::Cube& cube) {
  auto first = [&](policy::Dim dim) {
    const int v = cube.m[dim].First();
    const std::vector<std::string> names = domains.ValueNames(dim);
    return Str(v >= 0 && static_cast<size_t>(v) < names.size() ? names[v] : "");
  };
  std::vector<JsonValue> caveats;
  const uint64_t required = cube.present_ok & ~cube.absent_ok;
  for (size_t i = 0; i < domains.caveats.size() && i < 64; ++i) {
    if ((required >> i) & 1) caveats.push_back(Str(domains.caveats[i]));
  }
  return Object({{"record_type", first(policy::kDimRecordType)},
                 {"purpose", first(policy::kDimPurpose)},
                 {"classification", first(policy::kDimClassification)},
                 {"caveats", List(std::move(caveats))}});
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
                 {"causes", List(std::move(causes))},
                 {"picture", c.has_summary || c.where.empty()
                                 ? PictureOf(diff.domains, c.summary)
                                 : PictureOf(diff.domains, c.where.front())}});
}

absl::StatusOr<policy::Model> CompiledOrError(absl::string_view source, absl::string_view name) {
  Draft d = CompileDraft(source, name);
  auto engine = EngineOf(d);  // the same refusal, naming the first error
  if (!engine.ok()) return engine.status();
  return std::move(d.model);
}

}  // namespace

absl::StatusOr<policy::Model> Api::Baseline(const JsonBody& body) const {
  if (body.Has("against")) {
    auto against = body.String("against");
    if (!against.ok()) return against.status();
    return CompiledOrError(*against, "against.ghp");
  }
  if (bundle_model_) return *bundle_model_;
  return absl::InvalidArgumentError(
      "nothing to compare with: give \"against\", or start the workbench with --bundle");
}

absl::StatusOr<JsonValue> Api::Compare(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"source", "against"});
  if (!body.ok()) return body.status();
  auto source = body->String("source");
  if (!source.ok()) return source.status();
  auto before = Baseline(*body);
  if (!before.ok()) return before.status();
  auto after = CompiledOrError(*source, kDraftName);
  if (!after.ok()) return after.status();
  auto diff = policy::DiffPolicies(*before, *after);
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

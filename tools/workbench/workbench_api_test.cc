// Api::Test: the officer's cases run against the draft, as `policyc test`,
// and which rules they exercise, as `policyc coverage --cases`.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "policy/case_file.h"
#include "policy/describe.h"
#include "tools/workbench/draft.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

JsonValue CaseJson(const policy::TestCase& c, const std::string& why) {
  return Object({{"line", Num(c.line)},
                 {"name", Str(c.name)},
                 {"expect", Str(c.expect_allow ? "allow" : "deny")},
                 {"passed", Bool(why.empty())},
                 {"why", Str(why)}});
}

JsonValue CoverageJson(const policy::Model& model, const std::set<std::string>& hit) {
  std::vector<JsonValue> rules;
  int exercised = 0;
  for (const policy::Rule& r : model.rules) {
    const bool h = hit.count(r.id) > 0;
    exercised += h;
    rules.push_back(Object({{"id", Str(r.id)},
                            {"kind", Str(policy::DescribeRuleKind(r))},
                            {"line", Num(r.pos.line)},
                            {"exercised", Bool(h)}}));
  }
  return Object({{"rules", List(std::move(rules))},
                 {"exercised", Num(exercised)},
                 {"total", Num(static_cast<double>(model.rules.size()))}});
}

}  // namespace

absl::StatusOr<JsonValue> Api::Test(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"source", "cases"});
  if (!body.ok()) return body.status();
  auto source = body->String("source");
  if (!source.ok()) return source.status();
  auto cases_text = body->String("cases");
  if (!cases_text.ok()) return cases_text.status();
  auto engine = EngineOf(CompileDraft(*source));
  if (!engine.ok()) return engine.status();
  auto cases = policy::ParseCases(*cases_text);
  if (!cases.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cases: ", cases.status().message()));
  }
  std::vector<JsonValue> failed, passed;
  std::set<std::string> hit;
  for (const policy::TestCase& c : *cases) {
    const std::string why = policy::CheckCase(*engine, c);
    (why.empty() ? passed : failed).push_back(CaseJson(c, why));
    for (std::string& id : policy::ExercisedRules(*engine, c)) hit.insert(std::move(id));
  }
  const double failures = static_cast<double>(failed.size());
  for (JsonValue& p : passed) failed.push_back(std::move(p));  // failing first
  return Object({{"cases", List(std::move(failed))},
                 {"total", Num(static_cast<double>(cases->size()))},
                 {"failed", Num(failures)},
                 {"coverage", CoverageJson(engine->model(), hit)}});
}

}  // namespace gatehouse::workbench

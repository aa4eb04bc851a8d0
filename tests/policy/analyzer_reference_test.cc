// The analyser takes shortcuts to be fast on large policies (a search for
// requests where a permit decides, proofs that forbids cover it, samples
// before a redundancy walk); each shortcut is a proof, and the exact walk
// decides whatever they leave open. This checks the result against a
// reference written the slow, plain way (region subtraction and coverage,
// as the analyser was before issue 20) on generated policies of realistic
// shape, finding by finding.
#include <set>
#include <string>
#include <tuple>

#include "gtest/gtest.h"
#include "tests/policy/policy_generator.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

using Finding = std::pair<std::string, std::string>;  // code, rule id

bool GivesObligations(const Shape& s, const Obligations& a, const Region& region,
                      const std::vector<const Rule*>& covering) {
  auto covered_by = [&](auto carries) {
    Region with;
    for (const Rule* r : covering) {
      if (carries(r->obligations)) with.insert(with.end(), r->region.begin(), r->region.end());
    }
    return Covered(s, region, with);
  };
  if (a.encrypt && !covered_by([](const Obligations& o) { return o.encrypt; })) return false;
  if (a.notify_originator && !covered_by([](const Obligations& o) { return o.notify_originator; }))
    return false;
  if (a.require_recipient_system &&
      !covered_by([](const Obligations& o) { return o.require_recipient_system; }))
    return false;
  if (a.retain_days &&
      !covered_by([&](const Obligations& o) { return o.retain_days >= a.retain_days; }))
    return false;
  for (const std::string& f : a.redact_fields) {
    if (!covered_by([&](const Obligations& o) {
          return std::find(o.redact_fields.begin(), o.redact_fields.end(), f) !=
                 o.redact_fields.end();
        }))
      return false;
  }
  return true;
}

// never-fires, overridden and redundant, the plain way.
std::set<Finding> Reference(const Model& m) {
  std::set<Finding> out;
  const Shape s = m.domains.shape();
  const Region wd = m.domains.WriteDownRegion();
  Region forbids;
  for (const Rule& r : m.rules) {
    if (r.forbid) forbids.insert(forbids.end(), r.region.begin(), r.region.end());
  }
  std::vector<Region> effective(m.rules.size());
  for (size_t i = 0; i < m.rules.size(); ++i) {
    const Rule& r = m.rules[i];
    if (r.region.empty()) {
      out.insert({"never-fires", r.id});
      continue;
    }
    if (r.forbid) continue;
    const Region no_wd = SubtractRegions(s, r.region, wd);
    if (no_wd.empty()) {
      out.insert({"never-fires", r.id});
      continue;
    }
    Region eff = SubtractRegions(s, no_wd, forbids);
    Simplify(s, &eff);
    if (eff.empty()) {
      out.insert({"overridden", r.id});
      continue;
    }
    effective[i] = std::move(eff);
  }
  std::vector<bool> active(m.rules.size());
  for (size_t i = 0; i < m.rules.size(); ++i) active[i] = !effective[i].empty();
  for (size_t k = m.rules.size(); k-- > 0;) {
    if (!active[k]) continue;
    Region others;
    std::vector<const Rule*> covering;
    for (size_t j = 0; j < m.rules.size(); ++j) {
      if (j == k || !active[j]) continue;
      others.insert(others.end(), m.rules[j].region.begin(), m.rules[j].region.end());
      covering.push_back(&m.rules[j]);
    }
    if (!Covered(s, effective[k], others) ||
        !GivesObligations(s, m.rules[k].obligations, effective[k], covering)) {
      continue;
    }
    active[k] = false;
    out.insert({"redundant", m.rules[k].id});
  }
  return out;
}

std::set<Finding> Fast(const Compiled& c) {
  std::set<Finding> out;
  for (const Diagnostic& d : c.diagnostics) {
    if (d.code != "never-fires" && d.code != "overridden" && d.code != "redundant") continue;
    // The rule id is the word after "rule " or "permit ".
    const size_t at = d.message.find(' ');
    out.insert({d.code, d.message.substr(at + 1, d.message.find(' ', at + 1) - at - 1)});
  }
  return out;
}

TEST(PolicyAnalyzerReference, FastAnalysisFindsExactlyWhatThePlainOneFinds) {
  int findings = 0;
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u, 6u}) {
    GeneratorOptions o;
    o.rules = 300;
    o.organisations = 14;
    o.record_types = 10;
    o.purposes = 6;
    o.seed = seed;
    Compiled c = CompileText(GeneratePolicy(o));
    ASSERT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
    const std::set<Finding> want = Reference(c.model), got = Fast(c);
    EXPECT_EQ(got, want) << "seed " << seed;
    findings += static_cast<int>(want.size());
  }
  EXPECT_GT(findings, 100);  // the generated policies do exercise the analysis
}

}  // namespace
}  // namespace gatehouse::policy::testing

// policyc diff sees obligations and declarations (issue 20, point 2): each
// test is an edit an officer makes that the old diff missed or refused, and
// a differential test checks the diff against both versions' engines on
// random requests.
#include "policy/diff.h"

#include <algorithm>
#include <optional>
#include <string>

#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "policy/describe.h"
#include "tests/policy/cedar_requests.h"
#include "tests/policy/policy_generator.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

const char kThreeOrgs[] = R"(policy "three-organisations"
classifications OFFICIAL < OFFICIAL-SENSITIVE < SECRET < "TOP SECRET"
caveats PERSONAL, MEDICAL, CHILD, SCH2-AUTHORISED
sectors health, police, council
record types safeguarding_referral, health_record_extract, care_plan
purposes direct_care, safeguarding, law_enforcement
organisation leeds-trust sector health accredited OFFICIAL-SENSITIVE
organisation leeds-council sector council accredited OFFICIAL-SENSITIVE
organisation west-yorks-police sector police accredited SECRET

permit safeguarding-referrals
  when record type is safeguarding_referral
    and purpose is safeguarding
    and classification at most OFFICIAL-SENSITIVE
  then encrypt
    and notify originator
    and retain 2 years

permit personal-to-social-care
  when sender sector is health
    and recipient sector is council
    and record type is care_plan
    and caveats include PERSONAL
  then redact (nhs_number, gp_free_text, ward_notes)

permit police-health-request
  when sender sector is health
    and recipient sector is police
    and record type is health_record_extract
    and purpose is law_enforcement
    and caveats include SCH2-AUTHORISED
  then encrypt
)";

Model MustCompile(const std::string& text) {
  Compiled c = CompileText(text);
  EXPECT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  return c.model;
}

PolicyDiff Diff(const std::string& before, const std::string& after) {
  auto d = DiffPolicies(MustCompile(before), MustCompile(after));
  EXPECT_TRUE(d.ok()) << d.status();
  return *std::move(d);
}

std::string Edit(const std::string& from, const std::string& to) {
  std::string text = kThreeOrgs;
  EXPECT_NE(text.find(from), std::string::npos) << from;
  return absl::StrReplaceAll(text, {{from, to}});
}

TEST(PolicyDiff, RemovingEncryptAndNotifyIsAChangeOfObligations) {
  const PolicyDiff d = Diff(kThreeOrgs, Edit("  then encrypt\n    and notify originator\n    and "
                                             "retain 2 years",
                                             "  then retain 2 years"));
  ASSERT_EQ(d.changes.size(), 1u) << DescribeDiff(d, 10);
  const FlowChange& c = d.changes[0];
  EXPECT_EQ(c.kind, FlowChange::Kind::kObligationsChanged);
  EXPECT_EQ(c.obligations, "no longer encrypt; no longer notify originator");
  ASSERT_EQ(c.causes.size(), 1u);
  EXPECT_EQ(c.causes[0], "rule safeguarding-referrals changed (policy0.ghp:11:1)");
  EXPECT_FALSE(d.Empty());
}

TEST(PolicyDiff, RemovingTwoRedactionsIsAChangeOfObligations) {
  const PolicyDiff d = Diff(kThreeOrgs, Edit("redact (nhs_number, gp_free_text, ward_notes)",
                                             "redact (ward_notes)"));
  ASSERT_EQ(d.changes.size(), 1u) << DescribeDiff(d, 10);
  EXPECT_EQ(d.changes[0].obligations, "no longer redact gp_free_text, nhs_number");
  EXPECT_EQ(DescribeFlow(d.domains, d.changes[0].where[0], &d.common),
            "leeds-trust \u2192 leeds-council: care_plan, up to OFFICIAL-SENSITIVE, with PERSONAL");
}

TEST(PolicyDiff, DroppingACaveatConditionSaysWhichCaveatAndWhichRule) {
  const PolicyDiff d =
      Diff(kThreeOrgs, Edit("    and caveats include SCH2-AUTHORISED\n", ""));
  ASSERT_EQ(d.changes.size(), 1u) << DescribeDiff(d, 10);
  const FlowChange& c = d.changes[0];
  EXPECT_EQ(c.kind, FlowChange::Kind::kNewlyPermitted);
  ASSERT_EQ(c.where.size(), 1u);
  EXPECT_EQ(DescribeFlow(d.domains, c.where[0], &d.common),
            "leeds-trust \u2192 west-yorks-police: health_record_extract for law_enforcement, "
            "up to SECRET, without SCH2-AUTHORISED");
  EXPECT_EQ(c.causes, std::vector<std::string>{"rule police-health-request changed (policy0.ghp:26:1)"});
  EXPECT_EQ(c.before, "denied: no permit covers it");
  EXPECT_EQ(c.after, "allowed by police-health-request (encrypt)");
}

TEST(PolicyDiff, AnAddedOrganisationIsADeclarationChangeNotARefusal) {
  const PolicyDiff d = Diff(
      kThreeOrgs, Edit("organisation west-yorks-police sector police accredited SECRET",
                       "organisation west-yorks-police sector police accredited SECRET\n"
                       "organisation york-council sector council accredited OFFICIAL-SENSITIVE"));
  EXPECT_EQ(d.declarations, std::vector<std::string>{
                                "organisation york-council added (sector council, accredited "
                                "OFFICIAL-SENSITIVE)"});
  ASSERT_FALSE(d.changes.empty());
  for (const FlowChange& c : d.changes) {
    EXPECT_EQ(c.kind, FlowChange::Kind::kNewlyPermitted);
    EXPECT_EQ(c.causes, d.declarations) << DescribeDiff(d, 10);
    EXPECT_EQ(c.before, "denied: organisation york-council not declared in the old version");
  }
}

TEST(PolicyDiff, ALoweredAccreditationNewlyDeniesWithTheReason) {
  const PolicyDiff d =
      Diff(kThreeOrgs, Edit("organisation leeds-council sector council accredited OFFICIAL-SENSITIVE",
                            "organisation leeds-council sector council accredited OFFICIAL"));
  ASSERT_EQ(d.declarations.size(), 1u);
  EXPECT_EQ(d.declarations[0],
            "organisation leeds-council: accreditation lowered to OFFICIAL (was OFFICIAL-SENSITIVE)");
  ASSERT_FALSE(d.changes.empty());
  for (const FlowChange& c : d.changes) {
    EXPECT_EQ(c.kind, FlowChange::Kind::kNewlyDenied);
    EXPECT_EQ(c.after, "denied: write-down (recipient accredited below the classification)");
    EXPECT_EQ(c.causes, d.declarations);
  }
}

TEST(PolicyDiff, AnOrganisationMovedToAnotherSectorIsNamedAsTheCause) {
  const PolicyDiff d =
      Diff(kThreeOrgs, Edit("organisation leeds-council sector council accredited OFFICIAL-SENSITIVE",
                            "organisation leeds-council sector health accredited OFFICIAL-SENSITIVE"));
  ASSERT_FALSE(d.changes.empty());
  for (const FlowChange& c : d.changes) {
    EXPECT_EQ(c.causes, std::vector<std::string>{
                            "organisation leeds-council: now sector health (was council)"})
        << DescribeDiff(d, 10);
  }
}

TEST(PolicyDiff, TheSamePolicyHasNoChange) {
  const PolicyDiff d = Diff(kThreeOrgs, kThreeOrgs);
  EXPECT_TRUE(d.Empty());
  EXPECT_NE(DescribeDiff(d, 10).find("No change"), std::string::npos);
}

TEST(PolicyDiff, AGroupCutByAnOriginatorControlIsSummarisedExactly) {
  // The ORCON forbid cuts the new denial into a box per originator; the
  // summary is one box, exact where either version allows.
  const std::string base =
      Edit("permit safeguarding-referrals",
           "forbid orcon\n  when caveats include MEDICAL\n    and originator is not sender\n\n"
           "permit safeguarding-referrals");
  const PolicyDiff d =
      Diff(base, absl::StrReplaceAll(base, {{"forbid orcon", "forbid child-not-to-police\n  when "
                                                             "caveats include CHILD\n    and "
                                                             "recipient sector is police\n\n"
                                                             "forbid orcon"}}));
  // (It also denies police requests for health records about a child.)
  ASSERT_EQ(d.changes.size(), 2u) << DescribeDiff(d, 100);
  EXPECT_GT(d.changes[0].where.size(), 1u);
  ASSERT_TRUE(d.changes[0].has_summary);
  EXPECT_EQ(DescribeFlow(d.domains, d.changes[0].summary, &d.common),
            "anyone \u2192 west-yorks-police: safeguarding_referral for safeguarding, up to "
            "OFFICIAL-SENSITIVE, with CHILD");
}

// What policyc show --against compares: two policies read back from
// bundles, whose rules carry no text until it is recovered from the source
// the bundle carries.
TEST(PolicyDiff, RulesReadFromBundlesStillNameTheEditedRule) {
  const std::string edited = Edit("    and caveats include SCH2-AUTHORISED\n", "");
  auto from_bundle = [](const std::string& text, bool with_text) {
    Model m = *FromProto(ToProto(MustCompile(text)));
    if (with_text) AttachRuleTexts(&m);
    return m;
  };
  for (const bool with_text : {false, true}) {
    auto d = DiffPolicies(from_bundle(kThreeOrgs, with_text), from_bundle(edited, with_text));
    ASSERT_TRUE(d.ok()) << d.status();
    ASSERT_EQ(d->changes.size(), 1u) << DescribeDiff(*d, 10);
    EXPECT_EQ(d->changes[0].causes,
              std::vector<std::string>{"rule police-health-request changed (policy0.ghp:26:1)"});
  }
  Model m = *FromProto(ToProto(MustCompile(kThreeOrgs)));
  EXPECT_TRUE(m.rules[0].text.empty());
  AttachRuleTexts(&m);
  EXPECT_EQ(m.rules[0].text.rfind("permit safeguarding-referrals\n", 0), 0u) << m.rules[0].text;
}

// Issue 20, point 9: a new organisation used to make every rule that does
// not restrict the originator a change, and the diff listed the whole
// policy again for requests it originates. Now that is one change, "where
// the new version allows it", and its flows as sender and recipient are
// listed.
TEST(PolicyDiff, ANewOrganisationAsOriginatorIsOneChange) {
  const PolicyDiff d = Diff(
      kThreeOrgs, Edit("organisation west-yorks-police sector police accredited SECRET\n",
                       "organisation west-yorks-police sector police accredited SECRET\n"
                       "organisation york-trust sector health accredited OFFICIAL-SENSITIVE\n"));
  int summarised = 0;
  for (const FlowChange& c : d.changes) {
    if (!c.only_where_allowed) continue;
    ++summarised;
    EXPECT_EQ(c.kind, FlowChange::Kind::kNewlyPermitted);
    EXPECT_NE(DescribeFlow(d.domains, c.summary, &d.common).find("originated by york-trust"),
              std::string::npos)
        << DescribeDiff(d, 10);
    EXPECT_NE(c.after.find("allowed where the new version's rules permit it"), std::string::npos);
  }
  EXPECT_EQ(summarised, 1) << DescribeDiff(d, 10);
  EXPECT_NE(DescribeDiff(d, 40).find("york-trust → "), std::string::npos) << DescribeDiff(d, 40);
}

// The generator's edit changes a few rules, not all those after the first
// one it touches (it used to draw one random number fewer, shifting every
// later rule, so the "edit" was a different policy and the diff's timing
// meant nothing).
TEST(PolicyDiff, TheGeneratedEditChangesFewRules) {
  GeneratorOptions o;
  o.rules = 2000;
  const Model before = MustCompile(GeneratePolicy(o));
  o.edited = true;
  const Model after = MustCompile(GeneratePolicy(o));
  ASSERT_EQ(before.rules.size(), after.rules.size());
  size_t changed = 0;
  for (size_t i = 0; i < before.rules.size(); ++i) {
    changed += before.rules[i].text != after.rules[i].text;
  }
  EXPECT_GT(changed, 0u);
  EXPECT_LT(changed, before.rules.size() / 20) << changed << " rules differ";
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The shape that made the 10,000-rule diff slow (docs/benchmarks/policy.md):
// a sector-wide permit whose obligations the edit cuts, overlapped by
// bilateral agreements with obligations of their own, and forbids (of one
// caveat, of a suspended sender, an originator control, a caveat with an
// exception) that the partition takes out of a box before looking into
// it. Every request of the space is checked against both engines: it is in
// a change exactly when its decision or obligations differ, in one change
// only, and that change names exactly the permits each engine applies.
TEST(PolicyDiff, ASectorWidePermitCutByBilateralsIsExactOnEveryRequest) {
  const std::string before = R"(policy "sector-wide"
classifications OFFICIAL < SECRET
caveats MEDICAL, CHILD, ORCON
sectors health, police
record types t0, t1, t2
purposes care, audit, research
organisation health-a sector health accredited SECRET
organisation health-b sector health accredited SECRET
organisation health-c sector health accredited OFFICIAL
organisation police-a sector police accredited SECRET

permit health-sharing
  when sender sector is health
    and recipient sector is health
    and record type in (t0, t1)
    and purpose in (care, audit)
  then encrypt
    and redact nhs_number
    and retain 2 years
    and notify originator

permit a-to-b
  when sender is health-a
    and recipient is health-b
    and record type is t0
    and purpose is care
  then redact gp_free_text
    and retain 1 years

permit b-to-a-and-c
  when sender is health-b
    and recipient in (health-a, health-c)
    and record type is t1
  then notify originator

permit c-to-a
  when sender is health-c
    and recipient is health-a
    and record type in (t0, t2)
    and purpose is audit
  then encrypt

forbid no-child
  when caveats include CHILD

forbid medical-t1
  when caveats include MEDICAL
    and recipient sector is not police
    and record type is t1
  unless purpose is audit

forbid suspended-c
  when sender is health-c
    and record type is t1

forbid orcon
  when caveats include ORCON
    and originator is not sender
)";
  const std::string after = absl::StrReplaceAll(
      before, {{"  then encrypt\n    and redact nhs_number\n    and retain 2 years\n    and "
                "notify originator\n",
                "  then encrypt\n"}});
  ASSERT_NE(before, after);
  const Model old_model = MustCompile(before), new_model = MustCompile(after);
  auto diff = DiffPolicies(old_model, new_model);
  ASSERT_TRUE(diff.ok()) << diff.status();
  const Engine old_engine = *Engine::FromModel(old_model);
  const Engine new_engine = *Engine::FromModel(new_model);
  const Domains& d = diff->domains;
  const Shape s = d.shape();
  // "allowed by a-to-b, health-sharing" and so on, from an engine.
  auto permits = [](const Decision& x) {
    std::vector<std::string> ids;
    for (int i = 0; i < x.recorded_rules(); ++i) ids.emplace_back(x.rule_id(i));
    return "allowed by " + absl::StrJoin(Sorted(ids), ", ");
  };
  const int orgs = s.size[kDimSender];
  std::vector<double> cells_in(diff->changes.size(), 0);
  int changed = 0;
  for (int sender = 0; sender < orgs; ++sender)
  for (int recipient = 0; recipient < orgs; ++recipient)
  for (int type = 0; type < s.size[kDimRecordType]; ++type)
  for (int level = 0; level < s.size[kDimClassification]; ++level)
  for (int purpose = 0; purpose < s.size[kDimPurpose]; ++purpose)
  for (int originator = 0; originator < orgs; ++originator)
  for (uint64_t caveats = 0; caveats < (uint64_t{1} << s.caveats); ++caveats) {
    ResolvedRequest r;
    r.sender = sender;
    r.recipient = recipient;
    r.record_type = type;
    r.classification = level;
    r.purpose = purpose;
    r.originator = originator;
    r.caveats = caveats;
    std::vector<absl::string_view> names;
    for (int c = 0; c < s.caveats; ++c) {
      if ((caveats >> c) & 1) names.push_back(d.caveats[c]);
    }
    const Request req{d.organisations[sender].id, d.organisations[recipient].id,
                      d.record_types[type], d.classifications[level], d.purposes[purpose],
                      d.organisations[originator].id, names};
    const Decision a = old_engine.Evaluate(req), b = new_engine.Evaluate(req);
    ASSERT_EQ(a.allowed, b.allowed) << "the edit changes obligations only";
    const bool differs = a.allowed && (a.obligations.encrypt != b.obligations.encrypt ||
                                       a.obligations.notify_originator !=
                                           b.obligations.notify_originator ||
                                       a.obligations.retain_days != b.obligations.retain_days ||
                                       Sorted(old_engine.RedactFields(a.obligations)) !=
                                           Sorted(new_engine.RedactFields(b.obligations)));
    const Cube cell = CellCube(d, r);
    int in = -1;
    for (size_t g = 0; g < diff->changes.size(); ++g) {
      if (!Covered(s, Region{cell}, diff->changes[g].where)) continue;
      ASSERT_EQ(in, -1) << "a request in two changes: " << DescribeFlow(d, cell);
      in = static_cast<int>(g);
    }
    ASSERT_EQ(in >= 0, differs) << DescribeFlow(d, cell) << "\n" << a.reason << "\n" << b.reason;
    if (!differs) continue;
    ++changed;
    cells_in[in] += 1;
    const FlowChange& c = diff->changes[in];
    EXPECT_EQ(c.kind, FlowChange::Kind::kObligationsChanged);
    EXPECT_EQ(c.before.rfind(permits(a), 0), 0u) << c.before << " at " << DescribeFlow(d, cell);
    EXPECT_EQ(c.after.rfind(permits(b), 0), 0u) << c.after << " at " << DescribeFlow(d, cell);
    EXPECT_EQ(c.causes,
              std::vector<std::string>{"rule health-sharing changed (policy0.ghp:12:1)"});
  }
  // Each change holds no request besides those counted: its boxes are
  // disjoint, and their cells add up.
  size_t boxes = 0;
  for (size_t g = 0; g < diff->changes.size(); ++g) {
    EXPECT_EQ(CellCount(s, diff->changes[g].where), cells_in[g]) << DescribeDiff(*diff, 100);
    boxes += diff->changes[g].where.size();
  }
  // The permit alone, and with each bilateral agreement that overlaps it:
  // four sets of permits, so four changes, cut into more boxes by the
  // forbids and the write-down to health-c.
  EXPECT_EQ(diff->changes.size(), 4u) << DescribeDiff(*diff, 100);
  EXPECT_GT(boxes, diff->changes.size());
  EXPECT_GT(changed, 100);
}

// The diff is exact: on random requests over both versions' names, a
// request's decision or obligations differ between the two engines exactly
// when it lies in a change of that kind.
TEST(PolicyDiff, AgreesWithBothEnginesOnRandomRequests) {
  GeneratorOptions o;
  o.rules = 400;
  o.organisations = 24;
  o.record_types = 12;
  o.purposes = 6;
  const Model before = MustCompile(GeneratePolicy(o));
  o.edited = true;
  const Model after = MustCompile(GeneratePolicy(o));
  auto diff = DiffPolicies(before, after);
  ASSERT_TRUE(diff.ok()) << diff.status();
  ASSERT_FALSE(diff->changes.empty());
  const Engine old_engine = *Engine::FromModel(before);
  const Engine new_engine = *Engine::FromModel(after);
  const Domains& d = diff->domains;
  const Shape s = d.shape();
  Mulberry32 rnd(7);
  auto pick = [&](int n) { return static_cast<int>(rnd.Next() * n); };
  int changed = 0;
  for (int i = 0; i < 60000; ++i) {
    ResolvedRequest r;
    r.sender = pick(s.size[kDimSender]);
    r.recipient = pick(s.size[kDimRecipient]);
    r.record_type = pick(s.size[kDimRecordType]);
    r.classification = pick(s.size[kDimClassification]);
    r.purpose = pick(s.size[kDimPurpose]);
    r.originator = rnd.Next() < 0.7 ? r.sender : pick(s.size[kDimOriginator]);
    r.caveats = 0;
    for (int c = 0; c < s.caveats; ++c) {
      if (rnd.Next() < 0.15) r.caveats |= uint64_t{1} << c;
    }
    std::vector<absl::string_view> caveats;
    for (int c = 0; c < s.caveats; ++c) {
      if ((r.caveats >> c) & 1) caveats.push_back(d.caveats[c]);
    }
    const Request req{d.organisations[r.sender].id, d.organisations[r.recipient].id,
                      d.record_types[r.record_type], d.classifications[r.classification],
                      d.purposes[r.purpose], d.organisations[r.originator].id, caveats};
    const Decision a = old_engine.Evaluate(req), b = new_engine.Evaluate(req);
    std::optional<FlowChange::Kind> want;
    if (!a.allowed && b.allowed) want = FlowChange::Kind::kNewlyPermitted;
    if (a.allowed && !b.allowed) want = FlowChange::Kind::kNewlyDenied;
    if (a.allowed && b.allowed &&
        (a.obligations.encrypt != b.obligations.encrypt ||
         a.obligations.notify_originator != b.obligations.notify_originator ||
         a.obligations.require_recipient_system != b.obligations.require_recipient_system ||
         a.obligations.retain_days != b.obligations.retain_days ||
         Sorted(old_engine.RedactFields(a.obligations)) !=
             Sorted(new_engine.RedactFields(b.obligations)))) {
      want = FlowChange::Kind::kObligationsChanged;
    }
    const Cube cell = CellCube(d, r);
    std::optional<FlowChange::Kind> got;
    for (const FlowChange& c : diff->changes) {
      if (c.only_where_allowed && !a.allowed && !b.allowed) continue;
      if (Covered(s, Region{cell}, c.where)) {
        ASSERT_FALSE(got.has_value()) << "a request in two changes";
        got = c.kind;
      }
    }
    changed += want.has_value();
    ASSERT_EQ(got.has_value(), want.has_value())
        << "request " << i << ": " << DescribeFlow(d, cell) << "\n" << a.reason << "\n"
        << b.reason;
    if (want) {
      ASSERT_EQ(static_cast<int>(*got), static_cast<int>(*want)) << DescribeFlow(d, cell);
    }
  }
  EXPECT_GT(changed, 50);
}

}  // namespace
}  // namespace gatehouse::policy::testing

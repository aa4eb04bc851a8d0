// Requester attributes (issue 20, point 6): the end user's role or rank and
// the legal basis, carried in the labels, usable in conditions, shown by
// explain, checked by diff and test cases. "Needs an officer" no longer has
// to be faked with a caveat.
#include <string>

#include "gtest/gtest.h"
#include "policy/case_file.h"
#include "policy/describe.h"
#include "policy/diff.h"
#include "policy/formatter.h"
#include "policy/parser.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

const char kPolicy[] = R"(policy "police-health-requests"
classifications OFFICIAL < OFFICIAL-SENSITIVE < SECRET
sectors health, police
record types health_record_extract, discharge_summary
purposes direct_care, law_enforcement
roles constable < sergeant < inspector < superintendent
legal bases dpa2018-s35, caldicott-direct-care
organisation leeds-trust sector health accredited OFFICIAL-SENSITIVE
organisation west-yorks-police sector police accredited SECRET
organisation leeds-gp sector health accredited OFFICIAL-SENSITIVE

# DPA 2018 Part 3: a police request for health records names an officer
# of inspector rank or above and the s.35 basis; the trust logs it (s.62).
permit police-health-request
  when sender sector is health
    and recipient sector is police
    and record type is health_record_extract
    and purpose is law_enforcement
    and requester role at least inspector
    and legal basis is dpa2018-s35
  then encrypt
    and notify originator

permit direct-care
  when sender sector is health
    and recipient sector is health
    and purpose is direct_care
)";

Engine PolicyEngine(const std::string& text = kPolicy) {
  Compiled c = CompileText(text);
  EXPECT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  return *Engine::FromModel(c.model);
}

Request PoliceRequest(absl::string_view role, absl::string_view basis) {
  Request r{"leeds-trust", "west-yorks-police", "health_record_extract", "OFFICIAL",
            "law_enforcement", "", {}};
  r.requester_role = role;
  r.legal_basis = basis;
  return r;
}

TEST(PolicyRequester, AnInspectorUnderSection35IsAllowedAndNobodyElse) {
  const Engine e = PolicyEngine();
  EXPECT_TRUE(e.Evaluate(PoliceRequest("inspector", "dpa2018-s35")).allowed);
  EXPECT_TRUE(e.Evaluate(PoliceRequest("superintendent", "dpa2018-s35")).allowed);
  EXPECT_EQ(e.Evaluate(PoliceRequest("sergeant", "dpa2018-s35")).outcome, Outcome::kNoPermit);
  EXPECT_EQ(e.Evaluate(PoliceRequest("", "dpa2018-s35")).outcome, Outcome::kNoPermit);
  EXPECT_EQ(e.Evaluate(PoliceRequest("inspector", "")).outcome, Outcome::kNoPermit);
  EXPECT_EQ(e.Evaluate(PoliceRequest("inspector", "caldicott-direct-care")).outcome,
            Outcome::kNoPermit);
}

TEST(PolicyRequester, AnUndeclaredRoleOrBasisIsDeniedNotIgnored) {
  const Engine e = PolicyEngine();
  const Decision role = e.Evaluate(PoliceRequest("inspecter", "dpa2018-s35"));
  EXPECT_EQ(role.outcome, Outcome::kUnknownLabel);
  EXPECT_NE(role.reason.find("role"), absl::string_view::npos);
  EXPECT_EQ(e.Evaluate(PoliceRequest("inspector", "s35")).outcome, Outcome::kUnknownLabel);
}

TEST(PolicyRequester, APolicyWithoutRolesIgnoresTheLabels) {
  // Gateways pass the labels to every policy; one written before roles
  // existed must decide as it did.
  const Engine e = PolicyEngine(R"(policy "p"
classifications OFFICIAL
sectors health
record types r
purposes care
organisation a sector health accredited OFFICIAL
organisation b sector health accredited OFFICIAL
permit P when purpose is care
)");
  Request r{"a", "b", "r", "OFFICIAL", "care", "", {}};
  r.requester_role = "anything";
  r.legal_basis = "whatever";
  EXPECT_TRUE(e.Evaluate(r).allowed);
  EXPECT_EQ(ToProto(e.model()).format_version(), kFormatVersion);
}

TEST(PolicyRequester, RolesSurviveTheBundleFormatAsVersionThree) {
  Compiled c = CompileText(kPolicy);
  gatehouse::v1::CompiledPolicy proto = ToProto(c.model);
  EXPECT_EQ(proto.format_version(), kFormatVersionWide);
  EXPECT_EQ(proto.roles_size(), 4);
  EXPECT_TRUE(proto.roles_ordered());
  EXPECT_EQ(proto.legal_bases_size(), 2);
  auto e = Engine::FromCompiled(proto);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e->Evaluate(PoliceRequest("inspector", "dpa2018-s35")).allowed);
  EXPECT_FALSE(e->Evaluate(PoliceRequest("sergeant", "dpa2018-s35")).allowed);
  // An older format number would drop the two dimensions: refused.
  proto.set_format_version(kFormatVersionRecipientSystem);
  EXPECT_FALSE(Engine::FromCompiled(proto).ok());
}

TEST(PolicyRequester, ExplainShowsTheRoleAndTheBasis) {
  const Engine e = PolicyEngine();
  ResolvedRequest r;
  Decision d;
  ASSERT_TRUE(e.Resolve(PoliceRequest("sergeant", "dpa2018-s35"), &r, &d));
  d = e.EvaluateResolved(r);
  const std::string text = ExplainDecision(e, r, d);
  EXPECT_NE(text.find("requested by sergeant, under dpa2018-s35"), std::string::npos) << text;
  EXPECT_NE(text.find("fails: requester role must be inspector, superintendent (is sergeant)"),
            std::string::npos)
      << text;
}

TEST(PolicyRequester, RanksNeedAnOrderAndNamesMustBeDeclared) {
  Compiled unordered = CompileText(
      "classifications A\nsectors s\nrecord types r\npurposes p\nroles nurse, doctor\n"
      "permit P when requester role at least doctor\n");
  EXPECT_TRUE(unordered.HasCode("type-error")) << unordered.Dump();
  Compiled typo = CompileText(std::string(kPolicy) +
                              "permit Q when requester role is inspecter\n");
  ASSERT_TRUE(typo.HasCode("unknown-name")) << typo.Dump();
  EXPECT_NE(typo.Dump().find("did you mean inspector?"), std::string::npos) << typo.Dump();
}

TEST(PolicyRequester, RolesFormatAndRoundTrip) {
  std::vector<Diagnostic> diags;
  const std::string once = FormatPolicy(ParsePolicy(0, kPolicy, &diags));
  ASSERT_TRUE(diags.empty());
  EXPECT_NE(once.find("roles constable < sergeant < inspector < superintendent\n"),
            std::string::npos)
      << once;
  EXPECT_NE(once.find("legal bases dpa2018-s35, caldicott-direct-care\n"), std::string::npos);
  EXPECT_NE(once.find("    and requester role at least inspector\n"), std::string::npos);
  EXPECT_NE(once.find("    and legal basis is dpa2018-s35\n"), std::string::npos);
  EXPECT_EQ(FormatPolicy(ParsePolicy(0, once, &diags)), once);
}

TEST(PolicyRequester, DiffSaysWhichRanksLoseAccess) {
  std::string raised = kPolicy;
  raised.replace(raised.find("at least inspector"), 18, "at least superintendent");
  auto d = DiffPolicies(CompileText(kPolicy).model, CompileText(raised).model);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->changes.size(), 1u) << DescribeDiff(*d, 10);
  EXPECT_EQ(d->changes[0].kind, FlowChange::Kind::kNewlyDenied);
  EXPECT_NE(DescribeFlow(d->domains, d->changes[0].where[0], &d->common)
                .find("requested by inspector, under dpa2018-s35"),
            std::string::npos)
      << DescribeDiff(*d, 10);
}

TEST(PolicyRequester, CasesGiveTheRoleAndBasisAndAMisspeltRoleFails) {
  const Engine e = PolicyEngine();
  auto cases = ParseCases(
      "allow sender=leeds-trust recipient=west-yorks-police type=health_record_extract "
      "classification=OFFICIAL purpose=law_enforcement role=inspector basis=dpa2018-s35 "
      "then=\"encrypt and notify originator\"\n"
      "deny sender=leeds-trust recipient=west-yorks-police type=health_record_extract "
      "classification=OFFICIAL purpose=law_enforcement role=sargeant basis=dpa2018-s35\n");
  ASSERT_TRUE(cases.ok()) << cases.status();
  EXPECT_EQ(CheckCase(e, (*cases)[0]), "");
  EXPECT_NE(CheckCase(e, (*cases)[1]).find("unknown role 'sargeant' (did you mean sergeant?)"),
            std::string::npos);
}

}  // namespace
}  // namespace gatehouse::policy::testing

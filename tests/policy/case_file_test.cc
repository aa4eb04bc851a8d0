// Officer test cases check what they claim to check (issue 20, point 5):
// obligations, the labels against the policy's declarations, by= against
// its rule names, and defensive forbids that are meant never to decide.
#include "policy/case_file.h"

#include <algorithm>
#include <string>

#include "gtest/gtest.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

const char kPolicy[] = R"(policy "p"
classifications OFFICIAL < OFFICIAL-SENSITIVE < SECRET
caveats PERSONAL, MEDICAL
sectors health, council
record types summary
purposes care, research
organisation trust-a sector health accredited SECRET
organisation council-a sector council accredited OFFICIAL

defensive forbid F0-recipient-clearance
  when recipient accreditation below classification

forbid F1-medical
  when caveats include MEDICAL
    and recipient sector is council

permit P1-care
  when purpose is care
  then encrypt
    and redact (nhs_number)
    and retain 8 years
)";

Engine PolicyEngine() {
  Compiled c = CompileText(kPolicy);
  EXPECT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  EXPECT_FALSE(c.HasCode("defensive-reachable")) << c.Dump();
  return *Engine::FromModel(c.model);
}

TestCase OneCase(const std::string& line) {
  auto cases = ParseCases(line + "\n");
  EXPECT_TRUE(cases.ok()) << cases.status();
  EXPECT_EQ(cases->size(), 1u);
  return (*cases)[0];
}

const char kDenyMedical[] =
    "deny sender=trust-a recipient=council-a type=summary classification=OFFICIAL purpose=care ";

TEST(PolicyCaseFile, ADenyCaseWithAMisspeltLabelFailsInsteadOfPassing) {
  const Engine e = PolicyEngine();
  // The engine denies an unknown caveat, so this case used to pass while
  // testing nothing about F1.
  const std::string why = CheckCase(e, OneCase(std::string(kDenyMedical) + "caveats=MEDICL"));
  EXPECT_NE(why.find("unknown caveat 'MEDICL' (did you mean MEDICAL?)"), std::string::npos) << why;
  EXPECT_NE(why.find("outcome=unknown-label"), std::string::npos) << why;
  EXPECT_EQ(CheckCase(e, OneCase(std::string(kDenyMedical) + "caveats=MEDICAL by=F1-medical")), "");
}

TEST(PolicyCaseFile, AnUndeclaredLabelIsFineWhenTheCaseSaysSo) {
  const Engine e = PolicyEngine();
  EXPECT_EQ(CheckCase(e, OneCase(std::string(kDenyMedical) +
                                 "caveats=MEDICL outcome=unknown-label")),
            "");
}

TEST(PolicyCaseFile, AMissingLabelFailsUnlessTheCaseSaysSo) {
  const Engine e = PolicyEngine();
  const std::string line = "deny sender=trust-a recipient=council-a type=summary purpose=care";
  const std::string why = CheckCase(e, OneCase(line));
  EXPECT_NE(why.find("the case gives no classification"), std::string::npos) << why;
  EXPECT_EQ(CheckCase(e, OneCase(line + " outcome=missing-label")), "");
}

TEST(PolicyCaseFile, ByNamingNoRuleFailsWithASuggestion) {
  const Engine e = PolicyEngine();
  const std::string why =
      CheckCase(e, OneCase(std::string(kDenyMedical) + "caveats=MEDICAL by=F1-medicl"));
  EXPECT_NE(why.find("by=F1-medicl names no rule of the policy (did you mean F1-medical?)"),
            std::string::npos)
      << why;
}

const char kAllowCare[] =
    "allow sender=trust-a recipient=council-a type=summary classification=OFFICIAL purpose=care ";

TEST(PolicyCaseFile, ExpectedObligationsAreChecked) {
  const Engine e = PolicyEngine();
  EXPECT_EQ(CheckCase(e, OneCase(std::string(kAllowCare) +
                                 "then=\"encrypt and redact (nhs_number) and retain 8 years\"")),
            "");
  // Written another way, the same obligations.
  EXPECT_EQ(CheckCase(e, OneCase(std::string(kAllowCare) +
                                 "then=\"retain 2920 days, encrypt, redact nhs_number\"")),
            "");
  const std::string fewer = CheckCase(e, OneCase(std::string(kAllowCare) + "then=encrypt"));
  EXPECT_EQ(fewer,
            "expected obligations: encrypt; got: encrypt; redact nhs_number; retain 8 years");
  EXPECT_NE(CheckCase(e, OneCase(std::string(kAllowCare) + "then=none")), "");
}

TEST(PolicyCaseFile, ObligationsOnADenyOrThatDoNotParseAreRefused) {
  EXPECT_FALSE(ParseCases(std::string(kDenyMedical) + "then=encrypt\n").ok());
  auto bad = ParseCases(std::string(kAllowCare) + "then=\"encrypt and shred\"\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 1"), absl::string_view::npos) << bad.status();
  EXPECT_FALSE(ParseCases(std::string(kAllowCare) + "outcome=forbidden\n").ok());
  EXPECT_FALSE(ParseCases(std::string(kDenyMedical) + "outcome=refused\n").ok());
}

TEST(PolicyCaseFile, TheOutcomeIsChecked) {
  const Engine e = PolicyEngine();
  const std::string why = CheckCase(
      e, OneCase("deny sender=trust-a recipient=council-a type=summary classification=OFFICIAL "
                 "purpose=research outcome=forbidden"));
  EXPECT_EQ(why.rfind("expected outcome forbidden, got no-permit", 0), 0u) << why;
}

// A defensive forbid backs up the built-in no-write-down, which decides
// first: by= accepts it when it matches, and it counts as exercised.
TEST(PolicyCaseFile, ADefensiveForbidIsAcceptedByByWhenItMatches) {
  const Engine e = PolicyEngine();
  const TestCase c = OneCase(
      "deny sender=trust-a recipient=council-a type=summary classification=SECRET purpose=care "
      "by=F0-recipient-clearance outcome=write-down");
  EXPECT_EQ(CheckCase(e, c), "");
  const std::vector<std::string> hit = ExercisedRules(e, c);
  EXPECT_NE(std::find(hit.begin(), hit.end(), "F0-recipient-clearance"), hit.end());
  // Where it does not match, by= still fails.
  EXPECT_NE(CheckCase(e, OneCase("deny sender=trust-a recipient=council-a type=summary "
                                 "classification=OFFICIAL purpose=research "
                                 "by=F0-recipient-clearance")),
            "");
}

TEST(PolicyCaseFile, ADefensiveForbidThatCanDecideIsWarned) {
  std::string text = kPolicy;
  text.replace(text.find("  when recipient accreditation below classification"),
               std::string("  when recipient accreditation below classification").size(),
               "  when recipient accreditation at most classification");
  Compiled c = CompileText(text);
  EXPECT_TRUE(c.HasCode("defensive-reachable")) << c.Dump();
  EXPECT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
}

TEST(PolicyCaseFile, OnlyAForbidCanBeDefensive) {
  Compiled c = CompileText(std::string(kPolicy) + "defensive permit P2 when purpose is care\n");
  EXPECT_TRUE(c.HasCode("syntax")) << c.Dump();
}

}  // namespace
}  // namespace gatehouse::policy::testing

// One test per compiler diagnostic: a policy that triggers it and a policy
// that does not. Named after the mistake an officer would make.
#include <algorithm>
#include <string>

#include "gtest/gtest.h"
#include "tests/policy/cedar_requests.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

const char kPrelude[] = R"(policy "test"
layer baseline
classifications OFFICIAL < OFFICIAL-SENSITIVE < SECRET
caveats PERSONAL, MEDICAL
sectors health, police, council
record types referral, summary
purposes care, safeguarding
organisation trust-a sector health accredited OFFICIAL-SENSITIVE
organisation force-a sector police accredited SECRET
organisation council-a sector council accredited OFFICIAL
)";

Compiled WithRules(const std::string& rules) {
  return CompileText(std::string(kPrelude) + rules);
}

const Diagnostic* Find(const Compiled& c, absl::string_view code) {
  for (const Diagnostic& d : c.diagnostics) {
    if (d.code == code) return &d;
  }
  return nullptr;
}

TEST(PolicyDiagnostics, CleanPolicyHasNoDiagnostics) {
  Compiled c = WithRules("permit P1 when sender sector is health and purpose is care\n");
  EXPECT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  EXPECT_TRUE(c.diagnostics.empty()) << c.Dump();
}

TEST(PolicyDiagnostics, SyntaxErrorHasLineColumnAndCaret) {
  Compiled c = WithRules("permit P1 when sender sector health\n");
  const Diagnostic* d = Find(c, "syntax");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->pos.line, 11);
  EXPECT_EQ(d->pos.column, 30);
  const std::string text = FormatDiagnostic(c.sources, *d);
  EXPECT_NE(text.find("policy0.ghp:11:30: error:"), std::string::npos) << text;
  EXPECT_NE(text.find("  permit P1 when sender sector health\n"
                      "                               ^\n"),
            std::string::npos)
      << text;
}

TEST(PolicyDiagnostics, AnEmptyQuotedNameIsASyntaxError) {
  // The gateway refuses a compiled policy with an empty name, so the
  // compiler must not make one.
  Compiled c = WithRules("forbid F1 when caveats include \"\"\n");
  const Diagnostic* d = Find(c, "syntax");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_NE(d->message.find("empty quoted name"), std::string::npos) << d->message;
  EXPECT_FALSE(WithRules("forbid F1 when caveats include \"PERSONAL\"\n").HasCode("syntax"));
}

TEST(PolicyDiagnostics, MisspelledSectorIsUnknownName) {
  Compiled c = WithRules("permit P1 when sender sector is helth\n");
  const Diagnostic* d = Find(c, "unknown-name");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->pos.line, 11);
  EXPECT_EQ(d->pos.column, 33);
  EXPECT_NE(d->message.find("unknown sector 'helth'"), std::string::npos);
  EXPECT_FALSE(WithRules("permit P1 when sender sector is health\n").HasCode("unknown-name"));
}

TEST(PolicyDiagnostics, UnknownCaveatIsUnknownName) {
  EXPECT_TRUE(WithRules("forbid F1 when caveats include LOCSEN\n").HasCode("unknown-name"));
  EXPECT_FALSE(WithRules("forbid F1 when caveats include MEDICAL\n").HasCode("unknown-name"));
}

TEST(PolicyDiagnostics, LevelUsedAsSectorIsTypeError) {
  Compiled c = WithRules("permit P1 when recipient sector is SECRET\n");
  const Diagnostic* d = Find(c, "type-error");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_NE(d->message.find("'SECRET' is a classification level, not a sector"),
            std::string::npos);
  EXPECT_FALSE(WithRules("permit P1 when classification is SECRET and recipient sector is police\n")
                   .HasCode("type-error"));
}

TEST(PolicyDiagnostics, OrderingAnUnorderedAttributeIsTypeError) {
  EXPECT_TRUE(WithRules("permit P1 when purpose at least care\n").HasCode("type-error"));
  EXPECT_FALSE(WithRules("permit P1 when classification at most OFFICIAL\n").HasCode("type-error"));
}

TEST(PolicyDiagnostics, AReversedLevelRangeIsTypeError) {
  // Matching nothing, it would make this 'unless' let SECRET through.
  Compiled c = WithRules(
      "permit P1 when sender sector is police unless classification from SECRET to OFFICIAL\n");
  const Diagnostic* d = Find(c, "type-error");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->pos.line, 11);
  EXPECT_NE(d->message.find("write 'from OFFICIAL to SECRET'"), std::string::npos) << d->message;
  EXPECT_TRUE(HasErrors(c.diagnostics));
  EXPECT_TRUE(WithRules("forbid F1 when classification from SECRET to OFFICIAL-SENSITIVE or "
                        "caveats include PERSONAL\n")
                  .HasCode("type-error"));
  EXPECT_FALSE(WithRules("permit P1 when sender sector is police unless classification from "
                         "OFFICIAL to SECRET\n")
                   .HasCode("type-error"));
  EXPECT_FALSE(
      WithRules("permit P1 when classification from SECRET to SECRET\n").HasCode("type-error"));
}

TEST(PolicyDiagnostics, ASecondFileWithoutLayerLocalIsNamedInItsError) {
  // The second file forgot both 'layer local' and its 'policy' line: the
  // error names that file, not the first.
  Compiled c = CompileTexts({std::string(kPrelude) + "permit P1 when purpose is care\n",
                             "permit P1 when purpose is safeguarding\n"});
  const Diagnostic* d = Find(c, "layer");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->pos.file, 1);
  EXPECT_EQ(d->pos.line, 1);
  const std::string text = FormatDiagnostic(c.sources, *d);
  EXPECT_NE(text.find("policy1.ghp:1:1: error:"), std::string::npos) << text;
}

TEST(PolicyDiagnostics, ComparingSectorWithOrganisationIsTypeError) {
  EXPECT_TRUE(WithRules("permit P1 when recipient sector is sender\n").HasCode("type-error"));
  EXPECT_FALSE(WithRules("permit P1 when recipient sector is sender sector\n").HasCode("type-error"));
}

TEST(PolicyDiagnostics, ObligationsOnForbidAreTypeError) {
  EXPECT_TRUE(WithRules("forbid F1 when purpose is care then encrypt\n").HasCode("type-error"));
  EXPECT_FALSE(WithRules("permit P1 when purpose is care then encrypt\n").HasCode("type-error"));
}

TEST(PolicyDiagnostics, SameRuleIdTwiceIsDuplicateId) {
  Compiled c = WithRules("permit P1 when purpose is care\npermit P1 when purpose is safeguarding\n");
  const Diagnostic* d = Find(c, "duplicate-id");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->pos.line, 12);
  EXPECT_NE(d->message.find("already used at policy0.ghp:11"), std::string::npos) << d->message;
  EXPECT_FALSE(WithRules("permit P1 when purpose is care\npermit P2 when purpose is safeguarding\n")
                   .HasCode("duplicate-id"));
}

TEST(PolicyDiagnostics, OrganisationDeclaredTwiceIsDuplicateName) {
  EXPECT_TRUE(WithRules("organisation trust-a sector health accredited OFFICIAL\n")
                  .HasCode("duplicate-name"));
  EXPECT_FALSE(WithRules("organisation trust-b sector health accredited OFFICIAL\n")
                   .HasCode("duplicate-name"));
}

TEST(PolicyDiagnostics, ContradictoryConditionsNeverFire) {
  Compiled c = WithRules("permit P1 when sender sector is health and sender is force-a\n");
  const Diagnostic* d = Find(c, "never-fires");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->severity, Severity::kWarning);
  EXPECT_FALSE(WithRules("permit P1 when sender sector is health and sender is trust-a\n")
                   .HasCode("never-fires"));
}

TEST(PolicyDiagnostics, AConditionNoValueSatisfiesNeverFires) {
  // No level is above SECRET: neither rule can match anything.
  Compiled permit = WithRules("permit P1 when sender accreditation above SECRET\n");
  const Diagnostic* d = Find(permit, "never-fires");
  ASSERT_NE(d, nullptr) << permit.Dump();
  EXPECT_NE(d->message.find("no request meets 'sender accreditation above SECRET'"),
            std::string::npos)
      << d->message;
  EXPECT_FALSE(permit.HasCode("overridden")) << permit.Dump();
  EXPECT_TRUE(WithRules("forbid F1 when classification above SECRET\n").HasCode("never-fires"));
  EXPECT_FALSE(
      WithRules("forbid F1 when classification above OFFICIAL\n").HasCode("never-fires"));
}

TEST(PolicyDiagnostics, PermitOnlyForWriteDownFlowsNeverFires) {
  // council-a is accredited OFFICIAL only; and this also trips write-down.
  EXPECT_TRUE(WithRules("permit P1 when recipient is council-a and classification is SECRET\n")
                  .HasCode("never-fires"));
  EXPECT_FALSE(WithRules("permit P1 when recipient is council-a and classification is OFFICIAL\n")
                   .HasCode("never-fires"));
}

TEST(PolicyDiagnostics, PermitKilledByForbidIsOverridden) {
  Compiled c = WithRules(
      "forbid F1 when recipient sector is council\n"
      "permit P1 when recipient is council-a and purpose is care\n");
  const Diagnostic* d = Find(c, "overridden");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_NE(d->message.find("F1"), std::string::npos);
  EXPECT_FALSE(WithRules("forbid F1 when recipient sector is council and purpose is safeguarding\n"
                         "permit P1 when recipient is council-a and purpose is care\n")
                   .HasCode("overridden"));
}

TEST(PolicyDiagnostics, PermitCoveredByTwoOthersIsRedundant) {
  Compiled c = WithRules(
      "permit P1 when purpose is care and record type is referral\n"
      "permit P2 when purpose is care and record type is summary\n"
      "permit P3 when purpose is care and sender sector is health\n");
  const Diagnostic* d = Find(c, "redundant");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_NE(d->message.find("P3"), std::string::npos);
  EXPECT_NE(d->message.find("P1, P2"), std::string::npos);
  EXPECT_FALSE(WithRules("permit P1 when purpose is care and record type is referral\n"
                         "permit P3 when purpose is care and sender sector is health\n")
                   .HasCode("redundant"));
}

TEST(PolicyDiagnostics, APermitWhoseObligationOthersGiveOnlyInPartIsNotRedundant) {
  // P1 and P2 together cover P3, but only P1 keeps records 8 years: removing
  // P3 would drop that obligation for every purpose but care.
  const std::string a = "permit P1 when sender is trust-a and purpose is care then retain 8 years\n";
  const std::string k = "permit P3 when sender is trust-a then retain 8 years\n";
  // (P1 and P2 are rightly redundant beside P3.)
  auto p3_redundant = [](const Compiled& c) {
    for (const Diagnostic& d : c.diagnostics) {
      if (d.code == "redundant" && d.message.find("permit P3 is redundant") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  Compiled c = WithRules(a + "permit P2 when sender is trust-a and purpose is not care\n" + k);
  EXPECT_FALSE(p3_redundant(c)) << c.Dump();
  // With P2 keeping them 8 years (or longer) too, P3 adds nothing.
  Compiled both = WithRules(
      a + "permit P2 when sender is trust-a and purpose is not care then retain 10 years\n" + k);
  EXPECT_TRUE(p3_redundant(both)) << both.Dump();
}

TEST(PolicyDiagnostics, APermitThatAloneRequiresARecipientSystemIsNotRedundant) {
  // P1 allows everything P2 does, but only P2 requires a recipient system:
  // removing it would let those records go to a whole organisation.
  const std::string p1 = "permit P1 when purpose is care then encrypt\n";
  Compiled c = WithRules(p1 + "permit P2 when purpose is care and sender is trust-a "
                              "then require recipient system\n");
  EXPECT_FALSE(c.HasCode("redundant")) << c.Dump();
  Compiled both = WithRules(
      "permit P1 when purpose is care then encrypt and require recipient system\n"
      "permit P2 when purpose is care and sender is trust-a then require recipient system\n");
  EXPECT_TRUE(both.HasCode("redundant")) << both.Dump();
}

TEST(PolicyDiagnostics, RequireRecipientSystemOnForbidIsTypeError) {
  Compiled c = WithRules("forbid F when purpose is care then require recipient system\n");
  const Diagnostic* d = Find(c, "type-error");
  ASSERT_NE(d, nullptr) << c.Dump();
}

TEST(PolicyDiagnostics, LocalLayerMayRequireARecipientSystemOnBaselineFlows) {
  Compiled c = CompileTexts(
      {std::string(kPrelude) + "permit P1 when purpose is care\n",
       "policy leeds\nlayer local\n"
       "permit L1 when purpose is care and sender is trust-a then require recipient system\n"});
  EXPECT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  EXPECT_FALSE(c.HasCode("redundant")) << c.Dump();
  const Engine e = *Engine::FromModel(c.model);
  EXPECT_TRUE(e.Evaluate({"trust-a", "force-a", "summary", "OFFICIAL", "care", "", {}})
                  .obligations.require_recipient_system);
  EXPECT_FALSE(e.Evaluate({"force-a", "trust-a", "summary", "OFFICIAL", "care", "", {}})
                   .obligations.require_recipient_system);
}

TEST(PolicyDiagnostics, PartlyForbiddenPermitIsInfoOverlap) {
  Compiled c = WithRules(
      "forbid F1 when caveats include MEDICAL\n"
      "permit P1 when purpose is care\n");
  const Diagnostic* d = Find(c, "overlap");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->severity, Severity::kInfo);
  EXPECT_FALSE(WithRules("forbid F1 when purpose is safeguarding\n"
                         "permit P1 when purpose is care\n")
                   .HasCode("overlap"));
}

TEST(PolicyDiagnostics, SecretToOfficialOnlyCouncilIsWriteDown) {
  Compiled c = WithRules(
      "permit P1 when classification at least OFFICIAL-SENSITIVE and purpose is safeguarding\n");
  const Diagnostic* d = Find(c, "write-down");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->severity, Severity::kError);
  EXPECT_NE(d->message.find("council-a"), std::string::npos) << d->message;
  // Restricting the recipients to accredited ones removes the error, and so
  // does a forbid that removes the write-down flows.
  EXPECT_FALSE(WithRules("permit P1 when classification at least OFFICIAL-SENSITIVE "
                         "and recipient sector is police\n")
                   .HasCode("write-down"));
  EXPECT_FALSE(WithRules("forbid F1 when recipient accreditation below classification\n"
                         "permit P1 when classification at least OFFICIAL-SENSITIVE\n")
                   .HasCode("write-down"));
}

TEST(PolicyDiagnostics, LocalPermitWideningBaselineIsLayerWidens) {
  const std::string local_wide =
      "policy \"local\"\nlayer local\npermit L1 when purpose is safeguarding\n";
  const std::string local_narrow =
      "policy \"local\"\nlayer local\n"
      "permit L1 when purpose is care and sender is trust-a then redact (nhs_number)\n"
      "forbid L2 when recipient is council-a\n";
  const std::string base = std::string(kPrelude) + "permit P1 when purpose is care\n";
  EXPECT_TRUE(CompileTexts({base, local_wide}).HasCode("layer-widens"));
  Compiled ok = CompileTexts({base, local_narrow});
  EXPECT_FALSE(ok.HasCode("layer-widens")) << ok.Dump();
  EXPECT_FALSE(HasErrors(ok.diagnostics)) << ok.Dump();
}

TEST(PolicyDiagnostics, DeclarationsInLocalLayerAreLayerError) {
  const std::string base = std::string(kPrelude) + "permit P1 when purpose is care\n";
  EXPECT_TRUE(CompileTexts({base, "layer local\npurposes research\n"}).HasCode("layer"));
  EXPECT_TRUE(CompileTexts({base, base}).HasCode("layer"));  // two baselines
  EXPECT_FALSE(CompileTexts({base, "layer local\nforbid L1 when purpose is care\n"}).HasCode("layer"));
}

TEST(PolicyDiagnostics, SixtyFiveCaveatsExceedTheLimit) {
  auto with_caveats = [](int n) {
    std::string t = "policy p\nclassifications A\nsectors s\nrecord types r\npurposes x\ncaveats C0";
    for (int i = 1; i < n; ++i) t += ", C" + std::to_string(i);
    return CompileText(t + "\npermit P when caveats include C" + std::to_string(n - 1) + "\n");
  };
  EXPECT_TRUE(with_caveats(65).HasCode("limit"));
  EXPECT_FALSE(with_caveats(64).HasCode("limit"));
}

TEST(PolicyDiagnostics, AConditionThatExpandsTooFarExceedsTheLimit) {
  // (C0 or C1) and (C2 or C3) and ...: 2^groups cases. Refused with a
  // diagnostic rather than compiled for minutes or out of memory.
  auto with_groups = [](int groups) {
    std::string t =
        "policy p\nclassifications A\nsectors s\nrecord types r\npurposes x\n"
        "organisation o sector s accredited A\ncaveats C0";
    for (int i = 1; i < 2 * groups; ++i) t += ", C" + std::to_string(i);
    t += "\nforbid F when ";
    for (int g = 0; g < groups; ++g) {
      if (g > 0) t += " and ";
      t += "(caveats include C" + std::to_string(2 * g) + " or caveats include C" +
           std::to_string(2 * g + 1) + ")";
    }
    return CompileText(t + "\n");
  };
  Compiled big = with_groups(24);
  const Diagnostic* d = Find(big, "limit");
  ASSERT_NE(d, nullptr) << big.Dump();
  EXPECT_EQ(d->pos.line, 8);
  EXPECT_NE(d->message.find("split it into several rules"), std::string::npos) << d->message;
  EXPECT_TRUE(HasErrors(big.diagnostics));
  Compiled fits = with_groups(8);
  EXPECT_FALSE(fits.HasCode("limit")) << fits.Dump();
  EXPECT_FALSE(fits.HasCode("never-fires")) << fits.Dump();
}

// Issue 20, point 1: one file, seven planted mistakes (and an eighth, a
// reversed range). Compile errors used to hide every analysis finding, and
// the keyword typo dropped the rule before it.
TEST(PolicyDiagnostics, EveryMistakeIsReportedInOnePass) {
  std::string text;
  ASSERT_TRUE(ReadFileToString(SourcePath("tests/policy/testdata/seven-mistakes.ghp"), &text));
  Compiled c = CompileText(text);
  auto at = [&](absl::string_view code, int line) -> const Diagnostic* {
    for (const Diagnostic& d : c.diagnostics) {
      if (d.code == code && d.pos.line == line) return &d;
    }
    return nullptr;
  };
  const Diagnostic* helth = at("unknown-name", 15);
  ASSERT_NE(helth, nullptr) << c.Dump();
  EXPECT_NE(helth->message.find("did you mean health?"), std::string::npos) << helth->message;
  const Diagnostic* level = at("unknown-name", 19);
  ASSERT_NE(level, nullptr) << c.Dump();
  EXPECT_EQ(level->suggestion, "OFFICIAL-SENSITIVE");
  EXPECT_NE(at("overridden", 25), nullptr) << c.Dump();
  EXPECT_NE(at("redundant", 33), nullptr) << c.Dump();
  EXPECT_NE(at("write-down", 39), nullptr) << c.Dump();   // the classification condition
  EXPECT_NE(at("never-fires", 43), nullptr) << c.Dump();  // the first conflicting condition
  EXPECT_NE(at("syntax", 46), nullptr) << c.Dump();
  EXPECT_NE(at("type-error", 51), nullptr) << c.Dump();
  int findings = 0;  // errors and warnings: the eight, nothing spurious
  for (const Diagnostic& d : c.diagnostics) findings += d.severity != Severity::kInfo;
  EXPECT_EQ(findings, 8) << c.Dump();
  // The rule before the typo, and the misspelt forbid itself, compiled.
  std::vector<std::string> ids;
  for (const Rule& r : c.model.rules) ids.push_back(r.id);
  EXPECT_NE(std::find(ids.begin(), ids.end(), "impossible"), ids.end());
  EXPECT_NE(std::find(ids.begin(), ids.end(), "no-medical-to-police"), ids.end());
}

// Issue 20, point 7: rule-level warnings pointed at column 1 and did not
// say which conditions conflict.
TEST(PolicyDiagnostics, NeverFiresNamesTheConditionsThatConflict) {
  Compiled c = WithRules(
      "permit P1\n  when purpose is care\n    and sender sector is health\n"
      "    and record type is referral\n    and sender is force-a\n");
  const Diagnostic* d = Find(c, "never-fires");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->message,
            "rule P1 can never fire: 'sender sector is health' and 'sender is force-a' cannot "
            "both hold");
  EXPECT_EQ(d->pos.line, 13);
  EXPECT_EQ(d->pos.column, 9);
  ASSERT_EQ(d->notes.size(), 1u);
  EXPECT_EQ(d->notes[0].pos.line, 15);
}

TEST(PolicyDiagnostics, AnExceptionThatCoversEverythingIsNamed) {
  Compiled c = WithRules("permit P1 when purpose is care unless record type in (referral, summary)\n");
  const Diagnostic* d = Find(c, "never-fires");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_NE(d->message.find("its exception 'unless record type in (referral, summary)' covers "
                            "every request it matches"),
            std::string::npos)
      << d->message;
}

TEST(PolicyDiagnostics, AWriteDownPointsAtTheClassificationCondition) {
  Compiled c = WithRules(
      "permit P1\n  when purpose is safeguarding\n    and classification at least "
      "OFFICIAL-SENSITIVE\n    and recipient sector in (council, health)\n");
  const Diagnostic* d = Find(c, "write-down");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->pos.line, 13);
  EXPECT_EQ(d->pos.column, 9);
  ASSERT_EQ(d->notes.size(), 1u);
  EXPECT_EQ(d->notes[0].pos.line, 14);
  EXPECT_EQ(d->notes[0].message, "this admits council-a");
}

TEST(PolicyDiagnostics, OverriddenAndRedundantPointAtTheRuleAndNoteTheOthers) {
  Compiled c = WithRules(
      "forbid F1 when recipient sector is council\n"
      "permit P1 when recipient is council-a and purpose is care\n"
      "permit P2 when purpose is care\n"
      "permit P3 when purpose is care and sender is trust-a\n");
  const Diagnostic* o = Find(c, "overridden");
  ASSERT_NE(o, nullptr) << c.Dump();
  EXPECT_EQ(o->pos.line, 12);
  EXPECT_EQ(o->pos.column, 8);  // the rule's id, not column 1
  ASSERT_EQ(o->notes.size(), 1u);
  EXPECT_EQ(o->notes[0].message, "forbid F1 denies what it would permit");
  EXPECT_EQ(o->notes[0].pos.line, 11);
  const Diagnostic* r = Find(c, "redundant");
  ASSERT_NE(r, nullptr) << c.Dump();
  ASSERT_FALSE(r->notes.empty());
  EXPECT_EQ(r->notes[0].message, "permit P2 already permits it");
}

TEST(PolicyDiagnostics, AReversedRangeFixKeepsTheQuotesTopSecretNeeds) {
  Compiled c = CompileText(
      "classifications OFFICIAL < SECRET < \"TOP SECRET\"\nsectors s\nrecord types r\n"
      "purposes p\nforbid F when classification from \"TOP SECRET\" to OFFICIAL\n");
  const Diagnostic* d = Find(c, "type-error");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_NE(d->message.find("write 'from OFFICIAL to \"TOP SECRET\"'"), std::string::npos)
      << d->message;
  EXPECT_EQ(d->suggestion, "from OFFICIAL to \"TOP SECRET\"");
}

TEST(PolicyDiagnostics, AMisspeltSpacedLevelIsSuggestedInQuotes) {
  Compiled c = CompileText(
      "classifications OFFICIAL < \"TOP SECRET\"\nsectors s\nrecord types r\npurposes p\n"
      "forbid F when classification is TOP_SECRET\n");
  const Diagnostic* d = Find(c, "unknown-name");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->suggestion, "\"TOP SECRET\"");
  EXPECT_NE(d->message.find("did you mean \"TOP SECRET\"?"), std::string::npos) << d->message;
}

TEST(PolicyDiagnostics, AnUnknownNameNothingResemblesGetsNoSuggestion) {
  Compiled c = WithRules("permit P1 when sender sector is education\n");
  const Diagnostic* d = Find(c, "unknown-name");
  ASSERT_NE(d, nullptr) << c.Dump();
  EXPECT_EQ(d->suggestion, "");
  EXPECT_EQ(d->message.find("did you mean"), std::string::npos) << d->message;
}

TEST(PolicyDiagnostics, AnOrganisationWithAnUnknownSectorCausesNoFurtherErrors) {
  // Its rules still compile and are analysed; no write-down is blamed on it.
  Compiled c = WithRules(
      "organisation ccg-a sector commissioning accredited OFFICIAL\n"
      "permit P1 when recipient is ccg-a and purpose is care\n"
      "permit P2 when recipient is ccg-a and purpose is care and record type is referral\n");
  int errors = 0;
  for (const Diagnostic& d : c.diagnostics) errors += d.severity == Severity::kError;
  EXPECT_EQ(errors, 1) << c.Dump();
  EXPECT_TRUE(c.HasCode("redundant")) << c.Dump();
}

TEST(PolicyDiagnostics, InterorgExampleFindsThePeersDeliberateAnomalies) {
  std::string text;
  ASSERT_TRUE(ReadFileToString(SourcePath("policy/examples/interorg.ghp"), &text));
  Compiled c = CompileText(text);
  EXPECT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  auto flagged = [&](absl::string_view code, absl::string_view rule) {
    for (const Diagnostic& d : c.diagnostics) {
      if (d.code == code && d.message.find(std::string(rule) + " ") != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(flagged("redundant", "P24-domestic-abuse-notification"));
  EXPECT_TRUE(flagged("overridden", "P25-police-council-intel-crime-prevention"));
  EXPECT_TRUE(flagged("redundant", "P27-benefit-fraud-investigation"));
  EXPECT_TRUE(flagged("redundant", "P28-health-council-service-planning"));
  EXPECT_TRUE(flagged("redundant", "P29-police-police-intelligence"));
}

}  // namespace
}  // namespace gatehouse::policy::testing

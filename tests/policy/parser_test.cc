// The parser reports syntax errors where they are and survives any input;
// the formatter is canonical and idempotent.
#include <string>

#include "gtest/gtest.h"
#include "policy/case_file.h"
#include "policy/formatter.h"
#include "policy/parser.h"
#include "tests/policy/cedar_requests.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

std::string Fmt(const std::string& text, std::vector<Diagnostic>* diags) {
  return FormatPolicy(ParsePolicy(0, text, diags));
}

TEST(PolicyFormatter, ExamplesAreIdempotent) {
  for (const char* f : {"policy/examples/interorg.ghp",
                        "policy/examples/national-baseline.ghp",
                        "policy/examples/local-leeds-care.ghp"}) {
    std::string text;
    ASSERT_TRUE(ReadFileToString(SourcePath(f), &text)) << f;
    std::vector<Diagnostic> diags;
    const std::string once = Fmt(text, &diags);
    ASSERT_TRUE(diags.empty()) << f;
    const std::string twice = Fmt(once, &diags);
    ASSERT_TRUE(diags.empty()) << f;
    EXPECT_EQ(once, twice) << f;
  }
}

TEST(PolicyFormatter, FormattedPolicyDecidesTheSame) {
  std::string text;
  ASSERT_TRUE(ReadFileToString(SourcePath("policy/examples/interorg.ghp"), &text));
  std::vector<Diagnostic> diags;
  Compiled a = CompileText(text);
  Compiled b = CompileText(Fmt(text, &diags));
  ASSERT_FALSE(HasErrors(b.diagnostics)) << b.Dump();
  const Engine ea = *Engine::FromModel(a.model), eb = *Engine::FromModel(b.model);
  for (const PeerRequest& p : GenerateRequests(5000, 3)) {
    ASSERT_EQ(ea.Evaluate(p.AsRequest()).allowed, eb.Evaluate(p.AsRequest()).allowed);
  }
}

TEST(PolicyFormatter, NestedConditionsKeepTheirMeaning) {
  const std::string text =
      "policy p\nclassifications A < B\nsectors s, t\nrecord types r\npurposes x, y\n"
      "organisation o1 sector s accredited B\norganisation o2 sector t accredited A\n"
      "permit P when (purpose is x or purpose is y) and not (sender is o1 and "
      "recipient is o2) unless classification is B or caveats include none of (C)\n";
  std::vector<Diagnostic> diags;
  const std::string once = Fmt(text, &diags);
  EXPECT_EQ(once, Fmt(once, &diags));
  EXPECT_NE(once.find("(purpose is x or purpose is y)"), std::string::npos) << once;
  EXPECT_NE(once.find("not (sender is o1 and recipient is o2)"), std::string::npos) << once;
}

TEST(PolicyFormatter, KeywordAndSpacedNamesAreQuoted) {
  std::vector<Diagnostic> diags;
  const std::string out =
      Fmt("classifications OFFICIAL < \"TOP SECRET\"\npurposes \"and\", audit\n", &diags);
  EXPECT_NE(out.find("classifications OFFICIAL < \"TOP SECRET\""), std::string::npos) << out;
  EXPECT_NE(out.find("purposes \"and\", audit"), std::string::npos) << out;
}

TEST(PolicyFormatter, RequireRecipientSystemRoundTrips) {
  const std::string text =
      "permit P\n  when purpose is care\n  then require recipient system, retain 2 years "
      "and encrypt\n";
  std::vector<Diagnostic> diags;
  PolicyFileAst ast = ParsePolicy(0, text, &diags);
  ASSERT_TRUE(diags.empty());
  ASSERT_EQ(ast.rules.size(), 1u);
  EXPECT_TRUE(ast.rules[0].obligations.require_recipient_system);
  const std::string once = FormatPolicy(ast);
  EXPECT_NE(once.find("  then encrypt\n    and retain 2 years\n    and require recipient system\n"),
            std::string::npos)
      << once;
  PolicyFileAst again = ParsePolicy(0, once, &diags);
  ASSERT_TRUE(diags.empty());
  EXPECT_TRUE(again.rules[0].obligations.require_recipient_system);
  EXPECT_EQ(FormatPolicy(again), once);
  // Without the obligation the formatter writes nothing of it.
  EXPECT_EQ(Fmt("permit P when purpose is care then encrypt\n", &diags).find("require"),
            std::string::npos);
}

TEST(PolicyParser, RequireWithoutRecipientSystemIsSyntaxError) {
  for (const char* text : {"permit P then require\n", "permit P then require recipient\n",
                           "permit P then require system\n",
                           "permit P then require recipient organisation\n"}) {
    std::vector<Diagnostic> diags;
    PolicyFileAst ast = ParsePolicy(0, text, &diags);
    ASSERT_FALSE(diags.empty()) << text;
    EXPECT_EQ(diags[0].code, "syntax") << text;
    EXPECT_TRUE(ast.rules.empty()) << text;
  }
}

TEST(PolicyParser, UnterminatedStringIsSyntaxError) {
  std::vector<Diagnostic> diags;
  ParsePolicy(0, "permit P1 \"no end\n", &diags);
  ASSERT_FALSE(diags.empty());
  EXPECT_EQ(diags[0].code, "syntax");
  EXPECT_EQ(diags[0].pos.line, 1);
  EXPECT_EQ(diags[0].pos.column, 11);
}

TEST(PolicyParser, RecoversAndReportsLaterErrorsToo) {
  std::vector<Diagnostic> diags;
  PolicyFileAst ast = ParsePolicy(
      0, "permit A when purpose is\npermit B when purpose is x\nforbid C when ?? \n", &diags);
  EXPECT_EQ(diags.size(), 2u);
  ASSERT_EQ(ast.rules.size(), 1u);
  EXPECT_EQ(ast.rules[0].id.text, "B");
}

TEST(PolicyParser, DeepNestingIsAnErrorNotACrash) {
  std::string deep(5000, '(');
  std::vector<Diagnostic> diags;
  ParsePolicy(0, "permit A when " + deep + "purpose is x", &diags);
  EXPECT_TRUE(HasErrors(diags));
  std::string nots;
  for (int i = 0; i < 5000; ++i) nots += "not ";
  diags.clear();
  ParsePolicy(0, "permit A when " + nots + "purpose is x", &diags);
  EXPECT_TRUE(HasErrors(diags));
}

TEST(PolicyParser, GarbageNeverCrashes) {
  const char* inputs[] = {"", "\n\n", "permit", "forbid X when", "(((", "\"",
                          "organisation", "classifications <", "caveats ,,",
                          "permit P then retain 99999999999 years",
                          "permit P when caveats include any of ()",
                          "\x01\x02\xff"};
  for (const char* in : inputs) {
    std::vector<Diagnostic> diags;
    Compiled c = CompileText(in);
    (void)c;
    ParsePolicy(0, in, &diags);
  }
}

TEST(PolicyCaseFile, UnknownKeyNamesItsLine) {
  auto cases = ParseCases("# comment\nallow sender=a colour=blue\n");
  EXPECT_EQ(cases.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(cases.status().message().find("line 2"), absl::string_view::npos)
      << cases.status();
}

TEST(PolicyCaseFile, QuotedValuesAndCaveatsParse) {
  auto cases = ParseCases(
      "deny sender=nca recipient=f classification=\"TOP SECRET\" "
      "caveats=A,B name=\"a b\" by=F1\n\nallow sender=x\n");
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_EQ(cases->size(), 2u);
  EXPECT_FALSE((*cases)[0].expect_allow);
  EXPECT_EQ((*cases)[0].classification, "TOP SECRET");
  EXPECT_EQ((*cases)[0].caveats, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ((*cases)[0].name, "a b");
  EXPECT_EQ((*cases)[0].by_rule, "F1");
  EXPECT_EQ((*cases)[1].line, 3);
  EXPECT_EQ((*cases)[0].AsRequest().caveats.size(), 2u);
}

TEST(PolicyCaseFile, CaseWithoutExpectationIsRejected) {
  EXPECT_FALSE(ParseCases("sender=a recipient=b\n").ok());
  EXPECT_FALSE(ParseCases("allow name=\"unterminated\n").ok());
}

}  // namespace
}  // namespace gatehouse::policy::testing

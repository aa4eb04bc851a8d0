// The parser reports syntax errors where they are and survives any input;
// the formatter is canonical and idempotent.
#include <string>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

#include "gtest/gtest.h"
#include "policy/case_file.h"
#include "policy/formatter.h"
#include "policy/parser.h"
#include "policy/diagnostic.h"
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

// Issue 20, point 4: fmt deleted every comment, the legal basis included.
TEST(PolicyFormatter, EveryCommentOfTheExamplesSurvives) {
  for (const char* f : {"policy/examples/interorg.ghp", "policy/examples/national-baseline.ghp",
                        "policy/examples/local-leeds-care.ghp", "policy/examples/northshire.ghp"}) {
    std::string text;
    ASSERT_TRUE(ReadFileToString(SourcePath(f), &text)) << f;
    std::vector<Diagnostic> diags;
    const std::string once = Fmt(text, &diags);
    int comments = 0;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      const size_t hash = line.find('#');
      if (hash == absl::string_view::npos) continue;
      ++comments;
      const std::string comment(absl::StripTrailingAsciiWhitespace(line.substr(hash)));
      EXPECT_NE(once.find(comment), std::string::npos) << f << ": lost " << comment;
    }
    EXPECT_GE(comments, 2) << f;
  }
}

TEST(PolicyFormatter, CommentsStayWhereTheyWereAndFormattingIsIdempotent) {
  const std::string text =
      "# Legal basis: DPA 2018 Part 3, s.62 logging.\n"
      "# Reviewed by the Caldicott guardian.\n"
      "\n"
      "policy \"p\"   # the policy's name\n"
      "classifications A < B\n"
      "# the sectors we share with\n"
      "sectors s, t   # two of them\n"
      "record types r\npurposes x, y\n"
      "organisation o1 sector s accredited B  # the trust\n"
      "\n"
      "# ---- Rules ----\n"
      "\n"
      "# Section 29 requests.\n"
      "permit P1   # first\n"
      "  # why it exists\n"
      "  \"Shares things.\"\n"
      "  when purpose is x   # only x\n"
      "    # and only from s\n"
      "    and sender sector is s\n"
      "  unless classification is B  # never B\n"
      "  then retain 2 years  # Caldicott: two years\n"
      "    # and encrypt, of course\n"
      "    and encrypt\n"
      "forbid F1 when purpose is y and   # split\n"
      "  sender sector is t\n"
      "# the end\n";
  std::vector<Diagnostic> diags;
  const std::string once = Fmt(text, &diags);
  ASSERT_TRUE(diags.empty()) << diags[0].message;
  EXPECT_EQ(once,
            "# Legal basis: DPA 2018 Part 3, s.62 logging.\n"
            "# Reviewed by the Caldicott guardian.\n"
            "\n"
            "policy p  # the policy's name\n"
            "layer baseline\n"
            "\n"
            "classifications A < B\n"
            "# the sectors we share with\n"
            "sectors s, t  # two of them\n"
            "record types r\n"
            "purposes x, y\n"
            "\n"
            "organisation o1 sector s accredited B  # the trust\n"
            "\n"
            "# ---- Rules ----\n"
            "\n"
            "# Section 29 requests.\n"
            "permit P1  # first\n"
            "  # why it exists\n"
            "  \"Shares things.\"\n"
            "  when purpose is x  # only x\n"
            "    # and only from s\n"
            "    and sender sector is s\n"
            "  unless classification is B  # never B\n"
            "  # and encrypt, of course\n"  // moves with encrypt, which comes first
            "  then encrypt\n"
            "    and retain 2 years  # Caldicott: two years\n"
            "\n"
            "forbid F1\n"
            "  when purpose is y\n"
            "    # split\n"
            "    and sender sector is t\n"
            "\n"
            "# the end\n");
  EXPECT_EQ(Fmt(once, &diags), once);
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

// Issue 20, point 1: a keyword typo used to drop the rule before it and
// add a second, spurious error (the "caveats include" inside the misspelt
// rule was read as a declaration).
TEST(PolicyParser, AMisspeltForbidKeepsTheRuleBeforeItAndAddsNoSecondError) {
  std::vector<Diagnostic> diags;
  PolicyFileAst ast = ParsePolicy(0,
                                  "permit P1\n  when purpose is care\n\n"
                                  "forbd F1\n  when caveats include MEDICAL\n"
                                  "    and recipient sector is police\n\n"
                                  "permit P2\n  when purpose is safeguarding\n",
                                  &diags);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].pos.line, 4);
  EXPECT_NE(diags[0].message.find("did you mean 'forbid'?"), std::string::npos) << diags[0].message;
  EXPECT_EQ(diags[0].suggestion, "forbid");
  ASSERT_EQ(ast.rules.size(), 3u);  // the misspelt rule is read too, as a forbid
  EXPECT_EQ(ast.rules[0].id.text, "P1");
  EXPECT_EQ(ast.rules[1].id.text, "F1");
  EXPECT_TRUE(ast.rules[1].forbid);
  EXPECT_EQ(ast.rules[2].id.text, "P2");
  EXPECT_TRUE(ast.decls.empty());
}

TEST(PolicyParser, AnErrorInsideARuleCostsOnlyThatRule) {
  std::vector<Diagnostic> diags;
  PolicyFileAst ast = ParsePolicy(0,
                                  "permit A\n  when purpose is care\n"
                                  "permit B\n  when purpose is\n    and caveats include X\n"
                                  "permit C\n  when purpose is safeguarding\n",
                                  &diags);
  ASSERT_EQ(diags.size(), 1u) << diags[0].message;
  EXPECT_EQ(diags[0].pos.line, 5);
  ASSERT_EQ(ast.rules.size(), 2u);
  EXPECT_EQ(ast.rules[0].id.text, "A");
  EXPECT_EQ(ast.rules[1].id.text, "C");
  EXPECT_TRUE(ast.decls.empty());
}

TEST(PolicyParser, ACaveatsConditionAfterAnErrorIsNotReadAsADeclaration) {
  std::vector<Diagnostic> diags;
  PolicyFileAst ast = ParsePolicy(0,
                                  "permit A\n  when purpose si care and\n"
                                  "caveats include MEDICAL\npermit B when purpose is x\n",
                                  &diags);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("did you mean 'is'?"), std::string::npos) << diags[0].message;
  EXPECT_TRUE(ast.decls.empty());
  ASSERT_EQ(ast.rules.size(), 1u);
  EXPECT_EQ(ast.rules[0].id.text, "B");
}

TEST(PolicyParser, AMissingAndBetweenConditionsIsNamedAndTheRuleDropped) {
  // Kept, the rule would be broader than written ("purpose is care" only).
  std::vector<Diagnostic> diags;
  PolicyFileAst ast =
      ParsePolicy(0, "permit A\n  when purpose is care\n    sender is trust-a\n", &diags);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].pos.line, 3);
  EXPECT_NE(diags[0].message.find("expected 'and' or 'or' before this condition"),
            std::string::npos)
      << diags[0].message;
  EXPECT_TRUE(ast.rules.empty());
}

TEST(PolicyParser, AMisspeltSubjectGetsASuggestion) {
  std::vector<Diagnostic> diags;
  ParsePolicy(0, "permit A when recipent sector is council\n", &diags);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("did you mean 'recipient'?"), std::string::npos)
      << diags[0].message;
}

TEST(PolicyParser, ANameLongerThanTheLimitIsRefused) {
  std::vector<Diagnostic> diags;
  ParsePolicy(0, "permit A when purpose is " + std::string(kMaxNameLength + 1, 'x') + "\n",
              &diags);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].code, "limit");
  diags.clear();
  ParsePolicy(0, "permit A when purpose is " + std::string(kMaxNameLength, 'x') + "\n", &diags);
  EXPECT_TRUE(diags.empty());
  ParsePolicy(0, "permit A \"" + std::string(kMaxDescriptionLength + 1, 'd') + "\"\n", &diags);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].code, "limit");
}

TEST(PolicyDiagnosticPrinter, IndexesLinesOnceAndFindsEachLine) {
  SourceSet sources{{"a.ghp", "one\r\ntwo\n\nfour"}};
  DiagnosticPrinter printer(sources);
  EXPECT_EQ(printer.Line(0, 1), "one");
  EXPECT_EQ(printer.Line(0, 2), "two");
  EXPECT_EQ(printer.Line(0, 3), "");
  EXPECT_EQ(printer.Line(0, 4), "four");
  EXPECT_EQ(printer.Line(0, 5), "");
  EXPECT_EQ(printer.Line(1, 1), "");
  Diagnostic d = MakeDiagnostic(Severity::kWarning, "x", SourcePos{0, 4, 3}, "m");
  d.notes.push_back(DiagnosticNote{SourcePos{0, 2, 1}, "see here"});
  EXPECT_EQ(printer.Format(d),
            "a.ghp:4:3: warning: m [x]\n  four\n    ^\n"
            "a.ghp:2:1: note: see here\n  two\n  ^\n");
}

// Issue 20, point 8: invalid UTF-8 inside quotes passed check and compile
// and could be signed; only verify refused the bundle (protobuf strings
// must be UTF-8). Now check refuses it, where it is.
TEST(PolicyParser, InvalidUtf8InAQuotedNameIsRefusedWhereItIs) {
  std::vector<Diagnostic> diags;
  PolicyFileAst ast = ParsePolicy(0, "caveats PERSONAL, \"CAF\xc3\" \npermit P when purpose is x\n",
                                  &diags);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].pos.line, 1);
  EXPECT_EQ(diags[0].pos.column, 23);
  EXPECT_NE(diags[0].message.find("not UTF-8"), std::string::npos) << diags[0].message;
  EXPECT_EQ(ast.rules.size(), 1u);  // its neighbour is kept
}

TEST(PolicyParser, InvalidUtf8InACommentOrDescriptionIsRefused) {
  for (const char* text : {"# caf\xe9\npermit P when purpose is x\n",
                           "permit P \"overlong \xc0\xaf slash\" when purpose is x\n",
                           "permit P \"surrogate \xed\xa0\x80\" when purpose is x\n",
                           "permit P when purpose is x  # \xf5\x80\x80\x80\n"}) {
    std::vector<Diagnostic> diags;
    ParsePolicy(0, text, &diags);
    ASSERT_FALSE(diags.empty()) << text;
    EXPECT_NE(diags[0].message.find("not UTF-8"), std::string::npos) << diags[0].message;
  }
}

TEST(PolicyParser, Utf8TextIsAcceptedAndColumnsCountCharacters) {
  std::vector<Diagnostic> diags;
  PolicyFileAst ast = ParsePolicy(
      0, "# Caldicott \xe2\x80\x94 guardian\nsectors \"Ysbyty \xc5\xb5\", s\npermit P when purposes\n",
      &diags);
  ASSERT_EQ(diags.size(), 1u);  // only the deliberate mistake
  EXPECT_EQ(ast.decls[0].names[0].text, "Ysbyty \xc5\xb5");
  std::vector<Diagnostic> d2;
  ParsePolicy(0, "sectors \"\xc5\xb5\", ?\n", &d2);
  ASSERT_EQ(d2.size(), 1u);
  EXPECT_EQ(d2[0].pos.column, 14);  // the 2-byte character is one column
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

// Every policy example in docs/policy-language.md compiles without errors
// (issue 20: "every example in it checked by a test"). An example is a
// fenced block opened with ```ghp. A block that declares its own `policy`
// is compiled alone; a block of rules is compiled after the declarations
// of policy/examples/national-baseline.ghp, whose names the guide uses.
// The tutorial builds one policy in steps: a block whose first line starts
// "# Step " is compiled after every step block before it, and the test
// cases in ```cases blocks run against all the steps together.
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "policy/case_file.h"
#include "policy/engine.h"
#include "tests/policy/cedar_requests.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

struct Example {
  int line = 0;  // of the opening fence, 1-based
  std::string text;
};

std::vector<Example> FencedBlocks(const std::string& doc, absl::string_view fence) {
  std::vector<Example> out;
  bool in = false;
  int n = 0;
  for (absl::string_view line : absl::StrSplit(doc, '\n')) {
    ++n;
    if (!in && line == fence) {
      in = true;
      out.push_back(Example{n, ""});
    } else if (in && line.substr(0, 3) == "```") {
      in = false;
    } else if (in) {
      out.back().text.append(line.data(), line.size()).push_back('\n');
    }
  }
  return out;
}

std::vector<Example> GhpBlocks(const std::string& doc) { return FencedBlocks(doc, "```ghp"); }

bool IsTutorialStep(const Example& e) { return e.text.rfind("# Step ", 0) == 0; }

// The baseline's text before its first rule.
std::string BaselineDeclarations() {
  std::string text;
  EXPECT_TRUE(ReadFileToString(SourcePath("policy/examples/national-baseline.ghp"), &text));
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.substr(0, 7) == "permit " || line.substr(0, 7) == "forbid ") break;
    out.append(line.data(), line.size()).push_back('\n');
  }
  return out;
}

TEST(PolicyDocs, EveryExampleInTheGuideCompiles) {
  std::string doc;
  ASSERT_TRUE(ReadFileToString(SourcePath("docs/policy-language.md"), &doc));
  const std::vector<Example> examples = GhpBlocks(doc);
  ASSERT_GE(examples.size(), 4u) << "the guide's examples are fenced ```ghp";
  const std::string declarations = BaselineDeclarations();
  std::string tutorial;  // the step blocks so far
  for (const Example& e : examples) {
    const bool whole = e.text.find("\npolicy ") != std::string::npos ||
                       e.text.rfind("policy ", 0) == 0;
    if (IsTutorialStep(e)) tutorial += e.text;
    Compiled c = CompileText(IsTutorialStep(e) ? tutorial
                             : whole           ? e.text
                                               : declarations + "\n" + e.text);
    EXPECT_FALSE(HasErrors(c.diagnostics))
        << "docs/policy-language.md:" << e.line << ": the example does not compile\n"
        << c.Dump();
  }
}

// The guide's test cases (lines starting "allow " or "deny ") outside the
// tutorial's ```cases blocks pass against the example baseline and the
// Leeds layer.
TEST(PolicyDocs, EveryTestCaseInTheGuidePasses) {
  std::string doc, baseline, local;
  ASSERT_TRUE(ReadFileToString(SourcePath("docs/policy-language.md"), &doc));
  ASSERT_TRUE(ReadFileToString(SourcePath("policy/examples/national-baseline.ghp"), &baseline));
  ASSERT_TRUE(ReadFileToString(SourcePath("policy/examples/local-leeds-care.ghp"), &local));
  std::string lines;
  bool in_cases = false;
  for (absl::string_view line : absl::StrSplit(doc, '\n')) {
    if (line == "```cases") in_cases = true;
    if (in_cases) {
      if (line == "```") in_cases = false;
      continue;
    }
    if (line.substr(0, 6) == "allow " || line.substr(0, 5) == "deny ") {
      lines.append(line.data(), line.size()).push_back('\n');
    }
  }
  auto cases = ParseCases(lines);
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_GE(cases->size(), 2u);
  Compiled c = CompileTexts({baseline, local});
  ASSERT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  auto engine = Engine::FromModel(c.model);
  ASSERT_TRUE(engine.ok()) << engine.status();
  for (const TestCase& t : *cases) EXPECT_EQ(CheckCase(*engine, t), "") << t.name;
}

// The tutorial's test cases pass against the policy its steps build.
TEST(PolicyDocs, EveryTutorialCasePassesAgainstTheTutorialPolicy) {
  std::string doc;
  ASSERT_TRUE(ReadFileToString(SourcePath("docs/policy-language.md"), &doc));
  std::string tutorial;
  for (const Example& e : GhpBlocks(doc)) {
    if (IsTutorialStep(e)) tutorial += e.text;
  }
  ASSERT_FALSE(tutorial.empty()) << "the tutorial's steps start \"# Step \"";
  std::string lines;
  for (const Example& e : FencedBlocks(doc, "```cases")) lines += e.text;
  auto cases = ParseCases(lines);
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_GE(cases->size(), 4u);
  Compiled c = CompileText(tutorial);
  ASSERT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  auto engine = Engine::FromModel(c.model);
  ASSERT_TRUE(engine.ok()) << engine.status();
  for (const TestCase& t : *cases) EXPECT_EQ(CheckCase(*engine, t), "") << t.name;
}

// The check would pass vacuously if it found no error in a bad example.
TEST(PolicyDocs, AnExampleWithAMistakeIsCaught) {
  const std::vector<Example> e =
      GhpBlocks("text\n```ghp\npermit p\n  when purpose is no_such_purpose\n```\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].line, 2);
  EXPECT_TRUE(HasErrors(CompileText(BaselineDeclarations() + e[0].text).diagnostics));
}

}  // namespace
}  // namespace gatehouse::policy::testing

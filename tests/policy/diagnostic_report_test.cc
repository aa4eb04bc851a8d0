// JSON and SARIF reports of diagnostics are valid JSON (checked by
// protobuf's JSON parser) and carry every diagnostic with its position.
#include "policy/diagnostic_report.h"

#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "common/log.h"
#include "gtest/gtest.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

google::protobuf::Struct ParseJson(const std::string& text) {
  google::protobuf::Struct s;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &s);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << text;
  return s;
}

Compiled TwoMistakes() {
  Compiled c = CompileText(
      "classifications OFFICIAL < \"TOP SECRET\"\nsectors health\nrecord types r\n"
      "purposes p\norganisation o sector health accredited OFFICIAL\n"
      "forbid F when classification is TOP_SECRET\n"
      "permit \"quoted id\" when purpose is q\n");
  SortDiagnostics(&c.diagnostics);
  return c;
}

TEST(PolicyDiagnosticReport, JsonCarriesEveryDiagnosticWithItsPosition) {
  Compiled c = TwoMistakes();
  ASSERT_GE(c.diagnostics.size(), 2u) << c.Dump();
  const google::protobuf::Struct json = ParseJson(DiagnosticsToJson(c.sources, c.diagnostics));
  const auto& list = json.fields().at("diagnostics").list_value();
  ASSERT_EQ(list.values_size(), static_cast<int>(c.diagnostics.size()));
  const auto& first = list.values(0).struct_value().fields();
  EXPECT_EQ(first.at("file").string_value(), "policy0.ghp");
  EXPECT_EQ(first.at("line").number_value(), 6);
  EXPECT_EQ(first.at("column").number_value(), 33);
  EXPECT_EQ(first.at("code").string_value(), "unknown-name");
  EXPECT_EQ(first.at("suggestion").string_value(), "\"TOP SECRET\"");
  EXPECT_EQ(list.values(1).struct_value().fields().at("line").number_value(), 7);
  EXPECT_EQ(json.fields().at("errors").number_value(), c.diagnostics.size());
}

TEST(PolicyDiagnosticReport, SarifIsVersion210WithOneResultADiagnostic) {
  Compiled c = TwoMistakes();
  const google::protobuf::Struct sarif = ParseJson(DiagnosticsToSarif(c.sources, c.diagnostics));
  EXPECT_EQ(sarif.fields().at("version").string_value(), "2.1.0");
  const auto& run = sarif.fields().at("runs").list_value().values(0).struct_value().fields();
  const auto& results = run.at("results").list_value();
  ASSERT_EQ(results.values_size(), static_cast<int>(c.diagnostics.size()));
  const auto& r0 = results.values(0).struct_value().fields();
  EXPECT_EQ(r0.at("level").string_value(), "error");
  EXPECT_EQ(r0.at("ruleId").string_value(), c.diagnostics[0].code);
  const auto& region = r0.at("locations").list_value().values(0).struct_value().fields()
                           .at("physicalLocation").struct_value().fields()
                           .at("region").struct_value().fields();
  EXPECT_EQ(region.at("startLine").number_value(), c.diagnostics[0].pos.line);
}

TEST(PolicyDiagnosticReport, ControlCharactersAndQuotesAreEscaped) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  ParseJson("{\"s\":" + JsonQuote("TOP \"SECRET\"\t\x1f") + "}");
}

}  // namespace
}  // namespace gatehouse::policy::testing

// /api/observe on an audit export made here, line by line as `auditctl
// export` writes it (an AuditInclusionProof in protobuf JSON, field names
// as in the .proto), with known answers.
#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tools/workbench/api_test_util.h"
#include "tools/workbench/observe.h"

namespace gatehouse::workbench {
namespace {

using testing::Field;
using testing::Parsed;

// 2027-01-15T08:00:00Z, on a whole minute.
constexpr int64_t kT0 = int64_t{1800000000} * 1000000000;
constexpr int64_t kSecond = 1000000000;

v1::AuditEntry Decision(v1::AuditEvent event, int64_t at, const std::string& sender,
                        const std::string& recipient, const std::string& type,
                        const std::string& caveat, bool permit, const std::string& rule,
                        const std::string& reason) {
  v1::AuditEntry e;
  e.set_event(event);
  e.set_time_unix_ns(at);
  e.set_sender_org(sender);
  e.set_recipient_org(recipient);
  e.mutable_labels()->set_record_type(type);
  e.mutable_labels()->set_classification("OFFICIAL-SENSITIVE");
  e.mutable_labels()->set_purpose(type == "crime_report" ? "safeguarding" : "direct_care");
  if (!caveat.empty()) e.mutable_labels()->add_caveats(caveat);
  e.set_decision(permit ? v1::AUDIT_DECISION_PERMIT : v1::AUDIT_DECISION_DENY);
  if (!rule.empty()) e.add_rule_ids(rule);
  e.set_reason(reason);
  return e;
}

std::string ExportLine(uint64_t index, const v1::AuditEntry& e) {
  v1::AuditInclusionProof row;
  row.set_leaf_index(index);
  row.set_leaf_hash(std::string(32, '\x01'));
  *row.mutable_entry() = e;
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(row, &out, o).ok());
  return out + "\n";
}

constexpr char kMedical[] = "denied: forbidden by rule medical-stays-in-health";

// Three permits over two minutes, two MEDICAL denials, a no-permit denial
// of a crime report, a shadow difference, and a restart (no decision).
std::string Export() {
  using v1::AUDIT_EVENT_DENIED;
  using v1::AUDIT_EVENT_SUBMITTED;
  const v1::AuditEntry entries[] = {
      Decision(AUDIT_EVENT_SUBMITTED, kT0, "nhs-trust-a", "council-a", "discharge_summary",
               "PERSONAL", true, "health-council-care", ""),
      Decision(AUDIT_EVENT_SUBMITTED, kT0 + 30 * kSecond, "nhs-trust-a", "council-a",
               "discharge_summary", "PERSONAL", true, "health-council-care", ""),
      Decision(AUDIT_EVENT_DENIED, kT0 + 40 * kSecond, "nhs-trust-a", "council-a",
               "discharge_summary", "MEDICAL", false, "medical-stays-in-health", kMedical),
      Decision(AUDIT_EVENT_DENIED, kT0 + 70 * kSecond, "nhs-trust-a", "council-a",
               "discharge_summary", "MEDICAL", false, "medical-stays-in-health", kMedical),
      Decision(AUDIT_EVENT_DENIED, kT0 + 80 * kSecond, "police-a", "council-a", "crime_report",
               "", false, "", "denied: no sharing agreement"),
      Decision(AUDIT_EVENT_SUBMITTED, kT0 + 125 * kSecond, "nhs-trust-a", "council-a",
               "discharge_summary", "PERSONAL", true, "health-council-care", ""),
  };
  std::string out;
  uint64_t i = 0;
  for (const v1::AuditEntry& e : entries) out += ExportLine(i++, e);
  v1::AuditEntry shadow = entries[0];
  shadow.set_event(v1::AUDIT_EVENT_SHADOW_DIFFERS);
  shadow.set_decision(v1::AUDIT_DECISION_DENY);
  shadow.set_reason("live policy v1: permitted by health-council-care; shadow policy v2: no-permit");
  out += ExportLine(i++, shadow);
  v1::AuditEntry restart;
  restart.set_event(v1::AUDIT_EVENT_GATEWAY_STARTED);
  restart.set_time_unix_ns(kT0);
  return out + "\n" + ExportLine(i, restart);  // a blank line is skipped
}

ApiAnswer ObserveWith(const std::string& exported, const std::string& source = "") {
  return Api::Create("")->Handle(
      "/api/observe", ToJson(Object({{"export", Str(exported)}, {"source", Str(source)}})));
}

TEST(WorkbenchObserve, CountsDecisionsByRuleOverTimeInMinutes) {
  const ApiAnswer a = ObserveWith(Export());
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto o = Parsed(a);
  EXPECT_EQ(Field(o, "entries").number_value(), 8);
  EXPECT_EQ(Field(o, "permits").number_value(), 3);
  EXPECT_EQ(Field(o, "denies").number_value(), 3);
  EXPECT_EQ(Field(o, "shadow_differences").number_value(), 1);
  EXPECT_EQ(Field(o, "first").string_value(), "2027-01-15T08:00:00Z");
  // 125 s of traffic: one-minute bars, 08:00, 08:01, 08:02.
  EXPECT_EQ(Field(o, "bucket_seconds").number_value(), 60);
  const auto& buckets = Field(o, "buckets").list_value();
  ASSERT_EQ(buckets.values_size(), 3);
  EXPECT_EQ(Field(buckets.values(1).struct_value(), "start").string_value(),
            "2027-01-15T08:01:00Z");
  // 08:00: two permits by health-council-care, one MEDICAL denial.
  const auto& first = Field(buckets.values(0).struct_value(), "rules").list_value();
  ASSERT_EQ(first.values_size(), 2);
  EXPECT_EQ(Field(first.values(0).struct_value(), "rule").string_value(), "health-council-care");
  EXPECT_EQ(Field(first.values(0).struct_value(), "permits").number_value(), 2);
  EXPECT_EQ(Field(first.values(1).struct_value(), "denies").number_value(), 1);
  // Overall, a denial without a deciding rule counts as "(no rule)".
  const auto& no_rule = Field(o, "rules").list_value().values(0).struct_value();
  EXPECT_EQ(Field(no_rule, "rule").string_value(), "(no rule)");
  EXPECT_EQ(Field(no_rule, "denies").number_value(), 1);
  EXPECT_EQ(Field(no_rule, "permits").number_value(), 0);
}

TEST(WorkbenchObserve, MostDeniedFlowFirstWithItsReasonAndRule) {
  const auto o = Parsed(ObserveWith(Export()));
  const auto& rows = Field(o, "most_denied").list_value();
  ASSERT_EQ(rows.values_size(), 2);
  const auto& top = rows.values(0).struct_value();
  EXPECT_EQ(Field(top, "count").number_value(), 2);
  EXPECT_EQ(Field(top, "caveats").string_value(), "MEDICAL");
  EXPECT_EQ(Field(top, "rules").list_value().values(0).string_value(), "medical-stays-in-health");
  EXPECT_EQ(Field(Field(top, "reasons").list_value().values(0).struct_value(), "reason")
                .string_value(), kMedical);
  const auto& shadow = Field(o, "shadow").list_value();
  ASSERT_EQ(shadow.values_size(), 1);
  EXPECT_TRUE(absl::StrContains(
      Field(Field(shadow.values(0).struct_value(), "reasons").list_value().values(0).struct_value(),
            "reason").string_value(), "shadow policy v2: no-permit"));
}

TEST(WorkbenchObserve, TheDraftOnTheSameTrafficNamesWhatItWouldChange) {
  const std::string northshire = testing::Example("northshire.ghp");
  const auto same = Parsed(ObserveWith(Export(), northshire));
  EXPECT_TRUE(Field(Field(same, "draft").struct_value(), "evaluated").bool_value());
  EXPECT_EQ(Field(Field(same, "draft").struct_value(), "changed").number_value(), 0);
  // A draft that lets police send crime reports to councils.
  const std::string more = northshire + testing::kNewPermit;
  const auto changed = Field(Parsed(ObserveWith(Export(), more)), "draft").struct_value();
  EXPECT_EQ(Field(changed, "changed").number_value(), 1);
  const auto& row = Field(changed, "changes").list_value().values(0).struct_value();
  EXPECT_EQ(Field(row, "sender").string_value(), "police-a");
  EXPECT_EQ(Field(row, "rules").list_value().values(0).string_value(), "police-council-crime");
  EXPECT_TRUE(absl::StrContains(Field(Field(row, "reasons").list_value().values(0).struct_value(),
                                      "reason").string_value(), "was denied, the draft permits"));
}

TEST(WorkbenchObserve, ADraftWithAnErrorLeavesTheSummaryAndSaysWhy) {
  const ApiAnswer a = ObserveWith(Export(), "policy broken\n");
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto draft = Field(Parsed(a), "draft").struct_value();
  EXPECT_FALSE(Field(draft, "evaluated").bool_value());
  EXPECT_TRUE(absl::StrContains(Field(draft, "error").string_value(), "draft.ghp")) << a.json;
}

TEST(WorkbenchObserve, ALineThatIsNotAnEntryIsRefusedWithItsNumber) {
  const std::string bad = ExportLine(0, v1::AuditEntry()) + "{\"leaf_index\": 1}\n";
  const ApiAnswer a = ObserveWith(bad);
  EXPECT_EQ(a.http_status, 400) << a.json;
  EXPECT_TRUE(absl::StrContains(a.json, "line 2: not an entry")) << a.json;
  const ApiAnswer unknown = ObserveWith("{\"entry\": {\"evil\": 1}}\n");
  EXPECT_EQ(unknown.http_status, 400) << unknown.json;
  EXPECT_TRUE(absl::StrContains(unknown.json, "line 1:")) << unknown.json;
}

TEST(WorkbenchObserve, AnEmptyExportHasNothingToDraw) {
  const auto o = Parsed(ObserveWith(""));
  EXPECT_EQ(Field(o, "entries").number_value(), 0);
  EXPECT_EQ(Field(o, "buckets").list_value().values_size(), 0);
}

TEST(WorkbenchObserve, AYearOfTrafficKeepsToTheMostBars) {
  std::vector<v1::AuditEntry> entries = {
      Decision(v1::AUDIT_EVENT_SUBMITTED, kT0, "a", "b", "t", "", true, "r", ""),
      Decision(v1::AUDIT_EVENT_SUBMITTED, kT0 + 365 * 86400 * kSecond, "a", "b", "t", "", true,
               "r", "")};
  const Observation o = Observe(entries, nullptr);
  EXPECT_LE(o.buckets.size(), static_cast<size_t>(kMaxBuckets));
  EXPECT_EQ(o.bucket_ns % (86400 * kSecond), 0);
}

}  // namespace
}  // namespace gatehouse::workbench

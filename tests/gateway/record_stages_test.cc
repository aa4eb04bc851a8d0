// The record path's stages that need no process (gateway/record/): the one
// conversion of a record's labels, the write-down invariant, and carrying
// out a permit's obligations. Each refusal is checked for its code and
// message, and that nothing came back.
#include "gateway/record/labels.h"

#include "gateway/record/obligations.h"
#include "gateway/record/write_down.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

v1::Labels Submitted() {
  v1::Labels l;
  l.set_recipient_org("council-a");
  l.set_recipient_system("care");
  l.set_record_type("discharge_summary");
  l.set_classification("OFFICIAL-SENSITIVE");
  l.add_caveats("PERSONAL");
  l.add_caveats("MEDICAL");
  l.set_purpose("direct_care");
  l.set_originator("gp-practice-b");
  l.set_end_user("dr.patel");
  l.set_content_type("application/fhir+json");
  return l;
}

TEST(LabelsTest, SubmittedLabelsComeBackWholeAfterTheEnvelope) {
  const v1::Labels sent = Submitted();
  envelope::RecordLabels header = EnvelopeLabelsOf(sent, "0123", "nhs-trust-a", 1234);
  EXPECT_EQ(header.record_id, "0123");
  EXPECT_EQ(header.sender_org, "nhs-trust-a");
  EXPECT_EQ(header.recipient_org, "council-a");
  EXPECT_EQ(header.created_unix_ms, 1234);
  EXPECT_EQ(header.caveats, (std::vector<std::string>{"PERSONAL", "MEDICAL"}));
  // What only the recipient may read travels in the sealed content.
  v1::SealedContent content;
  content.set_recipient_system(sent.recipient_system());
  content.set_originator(sent.originator());
  content.set_end_user(sent.end_user());
  EXPECT_EQ(LabelsOf(header, content).SerializeAsString(), sent.SerializeAsString());
}

TEST(LabelsTest, PolicyIsAskedAboutExactlyTheLabels) {
  const v1::Labels l = Submitted();
  std::vector<absl::string_view> caveats;
  policy::Request q = PolicyRequestOf("nhs-trust-a", l, &caveats);
  EXPECT_EQ(q.sender, "nhs-trust-a");
  EXPECT_EQ(q.recipient, "council-a");
  EXPECT_EQ(q.record_type, "discharge_summary");
  EXPECT_EQ(q.classification, "OFFICIAL-SENSITIVE");
  EXPECT_EQ(q.purpose, "direct_care");
  EXPECT_EQ(q.originator, "gp-practice-b");
  ASSERT_EQ(q.caveats.size(), 2u);
  EXPECT_EQ(q.caveats[1], "MEDICAL");
}

TEST(WriteDownTest, RecordAboveTheHoldersAccreditationIsDenied) {
  absl::Status s = CheckNoWriteDown("SECRET", "OFFICIAL-SENSITIVE", "council-a's gateway");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "denied: write-down: council-a's gateway is accredited to OFFICIAL-SENSITIVE, below "
            "this record's SECRET");
  EXPECT_FALSE(CheckNoWriteDown("TOP SECRET", "SECRET", "this gateway").ok());
  // No accreditation in the directory: nothing on the lattice may go.
  EXPECT_FALSE(CheckNoWriteDown("OFFICIAL", "", "this gateway").ok());
}

TEST(WriteDownTest, AtOrBelowTheAccreditationIsAllowedAndUnknownLevelsAreLeftToPolicy) {
  EXPECT_TRUE(CheckNoWriteDown("OFFICIAL-SENSITIVE", "OFFICIAL-SENSITIVE", "x").ok());
  EXPECT_TRUE(CheckNoWriteDown("OFFICIAL", "SECRET", "x").ok());
  EXPECT_TRUE(CheckNoWriteDown("CONFIDENTIAL", "OFFICIAL", "x").ok());  // policy denies it
  EXPECT_EQ(ClassificationRank("TOP SECRET"), 4);
  EXPECT_EQ(ClassificationRank("official"), 0);
}

class ObligationsTest : public ::testing::Test {
 protected:
  absl::StatusOr<ObligationsCarriedOut> Run(const std::string& payload, bool streamed = false) {
    return CarryOutObligations(ob_, fields_, "rule-7", labels_, payload, "nhs-trust-a", streamed);
  }
  policy::DecisionObligations ob_;
  std::vector<std::string> fields_;
  v1::Labels labels_ = Submitted();
};

TEST_F(ObligationsTest, NoObligationsKeepThePayloadAsSent) {
  absl::StatusOr<ObligationsCarriedOut> done = Run("{\"a\": 1}");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->payload, "{\"a\": 1}");
  EXPECT_EQ(done->summary, "encrypted");
}

TEST_F(ObligationsTest, RedactionRemovesTheNamedFieldsHoweverSpelt) {
  ob_.redact = 1;
  ob_.retain_days = 30;
  fields_ = {"gp_free_text"};
  absl::StatusOr<ObligationsCarriedOut> done = Run("{\"gp_free_tex\\u0074\": \"x\", \"b\": 2}");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->payload, "{\"b\": 2}");
  EXPECT_EQ(done->summary, "redacted 1 field(s) (gp_free_text); retain 30 days; encrypted");
}

TEST_F(ObligationsTest, RecordWithoutARequiredRecipientSystemIsDenied) {
  ob_.require_recipient_system = true;
  labels_.clear_recipient_system();
  absl::StatusOr<ObligationsCarriedOut> done = Run("{}");
  EXPECT_EQ(done.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(done.status().message().find("rule rule-7 requires naming the recipient system"),
            std::string::npos)
      << done.status();
  labels_.set_recipient_system("care");
  EXPECT_TRUE(Run("{}").ok());
}

TEST_F(ObligationsTest, RedactionOfAStreamedOrUnreadableRecordIsDenied) {
  ob_.redact = 1;
  fields_ = {"address"};
  absl::StatusOr<ObligationsCarriedOut> done = Run("{}", /*streamed=*/true);
  EXPECT_EQ(done.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(done.status().message().find("streamed"), std::string::npos) << done.status();
  done = Run("{\"address\": 1, \"addr\\u0065ss\": 2}");  // a duplicate, decoded
  EXPECT_EQ(done.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(done.status().message().find("cannot be redacted"), std::string::npos)
      << done.status();
}

TEST_F(ObligationsTest, NotifyingAnotherOrganisationsOriginatorIsDenied) {
  ob_.notify_originator = true;
  absl::StatusOr<ObligationsCarriedOut> done = Run("{}");
  EXPECT_EQ(done.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(done.status().message().find("notifying the originator gp-practice-b"),
            std::string::npos)
      << done.status();
  labels_.set_originator("nhs-trust-a");  // our own: nothing to notify
  EXPECT_TRUE(Run("{}").ok());
}

}  // namespace
}  // namespace gatehouse

// Report signatures and the peer's comparison: a report signature checks
// only over the exact bytes and key; a countersignature is never taken for
// a report signature; the receiver's log agrees with a sender's report, or
// the differing record ids are listed; a report about another organisation
// or with edited figures is refused.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sla/countersign.h"
#include "sla/figures.h"
#include "sla/report_signature.h"
#include "tests/sla/sla_test_util.h"

namespace gatehouse::sla {
namespace {

using testing::Min;
using testing::Sec;
using testing::SyntheticLog;
using testing::T0;

audit::NoteSigner Key(const std::string& name) {
  return *audit::NoteSigner::Generate(name, audit::kSigTypeEd25519);
}
audit::NoteVerifier Public(const audit::NoteSigner& s) {
  return *audit::NoteVerifier::FromVerifierKey(s.VerifierKeyString());
}

TEST(ReportSignatureTest, VerifiesOnlyTheExactBytesUnderTheSignersKey) {
  const audit::NoteSigner health = Key("gatehouse.test/health-a");
  const audit::NoteSigner council = Key("gatehouse.test/council-a");
  const std::string report = "{\"format\": \"gatehouse.sla-report/v1\"}\n";
  const std::string sig = SignReport(report, health);
  EXPECT_TRUE(VerifyReportSignature(report, sig, Public(health)).ok());
  for (size_t i = 0; i < report.size(); ++i) {
    std::string changed = report;
    changed[i] ^= 0x01;
    EXPECT_EQ(VerifyReportSignature(changed, sig, Public(health)).code(), absl::StatusCode::kDataLoss) << i;
  }
  EXPECT_EQ(VerifyReportSignature(report, sig, Public(council)).code(), absl::StatusCode::kUnauthenticated);
  // A countersignature over the same bytes is not a report signature, and
  // neither text is a checkpoint.
  const std::string cs = CountersignReport(report, "gatehouse.test/health-a\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", health);
  EXPECT_EQ(VerifyReportSignature(report, cs, Public(health)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(VerifyCountersignature(report, sig, Public(health)).ok());
  EXPECT_FALSE(audit::OpenCheckpoint(sig, Public(health)).ok());
  absl::StatusOr<audit::Checkpoint> cp = VerifyCountersignature(report, cs, Public(health));
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 5u);
}

// health-a sends council-a five records in [T0, T0+60m); council-a's log
// receives each a second after submission (its clock 0.5 s behind).
class CountersignTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 5; ++i) {
      const std::string id = absl::StrCat("rec-", i);
      const int64_t t = T0() + Min(10 * (i + 1));
      health_.Submitted(id, "council-a", t);
      health_.Delivered(id, "council-a", t + Sec(2));
      if (id != skip_) council_.Received(id, "health-a", t + Sec(0.5));
    }
    // council-a sends one back.
    council_.Submitted("back-1", "health-a", T0() + Min(15));
    council_.Delivered("back-1", "health-a", T0() + Min(15) + Sec(1));
    health_.Received("back-1", "council-a", T0() + Min(15) + Sec(0.7));
  }
  gatehouse::v1::ServiceLevelReport Report(const std::string& peer = "council-a") {
    FigureOptions o;
    o.from_ns = T0();
    o.to_ns = T0() + Min(60);
    o.peer = peer;
    return *ComputeReport(health_.ReadLedger(), o);
  }
  absl::StatusOr<std::vector<Difference>> Compare(const gatehouse::v1::ServiceLevelReport& r) {
    return CompareWithOwnLog(r, council_.ReadLedger(), "council-a", absl::Seconds(2));
  }
  std::string skip_;
  audit::testing::ScratchDir scratch_;
  SyntheticLog health_{scratch_.Sub("health"), "health-a"};
  SyntheticLog council_{scratch_.Sub("council"), "council-a"};
};

TEST_F(CountersignTest, MatchingLogsAgree) {
  absl::StatusOr<std::vector<Difference>> d = Compare(Report());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->empty()) << (*d)[0].record_id << ": " << (*d)[0].what;
}

class CountersignMissingTest : public CountersignTest {
 protected:
  CountersignMissingTest() { skip_ = "rec-3"; }
};

TEST_F(CountersignMissingTest, AReceiverLackingARecordListsItsId) {
  absl::StatusOr<std::vector<Difference>> d = Compare(Report());
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].record_id, "rec-3");
  EXPECT_NE((*d)[0].what.find("never RECEIVED"), std::string::npos) << (*d)[0].what;
}

TEST_F(CountersignTest, AReceiptLaterThanTheReportedDeliveryBeyondTheToleranceDiffers) {
  // The report moves rec-1 10 s earlier (same latency, so its figures still
  // follow from its records): council-a RECEIVED it 8 s after the reported
  // delivery, beyond the 2 s tolerance.
  gatehouse::v1::ServiceLevelReport r = Report();
  auto* rec = r.mutable_peers(0)->mutable_outbound()->mutable_records(1);
  ASSERT_EQ(rec->record_id(), "rec-1");
  rec->set_submitted_ns(rec->submitted_ns() - Sec(10));
  rec->set_delivered_ns(rec->delivered_ns() - Sec(10));
  absl::StatusOr<std::vector<Difference>> d = Compare(r);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].record_id, "rec-1");
  EXPECT_NE((*d)[0].what.find("after health-a logged it DELIVERED"), std::string::npos) << (*d)[0].what;
}

TEST_F(CountersignTest, ARecordLeftOutOfTheReportIsListed) {
  gatehouse::v1::ServiceLevelReport r = Report();
  r.mutable_peers(0)->mutable_inbound()->clear_records();  // drops back-1
  r.mutable_peers(0)->mutable_inbound()->set_received(0);
  absl::StatusOr<std::vector<Difference>> d = Compare(r);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].record_id, "back-1");
}

TEST_F(CountersignTest, EditedFiguresAreRefused) {
  gatehouse::v1::ServiceLevelReport r = Report();
  r.mutable_peers(0)->mutable_outbound()->mutable_delivery_latency()->set_p99_ns(Sec(1));
  EXPECT_EQ(Compare(r).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CountersignTest, AReportAboutAnotherOrganisationIsRefused) {
  health_.Submitted("p-1", "police-b", T0() + Min(1));
  absl::StatusOr<std::vector<Difference>> d = Compare(Report("police-b"));
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("about police-b, not council-a"), std::string::npos) << d.status();
  // Nor may council-a countersign its own report.
  FigureOptions o;
  o.from_ns = T0();
  o.to_ns = T0() + Min(60);
  o.peer = "health-a";
  gatehouse::v1::ServiceLevelReport own = *ComputeReport(council_.ReadLedger(), o);
  EXPECT_EQ(Compare(own).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gatehouse::sla

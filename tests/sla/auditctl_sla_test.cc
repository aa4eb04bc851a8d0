// auditctl sla and sla-countersign end to end on real logs written with the
// audit library: a good report whose signature and proofs check (the
// proofs with `auditctl check-proof`); a tampered log, a period the log does
// not cover, a period no checkpoint covers and bad arguments refused, each
// naming what is wrong and writing nothing; the peer countersigns a report
// its own log agrees with, and lists the differing record id (writing
// nothing) when its log lacks one; a tampered report and a report about
// another organisation are refused.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "audit/log_directory.h"
#include "audit/log_format.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "sla/figures.h"
#include "sla/report_signature.h"
#include "tests/sla/sla_test_util.h"

namespace gatehouse::sla {
namespace {

using audit::testing::Cmd;
using audit::testing::CmdResult;
using audit::testing::ReadFile;
using audit::testing::WriteFile;
using testing::Min;
using testing::Sec;
using testing::SyntheticLog;
using testing::T0;

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

// health-a's and council-a's logs over one day from T0: health-a sends six
// records (rec-0 .. rec-5), council-a receives them half a second after
// submission (except `missing`) and sends one back. Each log starts an hour
// before T0 and goes on an hour after the day.
class AuditctlSlaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* org : {"health", "council"}) {
      CmdResult k = Cmd(absl::StrCat("keygen --name gatehouse.test/", org, " --out ", dir_.Sub(org)));
      ASSERT_EQ(k.exit_code, 0) << k.out;
    }
  }
  void WriteLogs(const std::string& missing = "") {
    SyntheticLog health(HealthLog(), "health-a", dir_.Sub("health.key"));
    SyntheticLog council(CouncilLog(), "council-a", dir_.Sub("council.key"));
    health.Started(T0() - Min(60));
    council.Started(T0() - Min(60));
    for (int i = 0; i < 6; ++i) {
      const std::string id = absl::StrCat("rec-", i);
      const int64_t t = T0() + Min(60 * (i + 1));
      health.Submitted(id, "council-a", t);
      if (id != missing) council.Received(id, "health-a", t + Sec(0.5));
      health.Delivered(id, "council-a", t + Sec(i + 1));
    }
    health.Checkpoint();
    council.Submitted("back-1", "health-a", T0() + Min(30));
    health.Received("back-1", "council-a", T0() + Min(30) + Sec(0.4));
    council.Delivered("back-1", "health-a", T0() + Min(30) + Sec(1));
    health.Started(T0() + Min(24 * 60 + 60));
    council.Started(T0() + Min(24 * 60 + 60));
    health.Close();
    council.Close();
  }
  std::string HealthLog() { return dir_.Sub("health-log"); }
  std::string CouncilLog() { return dir_.Sub("council-log"); }
  std::string Out() { return dir_.Sub("report.json"); }
  std::string Period() { return " --from 2026-03-02T00:00:00Z --to 2026-03-03T00:00:00Z"; }
  CmdResult Sla(const std::string& extra = "") {
    return Cmd(absl::StrCat("sla --log ", HealthLog(), Period(), " --key ", dir_.Sub("health.key"),
                            " --out ", Out(), " --html ", dir_.Sub("report.html"), " --peer council-a ", extra));
  }
  CmdResult Countersign() {
    return Cmd(absl::StrCat("sla-countersign --report ", Out(), " --report-key ", dir_.Sub("health.pub"),
                            " --log ", CouncilLog(), " --key ", dir_.Sub("council.key"), " --out ",
                            dir_.Sub("report.countersig")));
  }
  void ExpectNothingWritten() {
    EXPECT_FALSE(Exists(Out()));
    EXPECT_FALSE(Exists(Out() + ".sig"));
    EXPECT_FALSE(Exists(dir_.Sub("report.html")));
  }
  audit::testing::ScratchDir dir_;
};

TEST_F(AuditctlSlaTest, AGoodReportVerifiesAndItsProofsCheck) {
  WriteLogs();
  CmdResult r = Sla();
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string json = ReadFile(Out());
  audit::NoteVerifier health = *audit::NoteVerifier::FromVerifierKey(
      std::string(absl::StripTrailingAsciiWhitespace(ReadFile(dir_.Sub("health.pub")))));
  EXPECT_TRUE(VerifyReportSignature(json, ReadFile(Out() + ".sig"), health).ok());
  gatehouse::v1::ServiceLevelReport report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &report).ok());
  EXPECT_EQ(report.org(), "health-a");
  ASSERT_EQ(report.peers_size(), 1);
  const auto& out = report.peers(0).outbound();
  EXPECT_EQ(out.delivered(), 6u);
  // Latencies 1 s .. 6 s: p50 rank ceil(3) = 3 s; p90 and p99 rank 6.
  EXPECT_EQ(out.delivery_latency().p50_ns(), Sec(3));
  EXPECT_EQ(out.delivery_latency().p99_ns(), Sec(6));
  EXPECT_EQ(report.peers(0).inbound().received(), 1u);
  EXPECT_EQ(report.peers(0).days_size(), 1);
  // Entries: 0 start, 1..12 the six records, 13 back-1, 14 the start after
  // the period. Bound to the checkpoint signed at Close (size 15; the one at
  // 13 does not reach entry 14), entries 1 .. 13 used.
  EXPECT_EQ(report.binding().tree_size(), 15u);
  EXPECT_EQ(report.binding().first_index(), 1u);
  EXPECT_EQ(report.binding().last_index(), 13u);
  EXPECT_EQ(report.binding().after_period().leaf_index(), 14u);
  for (const auto* proof : {&report.binding().first(), &report.binding().last(),
                            &report.binding().after_period()}) {
    std::string text;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(*proof, &text).ok());
    WriteFile(dir_.Sub("proof.json"), text);
    CmdResult c = Cmd(absl::StrCat("check-proof --proof ", dir_.Sub("proof.json"), " --key ", dir_.Sub("health.pub")));
    EXPECT_EQ(c.exit_code, 0) << c.out;
  }
  const std::string html = ReadFile(dir_.Sub("report.html"));
  // GATEHOUSE_SLA_SAMPLE_DIR=docs/... keeps this report for the docs.
  if (const char* keep = std::getenv("GATEHOUSE_SLA_SAMPLE_DIR")) {
    for (const char* f : {"report.json", "report.json.sig", "report.html"}) {
      std::filesystem::copy_file(dir_.Sub(f), std::string(keep) + "/" + f,
                                 std::filesystem::copy_options::overwrite_existing);
    }
  }
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("style"), std::string::npos);  // nothing a strict CSP blocks
  EXPECT_EQ(html.find("src="), std::string::npos);  // nothing fetched
  EXPECT_EQ(html.find("href="), std::string::npos);
}

TEST_F(AuditctlSlaTest, ATamperedLogIsRefusedAndNothingIsWritten) {
  WriteLogs();
  const std::string seg = (*audit::ListSegments(HealthLog()))[0].path;
  std::string bytes = ReadFile(seg);
  bytes[audit::kSegmentHeaderSize + audit::kRecordHeaderSize + 3] ^= 0x20;  // entry 0
  WriteFile(seg, bytes);
  CmdResult r = Sla();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("does not verify"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("entry 0"), std::string::npos) << r.out;
  ExpectNothingWritten();
}

TEST_F(AuditctlSlaTest, APeriodTheLogDoesNotCoverIsRefused) {
  WriteLogs();
  CmdResult early = Cmd(absl::StrCat("sla --log ", HealthLog(), " --from 2026-03-01T00:00:00Z --to 2026-03-02T12:00:00Z --key ",
                                     dir_.Sub("health.key"), " --out ", Out()));
  EXPECT_EQ(early.exit_code, 1) << early.out;
  EXPECT_NE(early.out.find("does not cover the period: it begins at"), std::string::npos) << early.out;
  CmdResult late = Cmd(absl::StrCat("sla --log ", HealthLog(), " --from 2026-03-02T00:00:00Z --to 2026-03-05T00:00:00Z --key ",
                                    dir_.Sub("health.key"), " --out ", Out()));
  EXPECT_EQ(late.exit_code, 1) << late.out;
  EXPECT_NE(late.out.find("before --to"), std::string::npos) << late.out;
  ExpectNothingWritten();
}

TEST_F(AuditctlSlaTest, APeriodNoCheckpointCoversIsRefused) {
  // A copy of the log taken while it is open: its entries after the
  // checkpoint at size 2 are in no signed checkpoint.
  {
    SyntheticLog health(HealthLog(), "health-a", dir_.Sub("health.key"));
    health.Started(T0() - Min(60));
    health.Submitted("rec-0", "council-a", T0() + Min(1));
    health.Checkpoint();
    health.Delivered("rec-0", "council-a", T0() + Min(2));
    health.Started(T0() + Min(24 * 60 + 60));
    std::filesystem::copy(HealthLog(), dir_.Sub("copy"), std::filesystem::copy_options::recursive);
    health.Close();
  }
  CmdResult r = Cmd(absl::StrCat("sla --log ", dir_.Sub("copy"), Period(), " --key ", dir_.Sub("health.key"),
                                 " --out ", Out()));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("no signed checkpoint covers the period"), std::string::npos) << r.out;
  ExpectNothingWritten();
}

TEST_F(AuditctlSlaTest, BadArgumentsAreUsageErrors) {
  WriteLogs();
  CmdResult backwards = Cmd(absl::StrCat("sla --log ", HealthLog(), " --from 2026-03-03T00:00:00Z --to 2026-03-02T00:00:00Z --key ",
                                         dir_.Sub("health.key"), " --out ", Out()));
  EXPECT_EQ(backwards.exit_code, 2) << backwards.out;
  EXPECT_NE(backwards.out.find("--from must be before --to"), std::string::npos) << backwards.out;
  CmdResult objective = Sla("--objective delivery:soon:99%");
  EXPECT_EQ(objective.exit_code, 2) << objective.out;
  EXPECT_NE(objective.out.find("bad duration 'soon'"), std::string::npos) << objective.out;
  ASSERT_EQ(Cmd(absl::StrCat("keygen --cosigner --name w --out ", dir_.Sub("witness"))).exit_code, 0);
  CmdResult cosigner = Cmd(absl::StrCat("sla --log ", HealthLog(), Period(), " --key ", dir_.Sub("witness.key"),
                                        " --out ", Out()));
  EXPECT_EQ(cosigner.exit_code, 2) << cosigner.out;
  EXPECT_NE(cosigner.out.find("is not a log key"), std::string::npos) << cosigner.out;
  // Another gateway's key: the log does not verify with it.
  CmdResult other = Cmd(absl::StrCat("sla --log ", HealthLog(), Period(), " --key ", dir_.Sub("council.key"),
                                     " --out ", Out()));
  EXPECT_EQ(other.exit_code, 1) << other.out;
  EXPECT_NE(other.out.find("does not verify"), std::string::npos) << other.out;
  ExpectNothingWritten();
}

TEST_F(AuditctlSlaTest, ThePeerCountersignsWhenItsLogAgrees) {
  WriteLogs();
  ASSERT_EQ(Sla().exit_code, 0);
  CmdResult c = Countersign();
  ASSERT_EQ(c.exit_code, 0) << c.out;
  audit::NoteVerifier council = *audit::NoteVerifier::FromVerifierKey(
      std::string(absl::StripTrailingAsciiWhitespace(ReadFile(dir_.Sub("council.pub")))));
  absl::StatusOr<audit::Checkpoint> cp =
      VerifyCountersignature(ReadFile(Out()), ReadFile(dir_.Sub("report.countersig")), council);
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->origin, "gatehouse.test/council");
}

TEST_F(AuditctlSlaTest, ThePeerListsTheRecordItsLogLacksAndSignsNothing) {
  WriteLogs("rec-4");
  ASSERT_EQ(Sla().exit_code, 0);
  CmdResult c = Countersign();
  EXPECT_EQ(c.exit_code, 1) << c.out;
  EXPECT_NE(c.out.find("DIFFERS rec-4: "), std::string::npos) << c.out;
  EXPECT_EQ(c.out.find("DIFFERS rec-3"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("1 record(s) differ"), std::string::npos) << c.out;
  EXPECT_FALSE(Exists(dir_.Sub("report.countersig")));
}

TEST_F(AuditctlSlaTest, ATamperedReportIsRefusedAndNothingSigned) {
  WriteLogs();
  ASSERT_EQ(Sla().exit_code, 0);
  std::string json = ReadFile(Out());
  const size_t at = json.find("\"delivered\": \"6\"");
  ASSERT_NE(at, std::string::npos);
  json.replace(at, 16, "\"delivered\": \"7\"");
  WriteFile(Out(), json);
  CmdResult c = Countersign();
  EXPECT_EQ(c.exit_code, 1) << c.out;
  EXPECT_NE(c.out.find("signature does not verify"), std::string::npos) << c.out;
  EXPECT_FALSE(Exists(dir_.Sub("report.countersig")));
}

TEST_F(AuditctlSlaTest, AReportAboutAnotherOrganisationIsRefused) {
  WriteLogs();
  // A report about every peer of health-a, not council-a alone, and one
  // checked against the wrong sender key.
  ASSERT_EQ(Cmd(absl::StrCat("sla --log ", HealthLog(), Period(), " --key ", dir_.Sub("health.key"), " --out ",
                             Out(), " --org health-a")).exit_code, 0);
  CmdResult c = Cmd(absl::StrCat("sla-countersign --report ", Out(), " --report-key ", dir_.Sub("health.pub"),
                                 " --log ", CouncilLog(), " --key ", dir_.Sub("council.key"), " --out ",
                                 dir_.Sub("report.countersig"), " --org police-b"));
  EXPECT_EQ(c.exit_code, 1) << c.out;
  EXPECT_NE(c.out.find("not police-b"), std::string::npos) << c.out;
  CmdResult k = Cmd(absl::StrCat("sla-countersign --report ", Out(), " --report-key ", dir_.Sub("council.pub"),
                                 " --log ", CouncilLog(), " --key ", dir_.Sub("council.key"), " --out ",
                                 dir_.Sub("report.countersig")));
  EXPECT_EQ(k.exit_code, 1) << k.out;
  EXPECT_NE(k.out.find("signature does not verify"), std::string::npos) << k.out;
  EXPECT_FALSE(Exists(dir_.Sub("report.countersig")));
}

}  // namespace
}  // namespace gatehouse::sla

// auditctl end to end on a real log: keygen, verify (OK, then a tampered
// entry: non-zero exit naming it), prove + check-proof for inclusion and
// consistency, inspect/tail/export filters; verify counts distinct cosigners.
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "audit/log_directory.h"
#include "audit/log_format.h"
#include "audit/segment_reader.h"
#include "gtest/gtest.h"
#include "tests/audit/audit_test_util.h"

namespace gatehouse::audit {
namespace {

using testing::Cmd;
using testing::CmdResult;

class AuditctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = *AuditLog::Open(dir_.Sub("audit"), testing::SignedByNewKey(dir_.Sub("log")));
    testing::AppendEntries(*log, 0, 30);
    ASSERT_TRUE(log->CheckpointNow().ok());
    testing::AppendEntries(*log, 30, 45);
    ASSERT_TRUE(log->Close().ok());  // signs a checkpoint at 45
  }
  std::string Dir() { return dir_.Sub("audit"); }
  // The text of the log's checkpoint at `size`.
  std::string CheckpointText(uint64_t size) {
    std::string skey = testing::ReadFile(dir_.Sub("log.key"));
    skey.pop_back();
    AuditLogOptions o;
    o.signer = std::make_shared<NoteSigner>(*NoteSigner::FromPrivateKey(skey));
    auto log = *AuditLog::Open(Dir(), o);
    std::string text = ParseNote(*log->CheckpointAt(size))->text;
    EXPECT_TRUE(log->Close().ok());
    return text;
  }
  testing::ScratchDir dir_;
};

TEST_F(AuditctlTest, VerifyPassesThenNamesTheFirstTamperedEntry) {
  CmdResult ok = Cmd(absl::StrCat("verify --dir ", Dir(), " --key ", dir_.Sub("log.pub")));
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("OK: 45 entries"), std::string::npos) << ok.out;
  const std::string seg = (*ListSegments(Dir()))[0].path;
  std::string bytes = testing::ReadFile(seg);
  // Entry 0's payload, byte 10.
  bytes[kSegmentHeaderSize + kRecordHeaderSize + 10] ^= 0x20;
  testing::WriteFile(seg, bytes);
  CmdResult bad = Cmd(absl::StrCat("verify --dir ", Dir(), " --key ", dir_.Sub("log.pub")));
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("entry 0 "), std::string::npos) << bad.out;
}

// Finding 6: a log holding 50 cosignatures of one checkpoint by one key
// (stored before repeats were refused) was reported as "50 verified"
// cosignatures. verify counts distinct verified cosigners, and says how
// many repeated lines it did not count.
TEST_F(AuditctlTest, VerifyCountsFiftyCosignaturesByOneKeyAsOneCosigner) {
  ASSERT_EQ(Cmd(absl::StrCat("keygen --cosigner --name council-a.test/witness --out ",
                             dir_.Sub("witness"))).exit_code, 0);
  std::string wkey = testing::ReadFile(dir_.Sub("witness.key"));
  wkey.pop_back();
  NoteSigner witness = *NoteSigner::FromPrivateKey(wkey);
  const std::string text30 = CheckpointText(30), text45 = CheckpointText(45);
  std::string file = EncodeSegmentHeader(kCosignatureMagic, 0);
  AppendRecord(absl::StrCat(30, "\n", FormatSignatureLine(Cosign(text30, witness, 99))), &file);
  for (uint64_t t = 0; t < 50; ++t) {
    AppendRecord(absl::StrCat(45, "\n", FormatSignatureLine(Cosign(text45, witness, 100 + t))),
                 &file);
  }
  testing::WriteFile(CosignaturesPath(Dir()), file);
  CmdResult r = Cmd(absl::StrCat("verify --dir ", Dir(), " --key ", dir_.Sub("log.pub"),
                                 " --cosigner ", dir_.Sub("witness.pub")));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("cosigners: 1 verified, over 2 checkpoint cosignature(s)"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("49 repeated cosignature(s)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("51 verified"), std::string::npos) << r.out;
  // Without the cosigner's key nothing is verified: one unknown key's lines.
  CmdResult u = Cmd(absl::StrCat("verify --dir ", Dir(), " --key ", dir_.Sub("log.pub")));
  EXPECT_EQ(u.exit_code, 0) << u.out;
  EXPECT_NE(u.out.find("cosigners: 0 verified, over 0 checkpoint cosignature(s); 2 "
                       "cosignature(s) by unknown keys"),
            std::string::npos) << u.out;
}

TEST_F(AuditctlTest, VerifyWithTheWrongKeyFails) {
  ASSERT_EQ(Cmd(absl::StrCat("keygen --name gatehouse.test/ctl --out ", dir_.Sub("other"))).exit_code, 0);
  CmdResult r = Cmd(absl::StrCat("verify --dir ", Dir(), " --key ", dir_.Sub("other.pub")));
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

TEST_F(AuditctlTest, ProveAndCheckInclusionByIndexAndRecordId) {
  CmdResult p = Cmd(absl::StrCat("prove --dir ", Dir(), " --record-id rec-17"));
  ASSERT_EQ(p.exit_code, 0) << p.out;
  EXPECT_NE(p.out.find("\"leaf_index\": \"17\""), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("\"tree_size\": \"45\""), std::string::npos) << p.out;
  testing::WriteFile(dir_.Sub("p.json"), p.out);
  CmdResult c = Cmd(absl::StrCat("check-proof --proof ", dir_.Sub("p.json"), " --key ", dir_.Sub("log.pub")));
  EXPECT_EQ(c.exit_code, 0) << c.out;
  // The same proof with the entry's reason changed must fail.
  std::string forged = p.out;
  size_t at = forged.find("\"record_id\": \"rec-17\"");
  ASSERT_NE(at, std::string::npos);
  forged.replace(at, 21, "\"record_id\": \"rec-18\"");
  testing::WriteFile(dir_.Sub("forged.json"), forged);
  CmdResult f = Cmd(absl::StrCat("check-proof --proof ", dir_.Sub("forged.json"), " --key ", dir_.Sub("log.pub")));
  EXPECT_EQ(f.exit_code, 1) << f.out;
  CmdResult by_index = Cmd(absl::StrCat("prove --dir ", Dir(), " --index 3 --size 30"));
  EXPECT_EQ(by_index.exit_code, 0) << by_index.out;
  EXPECT_NE(by_index.out.find("\"tree_size\": \"30\""), std::string::npos);
  EXPECT_EQ(Cmd(absl::StrCat("prove --dir ", Dir(), " --record-id nope")).exit_code, 1);
}

TEST_F(AuditctlTest, ProveAndCheckConsistencyBetweenCheckpoints) {
  CmdResult p = Cmd(absl::StrCat("prove --dir ", Dir(), " --from 30 --to 45"));
  ASSERT_EQ(p.exit_code, 0) << p.out;
  testing::WriteFile(dir_.Sub("c.json"), p.out);
  CmdResult c = Cmd(absl::StrCat("check-proof --proof ", dir_.Sub("c.json"), " --key ", dir_.Sub("log.pub")));
  EXPECT_EQ(c.exit_code, 0) << c.out;
}

TEST_F(AuditctlTest, InspectTailAndExportFilter) {
  CmdResult denied = Cmd(absl::StrCat("inspect --dir ", Dir(), " --event denied --org council-a"));
  ASSERT_EQ(denied.exit_code, 0) << denied.out;
  // MakeEntry: DENIED when i % 3 == 1, council-a when i is odd: i = 1, 7, 13, ...
  EXPECT_NE(denied.out.find("rec-7 "), std::string::npos) << denied.out;
  EXPECT_EQ(denied.out.find("rec-4 "), std::string::npos) << denied.out;
  CmdResult tail = Cmd(absl::StrCat("tail --dir ", Dir(), " -n 2"));
  EXPECT_NE(tail.out.find("rec-44 "), std::string::npos) << tail.out;
  EXPECT_EQ(tail.out.find("rec-42 "), std::string::npos) << tail.out;
  CmdResult exp = Cmd(absl::StrCat("export --dir ", Dir(), " --record-id rec-5"));
  EXPECT_EQ(exp.exit_code, 0);
  EXPECT_NE(exp.out.find("\"record_id\":\"rec-5\""), std::string::npos) << exp.out;
  CmdResult time = Cmd(absl::StrCat("inspect --dir ", Dir(),
                              " --since 2023-11-14T22:13:20.000010Z --until 2023-11-14T22:13:20.000012Z"));
  EXPECT_NE(time.out.find("rec-10 "), std::string::npos) << time.out;
  EXPECT_NE(time.out.find("rec-11 "), std::string::npos) << time.out;
  EXPECT_EQ(time.out.find("rec-12 "), std::string::npos) << time.out;
  EXPECT_EQ(Cmd(absl::StrCat("inspect --dir ", Dir(), " --event nonsense")).exit_code, 2);
}

}  // namespace
}  // namespace gatehouse::audit

// auditctl over a C2SP tlog-tiles export, end to end on a real log:
// `export --tiles` writes the tiles of the latest checkpoint; `verify --tiles`
// and `prove --tiles` print what `verify --dir` and `prove --dir` print; a
// damaged log is not exported; a tampered export is refused naming what is
// wrong, with exit status 1.
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "audit/audit_log.h"
#include "audit/log_directory.h"
#include "audit/log_format.h"
#include "audit/merkle_hasher.h"
#include "gtest/gtest.h"
#include "tests/audit/audit_test_util.h"

namespace gatehouse::audit {
namespace {

using testing::Cmd;
using testing::CmdResult;

class AuditctlTilesTest : public ::testing::Test {
 protected:
  // A log of 300 entries (two entry bundles, a level-1 tile) with
  // checkpoints at 30 and 300, exported to tiles/.
  void SetUp() override {
    auto log = *AuditLog::Open(Log(), testing::SignedByNewKey(dir_.Sub("log")));
    testing::AppendEntries(*log, 0, 30);
    ASSERT_TRUE(log->CheckpointNow().ok());
    testing::AppendEntries(*log, 30, 300);
    ASSERT_TRUE(log->Close().ok());  // signs a checkpoint at 300
    CmdResult e = Cmd(absl::StrCat("export --dir ", Log(), " --tiles ", Tiles(), Key()));
    ASSERT_EQ(e.exit_code, 0) << e.out;
    EXPECT_NE(e.out.find("exported 300 entries"), std::string::npos) << e.out;
  }
  std::string Log() { return dir_.Sub("audit"); }
  std::string Tiles() { return dir_.Sub("tiles"); }
  std::string Key() { return " --key " + dir_.Sub("log.pub"); }
  std::string TileFile(const std::string& path) { return Tiles() + "/" + path; }
  // verify --tiles must fail with exit 1 and say `why`; prove --tiles (which
  // checks the tiles, but takes no key) too if `prove_too`.
  void ExpectRefused(const std::string& why, const std::string& flags = "", bool prove_too = true) {
    CmdResult r = Cmd(absl::StrCat("verify --tiles ", Tiles(), flags.empty() ? Key() : flags));
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_EQ(r.out.rfind("FAIL: ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find(why), std::string::npos) << r.out;
    if (!prove_too) return;
    CmdResult p = Cmd(absl::StrCat("prove --tiles ", Tiles(), " --index 0"));
    EXPECT_EQ(p.exit_code, 1) << p.out;
  }
  void Flip(const std::string& path, size_t at) {
    std::string bytes = testing::ReadFile(TileFile(path));
    ASSERT_LT(at, bytes.size());
    bytes[at] ^= 0x01;
    testing::WriteFile(TileFile(path), bytes);
  }
  testing::ScratchDir dir_;
};

TEST_F(AuditctlTilesTest, ExportWritesTheTilesOfTheLatestCheckpoint) {
  for (const char* path : {"checkpoint", "tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1",
                           "tile/entries/000", "tile/entries/001.p/44"}) {
    EXPECT_TRUE(std::filesystem::exists(TileFile(path))) << path;
  }
  CmdResult cp = Cmd(absl::StrCat("checkpoint --dir ", Log()));
  EXPECT_EQ(testing::ReadFile(TileFile("checkpoint")), cp.out);  // the note exactly as signed
  EXPECT_EQ(std::filesystem::file_size(TileFile("tile/0/001.p/44")), 44u * 32);
}

TEST_F(AuditctlTilesTest, VerifyTilesAgreesWithVerifyDir) {
  CmdResult dir = Cmd(absl::StrCat("verify --dir ", Log(), Key()));
  CmdResult tiles = Cmd(absl::StrCat("verify --tiles ", Tiles(), Key()));
  ASSERT_EQ(dir.exit_code, 0) << dir.out;
  ASSERT_EQ(tiles.exit_code, 0) << tiles.out;
  // Where they differ by nature: segments vs entry bundles, and the log
  // holds every checkpoint where the export holds the latest.
  EXPECT_EQ(dir.out.substr(0, dir.out.find(" in ")), "OK: 300 entries");
  EXPECT_EQ(tiles.out.substr(0, tiles.out.find(" in ")), "OK: 300 entries");
  EXPECT_NE(dir.out.find("in 1 segments; 2 checkpoints ("), std::string::npos) << dir.out;
  EXPECT_NE(tiles.out.find("in 2 entry bundles; 1 checkpoints ("), std::string::npos) << tiles.out;
  // The rest (signatures, cosigners, root) is the same text.
  EXPECT_EQ(dir.out.substr(dir.out.find("checkpoints (")),
            tiles.out.substr(tiles.out.find("checkpoints (")));
  EXPECT_NE(tiles.out.find("signatures verified"), std::string::npos);
}

TEST_F(AuditctlTilesTest, ProveTilesPrintsWhatProveDirPrints) {
  for (const std::string& args : {"--index 0", "--index 255", "--index 256", "--index 299",
                                  "--record-id rec-17", "--index 3 --size 256", "--from 1",
                                  "--from 17", "--from 256", "--from 100 --to 299", "--from 300"}) {
    CmdResult dir = Cmd(absl::StrCat("prove --dir ", Log(), " ", args));
    CmdResult tiles = Cmd(absl::StrCat("prove --tiles ", Tiles(), " ", args));
    EXPECT_EQ(dir.exit_code, 0) << args << ": " << dir.out;
    EXPECT_EQ(tiles.exit_code, 0) << args << ": " << tiles.out;
    EXPECT_EQ(tiles.out, dir.out) << args;
  }
  // Each proof from the tiles checks out offline.
  CmdResult p = Cmd(absl::StrCat("prove --tiles ", Tiles(), " --index 257"));
  testing::WriteFile(dir_.Sub("p.json"), p.out);
  CmdResult c = Cmd(absl::StrCat("check-proof --proof ", dir_.Sub("p.json"), Key()));
  EXPECT_EQ(c.exit_code, 0) << c.out;
  // Beyond the export: refused, as beyond the log.
  EXPECT_EQ(Cmd(absl::StrCat("prove --tiles ", Tiles(), " --index 300")).exit_code, 1);
  EXPECT_EQ(Cmd(absl::StrCat("prove --tiles ", Tiles(), " --from 1 --to 301")).exit_code, 1);
}

TEST_F(AuditctlTilesTest, ExportRefusesAnOutThatIsNotEmptyAndChangesNothing) {
  const std::string before = testing::ReadFile(TileFile("tile/0/000"));
  CmdResult r = Cmd(absl::StrCat("export --dir ", Log(), " --tiles ", Tiles(), Key()));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("exists and is not empty"), std::string::npos) << r.out;
  EXPECT_EQ(testing::ReadFile(TileFile("tile/0/000")), before);
  // An empty directory is fine: it is replaced.
  std::filesystem::create_directory(dir_.Sub("empty"));
  EXPECT_EQ(Cmd(absl::StrCat("export --dir ", Log(), " --tiles ", dir_.Sub("empty"))).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("empty/checkpoint")));
}

TEST_F(AuditctlTilesTest, ExportRefusesADamagedLogAndWritesNothing) {
  const std::string seg = (*ListSegments(Log()))[0].path;
  std::string bytes = testing::ReadFile(seg);
  bytes[kSegmentHeaderSize + kRecordHeaderSize + 10] ^= 0x20;  // entry 0's payload
  testing::WriteFile(seg, bytes);
  CmdResult r = Cmd(absl::StrCat("export --dir ", Log(), " --tiles ", dir_.Sub("out"), Key()));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("does not verify (entry 0 "), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("out")));
  for (const auto& f : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(f.path().filename().string().find("out.tmp-"), std::string::npos) << f.path();
  }
}

TEST_F(AuditctlTilesTest, ExportWithTheWrongKeyIsRefused) {
  ASSERT_EQ(
      Cmd(absl::StrCat("keygen --name gatehouse.test/ctl --out ", dir_.Sub("other"))).exit_code, 0);
  CmdResult r = Cmd(absl::StrCat("export --dir ", Log(), " --tiles ", dir_.Sub("out"), " --key ",
                                 dir_.Sub("other.pub")));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("out")));
}

TEST_F(AuditctlTilesTest, ExportFlagsThatDoNotGoTogetherAreUsageErrors) {
  EXPECT_EQ(
      Cmd(absl::StrCat("export --dir ", Log(), " --tiles ", dir_.Sub("o"), " --org x")).exit_code,
      2);
  EXPECT_EQ(Cmd(absl::StrCat("export --dir ", Log(), Key())).exit_code, 2);
  EXPECT_EQ(Cmd(absl::StrCat("verify --dir ", Log(), " --tiles ", Tiles())).exit_code, 2);
  EXPECT_EQ(Cmd("verify").exit_code, 2);
  EXPECT_EQ(Cmd("prove --index 1").exit_code, 2);
}

TEST_F(AuditctlTilesTest, OneByteOfAnEntryBundleChanged) {
  Flip("tile/entries/001.p/44", 100);
  ExpectRefused("(tile/entries/001.p/44): its leaf hash is not tile/0/001.p/44's hash");
}

TEST_F(AuditctlTilesTest, HashTileChanged) {
  Flip("tile/1/000.p/1", 3);
  ExpectRefused("tile/1/000.p/1: hash 0 is not the root of tile/0/000");
}

TEST_F(AuditctlTilesTest, LevelZeroTileChanged) {
  Flip("tile/0/000", 32 * 7);
  ExpectRefused("its leaf hash is not tile/0/000's hash 7");
}

TEST_F(AuditctlTilesTest, TileDeleted) {
  std::filesystem::remove(TileFile("tile/0/001.p/44"));
  ExpectRefused("tile/0/001.p/44 is missing");
}

TEST_F(AuditctlTilesTest, CheckpointRootChangedFailsItsSignature) {
  std::string note = testing::ReadFile(TileFile("checkpoint"));
  const size_t root_at = note.find('\n', note.find('\n') + 1) + 1;  // the third line
  note[root_at] = note[root_at] == 'A' ? 'B' : 'A';
  testing::WriteFile(TileFile("checkpoint"), note);
  ExpectRefused("checkpoint: not a checkpoint signed by gatehouse.test/ctl");
  // Without a key the root is still checked against the tiles.
  ExpectRefused("is not the checkpoint's root", " ");
}

TEST_F(AuditctlTilesTest, CheckpointSignedByAnotherKey) {
  ASSERT_EQ(
      Cmd(absl::StrCat("keygen --name gatehouse.test/ctl --out ", dir_.Sub("other"))).exit_code, 0);
  std::string skey = testing::ReadFile(dir_.Sub("other.key"));
  skey.pop_back();
  NoteSigner other = *NoteSigner::FromPrivateKey(skey);
  const std::string text = ParseNote(testing::ReadFile(TileFile("checkpoint")))->text;
  testing::WriteFile(TileFile("checkpoint"), SignNote(text, {&other}));
  ExpectRefused("not a checkpoint signed by gatehouse.test/ctl", "", /*prove_too=*/false);
  // Verified under the other key it passes: the tiles themselves are intact.
  CmdResult r = Cmd(absl::StrCat("verify --tiles ", Tiles(), " --key ", dir_.Sub("other.pub")));
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace gatehouse::audit

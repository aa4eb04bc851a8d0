// auditctl on an organisation's audit log in PostgreSQL (--dsn; issue 19),
// end to end: the log is made by the real PostgresAuditLog on a real
// server (tests/gateway/store/postgres_server.h), then the auditctl binary
// reads it. `verify --dsn` passes and counts what `verify --dir` counts;
// `export --dsn --tiles` writes tiles that `verify --tiles` and
// `prove --tiles` accept; `prove --dsn` prints what `prove --tiles` prints.
// Every tampering (an entry, a tree node, a gap, a cosignature), a wrong
// key, a DSN holding a password, an unreachable server and a database
// without the audit tables are refused, naming what is wrong, and nothing
// in the database changes.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "audit/checkpoint.h"
#include "audit/note.h"
#include "audit/postgres/postgres_audit_log.h"
#include "gateway/store/postgres/postgres_store.h"
#include "gtest/gtest.h"
#include "tests/audit/audit_test_util.h"
#include "tests/gateway/store/postgres_server.h"
#include "tests/gateway/store/postgres_test_database.h"

namespace gatehouse {
namespace {

using audit::testing::Cmd;
using audit::testing::CmdResult;

// Every audit table's rows, as one string: equal before and after a
// command that must not write.
constexpr char kFingerprint[] = R"sql(
SELECT concat_ws(' | ',
  (SELECT sequenced || ',' || integrated FROM audit_head),
  (SELECT count(*) || ':' || coalesce(md5(string_agg(idx || ':' || encode(entry, 'hex'), ','
     ORDER BY idx)), '') FROM audit_entry),
  (SELECT count(*) || ':' || coalesce(md5(string_agg(level || ':' || idx || ':' ||
     encode(hash, 'hex'), ',' ORDER BY level, idx)), '') FROM audit_tree),
  (SELECT count(*) || ':' || coalesce(md5(string_agg(size || ':' || note, ',' ORDER BY size)), '')
     FROM audit_checkpoint),
  (SELECT count(*) || ':' || coalesce(md5(string_agg(size || ':' || name || ':' || key_id || ':' ||
     line, ',' ORDER BY size, name, key_id)), '') FROM audit_cosignature))
)sql";

class AuditctlPostgresTest : public PostgresDatabaseTest {
 protected:
  // A log of 300 entries (two entry bundles, a level-1 tile once exported)
  // with checkpoints at 30 and 300, the one at 300 cosigned by a witness.
  void SetUp() override {
    PostgresDatabaseTest::SetUp();
    ASSERT_FALSE(HasFatalFailure());
    signer_ = Keygen("log", "audit.health-a.example", false);
    witness_ = Keygen("witness", "witness.council-a.example", true);
    ASSERT_TRUE(signer_ && witness_);
    ASSERT_TRUE(OpenStore());
    AppendAndClose(0, 30);
    AppendAndClose(30, 300);
    ASSERT_FALSE(HasFailure());
    std::unique_ptr<PostgresAuditLog> log = OpenLog();
    ASSERT_NE(log, nullptr);
    absl::StatusOr<audit::CheckpointNote> cp = log->LatestCheckpointNote();
    ASSERT_TRUE(cp.ok()) << cp.status();
    ASSERT_EQ(cp->size, 300u);
    const std::string text = audit::ParseNote(cp->note)->text;
    ASSERT_TRUE(log->AddCosignature(
                       cp->note + audit::FormatSignatureLine(audit::Cosign(text, *witness_, 1000)),
                       *audit::NoteVerifier::FromVerifierKey(witness_->VerifierKeyString()))
                    .ok());
    served_ = log->LatestCheckpointNote()->note;
    ASSERT_TRUE(log->Close().ok());
    log.reset();
    store_.reset();
  }

  void TearDown() override {
    store_.reset();
    PostgresDatabaseTest::TearDown();
  }

  // A key made by `auditctl keygen` at dir_/PREFIX.{key,pub}.
  std::shared_ptr<const audit::NoteSigner> Keygen(const std::string& prefix,
                                                  const std::string& name, bool cosigner) {
    CmdResult k = Cmd(absl::StrCat("keygen --name ", name, " --out ", dir_.Sub(prefix),
                                   cosigner ? " --cosigner" : ""));
    EXPECT_EQ(k.exit_code, 0) << k.out;
    std::string skey = audit::testing::ReadFile(dir_.Sub(prefix + ".key"));
    if (!skey.empty()) skey.pop_back();
    absl::StatusOr<audit::NoteSigner> s = audit::NoteSigner::FromPrivateKey(skey);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::make_shared<const audit::NoteSigner>(*std::move(s)) : nullptr;
  }

  bool OpenStore() {
    store_ = PostgresDatabaseTest::OpenStore(Options());
    return store_ != nullptr;
  }

  // A log on store_ (as postgres_audit_log_test.cc opens one) that signs
  // a checkpoint every `every` entries, and when it closes.
  std::unique_ptr<PostgresAuditLog> OpenLog(uint64_t every = 1000000) {
    PostgresAuditLogOptions options;
    options.UseStore(store_.get());
    options.signer = signer_;
    options.checkpoint_every_entries = every;
    options.checkpoint_interval = every < 1000000 ? absl::Milliseconds(20) : absl::Hours(1);
    options.integrator_retry = absl::Milliseconds(50);
    absl::StatusOr<std::unique_ptr<PostgresAuditLog>> log = PostgresAuditLog::Open(options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }

  static void Append(PostgresAuditLog& log, uint64_t i) {
    std::promise<absl::StatusOr<uint64_t>> p;
    log.AppendAsync(audit::testing::MakeEntry(i),
                    [&](absl::StatusOr<uint64_t> index) { p.set_value(std::move(index)); });
    absl::StatusOr<uint64_t> index = p.get_future().get();
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_EQ(*index, i);
  }

  // Appends entries [from, to) and closes the log: a checkpoint at `to`.
  void AppendAndClose(uint64_t from, uint64_t to) {
    std::unique_ptr<PostgresAuditLog> log = OpenLog();
    ASSERT_NE(log, nullptr);
    for (uint64_t i = from; i < to; ++i) ASSERT_NO_FATAL_FAILURE(Append(*log, i));
    ASSERT_TRUE(log->Close().ok());
  }

  std::string Dsn() const { return "'" + server_->Dsn(db_) + "'"; }
  std::string Key(const std::string& prefix = "log") {
    return " --key " + dir_.Sub(prefix + ".pub");
  }
  std::string Witness() { return " --cosigner " + dir_.Sub("witness.pub"); }
  std::string Tiles() { return dir_.Sub("tiles"); }

  std::string Sql(const std::string& sql) const {
    absl::StatusOr<std::string> v = server_->Query(db_, sql);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : "error: " + v.status().ToString();
  }
  std::string Fingerprint() const { return Sql(kFingerprint); }

  // verify --dsn (with `keys`, default --key) fails (exit 1) saying `why`;
  // export --dsn --tiles (which checks with --key only, as export --dir)
  // too, if `export_too`, and writes nothing; the database is as it was.
  void ExpectRefused(const std::string& why, const std::string& keys = "", bool export_too = true) {
    const std::string before = Fingerprint();
    CmdResult r = Cmd(absl::StrCat("verify --dsn ", Dsn(), keys.empty() ? Key() : keys));
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_EQ(r.out.rfind("FAIL: ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find(why), std::string::npos) << r.out;
    if (export_too) {
      CmdResult e = Cmd(
          absl::StrCat("export --dsn ", Dsn(), " --tiles ", Tiles(), keys.empty() ? Key() : keys));
      EXPECT_EQ(e.exit_code, 1) << e.out;
      EXPECT_NE(e.out.find("the log in the database does not verify ("), std::string::npos)
          << e.out;
      EXPECT_NE(e.out.find(why), std::string::npos) << e.out;
      EXPECT_FALSE(std::filesystem::exists(Tiles()));
    }
    EXPECT_EQ(Fingerprint(), before);
  }

  audit::testing::ScratchDir dir_;
  std::shared_ptr<const audit::NoteSigner> signer_;
  std::shared_ptr<const audit::NoteSigner> witness_;
  std::unique_ptr<PostgresStore> store_;
  std::string served_;  // the newest checkpoint note as the log serves it
};

TEST_F(AuditctlPostgresTest, VerifyDsnChecksEntriesCheckpointsCosignaturesAndTheStoredTree) {
  const std::string before = Fingerprint();
  CmdResult r = Cmd(absl::StrCat("verify --dsn ", Dsn(), Key(), Witness()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // 300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1 nodes in the tree of 300.
  EXPECT_EQ(r.out.rfind("OK: 300 entries in the database (300 in the tree: 596 stored tree "
                        "nodes checked); 2 checkpoints (signatures verified); cosigners: 1 "
                        "verified, over 1 checkpoint cosignature(s); 0 cosignature(s) by unknown "
                        "keys; root ",
                        0),
            0u)
      << r.out;
  CmdResult unknown = Cmd(absl::StrCat("verify --dsn ", Dsn()));
  ASSERT_EQ(unknown.exit_code, 0) << unknown.out;
  EXPECT_NE(unknown.out.find("signatures NOT checked: no --key"), std::string::npos);
  EXPECT_NE(unknown.out.find("1 cosignature(s) by unknown keys"), std::string::npos);
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(AuditctlPostgresTest, ExportDsnWritesTilesThatVerifyAndProve) {
  CmdResult e = Cmd(absl::StrCat("export --dsn ", Dsn(), " --tiles ", Tiles(), Key()));
  ASSERT_EQ(e.exit_code, 0) << e.out;
  EXPECT_NE(e.out.find("exported 300 entries at the checkpoint of size 300"), std::string::npos)
      << e.out;
  // The checkpoint as the log serves it: the signed note and the witness's line.
  EXPECT_EQ(audit::testing::ReadFile(Tiles() + "/checkpoint"), served_);
  for (const char* path : {"tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1", "tile/entries/000",
                           "tile/entries/001.p/44"}) {
    EXPECT_TRUE(std::filesystem::exists(Tiles() + "/" + path)) << path;
  }
  CmdResult tiles = Cmd(absl::StrCat("verify --tiles ", Tiles(), Key(), Witness()));
  CmdResult dsn = Cmd(absl::StrCat("verify --dsn ", Dsn(), Key(), Witness()));
  ASSERT_EQ(tiles.exit_code, 0) << tiles.out;
  ASSERT_EQ(dsn.exit_code, 0) << dsn.out;
  EXPECT_EQ(tiles.out.rfind("OK: 300 entries in 2 entry bundles; 1 checkpoints (signatures "
                            "verified); cosigners: 1 verified",
                            0),
            0u)
      << tiles.out;
  EXPECT_EQ(tiles.out.substr(tiles.out.find("; root ")), dsn.out.substr(dsn.out.find("; root ")));
  CmdResult p = Cmd(absl::StrCat("prove --tiles ", Tiles(), " --index 17"));
  EXPECT_EQ(p.exit_code, 0) << p.out;
  // OUT is written once: a second export is refused.
  CmdResult again = Cmd(absl::StrCat("export --dsn ", Dsn(), " --tiles ", Tiles()));
  EXPECT_EQ(again.exit_code, 1) << again.out;
  EXPECT_NE(again.out.find("exists and is not empty"), std::string::npos) << again.out;
}

TEST_F(AuditctlPostgresTest, ProveDsnPrintsWhatProveTilesPrintsAndItVerifies) {
  ASSERT_EQ(Cmd(absl::StrCat("export --dsn ", Dsn(), " --tiles ", Tiles())).exit_code, 0);
  for (const char* args : {"--index 0", "--index 17", "--index 255", "--index 256", "--index 299",
                           "--record-id rec-17", "--from 256"}) {
    CmdResult dsn = Cmd(absl::StrCat("prove --dsn ", Dsn(), " ", args));
    CmdResult tiles = Cmd(absl::StrCat("prove --tiles ", Tiles(), " ", args));
    EXPECT_EQ(dsn.exit_code, 0) << args << ": " << dsn.out;
    EXPECT_EQ(tiles.exit_code, 0) << args << ": " << tiles.out;
    EXPECT_EQ(dsn.out, tiles.out) << args;
  }
  // Each checks out offline, against the checkpoint it carries; the
  // database holds the checkpoint at 30 too, so proofs to it carry it.
  for (const char* args : {"--index 17", "--index 3 --size 30", "--from 30"}) {
    CmdResult p = Cmd(absl::StrCat("prove --dsn ", Dsn(), " ", args));
    ASSERT_EQ(p.exit_code, 0) << args << ": " << p.out;
    audit::testing::WriteFile(dir_.Sub("p.json"), p.out);
    CmdResult c = Cmd(absl::StrCat("check-proof --proof ", dir_.Sub("p.json"), Key()));
    EXPECT_EQ(c.exit_code, 0) << args << ": " << c.out;
  }
  CmdResult none = Cmd(absl::StrCat("prove --dsn ", Dsn(), " --index 300"));
  EXPECT_EQ(none.exit_code, 1) << none.out;
  EXPECT_NE(none.out.find("no entry 300"), std::string::npos) << none.out;
}

TEST_F(AuditctlPostgresTest, ChangedEntryFailsVerifyNamingTheRootAndTheEntry) {
  Sql("UPDATE audit_entry SET entry = (SELECT entry FROM audit_entry WHERE idx = 4) WHERE idx = 3");
  ExpectRefused("checkpoint 0 (size 30): root does not match the entries");
  ExpectRefused("entry 3 does not match its leaf hash in audit_tree");
  // prove --dsn rebuilds the tree from the entries: its proof of the changed
  // entry does not verify against the signed checkpoint.
  CmdResult p = Cmd(absl::StrCat("prove --dsn ", Dsn(), " --index 3"));
  ASSERT_EQ(p.exit_code, 0) << p.out;
  audit::testing::WriteFile(dir_.Sub("p.json"), p.out);
  EXPECT_EQ(Cmd(absl::StrCat("check-proof --proof ", dir_.Sub("p.json"), Key())).exit_code, 1);
}

TEST_F(AuditctlPostgresTest, EntryThatDoesNotParseFailsVerify) {
  Sql("UPDATE audit_entry SET entry = '\\xffff'::bytea WHERE idx = 3");
  ExpectRefused("entry 3: not an AuditEntry");
}

TEST_F(AuditctlPostgresTest, ChangedTreeNodeFailsVerifyNamingTheNode) {
  Sql("UPDATE audit_tree SET hash = decode(repeat('ab', 32), 'hex') WHERE level = 1 AND idx = 2");
  ExpectRefused("audit_tree node (level 1, index 2) does not match the node recomputed");
}

TEST_F(AuditctlPostgresTest, MissingTreeNodeFailsVerify) {
  Sql("DELETE FROM audit_tree WHERE level = 3 AND idx = 5");
  ExpectRefused("audit_tree node (level 3, index 5) is missing");
}

TEST_F(AuditctlPostgresTest, TreeNodeOutsideTheTreeFailsVerify) {
  Sql("INSERT INTO audit_tree (level, idx, hash) VALUES (2, 75, decode(repeat('cd', 32), 'hex'))");
  ExpectRefused("audit_tree holds node (level 2, index 75), which is not in the tree of 300");
}

TEST_F(AuditctlPostgresTest, GapInTheEntriesFailsVerifyAndProve) {
  Sql("DELETE FROM audit_entry WHERE idx = 5");
  ExpectRefused("entry 5: missing");
  CmdResult p = Cmd(absl::StrCat("prove --dsn ", Dsn(), " --index 7"));
  EXPECT_EQ(p.exit_code, 1) << p.out;
  EXPECT_NE(p.out.find("entry 5: missing"), std::string::npos) << p.out;
}

TEST_F(AuditctlPostgresTest, WrongLogKeyFailsVerify) {
  ASSERT_NE(Keygen("other", "audit.health-a.example", false), nullptr);
  ExpectRefused("checkpoint 0 (size 30): ", Key("other"));
}

TEST_F(AuditctlPostgresTest, ForgedCosignatureFailsVerifyWithTheWitnessKey) {
  // The witness's line over the checkpoint at 30, stored for the one at 300.
  const std::string note30 = Sql("SELECT note FROM audit_checkpoint WHERE size = 30");
  const std::string line =
      audit::FormatSignatureLine(audit::Cosign(audit::ParseNote(note30)->text, *witness_, 1000));
  Sql("UPDATE audit_cosignature SET line = '" + line + "' WHERE size = 300");
  ExpectRefused("checkpoint 1 (size 300): cosignature by witness.council-a.example",
                Key() + Witness(), /*export_too=*/false);
  // Without the witness's key the line is counted as unknown, not checked.
  EXPECT_EQ(Cmd(absl::StrCat("verify --dsn ", Dsn(), Key())).exit_code, 0);
}

TEST_F(AuditctlPostgresTest, DsnHoldingAPasswordIsRefusedBeforeConnecting) {
  const std::string before = Fingerprint();
  for (const std::string& dsn : {"'" + server_->Dsn(db_) + " password=hunter2'",
                                 std::string("postgresql://u:hunter2@/db")}) {
    for (const std::string& cmd : {"verify --dsn " + dsn, "prove --dsn " + dsn + " --index 0",
                                   "export --dsn " + dsn + " --tiles " + Tiles()}) {
      CmdResult r = Cmd(cmd);
      EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.out;
      EXPECT_NE(r.out.find("--dsn refused: the DSN holds a password"), std::string::npos) << r.out;
      EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;  // never echoed
    }
  }
  EXPECT_FALSE(std::filesystem::exists(Tiles()));
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(AuditctlPostgresTest, UnreachableServerFailsClearly) {
  CmdResult r = Cmd("verify --dsn 'host=/nonexistent-gatehouse-socket dbname=x'" + Key());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.out.rfind("FAIL: cannot connect to PostgreSQL: ", 0), 0u) << r.out;
  CmdResult p = Cmd("prove --dsn 'host=/nonexistent-gatehouse-socket dbname=x' --index 0");
  EXPECT_EQ(p.exit_code, 1) << p.out;
}

TEST_F(AuditctlPostgresTest, DatabaseWithoutTheAuditTablesIsRefused) {
  absl::StatusOr<std::string> empty = server_->CreateDatabase();
  ASSERT_TRUE(empty.ok()) << empty.status();
  CmdResult r = Cmd("verify --dsn '" + server_->Dsn(*empty) + "'" + Key());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("the database holds no Gatehouse audit log (it has no audit_head table)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(server_->Query(*empty, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                .value_or("?"),
            "0");
  EXPECT_TRUE(server_->DropDatabase(*empty).ok());
}

TEST_F(AuditctlPostgresTest, VerifyDsnPassesWhileAGatewayAppendsAndSigns) {
  ASSERT_TRUE(OpenStore());
  std::unique_ptr<PostgresAuditLog> log = OpenLog(/*every=*/7);
  ASSERT_NE(log, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> size{300};
  std::thread writer([&] {
    for (uint64_t i = 300; !stop && i < 5000; ++i) {
      ASSERT_NO_FATAL_FAILURE(Append(*log, i));
      size = i + 1;
    }
  });
  // Each run reads one snapshot: entries numbered but not yet in the tree,
  // and checkpoints signed since, are consistent within it.
  for (int i = 0; i < 5; ++i) {
    CmdResult r = Cmd(absl::StrCat("verify --dsn ", Dsn(), Key(), Witness()));
    EXPECT_EQ(r.exit_code, 0) << r.out;
  }
  stop = true;
  writer.join();
  ASSERT_TRUE(log->Close().ok());
  EXPECT_GT(size.load(), 300u);
  CmdResult r = Cmd(absl::StrCat("verify --dsn ", Dsn(), Key(), Witness()));
  EXPECT_EQ(r.out.rfind(absl::StrCat("OK: ", size.load(), " entries in the database (", size.load(),
                                     " in the tree"),
                        0),
            0u)
      << r.out;
}

}  // namespace
}  // namespace gatehouse

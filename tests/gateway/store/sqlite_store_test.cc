// SqliteStore's own behaviour, beyond the contract every store keeps
// (store_contract.h): its schema and migrations, its file, and its group
// commit (one transaction for many writes, a savepoint each).
#include "gateway/store/sqlite_store.h"

#include <sqlite3.h>

#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/audit/audit_test_util.h"
#include "tests/gateway/store/store_test_records.h"

namespace gatehouse {
namespace {

class SqliteStoreTest : public ::testing::Test, public StoreTestRecords {
 protected:
  void SetUp() override {
    path_ = dir_.Sub("store.db");
    Reopen();
  }
  void TearDown() override { store_.reset(); }
  void Reopen() {
    store_.reset();
    auto s = SqliteStore::Open(path_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  // A new file name in the scratch folder, for a database of a test's own.
  std::string OtherPath(const std::string& name) { return dir_.Sub(name); }

  audit::testing::ScratchDir dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, AStoreOfAnotherSchemaVersionIsRefused) {
  store_.reset();
  std::string old = OtherPath("old.db");
  ASSERT_EQ(std::system(("sqlite3 " + old + " 'CREATE TABLE outbox (x); PRAGMA user_version=1;'")
                            .c_str()),
            0);
  auto s = SqliteStore::Open(old);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("schema version 1"), std::string::npos);
  Reopen();
}

TEST_F(SqliteStoreTest, AFailedWriteDoesNotUndoItsGroup) {
  bool inserted;
  ASSERT_TRUE(store_->AddToOutbox(Request("dup"), "", 1, &inserted).ok());
  std::thread a([&] {
    bool ins;
    // Same primary key: fails on its own savepoint.
    EXPECT_FALSE(store_->AddToOutbox(Request("dup"), "", 2, &ins).ok());
  });
  std::thread b([&] {
    bool ins;
    EXPECT_TRUE(store_->AddToOutbox(Request("fresh"), "", 2, &ins).ok());
  });
  a.join();
  b.join();
  EXPECT_EQ(*store_->OutboxDepth(), 2);
  EXPECT_TRUE(store_->GetOutbox("fresh").ok());
}

// The schema version 2 wrote (gateway/sqlite_store.cc before per-system
// acknowledgements), verbatim.
constexpr const char* kVersion2Schema = R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  record_id       TEXT PRIMARY KEY,
  sender_system   TEXT NOT NULL,
  idempotency_key TEXT,
  record          BLOB NOT NULL,
  state           INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  accepted_ms     INTEGER NOT NULL,
  delivered_ms    INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  receipt         BLOB,
  UNIQUE (sender_system, idempotency_key)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_ms);
CREATE TABLE IF NOT EXISTS mailbox (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  sender_org       TEXT NOT NULL,
  record_id        TEXT NOT NULL,
  recipient_system TEXT NOT NULL,
  record           BLOB,
  envelope_sha256  BLOB NOT NULL,
  receipt          BLOB NOT NULL,
  received_ms      INTEGER NOT NULL,
  acked_ms         INTEGER,
  UNIQUE (sender_org, record_id)
);
CREATE INDEX IF NOT EXISTS mailbox_open ON mailbox (acked_ms, recipient_system, seq);
CREATE INDEX IF NOT EXISTS mailbox_record ON mailbox (record_id);
CREATE TABLE IF NOT EXISTS peer_checkpoint (
  org   TEXT PRIMARY KEY,
  size  INTEGER NOT NULL,
  root  BLOB NOT NULL,
  note  TEXT NOT NULL
);
PRAGMA user_version = 2;
)sql";

// Runs `sql` on the file at `path`, outside any store; "" if it worked.
std::string RunSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string err;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    err = "cannot open";
  } else {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      err = msg != nullptr ? msg : "failed";
    }
    sqlite3_free(msg);
  }
  sqlite3_close(db);
  return err;
}

// One integer `sql` selects from the file at `path`; -1 on error.
int64_t QueryInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t v = -1;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    v = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return v;
}

// A mailbox row as version 2 stored it.
std::string OldMailboxRow(const std::string& id, const std::string& recipient_system,
                          bool acked) {
  v1::MailboxRecord r;
  r.set_record_id(id);
  r.set_sender_org("nhs-trust-a");
  r.set_recipient_system(recipient_system);
  r.set_envelope("envelope-" + id);
  const std::string record =
      acked ? "NULL" : absl::StrCat("X'", absl::BytesToHexString(r.SerializeAsString()), "'");
  return absl::StrCat(
      "INSERT INTO mailbox (sender_org, record_id, recipient_system, record, envelope_sha256, "
      "receipt, received_ms, acked_ms) VALUES ('nhs-trust-a', '", id, "', '", recipient_system,
      "', ", record, ", X'", absl::BytesToHexString("sha-" + id), "', X'', 1, ",
      acked ? "5" : "NULL", ");");
}

TEST_F(SqliteStoreTest, ExistingDatabaseMigrates) {
  store_.reset();
  const std::string old = OtherPath("v2.db");
  ASSERT_EQ(RunSql(old, kVersion2Schema), "");
  ASSERT_EQ(RunSql(old, OldMailboxRow("discharge", "", false) +
                            OldMailboxRow("care-plan", "care", false) +
                            OldMailboxRow("taken", "", true) +
                            "INSERT INTO outbox (record_id, sender_system, record, state, "
                            "next_attempt_ms, accepted_ms) VALUES ('sent', 'ehr', X'', 1, 1, 1);"),
            "");
  {
    auto opened = SqliteStore::Open(old);
    ASSERT_TRUE(opened.ok()) << opened.status();
    std::unique_ptr<SqliteStore> store = std::move(*opened);
    const std::vector<std::string> named = {"care", "finance"};
    // What version 2 held is read as before, under the new visibility.
    auto care = store->FetchMailbox(MailboxReader{"care", named}, 0, 10);
    ASSERT_TRUE(care.ok()) << care.status();
    ASSERT_EQ(care->size(), 2u);
    EXPECT_EQ((*care)[0].record.record_id(), "discharge");
    EXPECT_EQ((*care)[1].record.record_id(), "care-plan");
    EXPECT_TRUE(store->FetchMailbox(MailboxReader{"housing", named}, 0, 10)->empty());
    EXPECT_EQ(*store->HeldMailboxRecords(), 2);
    // An acknowledged record stays acknowledged, and its id taken.
    EXPECT_EQ(store->FindInMailbox("nhs-trust-a", "taken")->sender_org, "nhs-trust-a");
    // Acknowledgements are now per system.
    auto acked = store->AckMailbox(MailboxReader{"care", named}, {"discharge"}, 9);
    ASSERT_TRUE(acked.ok()) << acked.status();
    ASSERT_EQ(acked->size(), 1u);
    EXPECT_FALSE((*acked)[0].payload_dropped);
    EXPECT_EQ(store->FetchMailbox(MailboxReader{"finance", named}, 0, 10)->size(), 1u);
    // An outbox row from before change numbers is listed as changed once.
    auto changed = store->OutboxChanges("ehr", 0, 10);
    ASSERT_TRUE(changed.ok()) << changed.status();
    ASSERT_EQ(changed->size(), 1u);
    EXPECT_EQ((*changed)[0].record.record_id(), "");  // the row's record blob was empty
    EXPECT_GT((*changed)[0].change_seq, 0);
  }
  EXPECT_EQ(QueryInt(old, "PRAGMA user_version"), 7);
  // Rows from before fetch times were kept have none.
  EXPECT_EQ(QueryInt(old, "SELECT COUNT(*) FROM mailbox WHERE fetched_ms IS NOT NULL"), 0);
  // And the migrated file opens again as it is.
  auto again = SqliteStore::Open(old);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->FetchMailbox(MailboxReader{"care", {"care", "finance"}}, 0, 10)->size(),
            1u);
  again->reset();
  Reopen();
}

// A version 2 file the migration cannot complete on (here: a table in the
// way) is refused, and left exactly as it was.
TEST_F(SqliteStoreTest, AMigrationThatFailsLeavesTheFileAsItWas) {
  store_.reset();
  const std::string old = OtherPath("v2.db");
  ASSERT_EQ(RunSql(old, kVersion2Schema), "");
  ASSERT_EQ(RunSql(old, "CREATE TABLE mailbox_ack (x); " + OldMailboxRow("discharge", "", false)),
            "");
  auto opened = SqliteStore::Open(old);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(QueryInt(old, "PRAGMA user_version"), 2);
  EXPECT_EQ(QueryInt(old, "SELECT COUNT(*) FROM pragma_table_info('mailbox_ack')"), 1);
  EXPECT_EQ(QueryInt(old, "SELECT COUNT(*) FROM mailbox WHERE record IS NOT NULL"), 1);
  Reopen();
}

TEST_F(SqliteStoreTest, AStoreOfANewerSchemaVersionIsRefusedAndLeftUnchanged) {
  store_.reset();
  const std::string newer = OtherPath("newer.db");
  ASSERT_EQ(RunSql(newer, kVersion2Schema), "");
  ASSERT_EQ(RunSql(newer, "PRAGMA user_version = 8;"), "");
  auto opened = SqliteStore::Open(newer);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("schema version 8"), std::string::npos);
  EXPECT_EQ(QueryInt(newer, "PRAGMA user_version"), 8);
  EXPECT_EQ(QueryInt(newer, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'mailbox_ack'"), 0);
  Reopen();
}

// Each write of a group is undone alone through a savepoint, whose journal
// of the pages it changed must stay in memory: SQLite's default moves it to
// a temporary file past 64 KiB, and a record's joint write (its row, its
// audit entry, the entries the file log holds now forgotten) reaches that
// often enough to cost the sender's committer about 60 us a record in
// system calls. A write changing far more than 64 KiB of pages creates no
// file in SQLite's temporary directory, and still does its work.
TEST_F(SqliteStoreTest, AWriteOfManyPagesKeepsItsSavepointJournalInMemory) {
  const std::string temp = dir_.Sub("sqlite-temp");
  ASSERT_TRUE(std::filesystem::create_directory(temp));
  sqlite3_temp_directory = sqlite3_mprintf("%s", temp.c_str());
  absl::Cleanup restore = [] {
    sqlite3_free(sqlite3_temp_directory);
    sqlite3_temp_directory = nullptr;
  };
  Reopen();
  ASSERT_TRUE(store_->StartAuditSequence(0).ok());
  auto queue = [&](uint64_t forget_below) {
    std::promise<absl::StatusOr<uint64_t>> p;
    store_->QueueAuditEntryAsync(std::string(2000, 'e'), forget_below, nullptr,
                                 [&p](absl::StatusOr<uint64_t> i) { p.set_value(i); });
    return p.get_future().get();
  };
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(queue(0).ok());  // about 100 pages
  const int watch = inotify_init1(IN_NONBLOCK);
  ASSERT_GE(watch, 0);
  ASSERT_GE(inotify_add_watch(watch, temp.c_str(), IN_CREATE), 0);
  absl::StatusOr<uint64_t> last = queue(200);  // forgets the 200 in the same write
  char events[4096];
  const ssize_t created = read(watch, events, sizeof(events));
  close(watch);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, 200u);
  EXPECT_EQ(created, -1) << "a temporary file was created";
  absl::StatusOr<SqliteStore::AuditQueue> left = store_->ReadAuditQueue();
  ASSERT_TRUE(left.ok()) << left.status();
  ASSERT_EQ(left->entries.size(), 1u);
  EXPECT_EQ(left->entries[0].first, 200u);
}

TEST_F(SqliteStoreTest, UnopenablePathIsUnavailable) {
  EXPECT_EQ(SqliteStore::Open("/nonexistent/dir/store.db").status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace gatehouse

// PostgresStore's own behaviour, beyond the contract every store keeps
// (store_contract.h): its schema and migrations, the DSN it refuses, what
// it says when the server cannot be reached, reconnecting after the server
// closed its connections, and its group commit. On a real server
// (postgres_server.h), a database a test.
#include "gateway/store/postgres/postgres_store.h"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/store/postgres/postgres_schema.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/postgres_test_database.h"

namespace gatehouse {
namespace {

class PostgresStoreTest : public PostgresDatabaseTest {
 protected:
  void TearDown() override {
    store_.reset();
    PostgresDatabaseTest::TearDown();
  }
  void Reopen() {
    store_.reset();
    store_ = OpenStore(Options());
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<PostgresStore> store_;
};

TEST_F(PostgresStoreTest, AnEmptyDatabaseIsMigratedToTheLatestVersionAndStaysThere) {
  const std::string latest = std::to_string(postgres::LatestSchemaVersion());
  EXPECT_EQ(Sql("SELECT to_regclass('schema_version') IS NULL"), "t");
  Reopen();
  EXPECT_EQ(Sql("SELECT MAX(version) FROM schema_version"), latest);
  // One row a migration, each applied once.
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM schema_version"), latest);
  for (const char* table : {"outbox", "mailbox", "mailbox_ack", "peer_checkpoint"}) {
    EXPECT_EQ(Sql(absl::StrCat("SELECT to_regclass('", table, "') IS NOT NULL")), "t") << table;
  }
  bool inserted = false;
  ASSERT_TRUE(store_->AddToOutbox(Request("a"), "k", 1, &inserted).ok());
  Reopen();
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM schema_version"), latest);
  EXPECT_TRUE(store_->GetOutbox("a").ok());
}

// Version 2 added the delivery leases (and 3 the audit log): a database an
// older gateway left at version 1 gets them, and keeps its rows.
TEST_F(PostgresStoreTest, ADatabaseAtVersionOneGetsTheLeaseColumnsAndKeepsItsRows) {
  Reopen();
  bool inserted = false;
  ASSERT_TRUE(store_->AddToOutbox(Request("a"), "k", 1, &inserted).ok());
  store_.reset();
  // Back to version 1, as the older gateway left it.
  ASSERT_EQ(Sql("DROP TABLE audit_cosignature, audit_checkpoint, audit_tree, audit_entry, "
                "audit_head; DROP INDEX outbox_leased; ALTER TABLE outbox DROP COLUMN "
                "lease_owner, DROP COLUMN lease_until_ms; DELETE FROM schema_version WHERE "
                "version >= 2"),
            "");
  ASSERT_EQ(Sql("SELECT MAX(version) FROM schema_version"), "1");
  Reopen();
  EXPECT_EQ(Sql("SELECT MAX(version) FROM schema_version"),
            std::to_string(postgres::LatestSchemaVersion()));
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM outbox WHERE lease_owner IS NULL AND lease_until_ms = 0"),
            "1");
  absl::StatusOr<std::vector<OutboxEntry>> due = store_->DueForDelivery(1, 10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].idempotency_key, "k");
}

TEST_F(PostgresStoreTest, ADatabaseOfANewerSchemaIsRefusedAndLeftAsItWas) {
  Reopen();
  bool inserted = false;
  ASSERT_TRUE(store_->AddToOutbox(Request("a"), "", 1, &inserted).ok());
  store_.reset();
  const int newer = postgres::LatestSchemaVersion() + 1;
  ASSERT_EQ(Sql(absl::StrCat("INSERT INTO schema_version (version) VALUES (", newer, ")")), "");
  absl::StatusOr<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(Options());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition) << s.status();
  EXPECT_NE(s.status().message().find(absl::StrCat("schema version ", newer)), std::string::npos)
      << s.status();
  EXPECT_NE(s.status().message().find(absl::StrCat("up to ", postgres::LatestSchemaVersion())),
            std::string::npos)
      << s.status();
  EXPECT_EQ(Sql("SELECT MAX(version) FROM schema_version"), std::to_string(newer));
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM outbox"), "1");
}

TEST_F(PostgresStoreTest, ADatabaseWithTablesButNoSchemaVersionIsRefusedAndLeftAsItWas) {
  ASSERT_EQ(Sql("CREATE TABLE outbox (x INTEGER)"), "");
  absl::StatusOr<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(Options());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition) << s.status();
  EXPECT_NE(s.status().message().find("not a Gatehouse store"), std::string::npos) << s.status();
  EXPECT_EQ(Sql("SELECT to_regclass('schema_version') IS NULL"), "t");
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'outbox'"),
            "1");
}

TEST_F(PostgresStoreTest, AServerThatCannotBeReachedIsUnavailableSayingWhere) {
  PostgresStoreOptions options;
  options.dsn = "host=/nonexistent/gatehouse-socket-dir port=5432 dbname=x user=postgres";
  absl::StatusOr<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(options);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
  EXPECT_NE(s.status().message().find("cannot connect to PostgreSQL"), std::string::npos)
      << s.status();
  EXPECT_NE(s.status().message().find("/nonexistent/gatehouse-socket-dir"), std::string::npos)
      << s.status();
}

TEST_F(PostgresStoreTest, ADsnHoldingAPasswordIsRefusedBeforeConnecting) {
  PostgresStoreOptions options = Options();
  options.dsn += " password=hunter2";
  absl::StatusOr<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(options);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  EXPECT_NE(s.status().message().find("password file"), std::string::npos) << s.status();
  EXPECT_EQ(s.status().message().find("hunter2"), std::string::npos) << "the secret is echoed";
  // Not connected, so nothing migrated.
  EXPECT_EQ(Sql("SELECT to_regclass('schema_version') IS NULL"), "t");
  // A URI's password too.
  options.dsn = absl::StrCat("postgresql://postgres:hunter2@localhost/", db_);
  EXPECT_EQ(PostgresStore::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PostgresStoreTest, ADsnThatDoesNotParseIsInvalidArgument) {
  PostgresStoreOptions options;
  options.dsn = "host = 'unterminated";
  EXPECT_EQ(PostgresStore::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = Options();
  options.read_connections = 0;
  EXPECT_EQ(PostgresStore::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = Options();
  options.delivery_lease_ms = 0;
  EXPECT_EQ(PostgresStore::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
}

// The password is in a file the options name (libpq's passfile), never in
// the DSN; without it the server refuses us, and Open says so.
TEST_F(PostgresStoreTest, APasswordFileAuthenticatesAndItsAbsenceIsUnavailable) {
  const std::string role = absl::StrCat("gh_pw_", db_);
  ASSERT_TRUE(server_->AddPasswordRole(role, "correct horse").ok());
  ASSERT_EQ(Sql(absl::StrCat("GRANT ALL ON SCHEMA public TO ", role)), "");
  PostgresStoreOptions options = Options();
  options.dsn += " user=" + role;
  const std::string no_file = absl::StrCat("/nonexistent/gh-pgpass-", db_);
  options.password_file = no_file;
  absl::StatusOr<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(options);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
  EXPECT_NE(s.status().message().find("password"), std::string::npos) << s.status();
  EXPECT_EQ(Sql("SELECT to_regclass('schema_version') IS NULL"), "t");

  const std::string file = absl::StrCat(::testing::TempDir(), "/gh-pgpass-", db_);
  {
    std::ofstream out(file);
    out << "*:*:*:" << role << ":correct horse\n";
  }
  ASSERT_EQ(chmod(file.c_str(), 0600), 0);  // libpq ignores a file others may read
  options.password_file = file;
  s = PostgresStore::Open(options);
  std::remove(file.c_str());
  ASSERT_TRUE(s.ok()) << s.status();
  bool inserted = false;
  EXPECT_TRUE((*s)->AddToOutbox(Request("a"), "", 1, &inserted).ok());
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM outbox"), "1");
}

// The server closed every connection of the store (as a restart or an
// administrator does): the next reads and writes reconnect by themselves.
TEST_F(PostgresStoreTest, ConnectionsKilledUnderTheStoreAreReplacedOnTheNextCall) {
  Reopen();
  bool inserted = false;
  ASSERT_TRUE(store_->AddToOutbox(Request("a"), "", 1, &inserted).ok());
  ASSERT_TRUE(store_->GetOutbox("a").ok());  // a read connection is open too
  // The store's own sessions only: an autovacuum worker may be in the
  // database too.
  const std::string others =
      "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
      "AND application_name = 'gatehoused'";
  ASSERT_EQ(Sql("SELECT COUNT(pg_terminate_backend(pid)) " + others), "2");
  // Wait until they are gone, so that the store meets closed connections.
  for (int i = 0; i < 200 && Sql("SELECT COUNT(*) " + others) != "0"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_EQ(Sql("SELECT COUNT(*) " + others), "0");

  absl::StatusOr<OutboxEntry> a = store_->GetOutbox("a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->record.envelope(), "envelope-a");
  absl::StatusOr<OutboxEntry> b = store_->AddToOutbox(Request("b"), "", 2, &inserted);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(inserted);
  Reopen();
  EXPECT_EQ(*store_->OutboxDepth(), 2);
}

// Two writes of one group: the one that fails (an id already used) is
// undone alone, under its savepoint; the other is kept. Whether they share
// a group or not, each gets its own result.
TEST_F(PostgresStoreTest, AFailingWriteInAGroupIsUndoneAloneAndTheOthersKept) {
  Reopen();
  bool inserted = false;
  ASSERT_TRUE(store_->AddToOutbox(Request("a"), "", 1, &inserted).ok());
  constexpr int kWrites = 20;
  std::vector<std::promise<std::pair<absl::Status, bool>>> done(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    // Every other write reuses id "a", under a new idempotency key.
    const std::string id = i % 2 == 0 ? "a" : absl::StrCat("n", i);
    store_->AddToOutboxAsync(Request(id), absl::StrCat("k", i), 2,
                             [&done, i](absl::StatusOr<OutboxEntry> e, bool ins) {
                               done[i].set_value({e.status(), ins});
                             });
  }
  for (int i = 0; i < kWrites; ++i) {
    std::pair<absl::Status, bool> r = done[i].get_future().get();
    if (i % 2 == 0) {
      EXPECT_EQ(r.first.code(), absl::StatusCode::kAlreadyExists) << i << ": " << r.first;
      EXPECT_FALSE(r.second);
    } else {
      EXPECT_TRUE(r.first.ok()) << i << ": " << r.first;
      EXPECT_TRUE(r.second);
    }
  }
  Reopen();
  EXPECT_EQ(*store_->OutboxDepth(), 1 + kWrites / 2);
  EXPECT_EQ(store_->GetOutbox("a")->idempotency_key, "");
  EXPECT_EQ(store_->FindByIdempotencyKey("ehr", "k0").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace gatehouse

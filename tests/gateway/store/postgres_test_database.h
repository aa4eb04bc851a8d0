// PostgresDatabaseTest: a fixture giving each test a new database on this
// process's PostgreSQL server (postgres_server.h), dropped after it, with
// the records of store_test_records.h, a way to open stores on it and to
// ask it SQL. For PostgresStore's own tests, one store or several.
#ifndef GATEHOUSE_TESTS_GATEWAY_STORE_POSTGRES_TEST_DATABASE_H_
#define GATEHOUSE_TESTS_GATEWAY_STORE_POSTGRES_TEST_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gateway/store/postgres/postgres_store.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/postgres_server.h"
#include "tests/gateway/store/store_test_records.h"

namespace gatehouse {

class PostgresDatabaseTest : public ::testing::Test, public StoreTestRecords {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::PostgresServer*> server = testing::PostgresServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *server;
    absl::StatusOr<std::string> db = server_->CreateDatabase();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *db;
  }
  // A subclass closes its stores first (in its own TearDown).
  void TearDown() override {
    if (!db_.empty()) {
      EXPECT_TRUE(server_->DropDatabase(db_).ok());
    }
  }
  // Options for a store on the test's database.
  PostgresStoreOptions Options() const {
    PostgresStoreOptions options;
    options.dsn = server_->Dsn(db_);
    return options;
  }
  // A store on the test's database with `options`; null (and the test
  // failed) if it does not open.
  static std::unique_ptr<PostgresStore> OpenStore(const PostgresStoreOptions& options) {
    absl::StatusOr<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(options);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  // `sql`'s first value in the test's database, as text; the error's text
  // if it fails.
  std::string Sql(const std::string& sql) const {
    absl::StatusOr<std::string> v = server_->Query(db_, sql);
    return v.ok() ? *v : "error: " + v.status().ToString();
  }

  testing::PostgresServer* server_ = nullptr;
  std::string db_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_GATEWAY_STORE_POSTGRES_TEST_DATABASE_H_

// PostgresStore against every store contract suite (store_contract.h): the
// factory, and one instantiation a suite. One PostgreSQL server a test
// process (postgres_server.h), started by the first factory; each factory
// gets a database of its own, dropped with it.
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gateway/store/postgres/postgres_store.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/postgres_server.h"
#include "tests/gateway/store/store_contract.h"
#include "tests/gateway/store/store_factory.h"

namespace gatehouse {
namespace {

using testing::PostgresServer;

// A fresh database on the process's server, dropped with the factory. A
// server or database that could not be made is Open's error, so the test
// fails saying why.
class PostgresStoreFactory : public StoreFactory {
 public:
  PostgresStoreFactory() {
    absl::StatusOr<PostgresServer*> server = PostgresServer::Shared();
    if (!server.ok()) {
      db_ = server.status();
      return;
    }
    server_ = *server;
    db_ = server_->CreateDatabase();
  }
  ~PostgresStoreFactory() override {
    if (db_.ok()) {
      EXPECT_TRUE(server_->DropDatabase(*db_).ok());
    }
  }

  absl::StatusOr<std::unique_ptr<Store>> Open() override {
    if (!db_.ok()) return db_.status();
    PostgresStoreOptions options;
    options.dsn = server_->Dsn(*db_);
    absl::StatusOr<std::unique_ptr<PostgresStore>> store = PostgresStore::Open(options);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(*store));
  }

 private:
  PostgresServer* server_ = nullptr;
  absl::StatusOr<std::string> db_;
};

std::unique_ptr<StoreFactory> NewPostgresStoreFactory() {
  return std::make_unique<PostgresStoreFactory>();
}

INSTANTIATE_TEST_SUITE_P(Postgres, OutboxStoreContract,
                         ::testing::Values(&NewPostgresStoreFactory));
INSTANTIATE_TEST_SUITE_P(Postgres, IdempotencyStoreContract,
                         ::testing::Values(&NewPostgresStoreFactory));
INSTANTIATE_TEST_SUITE_P(Postgres, MailboxStoreContract,
                         ::testing::Values(&NewPostgresStoreFactory));
INSTANTIATE_TEST_SUITE_P(Postgres, PeerCheckpointStoreContract,
                         ::testing::Values(&NewPostgresStoreFactory));
INSTANTIATE_TEST_SUITE_P(Postgres, StoreStatsContract, ::testing::Values(&NewPostgresStoreFactory));

}  // namespace
}  // namespace gatehouse

// SqliteStore against every store contract suite (store_contract.h): the
// factory, and one instantiation a suite. A second implementation copies
// this file.
#include <memory>

#include "absl/status/statusor.h"
#include "gateway/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/audit/audit_test_util.h"
#include "tests/gateway/store/store_contract.h"
#include "tests/gateway/store/store_factory.h"

namespace gatehouse {
namespace {

// A database file in a scratch folder of its own, removed with the factory.
class SqliteStoreFactory : public StoreFactory {
 public:
  absl::StatusOr<std::unique_ptr<Store>> Open() override {
    return SqliteStore::Open(dir_.Sub("store.db"));
  }

 private:
  audit::testing::ScratchDir dir_;
};

std::unique_ptr<StoreFactory> NewSqliteStoreFactory() {
  return std::make_unique<SqliteStoreFactory>();
}

INSTANTIATE_TEST_SUITE_P(Sqlite, OutboxStoreContract, ::testing::Values(&NewSqliteStoreFactory));
INSTANTIATE_TEST_SUITE_P(Sqlite, IdempotencyStoreContract,
                         ::testing::Values(&NewSqliteStoreFactory));
INSTANTIATE_TEST_SUITE_P(Sqlite, MailboxStoreContract, ::testing::Values(&NewSqliteStoreFactory));
INSTANTIATE_TEST_SUITE_P(Sqlite, PeerCheckpointStoreContract,
                         ::testing::Values(&NewSqliteStoreFactory));
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreStatsContract, ::testing::Values(&NewSqliteStoreFactory));

}  // namespace
}  // namespace gatehouse

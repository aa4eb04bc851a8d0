// StoreFactory: what an implementation of Store gives the contract suites
// (store_contract.h): storage of its own for one test, and a store opened on
// it, as often as the test asks.
//
// Example (SQLite, in sqlite_store_contract_test.cc):
//   class SqliteStoreFactory : public StoreFactory {
//    public:
//     absl::StatusOr<std::unique_ptr<Store>> Open() override {
//       return SqliteStore::Open(dir_.Sub("store.db"));
//     }
//    private:
//     audit::testing::ScratchDir dir_;  // removed with the factory
//   };
//   std::unique_ptr<StoreFactory> NewSqliteStoreFactory() {
//     return std::make_unique<SqliteStoreFactory>();
//   }
//
// Used by one test's thread at a time.
#ifndef GATEHOUSE_TESTS_GATEWAY_STORE_STORE_FACTORY_H_
#define GATEHOUSE_TESTS_GATEWAY_STORE_STORE_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "gateway/store/store.h"

namespace gatehouse {

class StoreFactory {
 public:
  // Removes the storage (a scratch folder, a scratch database) and all it holds.
  virtual ~StoreFactory() = default;

  // Opens a store on this factory's storage: empty the first time; after
  // that, holding every change an earlier store made durable. The suites
  // close each store before opening the next.
  virtual absl::StatusOr<std::unique_ptr<Store>> Open() = 0;
};

// A new factory with fresh, empty storage. The parameter of every contract suite.
using NewStoreFactory = std::unique_ptr<StoreFactory> (*)();

}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_GATEWAY_STORE_STORE_FACTORY_H_

// The store's contract suites: what every implementation of the store
// interfaces (gateway/store/) must do, one value-parameterised suite per
// interface, written against the interfaces only. The parameter is a
// NewStoreFactory (store_factory.h); an implementation passes by
// instantiating every suite with its own, in a test of its own:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, OutboxStoreContract,
//                            ::testing::Values(&NewSqliteStoreFactory));
//   ... the same for IdempotencyStoreContract, MailboxStoreContract,
//   PeerCheckpointStoreContract and StoreStatsContract
//
// (sqlite_store_contract_test.cc; gateway/store/README.md says the rest).
#ifndef GATEHOUSE_TESTS_GATEWAY_STORE_STORE_CONTRACT_H_
#define GATEHOUSE_TESTS_GATEWAY_STORE_STORE_CONTRACT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gateway/store/store.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/store_factory.h"
#include "tests/gateway/store/store_test_records.h"

namespace gatehouse {

// A fresh store for each test, and the interfaces a suite may use.
class StoreContractTest : public ::testing::TestWithParam<NewStoreFactory>,
                          public StoreTestRecords {
 protected:
  void SetUp() override {
    factory_ = GetParam()();
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    factory_.reset();
  }
  // Closes the store and opens it again on the same storage: what is still
  // there is what was durable.
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> s = factory_->Open();
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  OutboxStore& outbox() { return *store_; }
  IdempotencyStore& idempotency() { return *store_; }
  MailboxStore& mailbox() { return *store_; }
  PeerCheckpointStore& checkpoints() { return *store_; }
  const StoreStatsSource& stats() const { return *store_; }

 private:
  std::unique_ptr<StoreFactory> factory_;
  std::unique_ptr<Store> store_;
};

class OutboxStoreContract : public StoreContractTest {};
class IdempotencyStoreContract : public StoreContractTest {};
class PeerCheckpointStoreContract : public StoreContractTest {};
class StoreStatsContract : public StoreContractTest {};

class MailboxStoreContract : public StoreContractTest {
 protected:
  // Stores `r` under envelope hash "sha-<id><tag>" with receipt "receipt-<tag>".
  absl::StatusOr<MailboxPut> Put(const v1::MailboxRecord& r, const std::string& tag = "1") {
    return mailbox().AddToMailbox(r, "sha-" + r.record_id() + tag, Receipt(tag));
  }
  // `system`, taking organisation-wide records if named in `org`.
  static MailboxReader Reader(const std::string& system, std::vector<std::string> org = {}) {
    return MailboxReader{system, std::move(org)};
  }
  // How many of `ids` `reader` acknowledged; 999 on error.
  size_t Acked(const MailboxReader& reader, const std::vector<std::string>& ids, int64_t now) {
    absl::StatusOr<std::vector<MailboxAcked>> a = mailbox().AckMailbox(reader, ids, now);
    return a.ok() ? a->size() : 999;
  }
  size_t Acked(const std::string& system, const std::vector<std::string>& ids, int64_t now) {
    return Acked(Reader(system), ids, now);
  }
  // The record ids `reader` fetches, in order.
  std::vector<std::string> Ids(const MailboxReader& reader) {
    std::vector<std::string> ids;
    absl::StatusOr<std::vector<MailboxEntry>> got = mailbox().FetchMailbox(reader, 0, 100);
    if (!got.ok()) return {"error: " + got.status().ToString()};
    for (const MailboxEntry& e : *got) ids.push_back(e.record.record_id());
    return ids;
  }
};

}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_GATEWAY_STORE_STORE_CONTRACT_H_

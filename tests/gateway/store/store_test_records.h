// StoreTestRecords: the records, deliveries and receipts the store tests
// store, and a way to store many at once, as static helpers for a fixture
// to inherit (the contract suites' and the SQLite tests').
#ifndef GATEHOUSE_TESTS_GATEWAY_STORE_STORE_TEST_RECORDS_H_
#define GATEHOUSE_TESTS_GATEWAY_STORE_STORE_TEST_RECORDS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gatehouse/v1/peer.pb.h"
#include "gatehouse/v1/store.pb.h"
#include "gateway/store/outbox_store.h"
#include "gtest/gtest.h"

namespace gatehouse {

class StoreTestRecords {
 protected:
  // A record `system` of nhs-trust-a submits for council-a.
  static v1::OutboxRecord Request(const std::string& id, const std::string& system = "ehr") {
    v1::OutboxRecord r;
    r.set_record_id(id);
    r.set_sender_org("nhs-trust-a");
    r.set_sender_system(system);
    r.mutable_labels()->set_recipient_org("council-a");
    r.set_envelope("envelope-" + id);
    return r;
  }
  // A record `sender` delivered for `recipient_system` ("" for the whole
  // organisation).
  static v1::MailboxRecord Record(const std::string& id, const std::string& recipient_system = "",
                                  const std::string& sender = "nhs-trust-a",
                                  int64_t received_ms = 0) {
    v1::MailboxRecord r;
    r.set_record_id(id);
    r.set_sender_org(sender);
    r.set_recipient_system(recipient_system);
    r.set_envelope("envelope-" + id);
    r.set_received_unix_ms(received_ms);
    return r;
  }
  // Signs, as a joint commit's ReceiptAt would, a receipt naming record
  // `id` and its audit entry's index; or fails with `sign_error`.
  static std::function<absl::StatusOr<v1::SignedReceipt>(uint64_t)> ReceiptNaming(
      const std::string& id, absl::Status sign_error = absl::OkStatus()) {
    return [id, sign_error](uint64_t index) -> absl::StatusOr<v1::SignedReceipt> {
      if (!sign_error.ok()) return sign_error;
      v1::DeliveryReceipt r;
      r.set_record_id(id);
      r.set_audit_index(index);
      v1::SignedReceipt s;
      s.set_receipt(r.SerializeAsString());
      s.set_signature("signed");
      return s;
    };
  }
  static v1::SignedReceipt Receipt(const std::string& tag) {
    v1::SignedReceipt r;
    r.set_receipt("receipt-" + tag);
    return r;
  }
  // Expects `store` to hold `id` delivered at `delivered_ms` with the
  // receipt Receipt(tag).
  static void ExpectDelivered(OutboxStore& store, const std::string& id, int64_t delivered_ms,
                              const std::string& tag) {
    absl::StatusOr<OutboxEntry> held = store.GetOutbox(id);
    ASSERT_TRUE(held.ok()) << held.status();
    EXPECT_EQ(held->state, v1::RECORD_STATE_DELIVERED);
    EXPECT_EQ(held->delivered_ms, delivered_ms);
    EXPECT_EQ(held->receipt.receipt(), "receipt-" + tag);
  }
  // Adds `threads` * `each` records to `outbox`, from `threads` threads at
  // once, each expecting every add of its own to succeed.
  static void AddFromManyThreads(OutboxStore& outbox, int threads, int each) {
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
      running.emplace_back([&outbox, t, each] {
        for (int i = 0; i < each; ++i) {
          bool inserted = false;
          EXPECT_TRUE(
              outbox.AddToOutbox(Request(std::to_string(t * 1000 + i)), "", 1, &inserted).ok());
          EXPECT_TRUE(inserted);
        }
      });
    }
    for (std::thread& th : running) th.join();
  }
};

}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_GATEWAY_STORE_STORE_TEST_RECORDS_H_

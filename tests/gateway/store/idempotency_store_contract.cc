// IdempotencyStore's contract (gateway/store/idempotency_store.h), with the
// outbox that writes the keys, for every implementation: see
// store_contract.h.
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/store_contract.h"

namespace gatehouse {
namespace {

TEST_P(IdempotencyStoreContract, IdempotencyKeyIsPerSystem) {
  bool inserted = false;
  ASSERT_TRUE(outbox().AddToOutbox(Request("a"), "k", 1, &inserted).ok());
  auto again = outbox().AddToOutbox(Request("b"), "k", 2, &inserted);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(inserted);
  EXPECT_EQ(again->record.record_id(), "a");
  auto found = idempotency().FindByIdempotencyKey("ehr", "k");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->record.record_id(), "a");
  EXPECT_EQ(idempotency().FindByIdempotencyKey("ehr", "other").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(outbox().AddToOutbox(Request("c", "pas"), "k", 3, &inserted).ok());
  EXPECT_TRUE(inserted);
  EXPECT_EQ(*outbox().OutboxDepth(), 2);
}

TEST_P(IdempotencyStoreContract, AnEmptyKeyIsNeverAMatch) {
  bool inserted = false;
  ASSERT_TRUE(outbox().AddToOutbox(Request("a"), "", 1, &inserted).ok());
  ASSERT_TRUE(outbox().AddToOutbox(Request("b"), "", 2, &inserted).ok());
  EXPECT_TRUE(inserted);
  EXPECT_EQ(idempotency().FindByIdempotencyKey("ehr", "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*outbox().OutboxDepth(), 2);
}

// A retry after a restart is still answered with the first record, whatever
// became of it since.
TEST_P(IdempotencyStoreContract, AKeyStillNamesItsRecordAfterReopenAndDelivery) {
  bool inserted = false;
  ASSERT_TRUE(outbox().AddToOutbox(Request("a"), "k", 1, &inserted).ok());
  ASSERT_TRUE(outbox().MarkDelivered("a", 5, Receipt("a")).ok());
  Reopen();
  absl::StatusOr<OutboxEntry> found = idempotency().FindByIdempotencyKey("ehr", "k");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->record.record_id(), "a");
  EXPECT_EQ(found->state, v1::RECORD_STATE_DELIVERED);
  absl::StatusOr<OutboxEntry> again = outbox().AddToOutbox(Request("b"), "k", 9, &inserted);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(inserted);
  EXPECT_EQ(again->record.record_id(), "a");
  EXPECT_EQ(outbox().GetOutbox("b").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace gatehouse

// OutboxStore's contract (gateway/store/outbox_store.h), for every
// implementation: see store_contract.h.
#include <chrono>
#include <cstdlib>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/store_contract.h"

namespace gatehouse {
namespace {

TEST_P(OutboxStoreContract, OutboxEntrySurvivesReopen) {
  bool inserted = false;
  ASSERT_TRUE(outbox().AddToOutbox(Request("a"), "", 1000, &inserted).ok());
  EXPECT_TRUE(inserted);
  Reopen();
  auto due = outbox().DueForDelivery(1000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].record.envelope(), "envelope-a");
  EXPECT_EQ(*outbox().OutboxDepth(), 1);
}

TEST_P(OutboxStoreContract, FailedAttemptIsRescheduledAndDeliveredLeavesTheQueue) {
  bool inserted;
  ASSERT_TRUE(outbox().AddToOutbox(Request("a"), "", 100, &inserted).ok());
  ASSERT_TRUE(outbox().MarkAttemptFailed("a", 500, "peer down").ok());
  EXPECT_TRUE(outbox().DueForDelivery(499, 10)->empty());
  EXPECT_EQ(*outbox().NextAttemptMs(), 500);
  auto e = outbox().GetOutbox("a");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->attempts, 1);
  EXPECT_EQ(e->last_error, "peer down");
  ASSERT_TRUE(outbox().MarkDelivered("a", 600, Receipt("a")).ok());
  EXPECT_TRUE(outbox().DueForDelivery(10000, 10)->empty());
  EXPECT_EQ(*outbox().NextAttemptMs(), -1);
  EXPECT_EQ(outbox().GetOutbox("a")->state, v1::RECORD_STATE_DELIVERED);
  EXPECT_EQ(outbox().GetOutbox("a")->receipt.receipt(), "receipt-a");
  // A late failure report does not undo a delivery.
  ASSERT_TRUE(outbox().MarkAttemptFailed("a", 700, "late").ok());
  EXPECT_EQ(outbox().GetOutbox("a")->state, v1::RECORD_STATE_DELIVERED);
}

TEST_P(OutboxStoreContract, RejectedIsNotRetried) {
  bool inserted;
  ASSERT_TRUE(outbox().AddToOutbox(Request("a"), "", 100, &inserted).ok());
  ASSERT_TRUE(outbox().MarkRejected("a", "PERMISSION_DENIED").ok());
  EXPECT_TRUE(outbox().DueForDelivery(10000, 10)->empty());
  EXPECT_EQ(outbox().GetOutbox("a")->state, v1::RECORD_STATE_REJECTED);
}

// Watch's cursor: each change of state moves a record after every earlier
// change; a system sees only its own; a failed attempt is no change; the
// order survives a reopen.
TEST_P(OutboxStoreContract, ChangesAreListedInTheOrderTheyHappenedPerSystem) {
  bool inserted;
  ASSERT_TRUE(outbox().AddToOutbox(Request("a"), "", 100, &inserted).ok());
  ASSERT_TRUE(outbox().AddToOutbox(Request("b"), "", 100, &inserted).ok());
  ASSERT_TRUE(outbox().AddToOutbox(Request("c", "lab"), "", 100, &inserted).ok());
  auto ids = [&](int64_t after, const std::string& system = "ehr") {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<OutboxEntry>> changed = outbox().OutboxChanges(system, after, 10);
    EXPECT_TRUE(changed.ok()) << changed.status();
    for (const OutboxEntry& e : changed.value_or(std::vector<OutboxEntry>())) {
      out.push_back(e.record.record_id());
    }
    return out;
  };
  EXPECT_EQ(ids(0), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids(0, "lab"), (std::vector<std::string>{"c"}));
  const int64_t b_queued = (*outbox().OutboxChanges("ehr", 0, 10))[1].change_seq;
  EXPECT_TRUE(ids(b_queued).empty());

  ASSERT_TRUE(outbox().MarkAttemptFailed("a", 500, "peer down").ok());
  EXPECT_TRUE(ids(b_queued).empty());
  ASSERT_TRUE(outbox().MarkDelivered("a", 600, Receipt("a")).ok());
  ASSERT_TRUE(outbox().MarkRejected("b", "PERMISSION_DENIED").ok());
  auto changed = outbox().OutboxChanges("ehr", b_queued, 10);
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->size(), 2u);
  EXPECT_EQ((*changed)[0].record.record_id(), "a");
  EXPECT_EQ((*changed)[0].state, v1::RECORD_STATE_DELIVERED);
  EXPECT_EQ((*changed)[0].receipt.receipt(), "receipt-a");
  EXPECT_EQ((*changed)[1].state, v1::RECORD_STATE_REJECTED);
  EXPECT_LT((*changed)[0].change_seq, (*changed)[1].change_seq);
  EXPECT_EQ(outbox().OutboxChanges("ehr", b_queued, 1)->size(), 1u);  // the limit

  Reopen();
  EXPECT_EQ(ids(b_queued), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(ids((*changed)[1].change_seq).empty());
}

// Records delivered and not yet known to be acknowledged are asked about
// oldest-asked first; being fetched, then acknowledged, are changes of
// state, only from DELIVERED (or FETCHED), learnt once, and survive a
// reopen.
TEST_P(OutboxStoreContract, DeliveredRecordsAwaitAcknowledgementInTurn) {
  bool inserted;
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(outbox().AddToOutbox(Request(id), "", 100, &inserted).ok());
  }
  ASSERT_TRUE(outbox().MarkDelivered("a", 200, Receipt("a")).ok());
  ASSERT_TRUE(outbox().MarkDelivered("b", 200, Receipt("b")).ok());
  auto ids = [&](int limit) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<OutboxEntry>> waiting = outbox().AwaitingAcknowledgement(limit);
    EXPECT_TRUE(waiting.ok()) << waiting.status();
    for (const OutboxEntry& e : waiting.value_or(std::vector<OutboxEntry>())) {
      out.push_back(e.record.record_id());
    }
    return out;
  };
  EXPECT_EQ(ids(10).size(), 2u);  // c is still queued
  // The one asked about goes to the back.
  const std::string first = ids(1)[0];
  ASSERT_TRUE(outbox().MarkChecked({first}, 300).ok());
  EXPECT_NE(ids(1)[0], first);

  // Fetched: a change, and still awaiting its acknowledgement.
  int64_t before = outbox().GetOutbox("a")->change_seq;
  ASSERT_TRUE(outbox().MarkTaken("a", 350, 0).ok());
  absl::StatusOr<OutboxEntry> a = outbox().GetOutbox("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->state, v1::RECORD_STATE_FETCHED);
  EXPECT_EQ(a->fetched_ms, 350);
  EXPECT_EQ(a->acked_ms, 0);
  EXPECT_GT(a->change_seq, before);
  EXPECT_EQ(ids(10).size(), 2u);
  // Learnt again: no change.
  before = a->change_seq;
  ASSERT_TRUE(outbox().MarkTaken("a", 350, 0).ok());
  EXPECT_EQ(outbox().GetOutbox("a")->change_seq, before);

  ASSERT_TRUE(outbox().MarkTaken("a", 360, 400).ok());
  a = outbox().GetOutbox("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->state, v1::RECORD_STATE_ACKNOWLEDGED);
  EXPECT_EQ(a->acked_ms, 400);
  EXPECT_EQ(a->fetched_ms, 350);  // the first fetch is kept
  EXPECT_GT(a->change_seq, before);
  EXPECT_EQ(ids(10), (std::vector<std::string>{"b"}));
  // Acknowledged never goes back to fetched.
  ASSERT_TRUE(outbox().MarkTaken("a", 350, 0).ok());
  EXPECT_EQ(outbox().GetOutbox("a")->state, v1::RECORD_STATE_ACKNOWLEDGED);
  // Straight from DELIVERED to ACKNOWLEDGED, with or without a fetch.
  ASSERT_TRUE(outbox().MarkTaken("b", 0, 450).ok());
  EXPECT_EQ(outbox().GetOutbox("b")->state, v1::RECORD_STATE_ACKNOWLEDGED);
  EXPECT_EQ(outbox().GetOutbox("b")->fetched_ms, 0);
  // Not from any other state: a queued record stays queued.
  ASSERT_TRUE(outbox().MarkTaken("c", 480, 500).ok());
  EXPECT_EQ(outbox().GetOutbox("c")->state, v1::RECORD_STATE_QUEUED);
  EXPECT_EQ(outbox().GetOutbox("c")->acked_ms, 0);
  EXPECT_EQ(outbox().GetOutbox("c")->fetched_ms, 0);
  Reopen();
  EXPECT_EQ(outbox().GetOutbox("a")->state, v1::RECORD_STATE_ACKNOWLEDGED);
  EXPECT_EQ(outbox().GetOutbox("a")->acked_ms, 400);
  EXPECT_EQ(outbox().GetOutbox("a")->fetched_ms, 350);
}

TEST_P(OutboxStoreContract, UnknownRecordIsNotFound) {
  EXPECT_EQ(outbox().GetOutbox("nope").status().code(), absl::StatusCode::kNotFound);
}

// A callback of an async write runs on a thread of the store's (SQLite's:
// its committer); a write it makes and waits for (a delivery attempt that
// failed at once, marking the record for retry) is committed there, not
// queued behind itself forever.
TEST_P(OutboxStoreContract, AWriteWaitedForInsideAnAsyncWritesCallbackCompletes) {
  std::promise<absl::Status> marked;
  outbox().AddToOutboxAsync(Request("a"), "", 1,
                            [&](absl::StatusOr<OutboxEntry> entry, bool inserted) {
                              if (!entry.ok() || !inserted) {
                                marked.set_value(absl::InternalError("not inserted"));
                                return;
                              }
                              marked.set_value(outbox().MarkAttemptFailed("a", 500, "peer down"));
                            });
  std::future<absl::Status> result = marked.get_future();
  if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE()
        << "the write inside the callback never completed (the committer waits on itself)";
    std::_Exit(1);  // the committer thread is stuck: the store cannot be closed
  }
  EXPECT_TRUE(result.get().ok());
  absl::StatusOr<OutboxEntry> entry = outbox().GetOutbox("a");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->last_error, "peer down");
  EXPECT_EQ(entry->next_attempt_ms, 500);
  // And the store goes on taking writes from other threads.
  bool inserted = false;
  EXPECT_TRUE(outbox().AddToOutbox(Request("b"), "", 2, &inserted).ok());
  EXPECT_TRUE(inserted);
}

TEST_P(OutboxStoreContract, ANewEntryIsQueuedWithNoAttemptsAndDueNow) {
  bool inserted = false;
  absl::StatusOr<OutboxEntry> e = outbox().AddToOutbox(Request("a"), "k", 1000, &inserted);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(inserted);
  EXPECT_EQ(e->record.envelope(), "envelope-a");
  EXPECT_EQ(e->idempotency_key, "k");
  EXPECT_EQ(e->state, v1::RECORD_STATE_QUEUED);
  EXPECT_EQ(e->attempts, 0);
  EXPECT_EQ(e->next_attempt_ms, 1000);
  EXPECT_EQ(*outbox().NextAttemptMs(), 1000);
}

TEST_P(OutboxStoreContract, ARecordIdAlreadyInTheOutboxIsRefusedAndChangesNothing) {
  bool inserted = false;
  ASSERT_TRUE(outbox().AddToOutbox(Request("a"), "", 100, &inserted).ok());
  v1::OutboxRecord again = Request("a");
  again.set_envelope("another envelope");
  inserted = true;
  EXPECT_FALSE(outbox().AddToOutbox(again, "k", 200, &inserted).ok());
  EXPECT_FALSE(inserted);
  EXPECT_EQ(outbox().GetOutbox("a")->record.envelope(), "envelope-a");
  EXPECT_EQ(outbox().GetOutbox("a")->next_attempt_ms, 100);
  EXPECT_EQ(*outbox().OutboxDepth(), 1);
}

TEST_P(OutboxStoreContract, DueForDeliveryIsEarliestFirstAndAtMostLimit) {
  bool inserted;
  ASSERT_TRUE(outbox().AddToOutbox(Request("late"), "", 300, &inserted).ok());
  ASSERT_TRUE(outbox().AddToOutbox(Request("early"), "", 100, &inserted).ok());
  ASSERT_TRUE(outbox().AddToOutbox(Request("middle"), "", 200, &inserted).ok());
  absl::StatusOr<std::vector<OutboxEntry>> due = outbox().DueForDelivery(1000, 2);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].record.record_id(), "early");
  EXPECT_EQ((*due)[1].record.record_id(), "middle");
  EXPECT_EQ(outbox().DueForDelivery(250, 10)->size(), 2u);
  EXPECT_TRUE(outbox().DueForDelivery(99, 10)->empty());
}

TEST_P(OutboxStoreContract, MarksOfARecordNotQueuedChangeNothing) {
  EXPECT_TRUE(outbox().MarkDelivered("nope", 1, Receipt("x")).ok());
  EXPECT_TRUE(outbox().MarkAttemptFailed("nope", 1, "x").ok());
  EXPECT_TRUE(outbox().MarkRejected("nope", "x").ok());
  EXPECT_EQ(outbox().GetOutbox("nope").status().code(), absl::StatusCode::kNotFound);
  bool inserted;
  ASSERT_TRUE(outbox().AddToOutbox(Request("a"), "", 100, &inserted).ok());
  ASSERT_TRUE(outbox().MarkRejected("a", "PERMISSION_DENIED").ok());
  ASSERT_TRUE(outbox().MarkDelivered("a", 600, Receipt("a")).ok());
  ASSERT_TRUE(outbox().MarkRejected("a", "again").ok());
  absl::StatusOr<OutboxEntry> e = outbox().GetOutbox("a");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->state, v1::RECORD_STATE_REJECTED);
  EXPECT_EQ(e->attempts, 1);
  EXPECT_EQ(e->last_error, "PERMISSION_DENIED");
  EXPECT_EQ(e->delivered_ms, 0);
  EXPECT_EQ(*outbox().OutboxDepth(), 0);
  EXPECT_EQ(*outbox().NextAttemptMs(), -1);
}

TEST_P(OutboxStoreContract, AnAsyncWriteIsDurableWhenItsCallbackRuns) {
  std::promise<std::pair<absl::StatusOr<OutboxEntry>, bool>> added;
  outbox().AddToOutboxAsync(Request("a"), "k", 100,
                            [&](absl::StatusOr<OutboxEntry> entry, bool inserted) {
                              added.set_value({std::move(entry), inserted});
                            });
  std::pair<absl::StatusOr<OutboxEntry>, bool> got = added.get_future().get();
  ASSERT_TRUE(got.first.ok()) << got.first.status();
  EXPECT_TRUE(got.second);
  EXPECT_EQ(got.first->next_attempt_ms, 100);
  std::promise<absl::Status> delivered;
  outbox().MarkDeliveredAsync("a", 600, Receipt("a"),
                              [&](absl::Status s) { delivered.set_value(s); });
  ASSERT_TRUE(delivered.get_future().get().ok());
  Reopen();
  absl::StatusOr<OutboxEntry> e = outbox().GetOutbox("a");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->state, v1::RECORD_STATE_DELIVERED);
  EXPECT_EQ(e->delivered_ms, 600);
  EXPECT_EQ(e->receipt.receipt(), "receipt-a");
  EXPECT_EQ(e->attempts, 1);
  EXPECT_EQ(*outbox().OutboxDepth(), 0);
}

// Implementations are thread-safe: writes from many threads at once are
// each kept (how they are committed is the implementation's).
TEST_P(OutboxStoreContract, ConcurrentAddsAreEachKept) {
  constexpr int kThreads = 8, kEach = 10;
  AddFromManyThreads(outbox(), kThreads, kEach);
  Reopen();
  EXPECT_EQ(*outbox().OutboxDepth(), kThreads * kEach);
  EXPECT_EQ(outbox().DueForDelivery(1, 1000)->size(), static_cast<size_t>(kThreads * kEach));
}

}  // namespace
}  // namespace gatehouse

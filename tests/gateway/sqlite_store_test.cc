#include "gateway/sqlite_store.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "tests/gateway/test_pki.h"

namespace gatehouse {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = MakeTempDir() + "/store.db";
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(std::filesystem::path(path_).parent_path());
  }
  void Reopen() {
    store_.reset();
    auto s = SqliteStore::Open(path_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  static v1::OutboxRecord Request(const std::string& id, const std::string& system = "ehr") {
    v1::OutboxRecord r;
    r.set_record_id(id);
    r.set_sender_org("nhs-trust-a");
    r.set_sender_system(system);
    r.mutable_labels()->set_recipient_org("council-a");
    r.set_envelope("envelope-" + id);
    return r;
  }
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
  static v1::SignedReceipt Receipt(const std::string& tag) {
    v1::SignedReceipt r;
    r.set_receipt("receipt-" + tag);
    return r;
  }
  absl::StatusOr<MailboxPut> Put(const v1::MailboxRecord& r, const std::string& tag = "1") {
    return store_->AddToMailbox(r, "sha-" + r.record_id() + tag, Receipt(tag));
  }
  size_t Acked(const std::string& system, const std::vector<std::string>& ids, int64_t now) {
    absl::StatusOr<std::vector<MailboxAcked>> a = store_->AckMailbox(system, ids, now);
    return a.ok() ? a->size() : 999;
  }

  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, OutboxEntrySurvivesReopen) {
  bool inserted = false;
  ASSERT_TRUE(store_->AddToOutbox(Request("a"), "", 1000, &inserted).ok());
  EXPECT_TRUE(inserted);
  Reopen();
  auto due = store_->DueForDelivery(1000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].record.envelope(), "envelope-a");
  EXPECT_EQ(*store_->OutboxDepth(), 1);
}

TEST_F(SqliteStoreTest, IdempotencyKeyIsPerSystem) {
  bool inserted = false;
  ASSERT_TRUE(store_->AddToOutbox(Request("a"), "k", 1, &inserted).ok());
  auto again = store_->AddToOutbox(Request("b"), "k", 2, &inserted);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(inserted);
  EXPECT_EQ(again->record.record_id(), "a");
  auto found = store_->FindByIdempotencyKey("ehr", "k");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->record.record_id(), "a");
  EXPECT_EQ(store_->FindByIdempotencyKey("ehr", "other").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->AddToOutbox(Request("c", "pas"), "k", 3, &inserted).ok());
  EXPECT_TRUE(inserted);
  EXPECT_EQ(*store_->OutboxDepth(), 2);
}

TEST_F(SqliteStoreTest, FailedAttemptIsRescheduledAndDeliveredLeavesTheQueue) {
  bool inserted;
  ASSERT_TRUE(store_->AddToOutbox(Request("a"), "", 100, &inserted).ok());
  ASSERT_TRUE(store_->MarkAttemptFailed("a", 500, "peer down").ok());
  EXPECT_TRUE(store_->DueForDelivery(499, 10)->empty());
  EXPECT_EQ(*store_->NextAttemptMs(), 500);
  auto e = store_->GetOutbox("a");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->attempts, 1);
  EXPECT_EQ(e->last_error, "peer down");
  ASSERT_TRUE(store_->MarkDelivered("a", 600, Receipt("a")).ok());
  EXPECT_TRUE(store_->DueForDelivery(10000, 10)->empty());
  EXPECT_EQ(*store_->NextAttemptMs(), -1);
  EXPECT_EQ(store_->GetOutbox("a")->state, v1::RECORD_STATE_DELIVERED);
  EXPECT_EQ(store_->GetOutbox("a")->receipt.receipt(), "receipt-a");
  // A late failure report does not undo a delivery.
  ASSERT_TRUE(store_->MarkAttemptFailed("a", 700, "late").ok());
  EXPECT_EQ(store_->GetOutbox("a")->state, v1::RECORD_STATE_DELIVERED);
}

TEST_F(SqliteStoreTest, RejectedIsNotRetried) {
  bool inserted;
  ASSERT_TRUE(store_->AddToOutbox(Request("a"), "", 100, &inserted).ok());
  ASSERT_TRUE(store_->MarkRejected("a", "PERMISSION_DENIED").ok());
  EXPECT_TRUE(store_->DueForDelivery(10000, 10)->empty());
  EXPECT_EQ(store_->GetOutbox("a")->state, v1::RECORD_STATE_REJECTED);
}

TEST_F(SqliteStoreTest, UnknownRecordIsNotFound) {
  EXPECT_EQ(store_->GetOutbox("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, MailboxDeduplicatesBySenderAndRecordId) {
  auto first = Put(Record("r1"), "1");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->inserted);
  auto second = Put(Record("r1"), "2");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->inserted);
  // What is held is the first delivery's hash and receipt.
  EXPECT_EQ(second->held.envelope_sha256, "sha-r11");
  EXPECT_EQ(second->held.receipt.receipt(), "receipt-1");
  auto seen = store_->FindInMailbox("nhs-trust-a", "r1");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->receipt.receipt(), "receipt-1");
  EXPECT_EQ(store_->FindInMailbox("police-a", "r1")->sender_org, "nhs-trust-a");
  // The same id from another organisation is another record (the store
  // keeps both; the peer service refuses the second before it gets here).
  EXPECT_TRUE(Put(Record("r1", "", "police-a"))->inserted);
  EXPECT_EQ(store_->FindInMailbox("police-a", "r1")->sender_org, "police-a");
  EXPECT_EQ(store_->FindInMailbox("nhs-trust-a", "r1")->sender_org, "nhs-trust-a");
  EXPECT_EQ(*store_->MailboxDepth(""), 2);
}

TEST_F(SqliteStoreTest, FetchSeesOwnAndOrgWideRecordsOnly) {
  ASSERT_TRUE(Put(Record("any", "", "nhs-trust-a", 1)).ok());
  ASSERT_TRUE(Put(Record("care", "care", "nhs-trust-a", 2)).ok());
  ASSERT_TRUE(Put(Record("finance", "finance", "nhs-trust-a", 3)).ok());
  auto got = store_->FetchMailbox("care", 0, 10);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].record.record_id(), "any");
  EXPECT_EQ((*got)[1].record.record_id(), "care");
  EXPECT_EQ((*got)[1].record.received_unix_ms(), 2);
  auto after = store_->FetchMailbox("care", (*got)[0].seq, 10);
  ASSERT_EQ(after->size(), 1u);
}

TEST_F(SqliteStoreTest, AckRemovesOnlyVisibleRecordsAndKeepsTheId) {
  ASSERT_TRUE(Put(Record("care", "care")).ok());
  ASSERT_TRUE(Put(Record("finance", "finance")).ok());
  EXPECT_EQ(Acked("care", {"finance", "missing"}, 5), 0u);
  auto acked = store_->AckMailbox("care", {"care"}, 5);
  ASSERT_TRUE(acked.ok());
  ASSERT_EQ(acked->size(), 1u);
  EXPECT_EQ((*acked)[0].sender_org, "nhs-trust-a");
  EXPECT_EQ((*acked)[0].record_id, "care");
  EXPECT_EQ(Acked("care", {"care"}, 6), 0u);
  EXPECT_TRUE(store_->FetchMailbox("care", 0, 10)->empty());
  EXPECT_EQ(store_->FetchMailbox("finance", 0, 10)->size(), 1u);
  // A redelivery after the ack is still recognised.
  EXPECT_FALSE(Put(Record("care", "care"))->inserted);
}

TEST_F(SqliteStoreTest, PeerCheckpointIsKeptPerOrganisation) {
  EXPECT_EQ(store_->GetPeerCheckpoint("council-a").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->PutPeerCheckpoint("council-a", {5, std::string(32, 'r'), "note"}).ok());
  ASSERT_TRUE(store_->PutPeerCheckpoint("council-a", {7, std::string(32, 's'), "note2"}).ok());
  Reopen();
  auto cp = store_->GetPeerCheckpoint("council-a");
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->size, 7u);
  EXPECT_EQ(cp->root, std::string(32, 's'));
  EXPECT_EQ(cp->note, "note2");
  EXPECT_EQ(store_->GetPeerCheckpoint("police-a").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, AStoreOfAnotherSchemaVersionIsRefused) {
  store_.reset();
  std::string old = MakeTempDir() + "/old.db";
  ASSERT_EQ(std::system(("sqlite3 " + old + " 'CREATE TABLE outbox (x); PRAGMA user_version=1;'")
                            .c_str()),
            0);
  auto s = SqliteStore::Open(old);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("schema version 1"), std::string::npos);
  Reopen();
}

TEST_F(SqliteStoreTest, ConcurrentWritesShareCommits) {
  constexpr int kThreads = 16, kEach = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        bool inserted;
        EXPECT_TRUE(store_->AddToOutbox(Request(std::to_string(t * 1000 + i)), "", 1, &inserted).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(*store_->OutboxDepth(), kThreads * kEach);
  // Group commit: fewer transactions than writes.
  EXPECT_LT(store_->Stats().commits, kThreads * kEach);
  Reopen();
  EXPECT_EQ(*store_->OutboxDepth(), kThreads * kEach);
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

// A callback of an async write runs on the committer thread; a write it
// makes and waits for (a delivery attempt that failed at once, marking the
// record for retry) is committed there, not queued behind itself forever.
TEST_F(SqliteStoreTest, AWriteWaitedForInsideAnAsyncWritesCallbackCompletes) {
  std::promise<absl::Status> marked;
  store_->AddToOutboxAsync(Request("a"), "", 1,
                           [&](absl::StatusOr<OutboxEntry> entry, bool inserted) {
                             if (!entry.ok() || !inserted) {
                               marked.set_value(absl::InternalError("not inserted"));
                               return;
                             }
                             marked.set_value(store_->MarkAttemptFailed("a", 500, "peer down"));
                           });
  std::future<absl::Status> result = marked.get_future();
  if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "the write inside the callback never completed (the committer waits on itself)";
    std::_Exit(1);  // the committer thread is stuck: the store cannot be closed
  }
  EXPECT_TRUE(result.get().ok());
  absl::StatusOr<OutboxEntry> entry = store_->GetOutbox("a");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->last_error, "peer down");
  EXPECT_EQ(entry->next_attempt_ms, 500);
  // And the store goes on taking writes from other threads.
  bool inserted = false;
  EXPECT_TRUE(store_->AddToOutbox(Request("b"), "", 2, &inserted).ok());
  EXPECT_TRUE(inserted);
}

TEST_F(SqliteStoreTest, ARecordIdIsTakenByTheOrganisationThatDeliveredIt) {
  ASSERT_TRUE(Put(Record("a", "care", "nhs-trust-a")).ok());
  auto own = store_->FindInMailbox("nhs-trust-a", "a");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->sender_org, "nhs-trust-a");
  auto other = store_->FindInMailbox("police-a", "a");
  ASSERT_TRUE(other.ok()) << "the id is found for another organisation too";
  EXPECT_EQ(other->sender_org, "nhs-trust-a");
  EXPECT_EQ(store_->FindInMailbox("police-a", "b").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Acked("care", {"a"}, 5), 1u);
  auto after = store_->FindInMailbox("police-a", "a");
  ASSERT_TRUE(after.ok()) << "ids stay taken after Ack";
  EXPECT_EQ(after->sender_org, "nhs-trust-a");
}

TEST_F(SqliteStoreTest, AnEnvelopeIsHeldUntilItsRecordIsAcknowledged) {
  ASSERT_TRUE(Put(Record("a", "care")).ok());  // kept under "sha-a1"
  ASSERT_TRUE(Put(Record("c", "care")).ok());  // kept under "sha-c1"
  using Shas = std::set<std::string>;
  EXPECT_EQ(*store_->HeldEnvelopes({"sha-a1", "sha-b1"}), Shas({"sha-a1"}));
  EXPECT_EQ(*store_->HeldEnvelopes({"sha-a1", "sha-c1"}), Shas({"sha-a1", "sha-c1"}));
  EXPECT_EQ(*store_->HeldEnvelopes({}), Shas());
  EXPECT_EQ(Acked("care", {"a"}, 5), 1u);
  EXPECT_EQ(*store_->HeldEnvelopes({"sha-a1", "sha-c1"}), Shas({"sha-c1"}));
}

TEST_F(SqliteStoreTest, UnopenablePathIsUnavailable) {
  EXPECT_EQ(SqliteStore::Open("/nonexistent/dir/store.db").status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace gatehouse

#include "gateway/sqlite_store.h"

#include <filesystem>
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
  static v1::DeliverRequest Request(const std::string& id, const std::string& system = "ehr") {
    v1::DeliverRequest r;
    r.set_record_id(id);
    r.set_sender_org("nhs-trust-a");
    r.set_sender_system(system);
    r.mutable_labels()->set_recipient_org("council-a");
    r.set_payload("payload-" + id);
    return r;
  }
  static v1::Record Record(const std::string& id, const std::string& recipient_system = "",
                           const std::string& sender = "nhs-trust-a") {
    v1::Record r;
    r.set_record_id(id);
    r.set_sender_org(sender);
    r.mutable_labels()->set_recipient_system(recipient_system);
    r.set_payload("body-" + id);
    return r;
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
  EXPECT_EQ((*due)[0].request.payload(), "payload-a");
  EXPECT_EQ(*store_->OutboxDepth(), 1);
}

TEST_F(SqliteStoreTest, IdempotencyKeyIsPerSystem) {
  bool inserted = false;
  ASSERT_TRUE(store_->AddToOutbox(Request("a"), "k", 1, &inserted).ok());
  auto again = store_->AddToOutbox(Request("b"), "k", 2, &inserted);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(inserted);
  EXPECT_EQ(again->request.record_id(), "a");
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
  ASSERT_TRUE(store_->MarkDelivered("a", 600).ok());
  EXPECT_TRUE(store_->DueForDelivery(10000, 10)->empty());
  EXPECT_EQ(*store_->NextAttemptMs(), -1);
  EXPECT_EQ(store_->GetOutbox("a")->state, v1::RECORD_STATE_DELIVERED);
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
  auto first = store_->AddToMailbox(Record("r1"), 10);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->inserted);
  auto second = store_->AddToMailbox(Record("r1"), 20);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->inserted);
  EXPECT_EQ(second->received_ms, 10);
  // The same id from another organisation is another record.
  EXPECT_TRUE(store_->AddToMailbox(Record("r1", "", "police-a"), 30)->inserted);
  EXPECT_EQ(*store_->MailboxDepth(""), 2);
}

TEST_F(SqliteStoreTest, FetchSeesOwnAndOrgWideRecordsOnly) {
  ASSERT_TRUE(store_->AddToMailbox(Record("any"), 1).ok());
  ASSERT_TRUE(store_->AddToMailbox(Record("care", "care"), 2).ok());
  ASSERT_TRUE(store_->AddToMailbox(Record("finance", "finance"), 3).ok());
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
  ASSERT_TRUE(store_->AddToMailbox(Record("care", "care"), 1).ok());
  ASSERT_TRUE(store_->AddToMailbox(Record("finance", "finance"), 2).ok());
  EXPECT_EQ(*store_->AckMailbox("care", {"finance", "missing"}, 5), 0);
  EXPECT_EQ(*store_->AckMailbox("care", {"care"}, 5), 1);
  EXPECT_EQ(*store_->AckMailbox("care", {"care"}, 6), 0);
  EXPECT_TRUE(store_->FetchMailbox("care", 0, 10)->empty());
  EXPECT_EQ(store_->FetchMailbox("finance", 0, 10)->size(), 1u);
  // A redelivery after the ack is still recognised.
  EXPECT_FALSE(store_->AddToMailbox(Record("care", "care"), 9)->inserted);
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
  EXPECT_LT(store_->commits(), kThreads * kEach);
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

TEST_F(SqliteStoreTest, UnopenablePathIsUnavailable) {
  EXPECT_EQ(SqliteStore::Open("/nonexistent/dir/store.db").status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace gatehouse

// One commit a record on PostgreSQL (gateway/joint_commit.h): a record's
// audit entry appended with PostgresAuditLog::AppendWith in the same write
// as its row (PostgresStore::OutboxAddAt, MailboxAddAt). The entry and the
// row are kept together or not at all: a repeated idempotency key, a copy
// already held, a failing add or a failing signer keeps neither, and the
// numbers stay without gaps while other adds commit in the same groups.
// On a real server (postgres_server.h), a database a test.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/postgres/postgres_audit_log.h"
#include "pg/pg_connection.h"
#include "gateway/store/postgres/postgres_store.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/postgres_test_database.h"

namespace gatehouse {
namespace {

class JointCommitTest : public PostgresDatabaseTest {
 protected:
  void SetUp() override {
    PostgresDatabaseTest::SetUp();
    store_ = OpenStore(Options());
    ASSERT_NE(store_, nullptr);
    PostgresAuditLogOptions options;
    options.UseStore(store_.get());
    options.signer = std::make_shared<const audit::NoteSigner>(
        *audit::NoteSigner::Generate("audit.nhs-trust-a.example", audit::kSigTypeEd25519));
    absl::StatusOr<std::unique_ptr<PostgresAuditLog>> log = PostgresAuditLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }
  void TearDown() override {
    log_.reset();
    store_.reset();
    PostgresDatabaseTest::TearDown();
  }

  static v1::AuditEntry Entry(v1::AuditEvent event, const std::string& record_id) {
    v1::AuditEntry e;
    e.set_event(event);
    e.set_record_id(record_id);
    return e;
  }

  // What an add answered, and what the log said of its entry.
  template <typename R>
  struct Added {
    R result;
    absl::StatusOr<uint64_t> index;
  };
  // Appends `entry` with `write`; what both answered, once they have.
  template <typename R>
  std::future<Added<R>> CommitAsync(const v1::AuditEntry& entry,
                                    PostgresStore::IndexedWrite<R> write) {
    auto p = std::make_shared<std::promise<Added<R>>>();
    log_->AppendWith(entry, write.apply,
                     [p, result = write.result](absl::StatusOr<uint64_t> i) {
                       p->set_value(Added<R>{result(i.status()), i});
                     });
    return p->get_future();
  }
  template <typename R>
  Added<R> Commit(const v1::AuditEntry& entry, PostgresStore::IndexedWrite<R> write) {
    return CommitAsync(entry, std::move(write)).get();
  }
  std::future<Added<OutboxAddResult>> AddOutboxAsync(const std::string& id,
                                                                    const std::string& key) {
    return CommitAsync(Entry(v1::AUDIT_EVENT_SUBMITTED, id),
                       PostgresStore::OutboxAddAt(Request(id), key, 1));
  }
  Added<OutboxAddResult> AddOutbox(const std::string& id, const std::string& key = "") {
    return AddOutboxAsync(id, key).get();
  }
  // A receipt naming the record and the index, "signed" by `sign_error`'s
  // absence.
  Added<absl::StatusOr<MailboxPut>> AddMailbox(const std::string& id,
                                               absl::Status sign_error = absl::OkStatus()) {
    return Commit(Entry(v1::AUDIT_EVENT_RECEIVED, id),
                  PostgresStore::MailboxAddAt(Record(id), "sha-" + id,
                                              ReceiptNaming(id, sign_error)));
  }
  // Entries, numbers taken, outbox rows, mailbox rows.
  std::string Counts() {
    return Sql("SELECT (SELECT COUNT(*) FROM audit_entry) || ' ' || "
               "(SELECT sequenced FROM audit_head) || ' ' || (SELECT COUNT(*) FROM outbox) || "
               "' ' || (SELECT COUNT(*) FROM mailbox)");
  }

  std::unique_ptr<PostgresStore> store_;
  std::unique_ptr<PostgresAuditLog> log_;
};

TEST_F(JointCommitTest, AnOutboxRowAndItsEntryCommitTogether) {
  auto first = AddOutbox("r1");
  ASSERT_TRUE(first.index.ok()) << first.index.status();
  ASSERT_TRUE(first.result.first.ok()) << first.result.first.status();
  EXPECT_TRUE(first.result.second);
  EXPECT_EQ(*first.index, 0u);
  EXPECT_EQ(first.result.first->record.audit_index(), 0u);
  absl::StatusOr<OutboxEntry> held = store_->GetOutbox("r1");
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->record.audit_index(), 0u);
  absl::StatusOr<v1::AuditEntry> entry = log_->ReadEntry(0);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->record_id(), "r1");
  EXPECT_EQ(entry->event(), v1::AUDIT_EVENT_SUBMITTED);
  EXPECT_EQ(log_->Size(), 1u);
  EXPECT_EQ(Counts(), "1 1 1 0");
}

TEST_F(JointCommitTest, ADeliveredMarkAndItsEntryCommitTogetherAndASecondMarkKeepsNoEntry) {
  ASSERT_TRUE(AddOutbox("r1").index.ok());
  const v1::SignedReceipt receipt = Receipt("peer");
  auto marked = Commit(Entry(v1::AUDIT_EVENT_DELIVERED, "r1"),
                       PostgresStore::MarkDeliveredAt("r1", 77, receipt));
  ASSERT_TRUE(marked.index.ok()) << marked.index.status();
  EXPECT_EQ(*marked.index, 1u);
  EXPECT_TRUE(marked.result.ok()) << marked.result;
  ExpectDelivered(*store_, "r1", 77, "peer");
  absl::StatusOr<v1::AuditEntry> entry = log_->ReadEntry(1);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->event(), v1::AUDIT_EVENT_DELIVERED);
  EXPECT_EQ(entry->record_id(), "r1");
  EXPECT_EQ(Counts(), "2 2 1 0");
  // Marked again (a second attempt's answer), or a record not held: OK, no
  // entry kept, no number taken.
  auto again = Commit(Entry(v1::AUDIT_EVENT_DELIVERED, "r1"),
                      PostgresStore::MarkDeliveredAt("r1", 88, receipt));
  EXPECT_TRUE(absl::IsCancelled(again.index.status())) << again.index.status();
  EXPECT_TRUE(again.result.ok()) << again.result;
  auto unknown = Commit(Entry(v1::AUDIT_EVENT_DELIVERED, "no-such-record"),
                        PostgresStore::MarkDeliveredAt("no-such-record", 88, receipt));
  EXPECT_TRUE(absl::IsCancelled(unknown.index.status())) << unknown.index.status();
  ExpectDelivered(*store_, "r1", 77, "peer");
  EXPECT_EQ(Counts(), "2 2 1 0");
}

TEST_F(JointCommitTest, ARepeatedKeyAnswersTheFirstRecordAndKeepsNoSecondEntry) {
  ASSERT_TRUE(AddOutbox("r1", "key-1").index.ok());
  auto again = AddOutbox("r2", "key-1");
  EXPECT_TRUE(absl::IsCancelled(again.index.status())) << again.index.status();
  ASSERT_TRUE(again.result.first.ok()) << again.result.first.status();
  EXPECT_FALSE(again.result.second);
  EXPECT_EQ(again.result.first->record.record_id(), "r1");
  EXPECT_EQ(Counts(), "1 1 1 0");
  // The next entry takes the next number: the withdrawn one left no gap.
  auto next = AddOutbox("r3");
  ASSERT_TRUE(next.index.ok());
  EXPECT_EQ(*next.index, 1u);
  EXPECT_EQ(Counts(), "2 2 2 0");
}

TEST_F(JointCommitTest, AnAddThatFailsKeepsNeitherItsEntryNorItsRow) {
  ASSERT_TRUE(AddOutbox("r1").index.ok());
  auto same_id = AddOutbox("r1");  // an id already used, no key: an error
  EXPECT_FALSE(same_id.index.ok());
  EXPECT_FALSE(same_id.result.first.ok());
  EXPECT_FALSE(absl::IsCancelled(same_id.result.first.status()));
  EXPECT_EQ(Counts(), "1 1 1 0");
}

TEST_F(JointCommitTest, FailingAddsAmongOthersInOneGroupLeaveNoGapAndEveryRowItsEntry) {
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kEach; ++i) {
        // Every fifth add repeats the id before it: refused, with its entry.
        const int n = i % 5 == 4 ? i - 1 : i;
        auto added = AddOutbox(absl::StrCat("t", t, "-", n));
        EXPECT_EQ(added.index.ok(), i % 5 != 4) << added.index.status();
      }
    });
  }
  for (std::thread& th : threads) th.join();
  const int kept = kThreads * kEach * 4 / 5;
  EXPECT_EQ(Counts(), absl::StrCat(kept, " ", kept, " ", kept, " 0"));
  for (int t = 0; t < kThreads; ++t) {
    for (int n = 0; n < kEach; ++n) {
      if (n % 5 == 4) continue;
      const std::string id = absl::StrCat("t", t, "-", n);
      absl::StatusOr<OutboxEntry> held = store_->GetOutbox(id);
      ASSERT_TRUE(held.ok()) << id;
      absl::StatusOr<v1::AuditEntry> entry = log_->ReadEntry(held->record.audit_index());
      ASSERT_TRUE(entry.ok()) << id;
      EXPECT_EQ(entry->record_id(), id);
    }
  }
}

TEST_F(JointCommitTest, AMailboxRowHoldsAReceiptNamingItsEntryAndACopyKeepsNoSecond) {
  ASSERT_TRUE(AddOutbox("sent").index.ok());  // so the receipt's index is not 0
  auto first = AddMailbox("m1");
  ASSERT_TRUE(first.index.ok()) << first.index.status();
  ASSERT_TRUE(first.result.ok()) << first.result.status();
  EXPECT_TRUE(first.result->inserted);
  v1::DeliveryReceipt named;
  ASSERT_TRUE(named.ParseFromString(first.result->held.receipt.receipt()));
  EXPECT_EQ(named.audit_index(), 1u);
  EXPECT_EQ(*first.index, 1u);
  absl::StatusOr<MailboxSeen> seen = store_->FindInMailbox("nhs-trust-a", "m1");
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->receipt.receipt(), first.result->held.receipt.receipt());

  auto copy = AddMailbox("m1");
  EXPECT_TRUE(absl::IsCancelled(copy.index.status())) << copy.index.status();
  ASSERT_TRUE(copy.result.ok()) << copy.result.status();
  EXPECT_FALSE(copy.result->inserted);
  EXPECT_EQ(copy.result->held.receipt.receipt(), first.result->held.receipt.receipt());
  EXPECT_EQ(Counts(), "2 2 1 1");
}

TEST_F(JointCommitTest, ASignerThatFailsKeepsNeitherEntryNorRow) {
  auto failed = AddMailbox("m1", absl::InternalError("no key"));
  EXPECT_FALSE(failed.index.ok());
  EXPECT_EQ(failed.result.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Counts(), "0 0 0 0");
}

TEST_F(JointCommitTest, AClosedLogRefusesAndStoresNothing) {
  ASSERT_TRUE(log_->Close().ok());
  auto refused = AddOutbox("r1");
  EXPECT_EQ(refused.index.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(refused.result.first.ok());
  EXPECT_EQ(Counts(), "0 0 0 0");
}

// Adds queued while a write group waits for the commit order lock (held
// here from another session) are sequenced as one batch: the rows that
// store get the next numbers in order, an entry appended alone among them
// too, and a withdrawn add (a repeated key) or a failing one (an id the
// batch itself stored first) keeps no entry and leaves no gap.
TEST_F(JointCommitTest, OneBatchOfSeveralKeepsWhatStoredAndNumbersItWithoutAGap) {
  ASSERT_TRUE(AddOutbox("r0", "key-0").index.ok());
  absl::StatusOr<std::unique_ptr<postgres::PgConnection>> holder = store_->Connect();
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE((*holder)->Run("BEGIN").ok());
  ASSERT_TRUE((*holder)
                  ->Exec("SELECT pg_advisory_xact_lock($1)",
                         postgres::PgParams().Int(0x6761746568736f32))  // kCommitOrderLock
                  .ok());
  auto r1 = AddOutboxAsync("r1", "key-1");
  auto r2 = AddOutboxAsync("r2", "key-0");  // r0's key: withdrawn
  std::promise<absl::StatusOr<uint64_t>> noted;
  log_->AppendAsync(Entry(v1::AUDIT_EVENT_DELIVERED, "r0"),
                    [&noted](absl::StatusOr<uint64_t> i) { noted.set_value(i); });
  auto r3 = AddOutboxAsync("r3", "");
  auto again = AddOutboxAsync("r1", "");  // r1's id, stored earlier in this batch
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Counts(), "1 1 1 0");  // nothing committed while the lock is held
  ASSERT_TRUE((*holder)->Run("COMMIT").ok());

  Added<OutboxAddResult> a1 = r1.get(), a2 = r2.get(), a3 = r3.get(),
                                        a4 = again.get();
  EXPECT_EQ(a1.index.value_or(0), 1u);
  EXPECT_TRUE(absl::IsCancelled(a2.index.status())) << a2.index.status();
  ASSERT_TRUE(a2.result.first.ok()) << a2.result.first.status();
  EXPECT_EQ(a2.result.first->record.record_id(), "r0");
  EXPECT_EQ(noted.get_future().get().value_or(0), 2u);
  EXPECT_EQ(a3.index.value_or(0), 3u);
  EXPECT_FALSE(a4.index.ok());
  EXPECT_FALSE(a4.result.first.ok());
  EXPECT_EQ(Counts(), "4 4 3 0");
  for (const std::string id : {"r1", "r3"}) {
    absl::StatusOr<OutboxEntry> held = store_->GetOutbox(id);
    ASSERT_TRUE(held.ok()) << id;
    absl::StatusOr<v1::AuditEntry> entry = log_->ReadEntry(held->record.audit_index());
    ASSERT_TRUE(entry.ok()) << id;
    EXPECT_EQ(entry->record_id(), id);
  }
}

}  // namespace
}  // namespace gatehouse

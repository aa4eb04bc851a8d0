#include "gateway/sqlite_store.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
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
  // `system`, taking organisation-wide records if named in `org`.
  static MailboxReader Reader(const std::string& system, std::vector<std::string> org = {}) {
    return MailboxReader{system, std::move(org)};
  }
  size_t Acked(const MailboxReader& reader, const std::vector<std::string>& ids, int64_t now) {
    absl::StatusOr<std::vector<MailboxAcked>> a = store_->AckMailbox(reader, ids, now);
    return a.ok() ? a->size() : 999;
  }
  size_t Acked(const std::string& system, const std::vector<std::string>& ids, int64_t now) {
    return Acked(Reader(system), ids, now);
  }
  // The record ids `reader` fetches, in order.
  std::vector<std::string> Ids(const MailboxReader& reader) {
    std::vector<std::string> ids;
    absl::StatusOr<std::vector<MailboxEntry>> got = store_->FetchMailbox(reader, 0, 100);
    if (!got.ok()) return {"error: " + got.status().ToString()};
    for (const MailboxEntry& e : *got) ids.push_back(e.record.record_id());
    return ids;
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
  EXPECT_EQ(*store_->HeldMailboxRecords(), 2);
}

TEST_F(SqliteStoreTest, FetchSeesOwnAndOrgWideRecordsOnly) {
  ASSERT_TRUE(Put(Record("any", "", "nhs-trust-a", 1)).ok());
  ASSERT_TRUE(Put(Record("care", "care", "nhs-trust-a", 2)).ok());
  ASSERT_TRUE(Put(Record("finance", "finance", "nhs-trust-a", 3)).ok());
  const MailboxReader care = Reader("care", {"care", "finance"});
  auto got = store_->FetchMailbox(care, 0, 10);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].record.record_id(), "any");
  EXPECT_EQ((*got)[1].record.record_id(), "care");
  EXPECT_EQ((*got)[1].record.received_unix_ms(), 2);
  auto after = store_->FetchMailbox(care, (*got)[0].seq, 10);
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ(*store_->MailboxDepth(care), 2);
}

TEST_F(SqliteStoreTest, AckRemovesOnlyVisibleRecordsAndKeepsTheId) {
  ASSERT_TRUE(Put(Record("care", "care")).ok());
  ASSERT_TRUE(Put(Record("finance", "finance")).ok());
  EXPECT_EQ(Acked("care", {"finance", "missing"}, 5), 0u);
  auto acked = store_->AckMailbox(Reader("care"), {"care"}, 5);
  ASSERT_TRUE(acked.ok());
  ASSERT_EQ(acked->size(), 1u);
  EXPECT_EQ((*acked)[0].sender_org, "nhs-trust-a");
  EXPECT_EQ((*acked)[0].record_id, "care");
  EXPECT_EQ((*acked)[0].envelope_sha256, "sha-care1");
  EXPECT_TRUE((*acked)[0].payload_dropped);
  EXPECT_EQ(Acked("care", {"care"}, 6), 0u);
  EXPECT_TRUE(store_->FetchMailbox(Reader("care"), 0, 10)->empty());
  EXPECT_EQ(store_->FetchMailbox(Reader("finance"), 0, 10)->size(), 1u);
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

// Finding 4 of the outside review: council-a/finance fetched NHS discharge
// summaries addressed to the organisation as a whole. Only the systems the
// config names take such a record.
TEST_F(SqliteStoreTest, OrgWideRecordIsInvisibleToSystemsNotNamed) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());  // kept under "sha-discharge1"
  const MailboxReader finance = Reader("finance", {"care"});
  EXPECT_TRUE(Ids(finance).empty());
  EXPECT_EQ(store_->GetMailbox(finance, "nhs-trust-a", "discharge").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*store_->MailboxDepth(finance), 0);
  EXPECT_EQ(Acked(finance, {"discharge"}, 5), 0u);
  // Nothing changed: the named system still takes the whole record.
  const MailboxReader care = Reader("care", {"care"});
  EXPECT_EQ(Ids(care), std::vector<std::string>({"discharge"}));
  auto held = store_->GetMailbox(care, "nhs-trust-a", "discharge");
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->record.envelope(), "envelope-discharge");
  EXPECT_EQ(*store_->HeldEnvelopes({"sha-discharge1"}), std::set<std::string>({"sha-discharge1"}));
  EXPECT_EQ(*store_->HeldMailboxRecords(), 1);
}

TEST_F(SqliteStoreTest, OrgWideRecordIsInvisibleToEverySystemWhenNoneIsNamed) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  for (std::string system : {"care", "finance"}) {
    EXPECT_TRUE(Ids(Reader(system)).empty()) << system;
    EXPECT_EQ(store_->GetMailbox(Reader(system), "nhs-trust-a", "discharge").status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(*store_->MailboxDepth(Reader(system)), 0);
    EXPECT_EQ(Acked(system, {"discharge"}, 5), 0u);
  }
  // Still held, unacknowledged, for when a system is named.
  EXPECT_EQ(*store_->HeldMailboxRecords(), 1);
  EXPECT_EQ(Ids(Reader("care", {"care"})), std::vector<std::string>({"discharge"}));
}

// An empty system would match the organisation-wide rows' empty recipient
// system as its own.
TEST_F(SqliteStoreTest, AReaderWithNoSystemSeesAndAcknowledgesNothing) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  ASSERT_TRUE(Put(Record("care", "care")).ok());
  const MailboxReader nobody = Reader("", {"", "care"});
  EXPECT_TRUE(Ids(nobody).empty());
  EXPECT_EQ(store_->GetMailbox(nobody, "nhs-trust-a", "discharge").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*store_->MailboxDepth(nobody), 0);
  EXPECT_EQ(Acked(nobody, {"discharge", "care"}, 5), 0u);
  EXPECT_EQ(Ids(Reader("care", {"care"})), std::vector<std::string>({"discharge", "care"}));
  EXPECT_EQ(*store_->HeldMailboxRecords(), 2);
}

// The review's second half: the first system's Ack deleted the payload for
// the others.
TEST_F(SqliteStoreTest, OneSystemsAckDoesNotRemoveTheRecordForAnother) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  const std::vector<std::string> named = {"care", "finance"};
  auto acked = store_->AckMailbox(Reader("care", named), {"discharge"}, 5);
  ASSERT_TRUE(acked.ok()) << acked.status();
  ASSERT_EQ(acked->size(), 1u);
  EXPECT_EQ((*acked)[0].record_id, "discharge");
  EXPECT_EQ((*acked)[0].envelope_sha256, "sha-discharge1");
  EXPECT_FALSE((*acked)[0].payload_dropped) << "finance has not taken it";
  // Gone for care (and a second Ack by care counts for nothing) ...
  EXPECT_TRUE(Ids(Reader("care", named)).empty());
  EXPECT_EQ(*store_->MailboxDepth(Reader("care", named)), 0);
  EXPECT_EQ(Acked(Reader("care", named), {"discharge"}, 6), 0u);
  // ... whole for finance, and its spool file still needed.
  auto held = store_->GetMailbox(Reader("finance", named), "nhs-trust-a", "discharge");
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->record.envelope(), "envelope-discharge");
  EXPECT_EQ(Ids(Reader("finance", named)), std::vector<std::string>({"discharge"}));
  EXPECT_EQ(*store_->MailboxDepth(Reader("finance", named)), 1);
  EXPECT_EQ(*store_->HeldEnvelopes({"sha-discharge1"}), std::set<std::string>({"sha-discharge1"}));
  EXPECT_EQ(*store_->HeldMailboxRecords(), 1);
  // So across a restart.
  Reopen();
  EXPECT_TRUE(Ids(Reader("care", named)).empty());
  EXPECT_EQ(Ids(Reader("finance", named)), std::vector<std::string>({"discharge"}));
}

TEST_F(SqliteStoreTest, OrgWideRecordDroppedOnlyWhenEveryNamedSystemAcked) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  const std::vector<std::string> named = {"care", "finance", "housing"};
  for (std::string system : {"housing", "care"}) {
    auto acked = store_->AckMailbox(Reader(system, named), {"discharge"}, 5);
    ASSERT_TRUE(acked.ok()) << acked.status();
    ASSERT_EQ(acked->size(), 1u) << system;
    EXPECT_FALSE((*acked)[0].payload_dropped) << system;
    EXPECT_EQ(store_->HeldEnvelopes({"sha-discharge1"})->count("sha-discharge1"), 1u);
  }
  auto last = store_->AckMailbox(Reader("finance", named), {"discharge"}, 7);
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->size(), 1u);
  EXPECT_TRUE((*last)[0].payload_dropped);
  EXPECT_EQ((*last)[0].envelope_sha256, "sha-discharge1");
  for (const std::string& system : named) {
    EXPECT_TRUE(Ids(Reader(system, named)).empty()) << system;
    EXPECT_EQ(Acked(Reader(system, named), {"discharge"}, 8), 0u) << system;
  }
  EXPECT_TRUE(store_->HeldEnvelopes({"sha-discharge1"})->empty());
  EXPECT_EQ(*store_->HeldMailboxRecords(), 0);
  // The id is kept: a redelivery is recognised, and not offered again.
  EXPECT_FALSE(Put(Record("discharge", ""), "2")->inserted);
  EXPECT_TRUE(Ids(Reader("care", named)).empty());
}

// One Ack call naming an organisation-wide record twice is one system's
// acknowledgement, not two systems'.
TEST_F(SqliteStoreTest, ASystemAckingTwiceDoesNotStandInForAnother) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  const std::vector<std::string> named = {"care", "finance"};
  EXPECT_EQ(Acked(Reader("care", named), {"discharge", "discharge"}, 5), 1u);
  EXPECT_EQ(Acked(Reader("care", named), {"discharge"}, 6), 0u);
  EXPECT_EQ(Ids(Reader("finance", named)), std::vector<std::string>({"discharge"}));
  EXPECT_EQ(*store_->HeldMailboxRecords(), 1);
  // A system named twice in the config is still one system.
  EXPECT_EQ(Acked(Reader("care", {"care", "care", "finance"}), {"discharge"}, 7), 0u);
  EXPECT_EQ(Ids(Reader("finance", named)), std::vector<std::string>({"discharge"}));
}

TEST_F(SqliteStoreTest, SystemAddressedRecordInvisibleToOtherSystems) {
  ASSERT_TRUE(Put(Record("care-plan", "care")).ok());
  // Not even to a system that takes organisation-wide records.
  const MailboxReader finance = Reader("finance", {"care", "finance"});
  EXPECT_TRUE(Ids(finance).empty());
  EXPECT_EQ(store_->GetMailbox(finance, "nhs-trust-a", "care-plan").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*store_->MailboxDepth(finance), 0);
  EXPECT_EQ(Ids(Reader("care")), std::vector<std::string>({"care-plan"}));
  EXPECT_EQ(*store_->MailboxDepth(Reader("care")), 1);
}

TEST_F(SqliteStoreTest, AckOfAnotherSystemsRecordChangesNothing) {
  ASSERT_TRUE(Put(Record("care-plan", "care")).ok());  // kept under "sha-care-plan1"
  EXPECT_EQ(Acked(Reader("finance", {"care", "finance"}), {"care-plan"}, 5), 0u);
  auto held = store_->GetMailbox(Reader("care"), "nhs-trust-a", "care-plan");
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->record.envelope(), "envelope-care-plan");
  EXPECT_EQ(*store_->HeldEnvelopes({"sha-care-plan1"}), std::set<std::string>({"sha-care-plan1"}));
  EXPECT_EQ(*store_->HeldMailboxRecords(), 1);
  // And care's own Ack still works (finance recorded no acknowledgement).
  auto acked = store_->AckMailbox(Reader("care"), {"care-plan"}, 6);
  ASSERT_TRUE(acked.ok());
  ASSERT_EQ(acked->size(), 1u);
  EXPECT_TRUE((*acked)[0].payload_dropped);
}

// A system's depth counts what it may take; the metric counts every record
// some system has yet to take.
TEST_F(SqliteStoreTest, ASystemsDepthCountsOnlyWhatItMayTake) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  EXPECT_EQ(*store_->MailboxDepth(Reader("finance")), 0);
  EXPECT_EQ(*store_->HeldMailboxRecords(), 1);
}

// The schema version 2 wrote (gateway/sqlite_store.cc before per-system
// acknowledgements), verbatim.
constexpr const char* kVersion2Schema = R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  record_id       TEXT PRIMARY KEY,
  sender_system   TEXT NOT NULL,
  idempotency_key TEXT,
  record          BLOB NOT NULL,
  state           INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  accepted_ms     INTEGER NOT NULL,
  delivered_ms    INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  receipt         BLOB,
  UNIQUE (sender_system, idempotency_key)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_ms);
CREATE TABLE IF NOT EXISTS mailbox (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  sender_org       TEXT NOT NULL,
  record_id        TEXT NOT NULL,
  recipient_system TEXT NOT NULL,
  record           BLOB,
  envelope_sha256  BLOB NOT NULL,
  receipt          BLOB NOT NULL,
  received_ms      INTEGER NOT NULL,
  acked_ms         INTEGER,
  UNIQUE (sender_org, record_id)
);
CREATE INDEX IF NOT EXISTS mailbox_open ON mailbox (acked_ms, recipient_system, seq);
CREATE INDEX IF NOT EXISTS mailbox_record ON mailbox (record_id);
CREATE TABLE IF NOT EXISTS peer_checkpoint (
  org   TEXT PRIMARY KEY,
  size  INTEGER NOT NULL,
  root  BLOB NOT NULL,
  note  TEXT NOT NULL
);
PRAGMA user_version = 2;
)sql";

// Runs `sql` on the file at `path`, outside any store; "" if it worked.
std::string RunSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string err;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    err = "cannot open";
  } else {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      err = msg != nullptr ? msg : "failed";
    }
    sqlite3_free(msg);
  }
  sqlite3_close(db);
  return err;
}

// One integer `sql` selects from the file at `path`; -1 on error.
int64_t QueryInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t v = -1;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    v = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return v;
}

// A mailbox row as version 2 stored it.
std::string OldMailboxRow(const std::string& id, const std::string& recipient_system,
                          bool acked) {
  v1::MailboxRecord r;
  r.set_record_id(id);
  r.set_sender_org("nhs-trust-a");
  r.set_recipient_system(recipient_system);
  r.set_envelope("envelope-" + id);
  const std::string record =
      acked ? "NULL" : absl::StrCat("X'", absl::BytesToHexString(r.SerializeAsString()), "'");
  return absl::StrCat(
      "INSERT INTO mailbox (sender_org, record_id, recipient_system, record, envelope_sha256, "
      "receipt, received_ms, acked_ms) VALUES ('nhs-trust-a', '", id, "', '", recipient_system,
      "', ", record, ", X'", absl::BytesToHexString("sha-" + id), "', X'', 1, ",
      acked ? "5" : "NULL", ");");
}

TEST_F(SqliteStoreTest, ExistingDatabaseMigrates) {
  store_.reset();
  const std::string old = MakeTempDir() + "/v2.db";
  ASSERT_EQ(RunSql(old, kVersion2Schema), "");
  ASSERT_EQ(RunSql(old, OldMailboxRow("discharge", "", false) +
                            OldMailboxRow("care-plan", "care", false) +
                            OldMailboxRow("taken", "", true)),
            "");
  {
    auto opened = SqliteStore::Open(old);
    ASSERT_TRUE(opened.ok()) << opened.status();
    std::unique_ptr<SqliteStore> store = std::move(*opened);
    const std::vector<std::string> named = {"care", "finance"};
    // What version 2 held is read as before, under the new visibility.
    auto care = store->FetchMailbox(MailboxReader{"care", named}, 0, 10);
    ASSERT_TRUE(care.ok()) << care.status();
    ASSERT_EQ(care->size(), 2u);
    EXPECT_EQ((*care)[0].record.record_id(), "discharge");
    EXPECT_EQ((*care)[1].record.record_id(), "care-plan");
    EXPECT_TRUE(store->FetchMailbox(MailboxReader{"housing", named}, 0, 10)->empty());
    EXPECT_EQ(*store->HeldMailboxRecords(), 2);
    // An acknowledged record stays acknowledged, and its id taken.
    EXPECT_EQ(store->FindInMailbox("nhs-trust-a", "taken")->sender_org, "nhs-trust-a");
    // Acknowledgements are now per system.
    auto acked = store->AckMailbox(MailboxReader{"care", named}, {"discharge"}, 9);
    ASSERT_TRUE(acked.ok()) << acked.status();
    ASSERT_EQ(acked->size(), 1u);
    EXPECT_FALSE((*acked)[0].payload_dropped);
    EXPECT_EQ(store->FetchMailbox(MailboxReader{"finance", named}, 0, 10)->size(), 1u);
  }
  EXPECT_EQ(QueryInt(old, "PRAGMA user_version"), 3);
  // And the migrated file opens again as it is.
  auto again = SqliteStore::Open(old);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->FetchMailbox(MailboxReader{"care", {"care", "finance"}}, 0, 10)->size(),
            1u);
  again->reset();
  std::filesystem::remove_all(std::filesystem::path(old).parent_path());
  Reopen();
}

// A version 2 file the migration cannot complete on (here: a table in the
// way) is refused, and left exactly as it was.
TEST_F(SqliteStoreTest, AMigrationThatFailsLeavesTheFileAsItWas) {
  store_.reset();
  const std::string old = MakeTempDir() + "/v2.db";
  ASSERT_EQ(RunSql(old, kVersion2Schema), "");
  ASSERT_EQ(RunSql(old, "CREATE TABLE mailbox_ack (x); " + OldMailboxRow("discharge", "", false)),
            "");
  auto opened = SqliteStore::Open(old);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(QueryInt(old, "PRAGMA user_version"), 2);
  EXPECT_EQ(QueryInt(old, "SELECT COUNT(*) FROM pragma_table_info('mailbox_ack')"), 1);
  EXPECT_EQ(QueryInt(old, "SELECT COUNT(*) FROM mailbox WHERE record IS NOT NULL"), 1);
  std::filesystem::remove_all(std::filesystem::path(old).parent_path());
  Reopen();
}

TEST_F(SqliteStoreTest, AStoreOfANewerSchemaVersionIsRefusedAndLeftUnchanged) {
  store_.reset();
  const std::string newer = MakeTempDir() + "/newer.db";
  ASSERT_EQ(RunSql(newer, kVersion2Schema), "");
  ASSERT_EQ(RunSql(newer, "PRAGMA user_version = 4;"), "");
  auto opened = SqliteStore::Open(newer);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("schema version 4"), std::string::npos);
  EXPECT_EQ(QueryInt(newer, "PRAGMA user_version"), 4);
  EXPECT_EQ(QueryInt(newer, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'mailbox_ack'"), 0);
  std::filesystem::remove_all(std::filesystem::path(newer).parent_path());
  Reopen();
}

TEST_F(SqliteStoreTest, UnopenablePathIsUnavailable) {
  EXPECT_EQ(SqliteStore::Open("/nonexistent/dir/store.db").status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace gatehouse

// Several PostgresStores on one database, as the replicas of one gateway
// (issue 19): cursors that follow commit order while two stores write,
// two stores racing with one idempotency key, mailbox record or outbox
// record id, and the delivery leases that share the outbox between them
// (including a store in another process killed holding leases). On a real
// server (postgres_server.h), a database a test.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/store/postgres/postgres_store.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/postgres_test_database.h"

namespace gatehouse {
namespace {

constexpr int kRounds = 50;

class PostgresReplicasTest : public PostgresDatabaseTest {
 protected:
  void TearDown() override {
    a_.reset();
    b_.reset();
    PostgresDatabaseTest::TearDown();
  }
  // Opens stores a_ and b_ on the test's database, with `lease_ms` leases.
  void OpenTwo(int64_t lease_ms = 30000) {
    PostgresStoreOptions options = Options();
    options.delivery_lease_ms = lease_ms;
    a_ = OpenStore(options);
    b_ = OpenStore(options);
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
  }
  // Adds `n` records to the outbox through a_, due at 1 ms.
  void AddRecords(int n) {
    for (int i = 0; i < n; ++i) {
      bool inserted = false;
      ASSERT_TRUE(a_->AddToOutbox(Request(absl::StrCat("r", i)), "", 1, &inserted).ok());
    }
  }
  // The ids of `store`'s DueForDelivery(1000, limit).
  static std::set<std::string> Due(PostgresStore& store, int limit = 100) {
    absl::StatusOr<std::vector<OutboxEntry>> due = store.DueForDelivery(1000, limit);
    EXPECT_TRUE(due.ok()) << due.status();
    std::set<std::string> ids;
    if (due.ok()) {
      for (const OutboxEntry& e : *due) ids.insert(e.record.record_id());
    }
    return ids;
  }
  // Runs `write(store, round)` for a_ and b_ at once, from two threads
  // released together, kRounds times.
  void RaceRounds(const std::function<void(PostgresStore&, int)>& write) {
    for (int round = 0; round < kRounds; ++round) {
      std::atomic<int> ready{0};
      auto run = [&](PostgresStore& store) {
        ++ready;
        while (ready.load() < 2) std::this_thread::yield();
        write(store, round);
      };
      std::thread other(run, std::ref(*b_));
      run(*a_);
      other.join();
    }
  }

  std::unique_ptr<PostgresStore> a_, b_;
};

// A cursor's page: each row's number and a name for it.
using Page = std::vector<std::pair<int64_t, std::string>>;

// Follows a cursor from 0 in pages of 3 while `writing`, then until a page
// comes back empty: every name seen, in order, duplicates kept.
std::vector<std::string> Follow(const std::atomic<bool>& writing,
                                const std::function<absl::StatusOr<Page>(int64_t after)>& page) {
  std::vector<std::string> seen;
  int64_t cursor = 0;
  for (bool last = false;;) {
    last = !writing.load();  // read before the page: the writes before it are all committed
    absl::StatusOr<Page> p = page(cursor);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return seen;
    for (const auto& [number, name] : *p) {
      EXPECT_GT(number, cursor) << name;
      cursor = number;
      seen.push_back(name);
    }
    if (p->empty() && last) return seen;
  }
}

// Writes `each` records from each of `threads` threads on a_ and as many on
// b_ (add(store, name)), while Follow reads with `page`: every record is
// seen exactly once.
void WriteFromBothWhileFollowing(PostgresStore& a, PostgresStore& b,
                                 const std::function<void(PostgresStore&, std::string)>& add,
                                 const std::function<absl::StatusOr<Page>(int64_t)>& page) {
  constexpr int kThreads = 4, kEach = 60;
  std::atomic<bool> writing{true};
  std::vector<std::thread> writers;
  for (int t = 0; t < 2 * kThreads; ++t) {
    writers.emplace_back([&, t] {
      PostgresStore& store = t % 2 == 0 ? a : b;
      for (int i = 0; i < kEach; ++i) add(store, absl::StrCat("w", t, "-", i));
    });
  }
  std::thread stop([&] {
    for (std::thread& w : writers) w.join();
    writing = false;
  });
  std::vector<std::string> seen = Follow(writing, page);
  stop.join();
  std::map<std::string, int> times;
  for (const std::string& name : seen) ++times[name];
  EXPECT_EQ(times.size(), static_cast<size_t>(2 * kThreads * kEach)) << "records skipped";
  for (const auto& [name, n] : times) EXPECT_EQ(n, 1) << name;
}

TEST_F(PostgresReplicasTest, OutboxChangesFollowedWhileTwoStoresWriteSkipNothing) {
  OpenTwo();
  WriteFromBothWhileFollowing(
      *a_, *b_,
      [](PostgresStore& store, std::string name) {
        bool inserted = false;
        EXPECT_TRUE(store.AddToOutbox(Request(name), "", 1, &inserted).ok()) << name;
      },
      [this](int64_t after) -> absl::StatusOr<Page> {
        absl::StatusOr<std::vector<OutboxEntry>> rows = a_->OutboxChanges("ehr", after, 3);
        if (!rows.ok()) return rows.status();
        Page p;
        for (const OutboxEntry& e : *rows) p.emplace_back(e.change_seq, e.record.record_id());
        return p;
      });
}

TEST_F(PostgresReplicasTest, MailboxFetchedWhileTwoStoresDeliverSkipsNothing) {
  OpenTwo();
  const MailboxReader care = MailboxReader::Of("care", std::vector<std::string>());
  WriteFromBothWhileFollowing(
      *a_, *b_,
      [](PostgresStore& store, std::string name) {
        EXPECT_TRUE(store.AddToMailbox(Record(name, "care"), "sha-" + name, Receipt(name)).ok())
            << name;
      },
      [this, &care](int64_t after) -> absl::StatusOr<Page> {
        absl::StatusOr<std::vector<MailboxEntry>> rows = b_->FetchMailbox(care, after, 3);
        if (!rows.ok()) return rows.status();
        Page p;
        for (const MailboxEntry& e : *rows) p.emplace_back(e.seq, e.record.record_id());
        return p;
      });
}

// A Submit retried through another replica while the first is still being
// stored: one record; the other call gets it, as a retry does.
TEST_F(PostgresReplicasTest, OneIdempotencyKeyFromTwoStoresAtOnceMakesOneRecord) {
  OpenTwo();
  std::atomic<int> inserted_total{0};
  RaceRounds([&](PostgresStore& store, int round) {
    const std::string id = absl::StrCat(&store == a_.get() ? "a" : "b", round);
    bool inserted = false;
    absl::StatusOr<OutboxEntry> e =
        store.AddToOutbox(Request(id), absl::StrCat("key", round), 1, &inserted);
    ASSERT_TRUE(e.ok()) << e.status();
    inserted_total += inserted;
    if (inserted) return;
    // The other's record, whole.
    const std::string other = absl::StrCat(&store == a_.get() ? "b" : "a", round);
    EXPECT_EQ(e->record.record_id(), other);
    EXPECT_EQ(e->record.envelope(), "envelope-" + other);
    EXPECT_EQ(e->idempotency_key, absl::StrCat("key", round));
  });
  EXPECT_EQ(inserted_total.load(), kRounds);
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM outbox"), std::to_string(kRounds));
  EXPECT_EQ(Sql("SELECT COUNT(DISTINCT idempotency_key) FROM outbox"), std::to_string(kRounds));
}

// One record delivered through two replicas at once (a sender retrying):
// one row; the second delivery is a redelivery, answered with the first's
// receipt.
TEST_F(PostgresReplicasTest, OneMailboxRecordFromTwoStoresAtOnceIsHeldOnce) {
  OpenTwo();
  std::atomic<int> inserted_total{0};
  RaceRounds([&](PostgresStore& store, int round) {
    const std::string mine = &store == a_.get() ? "a" : "b";
    const std::string id = absl::StrCat("m", round);
    absl::StatusOr<MailboxPut> put =
        store.AddToMailbox(Record(id, "care"), "sha-" + mine, Receipt(mine + id));
    ASSERT_TRUE(put.ok()) << put.status();
    inserted_total += put->inserted;
    if (put->inserted) return;
    const std::string other = mine == "a" ? "b" : "a";
    EXPECT_EQ(put->held.envelope_sha256, "sha-" + other);
    EXPECT_EQ(put->held.receipt.receipt(), "receipt-" + other + id);
  });
  EXPECT_EQ(inserted_total.load(), kRounds);
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM mailbox"), std::to_string(kRounds));
  EXPECT_EQ(Sql("SELECT COUNT(DISTINCT record_id) FROM mailbox"), std::to_string(kRounds));
}

// One outbox record id added through two stores at once, under different
// keys: one row; the other add is refused (AlreadyExists) and stores
// nothing, not even its key.
TEST_F(PostgresReplicasTest, OneOutboxRecordIdFromTwoStoresAtOnceIsStoredOnce) {
  OpenTwo();
  std::atomic<int> inserted_total{0}, refused{0};
  RaceRounds([&](PostgresStore& store, int round) {
    const std::string mine = &store == a_.get() ? "a" : "b";
    bool inserted = false;
    absl::StatusOr<OutboxEntry> e = store.AddToOutbox(Request(absl::StrCat("o", round)),
                                                      absl::StrCat(mine, round), 1, &inserted);
    if (e.ok()) {
      EXPECT_TRUE(inserted);
      ++inserted_total;
    } else {
      EXPECT_EQ(e.status().code(), absl::StatusCode::kAlreadyExists) << e.status();
      EXPECT_FALSE(inserted);
      ++refused;
    }
  });
  EXPECT_EQ(inserted_total.load(), kRounds);
  EXPECT_EQ(refused.load(), kRounds);
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM outbox"), std::to_string(kRounds));
}

TEST_F(PostgresReplicasTest, WhatOneStoreClaimsAnotherDoesNotGet) {
  OpenTwo();
  AddRecords(10);
  const std::set<std::string> a = Due(*a_, 4);
  ASSERT_EQ(a.size(), 4u);
  const std::set<std::string> b = Due(*b_);
  EXPECT_EQ(b.size(), 6u);
  for (const std::string& id : b) EXPECT_EQ(a.count(id), 0u) << id << " given to both";
  // Each still gets its own again (a poll while delivering), and no more.
  EXPECT_EQ(Due(*a_), a);
  EXPECT_EQ(Due(*b_), b);
  EXPECT_EQ(Sql("SELECT COUNT(DISTINCT lease_owner) FROM outbox WHERE lease_owner IS NOT NULL"),
            "2");
}

TEST_F(PostgresReplicasTest, AnExpiredLeaseIsTakenOverByAnotherStore) {
  OpenTwo(/*lease_ms=*/300);
  AddRecords(5);
  ASSERT_EQ(Due(*a_).size(), 5u);
  EXPECT_TRUE(Due(*b_).empty());
  // For a_, its records are due as they were; for b_, when the leases end
  // (the database's clock), so its sender waits rather than asks again.
  EXPECT_EQ(*a_->NextAttemptMs(), 1);
  EXPECT_EQ(Sql(absl::StrCat("SELECT ", *b_->NextAttemptMs(),
                             " > extract(epoch FROM clock_timestamp()) * 1000")),
            "t");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(Due(*b_).size(), 5u);
  EXPECT_TRUE(Due(*a_).empty()) << "b_ holds them now";
}

// The holder's poll renews a lease once less than half is left, so a
// delivery longer than the lease is not taken over while its store lives.
TEST_F(PostgresReplicasTest, TheHolderRenewsItsLeaseWhenItPollsAgain) {
  OpenTwo(/*lease_ms=*/1000);
  AddRecords(3);
  ASSERT_EQ(Due(*a_).size(), 3u);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  ASSERT_EQ(Due(*a_).size(), 3u);  // renewed: 400 ms were left
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_TRUE(Due(*b_).empty()) << "the first lease ended, the renewed one has not";
}

// A store dropped holding leases (its process gone) has its records taken
// over by another once the leases end, not before.
TEST_F(PostgresReplicasTest, AClosedStoresClaimsAreTakenOverAfterTheLease) {
  OpenTwo(/*lease_ms=*/500);
  AddRecords(4);
  ASSERT_EQ(Due(*a_).size(), 4u);
  a_.reset();
  EXPECT_TRUE(Due(*b_).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(Due(*b_).size(), 4u);
}

// A replica that comes back under the name it had (lease_owner, the
// gateway's store.postgres.replicaId) takes its own claims back at once;
// another replica still waits for the lease.
TEST_F(PostgresReplicasTest, AReplicaReopenedUnderItsNameTakesItsClaimsBackAtOnce) {
  OpenTwo(/*lease_ms=*/30000);
  AddRecords(3);
  PostgresStoreOptions named = Options();
  named.lease_owner = "replica-1";
  std::unique_ptr<PostgresStore> first = OpenStore(named);
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(Due(*first).size(), 3u);
  first.reset();  // as if killed: its claims stay
  EXPECT_TRUE(Due(*b_).empty());
  std::unique_ptr<PostgresStore> again = OpenStore(named);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Due(*again).size(), 3u);
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM outbox WHERE lease_owner = 'replica-1'"), "3");
}

// As above, the store in another process that is SIGKILLed holding its
// claims: nothing of it runs after the kill.
TEST_F(PostgresReplicasTest, AStoreKilledHoldingClaimsHasThemTakenOverAfterTheLease) {
  OpenTwo(/*lease_ms=*/500);
  AddRecords(4);
  PostgresStoreOptions options = Options();
  options.delivery_lease_ms = 500;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(options);
    if (!s.ok()) _exit(2);
    absl::StatusOr<std::vector<OutboxEntry>> due = (*s)->DueForDelivery(1000, 100);
    if (!due.ok() || due->size() != 4) _exit(3);
    kill(getpid(), SIGKILL);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child failed before the kill: " << status;
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM outbox WHERE lease_owner IS NOT NULL"), "4");
  EXPECT_TRUE(Due(*b_).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(Due(*b_).size(), 4u);
}

// Delivered, failed or rejected, a record's lease ends with the attempt: a
// failed one is due again for any store at its next attempt.
TEST_F(PostgresReplicasTest, SettlingARecordEndsItsLease) {
  OpenTwo();
  AddRecords(3);
  ASSERT_EQ(Due(*a_).size(), 3u);
  ASSERT_TRUE(a_->MarkDelivered("r0", 5, Receipt("r0")).ok());
  ASSERT_TRUE(a_->MarkAttemptFailed("r1", 2, "peer down").ok());
  ASSERT_TRUE(a_->MarkRejected("r2", "PERMISSION_DENIED").ok());
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM outbox WHERE lease_owner IS NOT NULL OR lease_until_ms <> 0"),
            "0");
  EXPECT_EQ(Due(*b_), std::set<std::string>{"r1"});
}

}  // namespace
}  // namespace gatehouse

// Changes across PostgresStores on one database (issue 19: Watch across
// replicas): a follower of store B's changes(), as the gateway's Watch
// follows it, wakes for a write committed through store A and then reads
// it through B; it does not wake without a write; B's listener connection
// killed is made again and still wakes B; closing is prompt. On a real
// server (postgres_server.h), a database a test.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/change_signal.h"
#include "gateway/store/postgres/postgres_store.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/postgres_test_database.h"

namespace gatehouse {
namespace {

using std::chrono::milliseconds;

constexpr int kWakeMs = 2000;      // a wake from another store's commit comes within this
constexpr int kQuietMs = 300;      // and none comes in this without a write
constexpr int kRelistenMs = 5000;  // a lost listener listens again within this

// Follows a ChangeSignal as exchange_watch.cc does (Listen, a quick
// callback, Unlisten before going away) and counts its wakes.
class Follower {
 public:
  explicit Follower(ChangeSignal* signal)
      : signal_(signal), id_(signal->Listen([this] { Wake(); })) {}
  ~Follower() { signal_->Unlisten(id_); }

  int wakes() {
    std::lock_guard<std::mutex> lock(mu_);
    return wakes_;
  }
  // Whether wakes() reaches `n` within `ms`.
  bool WaitFor(int n, int ms) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, milliseconds(ms), [&] { return wakes_ >= n; });
  }

 private:
  void Wake() {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
    cv_.notify_all();
  }

  ChangeSignal* const signal_;
  std::mutex mu_;
  std::condition_variable cv_;
  int wakes_ = 0;
  const uint64_t id_;
};

class PostgresListenTest : public PostgresDatabaseTest {
 protected:
  void TearDown() override {
    follower_.reset();  // before the store whose signal it follows
    a_.reset();
    b_.reset();
    PostgresDatabaseTest::TearDown();
  }
  // Opens b_, follows its changes, and waits for the wake its listener
  // gives once it LISTENs; then opens a_.
  void OpenTwoFollowingB() {
    b_ = OpenStore(Options());
    ASSERT_NE(b_, nullptr);
    follower_ = std::make_unique<Follower>(b_->changes());
    ASSERT_TRUE(follower_->WaitFor(1, kWakeMs)) << "B's listener never listened";
    a_ = OpenStore(Options());
    ASSERT_NE(a_, nullptr);
  }
  // The backends LISTENing on the test's database, as "pid,pid".
  std::string Listeners() const {
    return Sql(
        "SELECT COALESCE(string_agg(pid::text, ',' ORDER BY pid), '') FROM pg_stat_activity "
        "WHERE datname = current_database() AND query LIKE 'LISTEN %'");
  }
  // The record ids B's OutboxChanges and FetchMailbox (for "care") show.
  std::vector<std::string> OutboxSeenByB() {
    absl::StatusOr<std::vector<OutboxEntry>> rows = b_->OutboxChanges("ehr", 0, 10);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> ids;
    if (rows.ok()) {
      for (const OutboxEntry& e : *rows) ids.push_back(e.record.record_id());
    }
    return ids;
  }
  std::vector<std::string> MailboxSeenByB() {
    absl::StatusOr<std::vector<MailboxEntry>> rows =
        b_->FetchMailbox(MailboxReader::Of("care", std::vector<std::string>()), 0, 10);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> ids;
    if (rows.ok()) {
      for (const MailboxEntry& e : *rows) ids.push_back(e.record.record_id());
    }
    return ids;
  }
  void AddToOutboxThroughA(const std::string& id) {
    bool inserted = false;
    ASSERT_TRUE(a_->AddToOutbox(Request(id), "", 1, &inserted).ok());
    ASSERT_TRUE(inserted);
  }

  std::unique_ptr<PostgresStore> a_, b_;
  std::unique_ptr<Follower> follower_;
};

TEST_F(PostgresListenTest, AMailboxDeliveryThroughAWakesAFollowerOfBWhichThenReadsIt) {
  OpenTwoFollowingB();
  ASSERT_TRUE(a_->AddToMailbox(Record("m1", "care"), "sha-m1", Receipt("m1")).ok());
  ASSERT_TRUE(follower_->WaitFor(2, kWakeMs)) << "B not woken by A's commit";
  EXPECT_EQ(MailboxSeenByB(), std::vector<std::string>{"m1"});
}

TEST_F(PostgresListenTest, AnOutboxAddThroughAWakesAFollowerOfBWhichThenReadsIt) {
  OpenTwoFollowingB();
  AddToOutboxThroughA("r1");
  ASSERT_TRUE(follower_->WaitFor(2, kWakeMs)) << "B not woken by A's commit";
  EXPECT_EQ(OutboxSeenByB(), std::vector<std::string>{"r1"});
}

TEST_F(PostgresListenTest, NoWriteNoWake) {
  OpenTwoFollowingB();
  ASSERT_TRUE(a_->GetOutbox("none").status().code() == absl::StatusCode::kNotFound);  // a read
  EXPECT_FALSE(follower_->WaitFor(2, kQuietMs));
  EXPECT_EQ(follower_->wakes(), 1);
}

// B's own commit wakes its followers once (the committer's), not again
// through its listener.
TEST_F(PostgresListenTest, AStoresOwnWriteWakesItOnce) {
  OpenTwoFollowingB();
  bool inserted = false;
  ASSERT_TRUE(b_->AddToOutbox(Request("own"), "", 1, &inserted).ok());
  ASSERT_TRUE(follower_->WaitFor(2, kWakeMs));
  EXPECT_FALSE(follower_->WaitFor(3, kQuietMs));
  EXPECT_EQ(follower_->wakes(), 2);
}

// Followers cost a connection only once there are some.
TEST_F(PostgresListenTest, AStoreNobodyFollowsDoesNotListen) {
  a_ = OpenStore(Options());
  ASSERT_NE(a_, nullptr);
  AddToOutboxThroughA("r1");
  std::this_thread::sleep_for(milliseconds(kQuietMs));
  EXPECT_EQ(Listeners(), "");
}

TEST_F(PostgresListenTest, AKilledListenerListensAgainWakesOnceAndStillWakesForA) {
  OpenTwoFollowingB();  // only B listens: A has no follower
  const std::string killed = Listeners();
  ASSERT_FALSE(killed.empty());
  ASSERT_EQ(killed.find(','), std::string::npos) << killed;
  ASSERT_EQ(Sql("SELECT pg_terminate_backend(" + killed + ")::text"), "true");
  // Listening again, B wakes its followers once (a write may have been
  // missed meanwhile).
  ASSERT_TRUE(follower_->WaitFor(2, kRelistenMs)) << "B's listener not made again";
  EXPECT_NE(Listeners(), killed);
  EXPECT_FALSE(Listeners().empty());
  AddToOutboxThroughA("after");
  ASSERT_TRUE(follower_->WaitFor(3, kWakeMs)) << "B not woken by A's commit after relistening";
  EXPECT_EQ(OutboxSeenByB(), std::vector<std::string>{"after"});
}

TEST_F(PostgresListenTest, ClosingAStoreWithALiveListenerIsPrompt) {
  OpenTwoFollowingB();
  EXPECT_FALSE(Listeners().empty());
  follower_.reset();  // the listener stays connected
  const auto start = std::chrono::steady_clock::now();
  b_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

}  // namespace
}  // namespace gatehouse

// StoreStatsSource's contract (gateway/store/store_stats.h), for every
// implementation: see store_contract.h.
#include <atomic>
#include <cstdint>

#include "absl/strings/str_cat.h"

#include "gtest/gtest.h"
#include "tests/gateway/store/store_contract.h"

namespace gatehouse {
namespace {

// Counted since the store was opened: zero then, and each durable write is
// in some commit (a commit may hold many writes, never none).
TEST_P(StoreStatsContract, CommitsAreCountedSinceOpenAndNeverDecrease) {
  EXPECT_EQ(stats().Stats().commits, 0);
  EXPECT_EQ(stats().Stats().commit_nanos, 0);
  constexpr int kWrites = 3;
  int64_t last = 0;
  for (int i = 0; i < kWrites; ++i) {
    bool inserted;
    ASSERT_TRUE(outbox().AddToOutbox(Request(std::to_string(i)), "", 1, &inserted).ok());
    const StoreStats now = stats().Stats();
    EXPECT_GE(now.commits, last);
    EXPECT_GE(now.commit_nanos, 0);
    last = now.commits;
  }
  EXPECT_GE(last, 1);
  EXPECT_LE(last, kWrites);
  Reopen();
  EXPECT_EQ(stats().Stats().commits, 0);
}

// Writes from many threads at once share commits (group commit): fewer
// transactions than writes, and every write durable.
TEST_P(StoreStatsContract, ConcurrentWritesShareCommits) {
  constexpr int kThreads = 16, kEach = 20;
  AddFromManyThreads(outbox(), kThreads, kEach);
  EXPECT_EQ(*outbox().OutboxDepth(), kThreads * kEach);
  EXPECT_LT(stats().Stats().commits, kThreads * kEach);
  Reopen();
  EXPECT_EQ(*outbox().OutboxDepth(), kThreads * kEach);
}

// Closing stops the group commit: every write queued before it is
// committed and called back, none is lost.
TEST_P(StoreStatsContract, WritesQueuedWhenTheStoreClosesAreCommittedAndCalledBack) {
  constexpr int kN = 100;
  std::atomic<int> ok{0}, called{0};
  for (int i = 0; i < kN; ++i) {
    outbox().AddToOutboxAsync(Request(absl::StrCat("q", i)), "", 1,
                              [&](absl::StatusOr<OutboxEntry> e, bool inserted) {
                                ok += e.ok() && inserted;
                                ++called;
                              });
  }
  Reopen();  // closes the store first
  EXPECT_EQ(called.load(), kN);
  EXPECT_EQ(ok.load(), kN);
  EXPECT_EQ(*outbox().OutboxDepth(), kN);
}

}  // namespace
}  // namespace gatehouse

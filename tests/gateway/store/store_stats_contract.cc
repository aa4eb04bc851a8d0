// StoreStatsSource's contract (gateway/store/store_stats.h), for every
// implementation: see store_contract.h.
#include <cstdint>

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

}  // namespace
}  // namespace gatehouse

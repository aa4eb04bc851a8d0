#include "gateway/rate_limiter.h"

#include "gtest/gtest.h"

namespace gatehouse {
namespace {

TEST(RateLimiterTest, BurstThenRefusalWithWait) {
  RateLimiter limiter(2, 3);  // 2 a second, bursts of 3
  EXPECT_EQ(limiter.Take("a", 0), 0);
  EXPECT_EQ(limiter.Take("a", 0), 0);
  EXPECT_EQ(limiter.Take("a", 0), 0);
  EXPECT_EQ(limiter.Take("a", 0), 500);  // one token takes 500 ms at 2/s
  EXPECT_EQ(limiter.Take("a", 250), 250);
  EXPECT_EQ(limiter.Take("a", 500), 0);
}

TEST(RateLimiterTest, KeysAreIndependent) {
  RateLimiter limiter(1, 1);
  EXPECT_EQ(limiter.Take("a", 0), 0);
  EXPECT_GT(limiter.Take("a", 0), 0);
  EXPECT_EQ(limiter.Take("b", 0), 0);
}

TEST(RateLimiterTest, RefusalTakesNothing) {
  RateLimiter limiter(1, 1);
  EXPECT_EQ(limiter.Take("a", 0), 0);
  EXPECT_EQ(limiter.Take("a", 900), 100);
  EXPECT_EQ(limiter.Take("a", 900), 100);
  EXPECT_EQ(limiter.Take("a", 1000), 0);
}

TEST(RateLimiterTest, ZeroRateIsUnlimited) {
  RateLimiter limiter(0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(limiter.Take("a", 0), 0);
}

}  // namespace
}  // namespace gatehouse

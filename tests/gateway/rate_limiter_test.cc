#include "gateway/rate_limiter.h"

#include <cstdint>
#include <limits>

#include "gateway/context.h"
#include "gateway/outbox_sender.h"
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

// A batch of n calls (Peer.DeliverBatch) takes n tokens; one larger than
// the burst goes once the bucket is full and leaves a debt that later calls
// wait out, so the average rate holds.
TEST(RateLimiterTest, ABatchTakesItsSizeAndOneOverTheBurstLeavesADebt) {
  RateLimiter limiter(10, 20);  // 10 a second, bursts of 20
  EXPECT_EQ(limiter.Take("a", 0, 15), 0);
  EXPECT_EQ(limiter.Take("a", 0, 6), 100);  // 5 left: one more token takes 100 ms
  EXPECT_EQ(limiter.Take("a", 100, 6), 0);
  EXPECT_EQ(limiter.Take("a", 1000, 50), 1100);  // 9 of 20: full in 1.1 s
  EXPECT_EQ(limiter.Take("a", 3000, 50), 0);    // full (20), so 50 go: 30 owed
  EXPECT_EQ(limiter.Take("a", 3000), 3100);     // 31 tokens at 10/s before the next
  EXPECT_EQ(limiter.Take("a", 6100), 0);
}

// Tokens taken for calls refused by another limit are given back, never
// past the burst.
TEST(RateLimiterTest, GivenBackTokensCanBeTakenAgain) {
  RateLimiter limiter(1, 4);
  EXPECT_EQ(limiter.Take("a", 0, 4), 0);
  EXPECT_GT(limiter.Take("a", 0), 0);
  limiter.Give("a", 3);
  EXPECT_EQ(limiter.Take("a", 0, 3), 0);
  EXPECT_GT(limiter.Take("a", 0), 0);
  limiter.Give("a", 100);
  EXPECT_EQ(limiter.Take("a", 0, 4), 0);
  EXPECT_GT(limiter.Take("a", 0), 0);
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

// The other side of a rate limit: how long the sender waits when a peer
// says when to come back.
TEST(OutboxRetryTest, APeersRetryAfterIsHonouredUpToTheMaximumBackoff) {
  v1::GatewayConfig config;
  config.mutable_retry()->set_initial_backoff_ms(100);
  config.mutable_retry()->set_max_backoff_ms(60000);
  GatewayContext ctx;
  ctx.config = &config;
  OutboxSender sender(&ctx);
  // No hint: the backoff, with up to 20% jitter.
  EXPECT_LE(sender.RetryDelayMs(1, 0), 100);
  EXPECT_GE(sender.RetryDelayMs(1, 0), 80);
  EXPECT_EQ(sender.RetryDelayMs(1, 5000), 5000);
  // A peer that asks for a day, or sends a value that would overflow the
  // next attempt's time, is retried after the maximum backoff.
  EXPECT_EQ(sender.RetryDelayMs(1, int64_t{24} * 3600 * 1000), 60000);
  EXPECT_EQ(sender.RetryDelayMs(1, std::numeric_limits<int64_t>::max()), 60000);
  EXPECT_GE(sender.RetryDelayMs(1, -5), 80) << "a negative hint is no hint";
}

}  // namespace
}  // namespace gatehouse

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

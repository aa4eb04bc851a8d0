// The gateway's shared state hammered from many threads; run under
// ThreadSanitizer by scripts/test.sh (label "tsan") as well as plainly.
#include <atomic>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/metrics.h"
#include "gateway/rate_limiter.h"
#include "gateway/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/gateway/test_pki.h"

namespace gatehouse {
namespace {

constexpr int kThreads = 8;

TEST(ConcurrencyTest, StoreKeepsEveryRecordOnceUnderConcurrentUse) {
  std::string dir = MakeTempDir();
  auto opened = SqliteStore::Open(dir + "/store.db");
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<SqliteStore> store = std::move(*opened);
  constexpr int kPerThread = 50;
  std::atomic<int> inserted{0}, delivered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        v1::OutboxRecord r;
        r.set_record_id(absl::StrCat("r", t, "-", i));
        r.set_sender_system("ehr");
        // Pairs of threads share idempotency keys: one record per key.
        std::string key = absl::StrCat("k", t / 2, "-", i);
        bool was_inserted = false;
        if (store->AddToOutbox(r, key, 1, &was_inserted).ok() && was_inserted) ++inserted;
        v1::MailboxRecord m;
        m.set_record_id(absl::StrCat("m", i));  // every thread delivers the same ids
        m.set_sender_org("nhs-trust-a");
        (void)store->AddToMailbox(m, "sha", v1::SignedReceipt());
        auto due = store->DueForDelivery(10, 5);
        if (due.ok()) {
          for (const OutboxEntry& e : *due) {
            if (store->MarkDelivered(e.record.record_id(), 2, v1::SignedReceipt()).ok()) ++delivered;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(inserted.load(), kThreads / 2 * kPerThread);
  EXPECT_EQ(*store->MailboxDepth(""), kPerThread);
  auto rest = store->DueForDelivery(10, 100000);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*store->OutboxDepth(), static_cast<int64_t>(rest->size()));
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST(ConcurrencyTest, MetricsCountEveryIncrementWhileRendering) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        m.CountRecord("outbound", "delivered");
        m.submit_seconds().Observe(0.001);
        if (i % 100 == 0) (void)m.Render({});
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(m.RecordCount("outbound", "delivered"), static_cast<uint64_t>(kThreads * 1000));
}

TEST(ConcurrencyTest, RateLimiterNeverGrantsMoreThanTheBurst) {
  RateLimiter limiter(1, 10);  // at a fixed clock, exactly 10 tokens exist
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (limiter.Take("system", 0) == 0) ++granted;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted.load(), 10);
}

}  // namespace
}  // namespace gatehouse

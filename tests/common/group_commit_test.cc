// GroupCommit: items queued while a batch commits form the next batch; each
// item gets its own result exactly once, in order; Stop commits what was
// queued before it and refuses what comes after, even while a batch is
// committing; a `done` may queue again, wait again, or stop. DeferWakes
// holds an idle committer's wake to the end of a scope, never past a wait.
#include "common/group_commit.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/defer_wakes.h"
#include "common/rendezvous.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

using Queue = GroupCommit<int, absl::StatusOr<int>>;

// A commit function that records its batches and answers each item with
// item * 10; it can be held (blocked) until released.
class Committer {
 public:
  Queue::CommitFn Fn() {
    return [this](std::vector<int>& batch) {
      std::unique_lock<std::mutex> lock(mu_);
      ++entered_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !held_; });
      batches_.push_back(batch);
      std::vector<absl::StatusOr<int>> results;
      for (int item : batch) results.push_back(item * 10);
      return results;
    };
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = false;
    cv_.notify_all();
  }
  // Waits until `n` batches have entered the commit function.
  void AwaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  std::vector<std::vector<int>> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  int entered_ = 0;
  std::vector<std::vector<int>> batches_;
};

// Collects results by item, from any thread.
class Results {
 public:
  Queue::Done For(int item) {
    return [this, item](absl::StatusOr<int> r) {
      std::lock_guard<std::mutex> lock(mu_);
      got_.emplace_back(item, std::move(r));
    };
  }
  std::vector<std::pair<int, absl::StatusOr<int>>> got() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<int, absl::StatusOr<int>>> got_;
};

// Queues item 0, holds its batch in the commit function, queues 1..last
// behind it, releases, and stops.
void QueueBehindAHeldBatch(Committer& c, Results& r, int last) {
  c.Hold();
  Queue q(c.Fn());
  q.Submit(0, r.For(0));
  c.AwaitEntered(1);  // the committer holds item 0's batch
  for (int i = 1; i <= last; ++i) q.Submit(i, r.For(i));
  c.Release();
  q.Stop();
}

TEST(GroupCommitTest, ItemsQueuedWhileABatchCommitsFormTheNextBatch) {
  Committer c;
  Results r;
  QueueBehindAHeldBatch(c, r, 100);
  std::vector<std::vector<int>> batches = c.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0], std::vector<int>{0});
  ASSERT_EQ(batches[1].size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(batches[1][i], i + 1);
}

TEST(GroupCommitTest, EachItemGetsItsOwnResultOnceInQueueOrder) {
  Committer c;
  Results r;
  QueueBehindAHeldBatch(c, r, 49);
  std::vector<std::pair<int, absl::StatusOr<int>>> got = r.got();
  ASSERT_EQ(got.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(got[i].first, i);
    ASSERT_TRUE(got[i].second.ok()) << got[i].second.status();
    EXPECT_EQ(*got[i].second, i * 10);
  }
}

TEST(GroupCommitTest, SubmitAndWaitReturnsItsOwnResult) {
  Committer c;
  Queue q(c.Fn());
  absl::StatusOr<int> r = q.SubmitAndWait(7);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 70);
}

TEST(GroupCommitTest, StopWhileBusyCommitsWhatWasQueuedAndRefusesWhatCameAfter) {
  Committer c;
  Results r;
  c.Hold();
  Queue::Options options;
  options.stopped = absl::FailedPreconditionError("closed");
  auto q = std::make_unique<Queue>(c.Fn(), options);
  q->Submit(0, r.For(0));
  c.AwaitEntered(1);  // busy with item 0
  for (int i = 1; i <= 10; ++i) q->Submit(i, r.For(i));
  std::thread stopper([&] { q->Stop(); });
  // Stop is under way (it waits for the held batch); queue until refused.
  // A refusal is answered at once, on this thread.
  std::atomic<int> early{0};  // -1s queued before Stop, completed later
  absl::Status late;
  for (;;) {
    bool refused = false;
    q->Submit(-1, [&](absl::StatusOr<int> s) {
      if (s.ok()) {
        ++early;
      } else {
        refused = true;
        late = s.status();
      }
    });
    if (refused) break;
    std::this_thread::yield();
  }
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(late.message(), "closed");
  c.Release();
  stopper.join();
  // Items 0..10 committed and completed; every -1 queued before Stop was
  // committed and completed too: none lost.
  std::vector<std::pair<int, absl::StatusOr<int>>> got = r.got();
  ASSERT_EQ(got.size(), 11u);
  for (int i = 0; i <= 10; ++i) {
    EXPECT_EQ(got[i].first, i);
    EXPECT_TRUE(got[i].second.ok()) << got[i].second.status();
  }
  size_t committed = 0;
  for (const std::vector<int>& b : c.batches()) committed += b.size();
  EXPECT_EQ(committed, 11u + static_cast<size_t>(early.load()));
  EXPECT_EQ(q->SubmitAndWait(5).status().code(), absl::StatusCode::kFailedPrecondition);
  q.reset();
}

TEST(GroupCommitTest, StopIsIdempotentFromManyThreads) {
  Committer c;
  Results r;
  c.Hold();
  Queue q(c.Fn());
  for (int i = 0; i < 5; ++i) q.Submit(i, r.For(i));
  c.AwaitEntered(1);
  std::vector<std::thread> stoppers;
  for (int i = 0; i < 4; ++i) stoppers.emplace_back([&] { q.Stop(); });
  c.Release();
  for (std::thread& t : stoppers) t.join();
  q.Stop();
  EXPECT_EQ(r.got().size(), 5u);  // every Stop returned after the drain
}

TEST(GroupCommitTest, ADoneMayQueueAgainAndWaitAgain) {
  Committer c;
  Queue q(c.Fn());
  absl::StatusOr<int> inline_result = absl::UnknownError("not run");
  std::atomic<bool> chained{false};
  std::atomic<bool> done{false};
  q.Submit(1, [&](absl::StatusOr<int>) {
    // On the committer thread: a wait here is committed at once, alone.
    inline_result = q.SubmitAndWait(2);
    q.Submit(3, [&](absl::StatusOr<int> s) {
      chained = s.ok();
      done = true;
    });
  });
  while (!done) std::this_thread::yield();
  ASSERT_TRUE(inline_result.ok()) << inline_result.status();
  EXPECT_EQ(*inline_result, 20);
  EXPECT_TRUE(chained);
}

TEST(GroupCommitTest, StopFromADoneDrainsAndDoesNotDeadlock) {
  Committer c;
  Results r;
  c.Hold();
  Queue q(c.Fn());
  q.Submit(0, [&](absl::StatusOr<int>) { q.Stop(); });
  c.AwaitEntered(1);
  q.Submit(1, r.For(1));  // queued before the Stop in item 0's done
  c.Release();
  q.Stop();  // joins
  ASSERT_EQ(r.got().size(), 1u);
  EXPECT_TRUE(r.got()[0].second.ok());
}

TEST(GroupCommitTest, BatchCostLimitsABatchButAnItemAlwaysGoes) {
  Committer c;
  Results r;
  c.Hold();
  Queue::Options options;
  options.max_batch_cost = 10;
  options.cost = [](const int& item) { return static_cast<size_t>(item); };
  Queue q(c.Fn(), options);
  q.Submit(1, r.For(1));
  c.AwaitEntered(1);
  for (int item : {4, 6, 3, 50, 2}) q.Submit(item, r.For(item));
  c.Release();
  q.Stop();
  std::vector<std::vector<int>> batches = c.batches();
  ASSERT_EQ(batches.size(), 5u);
  EXPECT_EQ(batches[1], (std::vector<int>{4, 6}));
  EXPECT_EQ(batches[2], (std::vector<int>{3}));
  EXPECT_EQ(batches[3], (std::vector<int>{50}));  // over the limit: alone
  EXPECT_EQ(batches[4], (std::vector<int>{2}));
}

TEST(GroupCommitTest, AWrongNumberOfResultsFailsTheBatchWithInternal) {
  Queue q([](std::vector<int>&) { return std::vector<absl::StatusOr<int>>(); });
  EXPECT_EQ(q.SubmitAndWait(1).status().code(), absl::StatusCode::kInternal);
}

// Many threads, sync and async, with a Stop in the middle: every item is
// completed exactly once, and an item reported committed was committed
// exactly once (none lost, none doubled).
TEST(GroupCommitTest, UnderManyThreadsAndAStopNoItemIsLostOrDoubled) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::mutex mu;
  std::multiset<int> committed;
  std::set<int> ok;
  std::atomic<int> completions{0};
  Queue q([&](std::vector<int>& batch) {
    std::lock_guard<std::mutex> lock(mu);
    committed.insert(batch.begin(), batch.end());
    return std::vector<absl::StatusOr<int>>(batch.begin(), batch.end());
  });
  auto record = [&](int item, const absl::StatusOr<int>& s) {
    ++completions;
    if (!s.ok()) return;
    std::lock_guard<std::mutex> lock(mu);
    ok.insert(item);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int item = t * kPerThread + i;
        if (i % 2 == 0) {
          record(item, q.SubmitAndWait(item));
        } else {
          q.Submit(item, [&record, item](absl::StatusOr<int> s) { record(item, s); });
        }
        if (t == 0 && i == kPerThread / 2) q.Stop();
      }
    });
  }
  for (std::thread& th : threads) th.join();
  q.Stop();
  EXPECT_EQ(completions.load(), kThreads * kPerThread);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(std::set<int>(committed.begin(), committed.end()).size(), committed.size());
  EXPECT_EQ(std::set<int>(committed.begin(), committed.end()), ok);
}

// DeferWakes: items queued in a scope reach an idle committer together, at
// the scope's end; a wait inside a scope never waits for what it holds back.
// (A committer that is not asleep takes what is queued without a wake, so
// these tests wait for it to be asleep first.)
void AwaitAsleep(Queue& q) {
  for (int i = 0; i < 10000 && !q.Asleep(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(q.Asleep());
}
// True once `n` results have come back, within 10 s (a committer never
// woken never answers: false).
bool AwaitResults(Results& r, size_t n) {
  for (int i = 0; i < 10000 && r.got().size() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return r.got().size() >= n;
}

TEST(DeferWakesTest, ItemsQueuedInAScopeGoToAnIdleCommitterAsOneBatchAtItsEnd) {
  Committer c;
  Results r;
  Queue q(c.Fn());
  AwaitAsleep(q);
  {
    DeferWakes outer;
    {
      DeferWakes inner;
      for (int i = 0; i < 5; ++i) q.Submit(i, r.For(i));
    }  // not the outermost scope: still held back
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(c.batches().empty()) << "the committer was woken inside the scope";
  }
  EXPECT_TRUE(AwaitResults(r, 5)) << "the scope's end did not wake the committer";
  q.Stop();
  EXPECT_EQ(c.batches(), (std::vector<std::vector<int>>{{0, 1, 2, 3, 4}}));
  EXPECT_EQ(r.got().size(), 5u);
}

TEST(DeferWakesTest, WaitingInsideAScopeWakesWhatItHeldBack) {
  Committer c;
  Results r;
  Queue q(c.Fn());
  AwaitAsleep(q);
  DeferWakes defer;
  q.Submit(1, r.For(1));
  absl::StatusOr<int> waited = q.SubmitAndWait(2);  // would never return if 1 held it
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_EQ(*waited, 20);
  q.Submit(3, r.For(3));
  Rendezvous<absl::StatusOr<int>> rendezvous;
  q.Submit(4, rendezvous.Callback());
  absl::StatusOr<int> four = rendezvous.Wait();
  ASSERT_TRUE(four.ok()) << four.status();
  EXPECT_EQ(*four, 40);
  q.Stop();
  // 1 and 2 in one batch (both were queued before the wait woke it); 3 and
  // 4 after, together or not (the committer may not be asleep again yet).
  std::vector<std::vector<int>> batches = c.batches();
  ASSERT_FALSE(batches.empty());
  EXPECT_EQ(batches[0], (std::vector<int>{1, 2}));
  std::vector<int> rest;
  for (size_t i = 1; i < batches.size(); ++i) {
    rest.insert(rest.end(), batches[i].begin(), batches[i].end());
  }
  EXPECT_EQ(rest, (std::vector<int>{3, 4}));
}

TEST(DeferWakesTest, ABatchsDoneCallbacksQueueOnTheNextCommitterTogether) {
  Committer second_c;
  Results r;
  Queue second(second_c.Fn());
  Queue::Options options;
  options.defer_wakes_in_done = true;
  Committer first_c;
  Queue first(first_c.Fn(), options);
  AwaitAsleep(first);
  AwaitAsleep(second);
  {
    DeferWakes defer;  // so that the first committer takes all three at once
    for (int i = 0; i < 3; ++i) {
      first.Submit(i, [&, i](absl::StatusOr<int>) {
        second.Submit(i, r.For(i));
        // The second committer is idle: without the scope it would take
        // item 0 alone while the first still runs these callbacks.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      });
    }
  }
  EXPECT_TRUE(AwaitResults(r, 3)) << "the callbacks' scope did not wake the second committer";
  first.Stop();
  second.Stop();
  EXPECT_EQ(first_c.batches(), (std::vector<std::vector<int>>{{0, 1, 2}}));
  EXPECT_EQ(second_c.batches(), (std::vector<std::vector<int>>{{0, 1, 2}}));
}

TEST(DeferWakesTest, WithoutAScopeTheCommitterStartsAtOnce) {
  Committer c;
  Queue q(c.Fn());
  c.Hold();
  q.Submit(1, [](absl::StatusOr<int>) {});
  c.AwaitEntered(1);  // would hang if the wake were held back
  c.Release();
  q.Stop();
  EXPECT_EQ(c.batches(), (std::vector<std::vector<int>>{{1}}));
}

}  // namespace
}  // namespace gatehouse

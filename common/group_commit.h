// GroupCommit<Item, Result>: one committer thread that makes many callers'
// items durable together. Callers queue items from any thread; the
// committer takes everything queued at that moment (up to a cost limit) as
// one batch, hands it to the commit function, and then completes each item
// with its own result, in the order the items were queued. Items queued
// while a batch commits form the next one, so a batch is as large as the
// load makes it and nothing waits for a timer.
//
// The stop protocol, the same for every user:
//   - Stop() refuses items queued after it (their `done` runs at once, on
//     the caller's thread, with Options::stopped), commits every item queued
//     before it, completes them, and joins the thread. It is idempotent and
//     may be called from several threads; each returns once the thread is
//     joined. No item is lost: each `done` runs exactly once.
//   - Stop() called on the committer thread (from a `done`) only refuses
//     new items; the thread drains and is joined by a later Stop() or the
//     destructor.
//
// Completions never run under the queue's lock, so a `done` may queue
// again. Two ways to wait:
//   - Submit(item, done): `done` runs on the committer thread once the
//     item's batch is committed. For callers that must not park a thread
//     (a gRPC reactor); `done` must be quick and must not block.
//   - SubmitAndWait(item): blocks until then. Called on the committer
//     thread itself (from a `done`), it commits the item at once as a
//     batch of one, since queueing would wait for this very thread.
//
// DeferWakes: a thread that queues several items in a row (a batch's
// records, one after another) can hold back the wake of an idle committer
// until it has queued them all, so they go in one batch (one transaction,
// one sync) instead of the first alone (common/defer_wakes.h).
//
// Thread-safe. The commit function runs on the committer thread only (or a
// `done` calling SubmitAndWait, which is that thread too), so the state it
// touches needs no lock of its own. Result must be constructible from an
// absl::Status (absl::Status, absl::StatusOr<T>).
//
// Example:
//   GroupCommit<std::string, absl::Status> log(
//       [&](std::vector<std::string>& lines) {
//         absl::Status s = file.AppendAndSync(absl::StrJoin(lines, "\n"));
//         return std::vector<absl::Status>(lines.size(), s);
//       });
//   log.Submit("hello", [](absl::Status s) { Reply(s); });  // called back
//   absl::Status s = log.SubmitAndWait("world");            // blocks
#ifndef GATEHOUSE_COMMON_GROUP_COMMIT_H_
#define GATEHOUSE_COMMON_GROUP_COMMIT_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/defer_wakes.h"
#include "common/one_shot.h"

namespace gatehouse {

template <typename Item, typename Result>
class GroupCommit {
 public:
  // Called with each item's result, once.
  using Done = std::function<void(Result)>;
  // Commits `batch` (in queue order; the function may move from the items)
  // and returns one result per item, in the same order. A wrong number of
  // results fails every item of the batch with Internal.
  using CommitFn = std::function<std::vector<Result>(std::vector<Item>& batch)>;

  struct Options {
    // What an item queued after Stop() gets. Say what the caller should do.
    absl::Status stopped = absl::UnavailableError("stopping; retry");
    // A batch holds items while their total cost stays within this (but
    // always at least one item, whatever its cost).
    size_t max_batch_cost = std::numeric_limits<size_t>::max();
    // An item's cost, computed when it is queued; null: 1 each, so
    // max_batch_cost counts items.
    std::function<size_t(const Item&)> cost;
    // Run a batch's `done`s inside one DeferWakes: what they queue on other
    // GroupCommits goes there together.
    bool defer_wakes_in_done = false;
  };

  // Starts the committer thread; `commit` may be called from now on.
  explicit GroupCommit(CommitFn commit, Options options = Options())
      : commit_(std::move(commit)), options_(std::move(options)) {
    std::lock_guard<std::mutex> lock(mu_);  // Run waits for commit_id_
    thread_ = std::thread([this] { Run(); });
    commit_id_ = thread_.get_id();
  }
  // Stop()s. REQUIRES: not on the committer thread (not from a `done`).
  ~GroupCommit() { Stop(); }
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `item`; `done` gets its result on the committer thread once its
  // batch is committed, or at once on this thread with Options::stopped
  // after Stop().
  void Submit(Item item, Done done) {
    const size_t cost = options_.cost ? options_.cost(item) : 1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        queue_.push_back(Pending{std::move(item), std::move(done), cost});
        // The committer waits only on an empty queue; in a DeferWakes
        // scope it is woken at the scope's end (or the thread's next wait).
        if (queue_.size() == 1 && !DeferWakes::Defer(&wake_)) wake_.notify_one();
        return;
      }
    }
    done(Result(options_.stopped));
  }

  // Queues `item` and returns its result once its batch is committed;
  // Options::stopped at once after Stop(). On the committer thread, commits
  // it at once, alone (even while stopping: the thread is still there).
  Result SubmitAndWait(Item item) {
    if (OnCommitThread()) {
      std::vector<Item> batch;
      batch.push_back(std::move(item));
      return std::move(CommitBatch(batch).front());
    }
    struct Waiter {
      std::optional<Result> result;
      OneShot done;
    } waiter;
    Submit(std::move(item), [&waiter](Result r) {
      waiter.result.emplace(std::move(r));
      waiter.done.Notify();
    });
    waiter.done.Wait();
    return std::move(*waiter.result);
  }

  // See the stop protocol above.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (OnCommitThread()) return;
    std::lock_guard<std::mutex> lock(join_mu_);
    if (thread_.joinable()) thread_.join();
  }

  // True while the committer is asleep, waiting for an item (for tests:
  // a queue's wake is only needed then).
  bool Asleep() {
    std::lock_guard<std::mutex> lock(mu_);
    return asleep_;
  }

  // True on the committer thread (in the commit function or a `done`).
  bool OnCommitThread() const { return std::this_thread::get_id() == commit_id_; }

 private:
  struct Pending {
    Item item;
    Done done;
    size_t cost;
  };

  void Run() {
    std::vector<Item> items;
    std::vector<Done> dones;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        asleep_ = true;
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        asleep_ = false;
        if (queue_.empty()) return;  // stopping, and everything queued is done
        TakeBatch(&items, &dones);
      }
      std::vector<Result> results = CommitBatch(items);
      items.clear();
      {
        std::optional<DeferWakes> defer;
        if (options_.defer_wakes_in_done) defer.emplace();
        for (size_t i = 0; i < dones.size(); ++i) dones[i](std::move(results[i]));
      }
      dones.clear();
    }
  }

  // Moves the next batch out of queue_ (at least one item).
  void TakeBatch(std::vector<Item>* items, std::vector<Done>* dones)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    size_t total = 0;
    while (!queue_.empty()) {
      Pending& next = queue_.front();
      const size_t max = options_.max_batch_cost;
      if (!items->empty() && (total >= max || next.cost > max - total)) break;
      total += next.cost;
      items->push_back(std::move(next.item));
      dones->push_back(std::move(next.done));
      queue_.pop_front();
    }
  }

  // commit_(batch), with exactly one result per item.
  std::vector<Result> CommitBatch(std::vector<Item>& batch) {
    std::vector<Result> results = commit_(batch);
    if (results.size() != batch.size()) {
      results.assign(batch.size(),
                     Result(absl::InternalError("group commit: one result per item expected")));
    }
    return results;
  }

  const CommitFn commit_;
  const Options options_;

  std::mutex mu_;
  std::condition_variable wake_;  // queue_ became non-empty, or stopping_
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool asleep_ ABSL_GUARDED_BY(mu_) = false;

  std::thread::id commit_id_;  // set before Run starts (under mu_), then const
  std::mutex join_mu_;         // one Stop joins; the others wait for it
  std::thread thread_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_COMMON_GROUP_COMMIT_H_

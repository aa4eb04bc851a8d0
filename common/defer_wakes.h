// DeferWakes: lets a thread that queues several items in a row for a
// committer (a batch's records, one after another) wake that committer once,
// after the last, so they go in one batch (one transaction, one sync)
// instead of the first alone and the rest in the next.
//
// While a DeferWakes is alive on a thread, a queue that would wake its idle
// consumer (GroupCommit::Submit) notes the wake with Defer() instead; the
// noted wakes happen when the thread's outermost DeferWakes ends, or
// earlier, at once, when the thread blocks in OneShot::Wait or
// Rendezvous::Wait (WakeNow), so a thread never waits for work it holds back.
// A wait of any other kind inside a scope must call WakeNow first.
//
// Per thread; nothing is shared, so no lock. A noted queue must outlive the
// scope (a GroupCommit stopped and destroyed before the thread's scope ends
// would be woken after its end).
//
// Example:
//   {
//     DeferWakes defer;
//     for (Record& r : batch) store.Submit(std::move(r), done);
//   }  // the store's committer wakes here, once, and takes them all
#ifndef GATEHOUSE_COMMON_DEFER_WAKES_H_
#define GATEHOUSE_COMMON_DEFER_WAKES_H_

#include <vector>

#include <condition_variable>

namespace gatehouse {

class DeferWakes {
 public:
  DeferWakes() { ++depth_; }
  ~DeferWakes() {
    if (--depth_ == 0) WakeNow();
  }
  DeferWakes(const DeferWakes&) = delete;
  DeferWakes& operator=(const DeferWakes&) = delete;

  // In a scope: notes `cv` (once) to be notified at its end and returns
  // true. Outside one: false, and the caller notifies as usual.
  static bool Defer(std::condition_variable* cv) {
    if (depth_ == 0) return false;
    for (std::condition_variable* noted : wakes_) {
      if (noted == cv) return true;
    }
    wakes_.push_back(cv);
    return true;
  }

  // Notifies what this thread has noted so far (before a blocking wait).
  static void WakeNow() {
    if (wakes_.empty()) return;
    std::vector<std::condition_variable*> wakes;
    wakes.swap(wakes_);
    for (std::condition_variable* cv : wakes) cv->notify_one();
  }

 private:
  inline static thread_local int depth_ = 0;
  inline static thread_local std::vector<std::condition_variable*> wakes_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_COMMON_DEFER_WAKES_H_

// Rendezvous<T>: waits for one callback of an asynchronous API, to offer a
// blocking form of it without writing the wait again each time.
//
// Thread-safe: the callback may run on any thread, before or after Wait.
// The Rendezvous must outlive the callback's run (Wait guarantees that for
// the caller that waits).
//
// Example:
//   Rendezvous<absl::Status> r;
//   store.MarkDeliveredAsync(id, ms, receipt, r.Callback());
//   return r.Wait();
#ifndef GATEHOUSE_COMMON_RENDEZVOUS_H_
#define GATEHOUSE_COMMON_RENDEZVOUS_H_

#include <functional>
#include <utility>

#include <condition_variable>
#include <mutex>

#include "common/defer_wakes.h"

namespace gatehouse {

template <typename T>
class Rendezvous {
 public:
  // The callback to hand to the asynchronous call; call it once.
  std::function<void(T)> Callback() {
    return [this](T value) {
      std::lock_guard<std::mutex> lock(mu_);
      value_ = std::move(value);
      done_ = true;
      cv_.notify_all();  // under the lock: Wait's caller may destroy us at once
    };
  }
  // Blocks until the callback has run; returns what it was given.
  T Wait() {
    DeferWakes::WakeNow();  // never wait for work this thread holds back
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    return std::move(value_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  T value_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_COMMON_RENDEZVOUS_H_

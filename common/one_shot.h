// OneShot: a one-time event on a bare futex, for one thread to wait until
// another says "done". One sleep and one wake per wait, where a mutex and
// condition variable cost more context switches (measured for the audit
// log's Append: docs/benchmarks/audit.md). Linux only.
//
// Thread-safe: one thread calls Wait, any one thread calls Notify once,
// before or after Wait. The waiter may destroy the OneShot as soon as Wait
// returns, even while Notify is still inside its wake call (a FUTEX_WAKE on
// a stale address is harmless: it only hashes the address).
//
// Example:
//   OneShot done;
//   worker.Post([&] { Work(); done.Notify(); });
//   done.Wait();
#ifndef GATEHOUSE_COMMON_ONE_SHOT_H_
#define GATEHOUSE_COMMON_ONE_SHOT_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "common/defer_wakes.h"

namespace gatehouse {

class OneShot {
 public:
  // Returns once Notify has been called (at once if it already was).
  void Wait() {
    DeferWakes::WakeNow();  // never wait for work this thread holds back
    while (state_.load(std::memory_order_acquire) == 0) {
      ::syscall(SYS_futex, &state_, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
    }
  }
  // Wakes the waiter. Call once.
  void Notify() {
    state_.store(1, std::memory_order_release);
    ::syscall(SYS_futex, &state_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

 private:
  std::atomic<uint32_t> state_{0};
};

}  // namespace gatehouse

#endif  // GATEHOUSE_COMMON_ONE_SHOT_H_

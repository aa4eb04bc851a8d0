// Runs a function every `period` on a thread of its own until stopped: the
// loop of the gateway's background rounds (cosigning peers' checkpoints,
// asking peers about acknowledgements).
//
// Example:
//   Periodic rounds;
//   rounds.Start(std::chrono::seconds(10), [this] { RunOnce(); });
//   ...
//   rounds.Stop();  // waits for a round in progress
//
// Thread-safe; Start once.
#ifndef GATEHOUSE_COMMON_PERIODIC_H_
#define GATEHOUSE_COMMON_PERIODIC_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace gatehouse {

class Periodic {
 public:
  ~Periodic() { Stop(); }

  // Calls `round` every `period` (the first after one period).
  void Start(std::chrono::milliseconds period, std::function<void()> round) {
    thread_ = std::thread([this, period, round = std::move(round)] {
      while (true) {
        {
          std::unique_lock<std::mutex> lock(mu_);
          if (cv_.wait_for(lock, period, [this] { return stopping_; })) return;
        }
        round();
      }
    });
  }
  // Stops the thread, after the round in progress if any. Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_COMMON_PERIODIC_H_

// Token buckets keyed by caller (e.g. a system's SAN URI): `rate` tokens a
// second up to `burst`. A call that finds no token is told how long to wait.
//
// Example:
//   RateLimiter limits(50, 100);
//   if (int64_t wait_ms = limits.Take(caller.uri, now_ms); wait_ms > 0) ... refuse
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_RATE_LIMITER_H_
#define GATEHOUSE_GATEWAY_RATE_LIMITER_H_

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace gatehouse {

class RateLimiter {
 public:
  // rate <= 0 means unlimited; burst <= 0 means burst = rate.
  RateLimiter(double rate, double burst)
      : rate_(rate), burst_(burst > 0 ? burst : std::max(rate, 1.0)) {}

  // Takes `n` tokens for `key` (a batch of n calls): 0 if granted, else the
  // milliseconds until they will be (nothing is taken then). A batch larger
  // than the burst is granted once the bucket is full, and leaves it in
  // debt: later calls wait until the rate has paid for it, so the average
  // rate holds whatever the batch sizes.
  int64_t Take(const std::string& key, int64_t now_ms, double n = 1) {
    if (rate_ <= 0) return 0;
    std::lock_guard<std::mutex> lock(mu_);
    Bucket& b = buckets_.try_emplace(key, Bucket{burst_, now_ms}).first->second;
    b.tokens = std::min(burst_, b.tokens + (now_ms - b.last_ms) * rate_ / 1000.0);
    b.last_ms = now_ms;
    const double needed = std::min(n, burst_);
    if (b.tokens >= needed) {
      b.tokens -= n;
      return 0;
    }
    return static_cast<int64_t>(std::ceil((needed - b.tokens) * 1000.0 / rate_));
  }

  // Gives back `n` tokens Take granted for calls then refused elsewhere.
  void Give(const std::string& key, double n) {
    if (rate_ <= 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = buckets_.find(key);
    if (it != buckets_.end()) it->second.tokens = std::min(burst_, it->second.tokens + n);
  }

 private:
  struct Bucket {
    double tokens;
    int64_t last_ms;
  };
  const double rate_;
  const double burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RATE_LIMITER_H_

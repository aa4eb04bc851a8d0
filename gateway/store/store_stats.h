// StoreStats: what a store counts of its own work, for metrics; and
// StoreStatsSource, the one call that reads it.
//
// Example:
//   const StoreStats s = store.Stats();
//   double seconds_per_commit = s.commit_nanos / 1e9 / std::max<int64_t>(s.commits, 1);
//
// Implementations are thread-safe.
#ifndef GATEHOUSE_GATEWAY_STORE_STORE_STATS_H_
#define GATEHOUSE_GATEWAY_STORE_STORE_STATS_H_

#include <cstdint>

namespace gatehouse {

// Counters since the store was opened, for metrics.
struct StoreStats {
  int64_t commits = 0;       // durable transactions (group commits: each may hold many writes)
  int64_t commit_nanos = 0;  // total time in them: applying the writes, writing, syncing
};

class StoreStatsSource {
 public:
  virtual ~StoreStatsSource() = default;

  // The counters now. Zero when the store is opened; they never decrease.
  // Never fails, and changes nothing.
  virtual StoreStats Stats() const = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_STORE_STATS_H_

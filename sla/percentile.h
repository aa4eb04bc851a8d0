// Exact percentiles of durations by the nearest-rank method: the p-th
// percentile of n sorted values is the value at 1-based rank
// ceil(p * n / 100), the smallest value with at least p% of the values at
// or below it. Always one of the values (never interpolated), so two
// parties with the same values get the same figure to the nanosecond.
//
// Thread-safety: pure functions.
//
// Example:
//   NearestRank({10, 20, 30, 40}, 500)   // p50: rank ceil(0.5 * 4) = 2 -> 20
//   NearestRank({10, 20, 30, 40}, 990)   // p99: rank ceil(3.96) = 4 -> 40
#ifndef GATEHOUSE_SLA_PERCENTILE_H_
#define GATEHOUSE_SLA_PERCENTILE_H_

#include <cstdint>
#include <vector>

#include "gatehouse/v1/sla_report.pb.h"

namespace gatehouse::sla {

// The `per_mille`-th per-mille percentile (500 = p50, 990 = p99) of
// `sorted`. REQUIRES: sorted ascending and non-empty; 0 < per_mille <= 1000.
int64_t NearestRank(const std::vector<int64_t>& sorted, int per_mille);

// Count, p50, p90, p99 and max of `values` (any order); all zero if empty.
gatehouse::v1::SlaLatency Summarize(std::vector<int64_t> values);

}  // namespace gatehouse::sla

#endif  // GATEHOUSE_SLA_PERCENTILE_H_

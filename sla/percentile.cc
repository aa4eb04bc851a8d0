#include "sla/percentile.h"

#include <algorithm>

namespace gatehouse::sla {

int64_t NearestRank(const std::vector<int64_t>& sorted, int per_mille) {
  const uint64_t n = sorted.size();
  // ceil(per_mille * n / 1000) in integers: no rounding error at any n.
  uint64_t rank = (static_cast<uint64_t>(per_mille) * n + 999) / 1000;
  rank = std::max<uint64_t>(rank, 1);
  return sorted[std::min(rank, n) - 1];
}

gatehouse::v1::SlaLatency Summarize(std::vector<int64_t> values) {
  gatehouse::v1::SlaLatency out;
  if (values.empty()) return out;
  std::sort(values.begin(), values.end());
  out.set_count(values.size());
  out.set_p50_ns(NearestRank(values, 500));
  out.set_p90_ns(NearestRank(values, 900));
  out.set_p99_ns(NearestRank(values, 990));
  out.set_max_ns(values.back());
  return out;
}

}  // namespace gatehouse::sla

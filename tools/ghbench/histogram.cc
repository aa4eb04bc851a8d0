#include "tools/ghbench/histogram.h"

#include <cmath>

namespace gatehouse::bench {

// Values below 2^kSubBits are counted exactly, one bucket each. Above, a value
// with highest set bit e falls in the 64 sub-buckets of [2^e, 2^(e+1)), each
// 2^(e-6) wide: index = (e - 5) * 64 + (value >> (e - 6)) - 64.

Histogram::Histogram() {
  for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
}

int Histogram::IndexOf(uint64_t value) {
  if (value < (1u << kSubBits)) return static_cast<int>(value);
  const int e = 63 - __builtin_clzll(value);
  const int shift = e - (kSubBits - 1);
  const int sub = static_cast<int>(value >> shift);  // in [64, 128)
  return (e - (kSubBits - 2)) * kHalf + sub - kHalf;
}

uint64_t Histogram::ValueAt(int index) {
  if (index < (1 << kSubBits)) return static_cast<uint64_t>(index);
  const int e = index / kHalf + (kSubBits - 2);
  const int shift = e - (kSubBits - 1);
  const uint64_t sub = static_cast<uint64_t>(index % kHalf + kHalf);
  const uint64_t low = sub << shift;
  const uint64_t width = uint64_t{1} << shift;
  return low + (width - 1) / 2;
}

void Histogram::Record(uint64_t value) {
  counts_[IndexOf(value)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  uint64_t seen = min_.load(std::memory_order_relaxed);
  while (value < seen && !min_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
  seen = max_.load(std::memory_order_relaxed);
  while (value > seen && !max_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

uint64_t Histogram::Min() const {
  uint64_t m = min_.load(std::memory_order_relaxed);
  return m == UINT64_MAX ? 0 : m;
}

double Histogram::Mean() const {
  uint64_t n = Count();
  return n == 0 ? 0.0 : static_cast<double>(sum_.load(std::memory_order_relaxed)) / n;
}

uint64_t Histogram::Percentile(double percent) const {
  uint64_t total = 0;
  for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
  if (total == 0) return 0;
  // The rank of the value wanted, 1-based: ceil(percent% of total).
  uint64_t rank = static_cast<uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(total)));
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i].load(std::memory_order_relaxed);
    if (seen >= rank) {
      // Never report past the largest value actually seen.
      uint64_t v = ValueAt(i);
      return v > Max() ? Max() : v;
    }
  }
  return Max();
}

}  // namespace gatehouse::bench

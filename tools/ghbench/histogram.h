// A latency histogram in the spirit of HdrHistogram: log-linear buckets, so
// that every recorded value is kept within 1/64 (1.6%) of itself from 1 ns to
// the largest uint64, in a fixed 30 KiB of counters. Recording is lock-free.
//
// Example:
//   Histogram h;
//   h.Record(latency_ns);                    // from any thread
//   uint64_t p99 = h.Percentile(99.0);       // once recording has stopped
//
// Thread-safe: Record may be called from many threads at once. Reading
// (Count, Percentile, Mean...) while others record gives a consistent-enough
// snapshot for progress output, and exact figures once they have stopped.
#ifndef GATEHOUSE_TOOLS_GHBENCH_HISTOGRAM_H_
#define GATEHOUSE_TOOLS_GHBENCH_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstdint>

namespace gatehouse::bench {

class Histogram {
 public:
  Histogram();
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Adds one value (nanoseconds, or any unit the caller keeps to).
  void Record(uint64_t value);

  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t Min() const;  // 0 if empty
  uint64_t Max() const { return max_.load(std::memory_order_relaxed); }
  double Mean() const;   // 0 if empty
  // The value at or below which `percent` (0..100] of recorded values lie,
  // to within the bucket's precision; 0 if empty.
  uint64_t Percentile(double percent) const;

 private:
  static constexpr int kSubBits = 7;                      // 128 linear values, then
  static constexpr int kHalf = 1 << (kSubBits - 1);       // 64 sub-buckets a power of two
  static constexpr int kBuckets = (64 - kSubBits + 1) * kHalf + kHalf * 2;

  static int IndexOf(uint64_t value);
  // A representative value (the middle) of bucket `index`.
  static uint64_t ValueAt(int index);

  std::array<std::atomic<uint64_t>, kBuckets> counts_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> min_{UINT64_MAX};
  std::atomic<uint64_t> max_{0};
};

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_TOOLS_GHBENCH_HISTOGRAM_H_

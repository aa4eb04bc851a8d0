// Counters and latency histograms for the admin endpoint, rendered in the
// Prometheus text exposition format. Never a payload, never a key: labels are
// directions, outcomes and reasons from a fixed vocabulary.
//
// Example:
//   metrics.CountRecord("outbound", "delivered");
//   metrics.submit_seconds().Observe(0.0042);
//   std::string text = metrics.Render({{"gatehouse_outbox_depth", "...", 12}});
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_METRICS_H_
#define GATEHOUSE_GATEWAY_METRICS_H_

#include <array>
#include <atomic>
#include <initializer_list>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace gatehouse {

// `v` as a Prometheus label value: backslash, quote and newline escaped.
// Label values come from our own vocabulary, but are escaped anyway.
std::string Escape(absl::string_view v);

// Prometheus labels, `name="value",...` in the order given, each value
// escaped: Labels({{"peer", p}, {"objective", o}}).
std::string Labels(
    std::initializer_list<std::pair<absl::string_view, absl::string_view>> labels);

// A latency histogram with fixed buckets from 100 µs to 10 s.
class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                     0.005,  0.01,    0.025,  0.05,  0.1,
                                                     1.0,    10.0};
  void Observe(double seconds);
  void Render(absl::string_view name, absl::string_view help, std::string* out) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<uint64_t> total_micros_{0};
};

// A value computed when the metrics are scraped.
struct Gauge {
  std::string name;    // e.g. gatehouse_outbox_depth
  std::string help;
  double value = 0;
  std::string labels;  // e.g. file="gateway.crt"; may be empty
  bool counter = false;  // only ever grows: typed counter, named *_total
};

class Metrics {
 public:
  // Counts one record: direction "outbound" or "inbound"; outcome such as
  // "submitted", "delivered", "queued", "denied", "rejected", "received",
  // "duplicate"; reason a short code ("" when none).
  void CountRecord(absl::string_view direction, absl::string_view outcome,
                   absl::string_view reason = "");
  // Counts a refused call by gRPC code name, e.g. "UNAUTHENTICATED".
  void CountRefusal(absl::string_view api, absl::string_view code);
  // Counts a reload of `what` ("directory", "policy", ...) by result.
  void CountReload(absl::string_view what, bool ok);

  // Counts a check of a peer's audit checkpoint by result.
  void CountPeerCheckpoint(absl::string_view peer, absl::string_view result);

  // Counts one DeliverBatch call the outbox sent with `records` envelopes.
  void CountDeliverBatch(size_t records) {
    deliver_batches_.fetch_add(1, std::memory_order_relaxed);
    deliver_batch_records_.fetch_add(records, std::memory_order_relaxed);
  }

  Histogram& submit_seconds() { return submit_seconds_; }
  Histogram& audit_append_seconds() { return audit_append_seconds_; }
  Histogram& deliver_seconds() { return deliver_seconds_; }

  // The whole exposition, counters first, then histograms, then `gauges`.
  std::string Render(const std::vector<Gauge>& gauges) const;

  // The current value of a record counter (for tests).
  uint64_t RecordCount(absl::string_view direction, absl::string_view outcome,
                       absl::string_view reason = "") const;

 private:
  using Key = std::tuple<std::string, std::string, std::string>;
  mutable std::mutex mu_;
  std::map<Key, uint64_t> records_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> refusals_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, bool>, uint64_t> reloads_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> peer_checkpoints_ ABSL_GUARDED_BY(mu_);
  Histogram submit_seconds_;
  Histogram audit_append_seconds_;
  Histogram deliver_seconds_;
  std::atomic<uint64_t> deliver_batches_{0};
  std::atomic<uint64_t> deliver_batch_records_{0};
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_METRICS_H_

// Drives unary gRPC calls to one method with the callback API, keeping a
// fixed number in flight (closed loop) or starting them at a fixed rate
// (open loop), and records what came back.
//
// The request is a serialized message in a grpc::ByteBuffer, sent as is on
// every call (its slices are shared, not copied), so the generator spends its
// CPU on gRPC, not on building messages. Calls go round-robin over the
// channels given, one slot of the in-flight window per channel in turn.
//
// Phases: Start() begins issuing calls (warm-up: nothing is recorded);
// BeginMeasuring() starts recording; StopMeasuring() (or reaching
// `max_recorded`) stops recording and starting calls; WaitIdle() waits for
// the calls still in flight.
//
// Open loop (rate > 0): call i is due at start + i/rate. If every slot is
// busy, the call waits for one, and its latency still counts from when it was
// due, so a stalled server shows as latency instead of silently lowering the
// offered load (no coordinated omission).
//
// Example:
//   LoadGenerator gen(channels, options, check);
//   gen.Start();  sleep(warmup);  gen.BeginMeasuring();
//   sleep(duration);  gen.StopMeasuring();  gen.WaitIdle(absl::Seconds(30));
//   uint64_t p99_ns = gen.latency().Percentile(99);
//
// Thread-safe: the phase calls may come from any thread; gRPC's threads run
// the completions.
#ifndef GATEHOUSE_TOOLS_GHBENCH_LOAD_GENERATOR_H_
#define GATEHOUSE_TOOLS_GHBENCH_LOAD_GENERATOR_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tools/ghbench/histogram.h"

namespace gatehouse::bench {

struct LoadOptions {
  std::string method;          // full name, e.g. "/gatehouse.bench.Echo/Echo"
  grpc::ByteBuffer request;    // sent on every call
  int concurrency = 64;        // most calls in flight
  double rate = 0;             // calls a second (open loop); 0: closed loop
  int64_t timeout_ms = 30000;  // deadline of each call
  uint64_t max_recorded = 0;   // stop after this many recorded calls; 0: no limit
};

// Classifies an OK response: "" if it is as expected, else a short label that
// is counted (e.g. a receipt state "QUEUED", or "wrong-size").
using ResponseCheck = std::function<std::string(const grpc::ByteBuffer& response)>;

// What the measured window saw.
struct LoadResults {
  double window_s = 0;                              // BeginMeasuring to stop
  uint64_t ok = 0;                                  // OK calls completed
  uint64_t errors = 0;                              // non-OK calls completed
  uint64_t warmup_errors = 0;                       // non-OK during warm-up
  std::map<std::string, uint64_t> errors_by_code;   // e.g. {"UNAVAILABLE": 3}
  std::map<std::string, std::string> first_error;   // code -> first message
  std::map<std::string, uint64_t> response_labels;  // from ResponseCheck
  uint64_t issued = 0;                              // calls started in the window
};

class LoadGenerator {
 public:
  // REQUIRES: channels non-empty, options.concurrency >= 1.
  LoadGenerator(std::vector<std::shared_ptr<grpc::Channel>> channels, LoadOptions options,
                ResponseCheck check);
  // Stops issuing and waits for calls in flight (up to their deadline).
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  void Start();
  void BeginMeasuring();
  void StopMeasuring();
  // True once measuring has stopped (by StopMeasuring or max_recorded).
  bool Stopped() const { return phase_.load() == kStopping; }
  // Waits for every call in flight to finish; false on timeout.
  bool WaitIdle(absl::Duration timeout);

  // Latency of OK calls completed in the window, nanoseconds.
  const Histogram& latency() const { return latency_; }
  // OK + non-OK calls recorded so far.
  uint64_t Recorded() const { return recorded_.load(); }
  LoadResults Results() const;

 private:
  enum Phase { kIdle, kWarmup, kMeasuring, kStopping };
  struct Slot {
    grpc::GenericStub* stub = nullptr;
    std::unique_ptr<grpc::ClientContext> context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    int64_t due_ns = 0;  // latency counts from here
  };

  static int64_t NowNs();
  void Issue(Slot* slot, int64_t due_ns);
  void OnDone(Slot* slot, const grpc::Status& status);
  void Record(Slot* slot, const grpc::Status& status, int64_t now_ns);
  void Pace();  // the open-loop thread
  void EnterStopping();

  const LoadOptions options_;
  const ResponseCheck check_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::thread pacer_;

  std::atomic<int> phase_{kIdle};
  std::atomic<int64_t> begin_ns_{0};
  std::atomic<int64_t> stop_ns_{0};
  std::atomic<int64_t> outstanding_{0};  // calls started and not finished
  std::atomic<uint64_t> recorded_{0};
  std::atomic<uint64_t> ok_{0};
  std::atomic<uint64_t> issued_{0};
  std::atomic<uint64_t> warmup_errors_{0};
  std::array<std::atomic<uint64_t>, 17> errors_by_code_{};
  Histogram latency_;

  mutable absl::Mutex mu_;
  std::vector<Slot*> free_ ABSL_GUARDED_BY(mu_);  // open loop only
  std::map<std::string, uint64_t> labels_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::string> first_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_TOOLS_GHBENCH_LOAD_GENERATOR_H_

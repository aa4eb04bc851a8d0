// The figures of one ghbench run, formatted twice: a summary for people and
// one JSON line for scripts (scripts/bench/report.py reads it; keep the field
// names stable).
//
// Example:
//   RunSamples samples = ...;  // taken around the measured window
//   Summary s = Summarise(info, gen.Results(), gen.latency(), samples);
//   std::fputs(s.text.c_str(), stdout);
//
// Thread-safe: a pure function of its arguments (it reads /proc/cpuinfo and
// uname for the machine description).
#ifndef GATEHOUSE_TOOLS_GHBENCH_SUMMARY_H_
#define GATEHOUSE_TOOLS_GHBENCH_SUMMARY_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/ghbench/histogram.h"
#include "tools/ghbench/load_generator.h"
#include "tools/ghbench/proc_stats.h"

namespace gatehouse::bench {

// What was run.
struct RunInfo {
  std::string label, mode, target, method;
  int64_t payload_bytes = 0;
  int concurrency = 0;
  int channels = 0;
  double rate = 0;
  double warmup_s = 0;
};

// A process watched with --watch-pid, sampled at both ends of the window.
struct WatchedProcess {
  pid_t pid = 0;
  absl::StatusOr<ProcessSample> before = absl::NotFoundError("not sampled");
  absl::StatusOr<ProcessSample> after = absl::NotFoundError("not sampled");
};

// Samples taken at both ends of the measured window.
struct RunSamples {
  ProcessSample self_before, self_after;
  MachineSample machine_before, machine_after;
  std::vector<WatchedProcess> watched;
  bool drained = true;  // every call finished after the window
};

struct Summary {
  std::string text;  // several lines, each ending in '\n'
  std::string json;  // one line, no '\n'
};

Summary Summarise(const RunInfo& info, const LoadResults& results, const Histogram& latency,
                  const RunSamples& samples);

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_TOOLS_GHBENCH_SUMMARY_H_

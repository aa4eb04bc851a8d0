// CPU time and memory of processes, read from getrusage and /proc (Linux).
// A benchmark takes a sample before and after its measured window and
// reports the difference: CPU seconds used in the window, and peak RSS.
//
// Example:
//   absl::StatusOr<ProcessSample> before = SampleProcess(pid);
//   ... run ...
//   absl::StatusOr<ProcessSample> after = SampleProcess(pid);
//   double cpu_s = after->cpu_s - before->cpu_s;
//
// Thread-safe: free functions; each reads the files anew.
#ifndef GATEHOUSE_TOOLS_GHBENCH_PROC_STATS_H_
#define GATEHOUSE_TOOLS_GHBENCH_PROC_STATS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace gatehouse::bench {

struct ProcessSample {
  std::string name;         // /proc/<pid>/comm
  double cpu_s = 0;         // user + system CPU since the process started
  int64_t rss_kib = 0;      // VmRSS now
  int64_t peak_rss_kib = 0; // VmHWM: the most resident memory it has had
  int threads = 0;
};

// A sample of another process. NotFound if it has exited or is not visible.
absl::StatusOr<ProcessSample> SampleProcess(pid_t pid);

// A sample of this process (getrusage for CPU, /proc/self for memory).
ProcessSample SampleSelf();

// Busy and total CPU time of the whole machine, seconds summed over cores,
// from the first line of /proc/stat (busy excludes idle and iowait).
struct MachineSample {
  double busy_s = 0;
  double total_s = 0;
};
MachineSample SampleMachine();

// The first "model name" in /proc/cpuinfo, or "unknown".
std::string CpuModel();

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_TOOLS_GHBENCH_PROC_STATS_H_

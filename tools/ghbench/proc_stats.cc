#include "tools/ghbench/proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gatehouse::bench {
namespace {

bool ReadWhole(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

// Reads VmRSS and VmHWM (kB) from a /proc/<pid>/status text.
void ParseStatus(const std::string& status, ProcessSample* s) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    int64_t* field = nullptr;
    if (absl::ConsumePrefix(&line, "VmRSS:")) field = &s->rss_kib;
    if (absl::ConsumePrefix(&line, "VmHWM:")) field = &s->peak_rss_kib;
    if (field == nullptr) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, "kB");
    (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(line), field);
  }
}

}  // namespace

absl::StatusOr<ProcessSample> SampleProcess(pid_t pid) {
  const std::string dir = absl::StrCat("/proc/", pid);
  std::string stat, status, comm;
  if (!ReadWhole(dir + "/stat", &stat) || !ReadWhole(dir + "/status", &status)) {
    return absl::NotFoundError(absl::StrCat("no process ", pid));
  }
  ReadWhole(dir + "/comm", &comm);
  ProcessSample s;
  s.name = std::string(absl::StripAsciiWhitespace(comm));
  // proc(5): fields after the parenthesised name, starting at field 3
  // (state); utime is field 14, stime 15, num_threads 20, in clock ticks.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return absl::DataLossError(dir + "/stat does not parse");
  std::vector<absl::string_view> f =
      absl::StrSplit(absl::string_view(stat).substr(close + 2), ' ', absl::SkipEmpty());
  int64_t utime = 0, stime = 0;
  if (f.size() < 18 || !absl::SimpleAtoi(f[11], &utime) || !absl::SimpleAtoi(f[12], &stime) ||
      !absl::SimpleAtoi(f[17], &s.threads)) {
    return absl::DataLossError(dir + "/stat does not parse");
  }
  s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  ParseStatus(status, &s);
  return s;
}

ProcessSample SampleSelf() {
  ProcessSample s;
  absl::StatusOr<ProcessSample> p = SampleProcess(getpid());
  if (p.ok()) s = *p;
  // getrusage is finer-grained than clock ticks.
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  s.cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
            ru.ru_stime.tv_usec / 1e6;
  return s;
}

MachineSample SampleMachine() {
  MachineSample m;
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;  // "cpu"
  // user nice system idle iowait irq softirq steal
  double v[8] = {0};
  for (double& x : v) in >> x;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  for (double x : v) total += x;
  m.total_s = total / tick;
  m.busy_s = (total - v[3] - v[4]) / tick;
  return m;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "model name")) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
    }
  }
  return "unknown";
}

}  // namespace gatehouse::bench

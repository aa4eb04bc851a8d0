#include "tools/ghbench/summary.h"

#include <sys/utsname.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"

namespace gatehouse::bench {
namespace {

std::string Us(uint64_t ns) { return absl::StrFormat("%.1f", ns / 1000.0); }
std::string F(const char* format, double v) { return absl::StrFormat(format, v); }
const char* Sep(const std::string& s) { return s.empty() ? "" : ","; }

void AddLatency(const RunInfo& info, const LoadResults& r, const Histogram& h, double window,
                Summary* out) {
  out->text = absl::StrFormat(
      "ghbench %s -> %s  %d B, %s, %d in flight, %d channel(s)\n"
      "  window %.2f s: %u ok, %u errors  =>  %.1f calls/s%s\n"
      "  latency us: p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %.1f, n=%u)\n",
      info.mode, info.target, info.payload_bytes,
      info.rate > 0 ? absl::StrFormat("open loop at %.1f/s", info.rate) : "closed loop",
      info.concurrency, info.channels, r.window_s, r.ok, r.errors, r.ok / window,
      info.rate > 0 ? absl::StrFormat(" (started %.1f/s)", r.issued / window) : "",
      Us(h.Percentile(50)), Us(h.Percentile(90)), Us(h.Percentile(99)), Us(h.Percentile(99.9)),
      Us(h.Max()), h.Mean() / 1000.0, h.Count());
  out->json = absl::StrCat(
      "{\"tool\":\"ghbench\",\"label\":", JsonQuote(info.label), ",\"mode\":", JsonQuote(info.mode),
      ",\"target\":", JsonQuote(info.target), ",\"method\":", JsonQuote(info.method),
      ",\"payload_bytes\":", info.payload_bytes, ",\"concurrency\":", info.concurrency,
      ",\"channels\":", info.channels, ",\"rate\":", info.rate, ",\"warmup_s\":", info.warmup_s,
      ",\"window_s\":", F("%.3f", r.window_s), ",\"ok\":", r.ok, ",\"errors\":", r.errors,
      ",\"warmup_errors\":", r.warmup_errors, ",\"issued\":", r.issued,
      ",\"throughput_per_s\":", F("%.1f", r.ok / window),
      ",\"latency_us\":{\"min\":", Us(h.Min()), ",\"mean\":", F("%.1f", h.Mean() / 1000.0),
      ",\"p50\":", Us(h.Percentile(50)), ",\"p90\":", Us(h.Percentile(90)),
      ",\"p99\":", Us(h.Percentile(99)), ",\"p999\":", Us(h.Percentile(99.9)),
      ",\"max\":", Us(h.Max()), "}");
}

void AddOutcomes(const LoadResults& r, Summary* out) {
  std::string codes, firsts, labels;
  for (const auto& [code, n] : r.errors_by_code) {
    const auto it = r.first_error.find(code);
    const std::string first = it == r.first_error.end() ? "" : it->second;
    absl::StrAppend(&codes, Sep(codes), JsonQuote(code), ":", n);
    absl::StrAppend(&firsts, Sep(firsts), JsonQuote(code), ":", JsonQuote(first));
    absl::StrAppend(&out->text, "  errors: ", code, " ", n, " (first: ", first, ")\n");
  }
  for (const auto& [label, n] : r.response_labels) {
    absl::StrAppend(&labels, Sep(labels), JsonQuote(label), ":", n);
    absl::StrAppend(&out->text, "  responses: ", label, " ", n, "\n");
  }
  absl::StrAppend(&out->json, ",\"errors_by_code\":{", codes, "},\"first_error\":{", firsts,
                  "},\"responses\":{", labels, "}");
}

void AddCpu(const RunSamples& s, double window, double calls, Summary* out) {
  const double self = s.self_after.cpu_s - s.self_before.cpu_s;
  const double busy = (s.machine_after.busy_s - s.machine_before.busy_s) / window;
  absl::StrAppend(&out->text, absl::StrFormat(
      "  cpu: ghbench %.2f cores (%.1f us/call), peak RSS %.1f MiB; machine busy %.2f of %u cores\n",
      self / window, self * 1e6 / calls, s.self_after.peak_rss_kib / 1024.0, busy,
      std::thread::hardware_concurrency()));
  absl::StrAppend(&out->json, ",\"cpu\":{\"self_cores\":", F("%.3f", self / window),
                  ",\"self_us_per_call\":", F("%.1f", self * 1e6 / calls),
                  ",\"self_peak_rss_kib\":", s.self_after.peak_rss_kib,
                  ",\"machine_busy_cores\":", F("%.3f", busy), "}");
  std::string watched;
  for (const WatchedProcess& w : s.watched) {
    if (!w.before.ok() || !w.after.ok()) {
      absl::StrAppend(&out->text, "  pid ", w.pid, ": not sampled (",
                      (w.before.ok() ? w.after : w.before).status().message(), ")\n");
      absl::StrAppend(&watched, Sep(watched), "{\"pid\":", w.pid, ",\"error\":\"gone\"}");
      continue;
    }
    const double cpu = w.after->cpu_s - w.before->cpu_s;
    absl::StrAppend(&out->text, absl::StrFormat(
        "  pid %d %s: %.2f cores (%.1f us/call), peak RSS %.1f MiB, RSS %.1f MiB, %d threads\n",
        w.pid, w.after->name, cpu / window, cpu * 1e6 / calls, w.after->peak_rss_kib / 1024.0,
        w.after->rss_kib / 1024.0, w.after->threads));
    absl::StrAppend(&watched, Sep(watched), "{\"pid\":", w.pid,
                    ",\"name\":", JsonQuote(w.after->name), ",\"cores\":", F("%.3f", cpu / window),
                    ",\"us_per_call\":", F("%.1f", cpu * 1e6 / calls),
                    ",\"peak_rss_kib\":", w.after->peak_rss_kib, ",\"rss_kib\":", w.after->rss_kib,
                    ",\"threads\":", w.after->threads, "}");
  }
  absl::StrAppend(&out->json, ",\"watched\":[", watched, "]");
}

}  // namespace

Summary Summarise(const RunInfo& info, const LoadResults& results, const Histogram& latency,
                  const RunSamples& samples) {
  const double window = results.window_s > 0 ? results.window_s : 1e-9;
  const double calls = results.ok > 0 ? static_cast<double>(results.ok) : 1.0;
  Summary out;
  AddLatency(info, results, latency, window, &out);
  AddOutcomes(results, &out);
  AddCpu(samples, window, calls, &out);
  struct utsname un;
  uname(&un);
  absl::StrAppend(&out.json, ",\"drained\":", samples.drained ? "true" : "false",
                  ",\"machine\":{\"nproc\":", std::thread::hardware_concurrency(),
                  ",\"cpu_model\":", JsonQuote(CpuModel()),
                  ",\"kernel\":", JsonQuote(absl::StrCat(un.sysname, " ", un.release)), "}}");
  if (!samples.drained) {
    absl::StrAppend(&out.text, "  warning: calls still in flight after the window\n");
  }
  return out;
}

}  // namespace gatehouse::bench

// Benchmark (not a test): durable appends to the audit log. Every figure
// counts only acknowledged appends, and an append is acknowledged only once
// its group commit's fdatasync has returned.
//   1. many concurrent blocking appenders (threads calling Append);
//   2. many concurrent asynchronous appenders (AppendAsync, as an async
//      server would: producers keep up to `window` appends in flight each);
//   3. one appender alone: latency p50/p99 (one fdatasync per entry).
// Usage: audit_append_benchmark [threads=256] [entries=300000] [producers=4] [window=4096]
// Figures and commands: docs/benchmarks/audit.md.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "audit/audit_log.h"
#include "tests/audit/audit_test_util.h"

using namespace gatehouse::audit;
using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<AuditLog> OpenLog(const std::string& dir) {
  auto signer = std::make_shared<NoteSigner>(*NoteSigner::Generate("bench.example/audit", kSigTypeEd25519));
  AuditLogOptions o;
  o.signer = signer;
  o.checkpoint_every_entries = 10000;
  o.checkpoint_interval = absl::Seconds(1);
  auto log = AuditLog::Open(dir, o);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", std::string(log.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(log);
}

void PrintStats(const char* what, AuditLog& log, uint64_t n, double secs, const AuditLogStats& before) {
  AuditLogStats st = log.stats();
  const uint64_t batches = st.batches - before.batches;
  std::printf("%s: %llu entries in %.2f s = %.0f durable entries/s "
              "(%llu group commits, mean batch %.0f, mean fdatasync %.0f us)\n",
              what, static_cast<unsigned long long>(n), secs, n / secs,
              static_cast<unsigned long long>(batches), double(st.appended - before.appended) / batches,
              (st.sync_nanos - before.sync_nanos) / 1e3 / batches);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 256;
  const uint64_t entries = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 300000;
  const int producers = argc > 3 ? std::atoi(argv[3]) : 4;
  const int64_t window = argc > 4 ? std::atoll(argv[4]) : 4096;
  testing::ScratchDir scratch;
  auto log = OpenLog(scratch.Sub("log"));
  // Entries are built before the clock starts: the log's cost is measured,
  // not the caller's protobuf construction.
  std::vector<gatehouse::v1::AuditEntry> prebuilt;
  for (int i = 0; i < 1024; ++i) prebuilt.push_back(testing::MakeEntry(i));
  std::printf("entry size ~%zu bytes\n", prebuilt[0].ByteSizeLong());

  // 1. Blocking appenders.
  {
    std::atomic<uint64_t> next{0};
    std::atomic<bool> failed{false};
    AuditLogStats before = log->stats();
    auto start = Clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&] {
        uint64_t i;
        while ((i = next.fetch_add(1)) < entries) {
          if (!log->Append(prebuilt[i % prebuilt.size()]).ok()) failed = true;
        }
      });
    }
    for (auto& t : ts) t.join();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (failed) return 1;
    char what[64];
    std::snprintf(what, sizeof(what), "blocking, %d threads", threads);
    PrintStats(what, *log, entries, secs, before);
  }

  // 2. Asynchronous appenders.
  {
    std::atomic<uint64_t> acked{0};
    std::atomic<bool> failed{false};
    AuditLogStats before = log->stats();
    auto start = Clock::now();
    std::vector<std::thread> ts;
    const uint64_t per = entries / producers;
    for (int p = 0; p < producers; ++p) {
      ts.emplace_back([&] {
        absl::Mutex mu;
        int64_t in_flight = 0;
        struct Room {
          const int64_t* in_flight;
          int64_t window;
          bool Free() const { return *in_flight < window; }
        } room{&in_flight, window};
        for (uint64_t i = 0; i < per; ++i) {
          {
            absl::MutexLock lock(&mu);
            mu.Await(absl::Condition(&room, &Room::Free));
            ++in_flight;
          }
          log->AppendAsync(prebuilt[i % prebuilt.size()], [&](absl::StatusOr<uint64_t> r) {
            if (!r.ok()) failed = true;
            acked.fetch_add(1);
            absl::MutexLock lock(&mu);
            --in_flight;
          });
        }
        absl::MutexLock lock(&mu);
        mu.Await(absl::Condition(+[](int64_t* n) { return *n == 0; }, &in_flight));
      });
    }
    for (auto& t : ts) t.join();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (failed || acked != per * producers) return 1;
    char what[96];
    std::snprintf(what, sizeof(what), "async, %d producers x %lld in flight", producers,
                  static_cast<long long>(window));
    PrintStats(what, *log, per * producers, secs, before);
  }

  // 3. One appender alone.
  {
    const int kSingle = 2000;
    std::vector<double> lat;
    AuditLogStats before = log->stats();
    auto start = Clock::now();
    for (int i = 0; i < kSingle; ++i) {
      auto t0 = Clock::now();
      if (!log->Append(prebuilt[i % prebuilt.size()]).ok()) return 1;
      lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::sort(lat.begin(), lat.end());
    PrintStats("single appender", *log, kSingle, secs, before);
    std::printf("single appender latency: p50 %.0f us, p99 %.0f us, max %.0f us\n", lat[lat.size() / 2],
                lat[lat.size() * 99 / 100], lat.back());
  }
  std::printf("checkpoints signed: %llu; log size %llu\n",
              static_cast<unsigned long long>(log->stats().checkpoints),
              static_cast<unsigned long long>(log->Size()));
  return 0;
}

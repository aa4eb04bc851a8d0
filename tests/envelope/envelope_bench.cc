// Envelope benchmark: per-record and batch mode, sealed+signed and
// opened+verified, at one record size, on one thread; prints records a
// second of CPU time for each and the batch/per-record ratio, measured side
// by side in one run. With --stream-mib=N it instead seals and opens one
// N MiB streamed record file to file and prints the peak resident memory.
//
// Usage: envelope_bench [--size=1024] [--records=200000] [--batch=1024]
//                       [--repeat=3] [--stream-mib=0] [--dir=/tmp]
// Each round measures both modes; the best round of each is reported, since
// on a shared machine the slow rounds measure the neighbours.
// Not a test: ctest does not run it.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "envelope/batch_sealer.h"
#include "envelope/keyset.h"
#include "envelope/opener.h"
#include "envelope/sealer.h"
#include "envelope/stream.h"

namespace gatehouse::envelope {
namespace {

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

long PeakRssKiB() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

RecordLabels Labels(size_t i) {
  RecordLabels l;
  l.record_id = "rec-" + std::to_string(i);
  l.sender_org = "nhs-trust-a";
  l.recipient_org = "council-a";
  l.record_type = "discharge_summary";
  l.classification = "OFFICIAL-SENSITIVE";
  l.caveats = {"MEDICAL", "PERSONAL"};
  l.purpose = "direct_care";
  l.created_unix_ms = 1764331200000;
  l.content_type = "application/fhir+json";
  return l;
}

struct Figures {
  double seal_per_s, open_per_s;
};

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
  return 1;
}

struct Setup {
  std::shared_ptr<Keyset> health, council;
  RecipientKey to;
  std::vector<VerifyingKey> keys;
  std::vector<RecordLabels> labels;
  std::string payload;
};

// Per-record mode on `n` records; returns {seal/s, open/s}.
absl::StatusOr<Figures> PerRecord(const Setup& s, size_t n) {
  auto sealer = *Sealer::Create(s.health);
  auto opener = *Opener::Create(s.council);
  std::vector<std::string> envs(n);
  const double t0 = CpuSeconds();
  for (size_t i = 0; i < n; ++i) {
    auto e = sealer->Seal(s.labels[i], s.to, s.payload);
    if (!e.ok()) return e.status();
    envs[i] = *std::move(e);
  }
  const double t1 = CpuSeconds();
  for (size_t i = 0; i < n; ++i) {
    auto r = opener->Open(envs[i], {"nhs-trust-a", "council-a"}, s.keys);
    if (!r.ok()) return r.status();
  }
  const double t2 = CpuSeconds();
  return Figures{n / (t1 - t0), n / (t2 - t1)};
}

// Batch mode on every record, with a fresh BatchSealer and Opener.
absl::StatusOr<Figures> Batched(const Setup& s, size_t batch_size) {
  BatchSealerOptions options;
  options.max_batch_records = batch_size;
  auto batch = *BatchSealer::Create(s.health, options);
  auto opener = *Opener::Create(s.council);
  const size_t records = s.labels.size();
  std::vector<std::string> envs;
  envs.reserve(records);
  // The sending gateway writes each finished batch out and reuses the
  // vector; only Add and Finish are timed, the copy to `envs` (standing in
  // for the outbox write) is not.
  std::vector<std::string> finished;
  double seal_cpu = 0;
  for (size_t i = 0; i < records;) {
    const double t0 = CpuSeconds();
    for (size_t j = 0; j < batch_size && i < records; ++j, ++i) {
      if (absl::Status st = batch->Add(s.labels[i], s.to, s.payload); !st.ok()) return st;
    }
    batch->Finish(&finished);
    seal_cpu += CpuSeconds() - t0;
    envs.insert(envs.end(), finished.begin(), finished.end());
  }
  const double t1 = CpuSeconds();
  for (size_t i = 0; i < records; ++i) {
    auto r = opener->Open(envs[i], {"nhs-trust-a", "council-a"}, s.keys);
    if (!r.ok()) return r.status();
  }
  const double t2 = CpuSeconds();
  return Figures{records / seal_cpu, records / (t2 - t1)};
}

int Run(size_t size, size_t records, size_t batch_size, int repeat) {
  Setup s;
  s.health = std::make_shared<Keyset>(*Keyset::Generate("nhs-trust-a", Keyset::Kind::kGateway, absl::Now()));
  s.council = std::make_shared<Keyset>(*Keyset::Generate("council-a", Keyset::Kind::kGateway, absl::Now()));
  s.to = *s.council->PrimaryRecipientKey();
  s.keys = s.health->VerifyingKeys();
  s.payload.assign(size, 'x');
  for (size_t i = 0; i < records; ++i) s.labels.push_back(Labels(i));
  // Per-record mode is about fifteen times slower: a twentieth as many.
  const size_t single_n = std::max<size_t>(records / 20, 100);

  std::printf("payload %zu bytes, batch %zu records, one thread, CPU time; %d rounds, "
              "each per-record (%zu records) then batch (%zu records)\n",
              size, batch_size, repeat, single_n, records);
  std::printf("%-8s %14s %14s %14s %14s\n", "round", "record seal/s", "record open/s", "batch seal/s",
              "batch open/s");
  Figures best_single{0, 0}, best_batch{0, 0};
  for (int round = 1; round <= repeat; ++round) {
    auto single = PerRecord(s, single_n);
    if (!single.ok()) return Fail(single.status());
    auto batched = Batched(s, batch_size);
    if (!batched.ok()) return Fail(batched.status());
    std::printf("%-8d %14.0f %14.0f %14.0f %14.0f\n", round, single->seal_per_s, single->open_per_s,
                batched->seal_per_s, batched->open_per_s);
    best_single = {std::max(best_single.seal_per_s, single->seal_per_s),
                   std::max(best_single.open_per_s, single->open_per_s)};
    best_batch = {std::max(best_batch.seal_per_s, batched->seal_per_s),
                  std::max(best_batch.open_per_s, batched->open_per_s)};
  }
  std::printf("\nbest of %d rounds\n", repeat);
  std::printf("%-22s %14s %14s\n", "mode", "seal+sign/s", "open+verify/s");
  std::printf("%-22s %14.0f %14.0f\n", "per-record", best_single.seal_per_s, best_single.open_per_s);
  std::printf("%-22s %14.0f %14.0f\n", "batch", best_batch.seal_per_s, best_batch.open_per_s);
  std::printf("%-22s %14.1f %14.1f\n", "ratio batch/per-record",
              best_batch.seal_per_s / best_single.seal_per_s, best_batch.open_per_s / best_single.open_per_s);
  std::printf("per record: per-record mode %.1f us seal, %.1f us open; batch %.2f us seal, %.2f us open\n",
              1e6 / best_single.seal_per_s, 1e6 / best_single.open_per_s, 1e6 / best_batch.seal_per_s,
              1e6 / best_batch.open_per_s);
  auto sealer = *Sealer::Create(s.health);
  auto batch = *BatchSealer::Create(s.health, [&] {
    BatchSealerOptions o;
    o.max_batch_records = batch_size;
    return o;
  }());
  for (size_t i = 0; i < batch_size; ++i) (void)batch->Add(s.labels[0], s.to, s.payload);
  std::printf("envelope size at %zu bytes: per-record %zu, batch %zu bytes\n", size,
              sealer->Seal(s.labels[0], s.to, s.payload)->size(), batch->Finish()[0].size());
  return 0;
}

// Seals and opens one `mib` MiB record file to file; reports peak RSS. Run
// on its own so that the batch figures' memory does not count.
int RunStream(size_t mib, const std::string& dir) {
  auto health = std::make_shared<Keyset>(*Keyset::Generate("nhs-trust-a", Keyset::Kind::kGateway, absl::Now()));
  auto council = std::make_shared<Keyset>(*Keyset::Generate("council-a", Keyset::Kind::kGateway, absl::Now()));
  const std::string plain_path = dir + "/gh-bench-plain", sealed_path = dir + "/gh-bench-sealed",
                    opened_path = dir + "/gh-bench-opened";
  {
    auto sink = *FileSink::Create(plain_path);
    std::string block(1 << 20, '\0');
    for (size_t i = 0; i < mib; ++i) {
      for (size_t j = 0; j < block.size(); ++j) block[j] = static_cast<char>(i + j * 7);
      if (absl::Status s = sink->Write(block); !s.ok()) return Fail(s);
    }
    if (absl::Status s = sink->Close(); !s.ok()) return Fail(s);
  }
  const long rss_before = PeakRssKiB();
  auto sealer = *StreamSealer::Create(health);
  auto opener = *StreamOpener::Create(council);
  const absl::Time w0 = absl::Now();
  double t0 = CpuSeconds();
  {
    auto in = *FileSource::Open(plain_path);
    auto out = *FileSink::Create(sealed_path);
    if (absl::Status s = sealer->Seal(Labels(0), *council->PrimaryRecipientKey(), in.get(), out.get()); !s.ok()) return Fail(s);
    if (absl::Status s = out->Close(); !s.ok()) return Fail(s);
  }
  double t1 = CpuSeconds();
  const absl::Time w1 = absl::Now();
  {
    auto in = *FileSource::Open(sealed_path);
    auto out = *FileSink::Create(opened_path);
    auto h = opener->Open(in.get(), {"nhs-trust-a", "council-a"}, health->VerifyingKeys(), out.get());
    if (!h.ok()) return Fail(h.status());
    if (absl::Status s = out->Close(); !s.ok()) return Fail(s);
  }
  double t2 = CpuSeconds();
  const absl::Time w2 = absl::Now();
  std::printf("streamed %zu MiB: seal %.2f s CPU (%.2f s wall), open (verify pass + decrypt pass) %.2f s CPU (%.2f s wall)\n",
              mib, t1 - t0, absl::ToDoubleSeconds(w1 - w0), t2 - t1, absl::ToDoubleSeconds(w2 - w1));
  std::printf("peak RSS %.1f MiB (before sealing %.1f MiB)\n", PeakRssKiB() / 1024.0, rss_before / 1024.0);
  // Compare the opened file with the original, a MiB at a time.
  auto a = *FileSource::Open(plain_path);
  auto b = *FileSource::Open(opened_path);
  std::string x(1 << 20, '\0'), y(1 << 20, '\0');
  for (;;) {
    const size_t n = *ReadFull(a.get(), x.data(), x.size());
    const size_t m = *ReadFull(b.get(), y.data(), y.size());
    if (n != m || x.compare(0, n, y, 0, m) != 0) {
      std::fprintf(stderr, "opened file differs from the original\n");
      return 1;
    }
    if (n == 0) break;
  }
  std::printf("opened file matches the original\n");
  std::remove(plain_path.c_str());
  std::remove(sealed_path.c_str());
  std::remove(opened_path.c_str());
  return 0;
}

}  // namespace
}  // namespace gatehouse::envelope

int main(int argc, char** argv) {
  size_t size = 1024, records = 200000, batch = 1024, stream_mib = 0;
  int repeat = 3;
  std::string dir = "/tmp";
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--size=", 7) == 0) size = std::strtoul(a + 7, nullptr, 10);
    else if (std::strncmp(a, "--records=", 10) == 0) records = std::strtoul(a + 10, nullptr, 10);
    else if (std::strncmp(a, "--batch=", 8) == 0) batch = std::strtoul(a + 8, nullptr, 10);
    else if (std::strncmp(a, "--stream-mib=", 13) == 0) stream_mib = std::strtoul(a + 13, nullptr, 10);
    else if (std::strncmp(a, "--dir=", 6) == 0) dir = a + 6;
    else if (std::strncmp(a, "--repeat=", 9) == 0) repeat = std::max(1, std::atoi(a + 9));
    else {
      std::fprintf(stderr, "usage: %s [--size=N] [--records=N] [--batch=N] [--repeat=N] [--stream-mib=N] [--dir=D]\n", argv[0]);
      return 2;
    }
  }
  if (stream_mib > 0) return gatehouse::envelope::RunStream(stream_mib, dir);
  return gatehouse::envelope::Run(size, records, batch, repeat);
}

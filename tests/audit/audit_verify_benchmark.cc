// Benchmark (not a test): `auditctl verify`'s work, VerifyLog from genesis,
// over a log of N entries (default 1,000,000), built first by concurrent
// asynchronous appends with checkpoints every 10,000 entries.
// Usage: audit_verify_benchmark [entries=1000000] [dir]
// If `dir` already holds a log it is verified as is.
#include <atomic>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "audit/log_verifier.h"
#include "tests/audit/audit_test_util.h"

using namespace gatehouse::audit;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const uint64_t entries = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  testing::ScratchDir scratch;
  const std::string dir = argc > 2 ? std::string(argv[2]) : scratch.Sub("log");
  auto signer = std::make_shared<NoteSigner>(*NoteSigner::Generate("bench.example/audit", kSigTypeEd25519));
  NoteVerifier verifier = NoteVerifier::FromPublicKey(signer->name(), kSigTypeEd25519, signer->public_key());
  const bool existing = std::filesystem::exists(dir);
  if (!existing) {
    AuditLogOptions o;
    o.signer = signer;
    o.checkpoint_every_entries = 10000;
    auto log = AuditLog::Open(dir, o);
    if (!log.ok()) return 1;
    auto start = Clock::now();
    // Distinct entries (record ids differ), appended asynchronously in
    // windows of 20,000 so the build takes seconds, not minutes.
    std::atomic<uint64_t> acked{0};
    for (uint64_t i = 0; i < entries; ++i) {
      while (i - acked.load() >= 20000) std::this_thread::yield();
      (*log)->AppendAsync(testing::MakeEntry(i), [&](absl::StatusOr<uint64_t> r) {
        if (!r.ok()) std::abort();
        acked.fetch_add(1);
      });
    }
    while (acked.load() < entries) std::this_thread::yield();
    if (!(*log)->Close().ok()) return 1;
    std::printf("built %llu entries in %.2f s\n", static_cast<unsigned long long>((*log)->Size()),
                std::chrono::duration<double>(Clock::now() - start).count());
  }
  VerifyOptions vo;
  vo.log_key = existing ? nullptr : &verifier;
  auto start = Clock::now();
  absl::StatusOr<VerifyReport> r = VerifyLog(dir, vo);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  if (!r.ok()) {
    std::fprintf(stderr, "verify failed: %s\n", std::string(r.status().message()).c_str());
    return 1;
  }
  std::printf("verified %llu entries, %llu segments, %llu checkpoints (signatures %s) in %.2f s = %.0f entries/s\n",
              static_cast<unsigned long long>(r->entries), static_cast<unsigned long long>(r->segments),
              static_cast<unsigned long long>(r->checkpoints), r->signatures_checked ? "checked" : "not checked",
              secs, r->entries / secs);
  return 0;
}

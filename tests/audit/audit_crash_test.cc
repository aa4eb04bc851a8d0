// Crash safety: a child process appends from many threads and reports each
// acknowledged index over a pipe; the parent SIGKILLs it mid-stream, reopens
// the log and checks that every acknowledged entry is present and intact,
// that the log still verifies from genesis, and that it keeps working. Done
// several rounds on the same directory, with checkpoints being signed in the
// background while the kill lands.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "audit/log_verifier.h"
#include "gtest/gtest.h"
#include "tests/audit/audit_test_util.h"

namespace gatehouse::audit {
namespace {

struct Ack {
  uint64_t index;
  uint64_t tag;  // the entry's MakeEntry argument
};

AuditLogOptions Options(std::shared_ptr<const NoteSigner> signer) {
  AuditLogOptions o;
  o.signer = std::move(signer);
  o.checkpoint_every_entries = 300;
  o.checkpoint_interval = absl::Milliseconds(5);
  o.segment_bytes = 64 << 10;  // several segment boundaries per round
  return o;
}

[[noreturn]] void RunWriter(const std::string& dir, std::shared_ptr<const NoteSigner> signer,
                            int fd, uint64_t tag_base) {
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(dir, Options(signer));
  if (!log.ok()) _exit(2);
  std::atomic<uint64_t> next{tag_base};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      while (true) {
        const uint64_t tag = next.fetch_add(1);
        absl::StatusOr<uint64_t> idx = (*log)->Append(testing::MakeEntry(tag));
        if (!idx.ok()) _exit(3);
        Ack a{*idx, tag};
        if (write(fd, &a, sizeof(a)) != sizeof(a)) _exit(4);
      }
    });
  }
  for (auto& t : threads) t.join();
  _exit(0);
}

TEST(AuditCrashTest, SigkillMidStreamLosesNoAcknowledgedEntry) {
  testing::ScratchDir dir;
  auto signer = std::make_shared<NoteSigner>(*NoteSigner::Generate("gatehouse.test/crash", kSigTypeEd25519));
  NoteVerifier verifier = NoteVerifier::FromPublicKey(signer->name(), kSigTypeEd25519, signer->public_key());
  std::vector<Ack> acked;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunWriter(dir.path(), signer, fds[1], uint64_t{1000000} * (round + 1));
    }
    close(fds[1]);
    // Let it run until it has acknowledged a few thousand entries, then kill.
    size_t got_this_round = 0;
    const size_t kill_after = 1500 + 700 * round;
    Ack a;
    while (got_this_round < kill_after && read(fds[0], &a, sizeof(a)) == sizeof(a)) {
      acked.push_back(a);
      ++got_this_round;
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited early with " << WEXITSTATUS(status);
    // Acks written before the kill are acknowledged too.
    while (read(fds[0], &a, sizeof(a)) == sizeof(a)) acked.push_back(a);
    close(fds[0]);
    ASSERT_GT(got_this_round, 0u);

    absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(dir.path(), Options(signer));
    ASSERT_TRUE(log.ok()) << "round " << round << ": " << log.status();
    const uint64_t size = (*log)->Size();
    for (const Ack& ack : acked) {
      ASSERT_LT(ack.index, size) << "acknowledged entry lost in round " << round;
    }
    // Spot-check contents of the acknowledged entries of this round.
    for (size_t i = acked.size() - got_this_round; i < acked.size(); i += 97) {
      absl::StatusOr<gatehouse::v1::AuditEntry> e = (*log)->ReadEntry(acked[i].index);
      ASSERT_TRUE(e.ok()) << e.status();
      EXPECT_EQ(e->record_id(), testing::MakeEntry(acked[i].tag).record_id());
    }
    ASSERT_TRUE((*log)->Close().ok());
    VerifyOptions vo;
    vo.log_key = &verifier;
    absl::StatusOr<VerifyReport> r = VerifyLog(dir.path(), vo);
    ASSERT_TRUE(r.ok()) << "round " << round << ": " << r.status();
    EXPECT_EQ(r->entries, size);
  }
}

}  // namespace
}  // namespace gatehouse::audit

// The Auditor's notes (entries nothing waits on) when the disk is full: held
// and appended once there is space, never a silent gap in the trail.
#include "gateway/auditor.h"

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "audit/audit_log.h"
#include "gateway/metrics.h"
#include "gtest/gtest.h"
#include "tests/audit/audit_test_util.h"
#include "tests/common/small_tmpfs.h"

namespace gatehouse {
namespace {

v1::AuditEntry Entry(const std::string& record_id, size_t reason_bytes) {
  v1::AuditEntry e;
  e.set_event(v1::AUDIT_EVENT_DELIVERED);
  e.set_record_id(record_id);
  e.set_sender_org("council-a");
  e.set_recipient_org("nhs-trust-a");
  e.set_reason(std::string(reason_bytes, 'r'));
  return e;
}

template <typename F>
bool Eventually(F f) {
  for (int i = 0; i < 500; ++i) {
    if (f()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return f();
}

// An audit log on a small filesystem of the test's own, and its Auditor.
class AuditorTest : public ::testing::Test {
 protected:
  // False, with why_ set, where a tmpfs cannot be mounted (not root).
  bool Open(const std::string& size) {
    const std::string dir = scratch_.Sub("audit");
    std::filesystem::create_directories(dir);
    small_ = testing::SmallTmpfs::Mount(dir, size, &why_);
    if (small_ == nullptr) return false;
    absl::StatusOr<std::unique_ptr<audit::AuditLog>> log =
        audit::AuditLog::Open(dir, audit::AuditLogOptions());
    EXPECT_TRUE(log.ok()) << log.status();
    if (!log.ok()) return false;
    log_ = *std::move(log);
    auditor_ = std::make_unique<Auditor>(log_.get(), "council-a", &metrics_.audit_append_seconds());
    return true;
  }
  // Appends entries somebody waits on until the disk refuses one; returns
  // how many were taken.
  uint64_t Fill() {
    uint64_t n = 0;
    for (; n < 100; ++n) {
      absl::StatusOr<uint64_t> index = auditor_->Append(Entry("filler", 48 << 10));
      if (!index.ok()) {
        EXPECT_TRUE(absl::IsResourceExhausted(index.status())) << index.status();
        break;
      }
    }
    EXPECT_LT(n, 100u) << "the disk never filled";
    return n;
  }
  void TearDown() override {
    if (log_) EXPECT_TRUE(log_->Close().ok());
  }

  audit::testing::ScratchDir scratch_;
  std::string why_;
  std::unique_ptr<testing::SmallTmpfs> small_;
  std::unique_ptr<audit::AuditLog> log_;
  Metrics metrics_;
  std::unique_ptr<Auditor> auditor_;
};

TEST_F(AuditorTest, ANoteRefusedByAFullDiskIsHeldAndWrittenOnceThereIsSpace) {
  if (!Open("256k")) GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << why_;
  const uint64_t n = Fill();
  ASSERT_EQ(log_->Size(), n);

  // A note nobody waits on meets the full disk: held, nothing written.
  auditor_->Note(Entry("delivered-1", 48 << 10));
  ASSERT_TRUE(Eventually([&] { return auditor_->held() == 1; }));
  EXPECT_EQ(log_->Size(), n);
  auditor_->RetryHeld();  // still full: refused again, still held
  ASSERT_TRUE(Eventually([&] { return auditor_->held() == 1 && auditor_->pending() == 0; }));
  EXPECT_EQ(log_->Size(), n);

  // Space returns: the next try (at most a second later) writes it.
  ASSERT_TRUE(small_->Resize("8m"));
  ASSERT_TRUE(Eventually([&] {
    auditor_->RetryHeld();
    return log_->Size() == n + 1;
  }));
  EXPECT_EQ(auditor_->held(), 0u);
  absl::StatusOr<v1::AuditEntry> written = log_->ReadEntry(n);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->record_id(), "delivered-1");
  EXPECT_EQ(written->gateway_id(), "council-a");
}

// AppendAll for a change already made (an Ack stored before it is audited):
// the caller hears of the refusal, and the entries are held all the same.
TEST_F(AuditorTest, AppendAllHoldingRefusedEntriesWritesThemOnceThereIsSpace) {
  if (!Open("256k")) GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << why_;
  const uint64_t n = Fill();
  std::vector<v1::AuditEntry> acked = {Entry("acked-1", 48 << 10), Entry("acked-2", 48 << 10)};
  absl::Status s = auditor_->AppendAll(acked, /*hold_refused=*/true);
  ASSERT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_EQ(auditor_->held(), 2u);
  EXPECT_EQ(log_->Size(), n);
  ASSERT_TRUE(small_->Resize("8m"));
  ASSERT_TRUE(Eventually([&] {
    auditor_->RetryHeld();
    return log_->Size() == n + 2;
  }));
  std::set<std::string> written;
  for (uint64_t i = n; i < n + 2; ++i) written.insert(log_->ReadEntry(i)->record_id());
  EXPECT_EQ(written, std::set<std::string>({"acked-1", "acked-2"}));
}

// Entries somebody waits on are not held: the caller gets the refusal and
// answers for it (a Submit is refused and retried by its client).
TEST_F(AuditorTest, ARecordRefusedByAFullDiskIsNotHeld) {
  if (!Open("128k")) GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << why_;
  const uint64_t n = Fill();
  EXPECT_EQ(log_->Size(), n);
  EXPECT_EQ(auditor_->held(), 0u);
  EXPECT_GE(auditor_->failures(), 1);
}

// RecordVia (one commit a record, gateway/joint_commit.h): the entry is
// stamped and observed as Record's would be; an append withdrawn with its
// record (Cancelled) is neither observed nor a failure; any other error is.
TEST(AuditorRecordViaTest, StampsObservesAndCountsOnlyRealFailures) {
  Metrics metrics;
  Auditor auditor(nullptr, "council-a", &metrics.audit_append_seconds());
  std::vector<std::pair<uint64_t, std::string>> observed;
  auditor.SetObserver([&observed](uint64_t index, const v1::AuditEntry& e) {
    observed.emplace_back(index, e.gateway_id());
  });
  auto answering = [](absl::StatusOr<uint64_t> answer) {
    return [answer](const v1::AuditEntry& stamped, Auditor::Done done) {
      EXPECT_EQ(stamped.gateway_id(), "council-a");
      EXPECT_NE(stamped.time_unix_ns(), 0);
      done(answer);
    };
  };
  absl::StatusOr<uint64_t> got;
  auto keep = [&got](absl::StatusOr<uint64_t> i) { got = i; };
  auditor.RecordVia(Entry("r1", 0), answering(5), keep);
  EXPECT_EQ(got.value_or(0), 5u);
  auditor.RecordVia(Entry("r2", 0), answering(absl::CancelledError("withdrawn")), keep);
  EXPECT_TRUE(absl::IsCancelled(got.status()));
  EXPECT_EQ(auditor.failures(), 0);
  auditor.RecordVia(Entry("r3", 0), answering(absl::UnavailableError("down")), keep);
  EXPECT_TRUE(absl::IsUnavailable(got.status()));
  EXPECT_EQ(auditor.failures(), 1);
  EXPECT_EQ(observed, (std::vector<std::pair<uint64_t, std::string>>{{5, "council-a"}}));
  EXPECT_EQ(auditor.pending(), 0);
}

}  // namespace
}  // namespace gatehouse

// The gateway's side of its audit log: every entry gets this gateway's id
// and the policy version in force, appends never block the caller (group
// commit acknowledges them on the log's thread), and the time from append
// to durable is measured for the admin endpoint.
//
// Thread-safe.
//
// Example:
//   auditor.Record(entry, [](absl::StatusOr<uint64_t> index) { ... });
#ifndef GATEHOUSE_GATEWAY_AUDITOR_H_
#define GATEHOUSE_GATEWAY_AUDITOR_H_

#include <atomic>
#include <mutex>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gatehouse/v1/audit.pb.h"
#include "audit/audit_trail.h"
#include "gateway/metrics.h"

namespace gatehouse {

// What the record path's stages need of the audit log, so that they can be
// tested with a fake (gateway/outbound_commit.h).
class AuditSink {
 public:
  using Done = std::function<void(absl::StatusOr<uint64_t>)>;
  virtual ~AuditSink() = default;
  // Appends `entry`; `done` gets its index once durable, or the error.
  virtual void Record(v1::AuditEntry entry, Done done) = 0;
  // Appends `entry` where nothing waits on it.
  virtual void Note(v1::AuditEntry entry) = 0;
};

class Auditor : public AuditSink {
 public:

  Auditor(audit::AuditTrail* log, std::string gateway_id, Histogram* append_seconds)
      : log_(log), gateway_id_(std::move(gateway_id)), append_seconds_(append_seconds) {}

  // Appends `entry` and returns its index once it is durable. Concurrent
  // callers share one fdatasync (group commit).
  absl::StatusOr<uint64_t> Append(v1::AuditEntry entry);
  // Appends all of `entries`; OK once every one is durable. With
  // `hold_refused`, an entry refused for want of space is also held and
  // appended again, as Note does (for entries about a change already made).
  absl::Status AppendAll(std::vector<v1::AuditEntry> entries, bool hold_refused = false);
  // AppendAll without waiting: `done` gets OK once every entry is durable,
  // or the first error, on the log's thread (or at once for no entries).
  void RecordAll(std::vector<v1::AuditEntry> entries, bool hold_refused,
                 std::function<void(absl::Status)> done);
  // Appends `entry`; `done` gets its index once durable (on the log's
  // thread: it must be quick and must not block), or the error.
  void Record(v1::AuditEntry entry, Done done) override;
  // Record, with the entry (stamped) appended by `append` instead of the
  // log's AppendAsync (one commit a record: gateway/joint_commit.h). An
  // append answered Cancelled was withdrawn with the write it was part of
  // (its record not stored, so there is nothing to audit): not a failure.
  using Appender = std::function<void(const v1::AuditEntry& stamped, Done done)>;
  void RecordVia(v1::AuditEntry entry, const Appender& append, Done done);
  // Appends `entry` where nothing waits on it; a failure is logged. An entry
  // the log refused for want of space (ResourceExhausted: the log goes on
  // once there is space) is held and appended again, at most once a second,
  // by later calls and by RetryHeld(): a full disk leaves no gap in the trail.
  void Note(v1::AuditEntry entry) override;
  // Appends the held entries again if a second has passed since the last
  // try. Called by the gateway's periodic work; Record calls it too.
  void RetryHeld();
  // Entries refused for want of space and held for another try.
  size_t held() const;

  // Called with each entry appended through this Auditor once it is
  // durable, with its index, in index order, on the log's thread (quick,
  // never blocking). Set once, before the first append.
  using Observer = std::function<void(uint64_t index, const v1::AuditEntry& entry)>;
  void SetObserver(Observer observer) { observer_ = std::move(observer); }

  audit::AuditTrail* log() const { return log_; }
  // Entries handed over but not yet durable.
  int64_t pending() const { return pending_.load(); }
  // Failed appends since start (each one a gap a refusal answered for).
  int64_t failures() const { return failures_.load(); }
  // When an append last failed for the log's own trouble (not an entry
  // refused for itself, nor a log closing), Unix nanoseconds; 0 if never.
  int64_t last_failure_ns() const { return last_failure_ns_.load(); }

 private:
  // A callback for Record that holds `entry` if the log refuses it for want
  // of space.
  Done HoldIfRefused(v1::AuditEntry entry);

  audit::AuditTrail* const log_;
  Observer observer_;
  const std::string gateway_id_;
  std::atomic<int64_t> pending_{0};
  Histogram* const append_seconds_;
  std::atomic<int64_t> failures_{0};
  std::atomic<int64_t> last_failure_ns_{0};

  // Held notes: bounded, so a disk that stays full cannot take all memory
  // (past the bound an entry is dropped, logged and counted as a failure).
  static constexpr size_t kMaxHeld = 1 << 16;
  mutable std::mutex held_mu_;
  std::vector<v1::AuditEntry> held_ ABSL_GUARDED_BY(held_mu_);
  absl::Time retry_after_ ABSL_GUARDED_BY(held_mu_) = absl::InfinitePast();
  std::atomic<bool> any_held_{false};  // lets Record skip the lock
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_AUDITOR_H_

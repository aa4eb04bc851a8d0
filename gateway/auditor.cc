#include "gateway/auditor.h"

#include <mutex>

#include "absl/synchronization/mutex.h"
#include "common/rendezvous.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace gatehouse {

void Auditor::Record(v1::AuditEntry entry, Done done) {
  RecordVia(
      std::move(entry),
      [this](const v1::AuditEntry& stamped, Done appended) {
        log_->AppendAsync(stamped, std::move(appended));
      },
      std::move(done));
}

void Auditor::RecordVia(v1::AuditEntry entry, const Appender& append, Done done) {
  if (any_held_.load(std::memory_order_relaxed)) RetryHeld();
  entry.set_gateway_id(gateway_id_);
  const absl::Time start = absl::Now();
  // Stamped here rather than by the log, so an observer sees the time stored.
  if (entry.time_unix_ns() == 0) entry.set_time_unix_ns(absl::ToUnixNanos(start));
  ++pending_;
  const std::string event = v1::AuditEvent_Name(entry.event());
  std::shared_ptr<const v1::AuditEntry> observed;
  if (observer_) observed = std::make_shared<const v1::AuditEntry>(entry);
  append(entry, [this, start, event, observed, done = std::move(done)](
                    absl::StatusOr<uint64_t> index) {
    --pending_;
    append_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
    if (absl::IsCancelled(index.status())) {
      // Withdrawn with the write it was part of: nothing to audit.
    } else if (!index.ok()) {
      ++failures_;
      // The log's own trouble (a full disk, a failed write), not an entry
      // refused for itself or a log closing.
      if (!absl::IsInvalidArgument(index.status()) && !absl::IsFailedPrecondition(index.status()) &&
          !absl::IsAlreadyExists(index.status())) {
        last_failure_ns_.store(absl::GetCurrentTimeNanos());
      }
      LogError("audit append failed", {{"event", event}, {"error", index.status().ToString()}});
    } else if (observed) {
      observer_(*index, *observed);
    }
    if (done) done(std::move(index));
  });
}

absl::StatusOr<uint64_t> Auditor::Append(v1::AuditEntry entry) {
  Rendezvous<absl::StatusOr<uint64_t>> r;
  Record(std::move(entry), r.Callback());
  return r.Wait();
}

absl::Status Auditor::AppendAll(std::vector<v1::AuditEntry> entries, bool hold_refused) {
  Rendezvous<absl::Status> r;
  RecordAll(std::move(entries), hold_refused, r.Callback());
  return r.Wait();
}

void Auditor::RecordAll(std::vector<v1::AuditEntry> entries, bool hold_refused,
                        std::function<void(absl::Status)> done) {
  if (entries.empty()) {
    done(absl::OkStatus());
    return;
  }
  struct Count {
    std::mutex mu;
    size_t left;
    absl::Status first_error;
    std::function<void(absl::Status)> done;
  };
  auto count = std::make_shared<Count>();
  count->left = entries.size();
  count->done = std::move(done);
  for (v1::AuditEntry& e : entries) {
    Done hold = hold_refused ? HoldIfRefused(e) : nullptr;
    Record(std::move(e), [count, hold = std::move(hold)](absl::StatusOr<uint64_t> index) {
      if (hold) hold(index);
      absl::Status result;
      {
        std::lock_guard<std::mutex> lock(count->mu);
        if (!index.ok() && count->first_error.ok()) count->first_error = index.status();
        if (--count->left > 0) return;
        result = count->first_error;
      }
      count->done(std::move(result));
    });
  }
}

void Auditor::Note(v1::AuditEntry entry) {
  Done hold = HoldIfRefused(entry);
  Record(std::move(entry), std::move(hold));
}

Auditor::Done Auditor::HoldIfRefused(v1::AuditEntry kept) {
  return [this, kept = std::move(kept)](absl::StatusOr<uint64_t> index) mutable {
    // Refused for want of space, or by a database that may be back soon:
    // kept and tried again. (A group whose COMMIT was lost may have kept
    // it: then it is in the log twice, never missing.)
    if (!absl::IsResourceExhausted(index.status()) &&
        !(absl::IsUnavailable(index.status()) && log_->UnavailableIsTransient())) {
      return;
    }
    std::lock_guard<std::mutex> lock(held_mu_);
    if (held_.size() >= kMaxHeld) {
      LogError("audit entry dropped: too many held for want of space",
               {{"event", v1::AuditEvent_Name(kept.event())}, {"held", std::to_string(held_.size())}});
      return;
    }
    held_.push_back(std::move(kept));
    any_held_.store(true, std::memory_order_relaxed);
  };
}

void Auditor::RetryHeld() {
  std::vector<v1::AuditEntry> again;
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    const absl::Time now = absl::Now();
    if (held_.empty() || now < retry_after_) return;
    retry_after_ = now + absl::Seconds(1);
    // A log that refuses every append for now (its integration stopped)
    // would refuse them all again: they wait for it, not for the clock.
    if (!log_->Writable().ok()) return;
    again.swap(held_);
    any_held_.store(false, std::memory_order_relaxed);
  }
  for (v1::AuditEntry& e : again) Note(std::move(e));
}

size_t Auditor::held() const {
  std::lock_guard<std::mutex> lock(held_mu_);
  return held_.size();
}

}  // namespace gatehouse

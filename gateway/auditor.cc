#include "gateway/auditor.h"

#include "absl/synchronization/mutex.h"
#include "common/rendezvous.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace gatehouse {

void Auditor::Record(v1::AuditEntry entry, Done done) {
  if (any_held_.load(std::memory_order_relaxed)) RetryHeld();
  entry.set_gateway_id(gateway_id_);
  const absl::Time start = absl::Now();
  ++pending_;
  const std::string event = v1::AuditEvent_Name(entry.event());
  log_->AppendAsync(entry, [this, start, event, done = std::move(done)](
                               absl::StatusOr<uint64_t> index) {
    --pending_;
    append_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
    if (!index.ok()) {
      ++failures_;
      LogError("audit append failed", {{"event", event}, {"error", index.status().ToString()}});
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
  absl::Mutex mu;
  size_t left = entries.size();
  absl::Status first_error;
  for (v1::AuditEntry& e : entries) {
    Done hold = hold_refused ? HoldIfRefused(e) : nullptr;
    Record(std::move(e), [&, hold = std::move(hold)](absl::StatusOr<uint64_t> index) {
      if (hold) hold(index);
      absl::MutexLock lock(&mu);
      if (!index.ok() && first_error.ok()) first_error = index.status();
      --left;
    });
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(+[](size_t* n) { return *n == 0; }, &left));
  return first_error;
}

void Auditor::Note(v1::AuditEntry entry) {
  Done hold = HoldIfRefused(entry);
  Record(std::move(entry), std::move(hold));
}

Auditor::Done Auditor::HoldIfRefused(v1::AuditEntry kept) {
  return [this, kept = std::move(kept)](absl::StatusOr<uint64_t> index) mutable {
    if (!absl::IsResourceExhausted(index.status())) return;
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

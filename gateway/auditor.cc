#include "gateway/auditor.h"

#include "absl/synchronization/mutex.h"
#include "common/rendezvous.h"
#include "absl/time/clock.h"
#include "gateway/log.h"

namespace gatehouse {

void Auditor::Record(v1::AuditEntry entry, Done done) {
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

absl::Status Auditor::AppendAll(std::vector<v1::AuditEntry> entries) {
  absl::Mutex mu;
  size_t left = entries.size();
  absl::Status first_error;
  for (v1::AuditEntry& e : entries) {
    Record(std::move(e), [&](absl::StatusOr<uint64_t> index) {
      absl::MutexLock lock(&mu);
      if (!index.ok() && first_error.ok()) first_error = index.status();
      --left;
    });
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(+[](size_t* n) { return *n == 0; }, &left));
  return first_error;
}

void Auditor::Note(v1::AuditEntry entry) { Record(std::move(entry), nullptr); }

}  // namespace gatehouse

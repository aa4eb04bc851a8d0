#include "gateway/queued_audit_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/rendezvous.h"
#include "common/status_macros.h"

namespace gatehouse {

absl::StatusOr<std::unique_ptr<QueuedAuditLog>> QueuedAuditLog::Open(
    SqliteStore* store, std::unique_ptr<audit::AuditLog> log) {
  std::unique_ptr<QueuedAuditLog> queued(new QueuedAuditLog(store, std::move(log)));
  size_t integrated = 0;
  if (absl::Status recovered = queued->Recover(&integrated); !recovered.ok()) {
    // Nothing more is signed over a log that disagrees with the store, and
    // the store forgets nothing.
    queued->log_->Abandon();
    std::lock_guard<std::mutex> lock(queued->mu_);
    queued->closed_ = true;
    return recovered;
  }
  queued->recovered_ = absl::StrCat("; ", integrated, " entries integrated from the store's queue");
  queued->resumer_ = std::thread([q = queued.get()] { q->ResumeLoop(); });
  return queued;
}

void QueuedAuditLog::ResumeLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closed_) {
    if (integrate_error_.ok() || pending_ > 0) {
      wake_.wait(lock);
      continue;
    }
    const absl::Time now = absl::Now();
    if (now < resume_at_) {
      wake_.wait_for(lock, absl::ToChronoNanoseconds(resume_at_ - now));
      continue;
    }
    // Nothing is in flight and appends are refused: the queue is still.
    lock.unlock();
    size_t integrated = 0;
    absl::Status resumed = log_->Writable();
    if (resumed.ok()) resumed = Recover(&integrated);
    lock.lock();
    if (!resumed.ok() && (!log_->Writable().ok() || absl::IsDataLoss(resumed))) {
      // The file log's tail is unknown, or it disagrees with the store:
      // only a restart (Open's checks) can tell what to do. Say so, once.
      integrate_error_ = absl::UnavailableError(absl::StrCat(
          "audit log: integration stopped and cannot resume (", resumed.message(),
          "); appends are refused until the gateway is restarted"));
      LogError("audit log: integration cannot resume", {{"error", resumed.ToString()}});
      return;
    }
    if (resumed.ok()) {
      LogInfo("audit log: integration resumed",
              {{"entries", std::to_string(integrated)}, {"after", integrate_error_.ToString()}});
      integrate_error_ = absl::OkStatus();
      resume_backoff_ = absl::Seconds(1);
    } else {
      resume_backoff_ = std::min(resume_backoff_ * 2, absl::Seconds(30));
      resume_at_ = absl::Now() + resume_backoff_;
      LogError("audit log: integration still stopped", {{"error", resumed.ToString()}});
    }
  }
}

absl::Status QueuedAuditLog::Writable() const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!integrate_error_.ok()) return integrate_error_;
  }
  return log_->Writable();
}

QueuedAuditLog::~QueuedAuditLog() { Close().IgnoreError(); }

absl::Status QueuedAuditLog::Recover(size_t* integrated_count) {
  const uint64_t size = log_->Size();
  ASSIGN_OR_RETURN(SqliteStore::AuditQueue queue, store_->ReadAuditQueue());
  if (!queue.next.has_value()) {
    if (!queue.entries.empty()) {
      return absl::DataLossError("the store holds queued audit entries but no audit numbering");
    }
    RETURN_IF_ERROR(store_->StartAuditSequence(size));
    queue.next = size;
  }
  const uint64_t next = *queue.next;
  if (next < size) {
    return absl::DataLossError(absl::StrCat(
        "the store numbers audit entries from ", next, " but the audit log holds ", size,
        ": the store is not the one this log was kept with (an older copy?); nothing changed"));
  }
  // Queued entries the log holds already must be the log's, byte for byte.
  std::vector<std::pair<uint64_t, std::string>> held, missing;
  for (auto& e : queue.entries) (e.first < size ? held : missing).push_back(std::move(e));
  if (!held.empty()) {
    size_t i = 0;
    absl::Status differs;
    RETURN_IF_ERROR(log_->ForEachEntry(held.front().first, [&](uint64_t index,
                                                              absl::string_view payload) {
      if (i < held.size() && held[i].first == index) {
        if (held[i].second != payload) {
          differs = absl::DataLossError(absl::StrCat(
              "audit entry ", index, " in the log differs from the one the store queued"));
          return false;
        }
        ++i;
      }
      return i < held.size();
    }));
    RETURN_IF_ERROR(differs);
  }
  if (missing.size() != next - size ||
      (!missing.empty() && (missing.front().first != size || missing.back().first != next - 1))) {
    return absl::DataLossError(absl::StrCat(
        "audit entries ", size, " to ", next - 1, " were numbered by the store but ",
        missing.size(), " of them are queued and the log holds none: entries are lost"));
  }
  // Idle: nothing else appends yet. Each must land at its own index; all
  // are handed over at once, so they share the log's group commits (a batch
  // after a refused one is refused too, never written elsewhere).
  std::vector<std::unique_ptr<Rendezvous<absl::StatusOr<uint64_t>>>> appended;
  for (auto& [index, payload] : missing) {
    appended.push_back(std::make_unique<Rendezvous<absl::StatusOr<uint64_t>>>());
    log_->AppendAtAsync(index, std::move(payload), appended.back()->Callback());
  }
  absl::Status integrated;  // every answer awaited: each callback holds its rendezvous
  for (auto& r : appended) integrated.Update(r->Wait().status());
  RETURN_IF_ERROR(integrated);
  RETURN_IF_ERROR(store_->ForgetAuditEntries(next));
  std::lock_guard<std::mutex> lock(mu_);
  integrated_ = std::max(integrated_, next);
  forget_sent_ = std::max(forget_sent_, next);  // forgotten just above
  *integrated_count = missing.size();
  return absl::OkStatus();
}

std::string QueuedAuditLog::RecoverySummary() const {
  return absl::StrCat(log_->RecoverySummary(), recovered_);
}

void QueuedAuditLog::AppendAsync(const v1::AuditEntry& entry,
                                 std::function<void(absl::StatusOr<uint64_t>)> done) {
  AppendWith(entry, nullptr, std::move(done));
}

void QueuedAuditLog::AppendWith(const v1::AuditEntry& entry, SqliteStore::IndexedApply with,
                                std::function<void(absl::StatusOr<uint64_t>)> done) {
  absl::StatusOr<std::string> serialized =
      audit::AuditLog::EntryPayload(entry, [] { return absl::GetCurrentTimeNanos(); });
  if (!serialized.ok()) {
    done(serialized.status());
    return;
  }
  std::string payload = *std::move(serialized);
  uint64_t forget_below;
  absl::Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      refused = absl::FailedPreconditionError("audit log closed");
    } else if (!integrate_error_.ok()) {
      refused = integrate_error_;
    } else if (pending_ >= kMaxPending) {
      refused = absl::UnavailableError(absl::StrCat(
          "audit log: ", pending_, " entries wait for the file log; try again"));
    }
    if (refused.ok()) {
      ++pending_;
      // Entries the file log holds are deleted by the first write after
      // they are integrated, not by every write (should that write not
      // commit, the next advance deletes them).
      forget_below = integrated_ > forget_sent_ ? integrated_ : 0;
      forget_sent_ = std::max(forget_sent_, integrated_);
    }
  }
  if (!refused.ok()) {
    done(refused);  // outside the lock: `done` may append again
    return;
  }
  // The payload is copied into the write and kept here for the file log.
  auto kept = std::make_shared<std::string>(payload);
  store_->QueueAuditEntryAsync(
      std::move(payload), forget_below, std::move(with),
      [this, kept, done = std::move(done)](absl::StatusOr<uint64_t> index) {
        if (index.ok()) {
          Integrate(*index, std::move(*kept));
        } else {
          Finished();
        }
        done(std::move(index));
      });
}

void QueuedAuditLog::Integrate(uint64_t index, std::string payload) {
  log_->AppendAtAsync(index, std::move(payload), [this, index](absl::StatusOr<uint64_t> at) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (at.ok()) {
        if (*at + 1 > integrated_) integrated_ = *at + 1;
      } else if (integrate_error_.ok()) {
        integrate_error_ = absl::UnavailableError(absl::StrCat(
            "audit log: entry ", index, " could not be written to the file log (",
            at.status().message(), "); it stays queued in the store, and appends are refused "
            "until the file log takes it (tried again from 1 s on, or at the next start)"));
        resume_at_ = absl::Now() + resume_backoff_;
        LogError("audit log: integration stopped", {{"error", integrate_error_.ToString()}});
        wake_.notify_all();
      }
    }
    Finished();
  });
}

void QueuedAuditLog::Finished() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--pending_ == 0) {
    idle_.notify_all();
    // The resume loop waits for the appends in flight to end only once
    // integration has stopped; otherwise it has nothing to do.
    if (!integrate_error_.ok()) wake_.notify_all();
  }
}

absl::Status QueuedAuditLog::Close() {
  uint64_t integrated;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
    wake_.notify_all();
  }
  if (resumer_.joinable()) resumer_.join();  // a Recover in progress ends first
  {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return pending_ == 0; });
    integrated = integrated_;
  }
  absl::Status forgotten = store_->ForgetAuditEntries(integrated);
  absl::Status closed = log_->Close();
  return closed.ok() ? forgotten : closed;
}

}  // namespace gatehouse

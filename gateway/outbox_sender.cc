#include "gateway/outbox_sender.h"

#include <algorithm>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/record/entries.h"
#include "envelope/sha256.h"
#include "common/status_macros.h"
#include "common/log.h"
#include "transport/grpc_status.h"
#include "gateway/receipt.h"

namespace gatehouse {
namespace {



int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

bool OutboxSender::IsPermanent(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
      return true;
    default:
      return false;
  }
}

void OutboxSender::Start() { thread_ = std::thread([this] { Run(); }); }

void OutboxSender::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  std::unique_lock<std::mutex> lock(mu_);
  drained_.wait(lock, [this] { return in_flight_.empty() && calls_ == 0; });
}

void OutboxSender::Kick() {
  std::lock_guard<std::mutex> lock(mu_);
  kicked_ = true;
  cv_.notify_all();
}

int64_t OutboxSender::BackoffMs(int32_t attempts) const {
  int64_t delay = retry_.initial_backoff_ms();
  for (int32_t i = 1; i < attempts && delay < retry_.max_backoff_ms(); ++i) delay *= 2;
  delay = std::min(delay, retry_.max_backoff_ms());
  // Up to 20% jitter, so that peers coming back are not hit all at once.
  thread_local std::mt19937_64 rng(std::random_device{}());
  return delay - static_cast<int64_t>(rng() % static_cast<uint64_t>(delay / 5 + 1));
}

int64_t OutboxSender::RetryDelayMs(int32_t attempts, int64_t retry_after_ms) const {
  return std::max(std::min(retry_after_ms, retry_.max_backoff_ms()), BackoffMs(attempts));
}

void OutboxSender::DeliverNow(const OutboxEntry& entry, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      done(entry);
      return;
    }
    if (!in_flight_.insert(entry.record.record_id()).second) {
      // The retry loop got there first: answer when its attempt ends.
      waiters_[entry.record.record_id()].push_back(std::move(done));
      return;
    }
  }
  Attempt(entry, std::move(done));
}

void OutboxSender::Attempt(const OutboxEntry& entry, Done done) {
  const std::string& to = entry.record.labels().recipient_org();
  if (absl::Status in_force = CheckTrustInForce(*ctx_, absl::Now()); !in_force.ok()) {
    // Stays queued; the retry loop resumes once a newer directory is loaded.
    Finish(entry, grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(in_force.message())),
           v1::DeliverResponse(), 0, nullptr, std::move(done));
    return;
  }
  std::optional<v1::Organisation> peer = directory_->Find(to);
  if (!peer.has_value()) {
    Finish(entry,
           grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("recipient organisation '", to,
                                     "' is not in the directory")),
           v1::DeliverResponse(), 0, nullptr, std::move(done));
    return;
  }
  const absl::Time start = absl::Now();
  Outcome finish = [this, entry, start, done = std::move(done)](
                       const grpc::Status& status, const v1::DeliverResponse& response,
                       int64_t retry_after_ms, VerifiedBatches* verified) mutable {
    metrics_->deliver_seconds().Observe(absl::ToDoubleSeconds(absl::Now() - start));
    Finish(entry, status, response, retry_after_ms, verified, std::move(done));
  };
  if (!entry.record.envelope_file().empty()) {
    // Streamed: sent from its spool file, with time for its size (at least
    // 1 MiB/s on top of the usual deadline).
    const std::string path = ctx_->config->data_dir() + "/" + entry.record.envelope_file();
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(path, ec);
    const int64_t timeout =
        retry_.deliver_timeout_ms() + (ec ? 0 : static_cast<int64_t>(size >> 20) * 1000);
    peers_->DeliverFile(*peer, path, timeout,
                        [finish = std::move(finish)](grpc::Status status,
                                                     const v1::DeliverResponse& response,
                                                     int64_t retry_after_ms) {
                          finish(status, response, retry_after_ms, nullptr);
                        });
    return;
  }
  Send(*peer, entry.record.envelope(), std::move(finish));
}

absl::StatusOr<v1::DeliveryReceipt> OutboxSender::CheckReceipt(
    const OutboxEntry& entry, const v1::DeliverResponse& response,
    VerifiedBatches* verified) const {
  const std::string& to = entry.record.labels().recipient_org();
  std::optional<v1::Organisation> peer = directory_->Find(to);
  if (!peer.has_value()) {
    return absl::UnavailableError(absl::StrCat(to, " is not in the directory"));
  }
  ASSIGN_OR_RETURN(v1::DeliveryReceipt r, VerifyReceipt(response.receipt(), *peer, verified));
  if (r.record_id() != entry.record.record_id() || r.sender_org() != entry.record.sender_org() ||
      r.envelope_sha256() != (entry.record.envelope_file().empty()
                                  ? Sha256(entry.record.envelope())
                                  : entry.record.envelope_sha256())) {
    return absl::UnauthenticatedError(
        "the receipt is for another record or another envelope than the one sent");
  }
  return r;
}

void OutboxSender::Finish(const OutboxEntry& entry, const grpc::Status& delivered,
                          const v1::DeliverResponse& response, int64_t retry_after_ms,
                          VerifiedBatches* verified, Done done) {
  const std::string& id = entry.record.record_id();
  const std::string& to = entry.record.labels().recipient_org();
  grpc::Status status = delivered;
  absl::StatusOr<v1::DeliveryReceipt> receipt;
  if (status.ok()) {
    receipt = CheckReceipt(entry, response, verified);
    if (!receipt.ok()) {
      // Not durable with a receipt we can show: try again.
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            absl::StrCat("bad receipt: ", receipt.status().message()));
    }
  }
  absl::Status stored;
  OutboxEntry now = entry;  // what the store will hold, without reading it back
  ++now.attempts;
  if (status.ok()) {
    now.state = v1::RECORD_STATE_DELIVERED;
    now.delivered_ms = NowMs();
    now.last_error.clear();
    now.receipt = response.receipt();
    metrics_->CountRecord("outbound", "delivered");
    LogInfo("delivered", {{"record_id", id}, {"recipient_org", to}});
    v1::AuditEntry e = DeliveredEntry(
        entry.record, absl::StrCat(to, " signed a receipt; its audit entry ",
                                   receipt->audit_index(), " in log ", receipt->audit_origin()));
    // The record is durable at the peer, which signed for it: answer now.
    // If marking it delivered here does not become durable, a later attempt
    // gets the same receipt back (the peer deduplicates), so nothing waits
    // for this write; the record stays in flight until it is done.
    {
      std::lock_guard<std::mutex> lock(mu_);
      marking_[id] = now;
    }
    for (Done& w : TakeWaiters(id, /*release=*/false)) w(now);
    if (done) done(now);
    MarkDelivered(now, std::move(e));
    return;
  } else {
    std::string error = absl::StrCat(
        "peer ", to, ": ", GrpcCodeName(status.error_code()), ": ", status.error_message());
    now.last_error = error;
    // A peer that says when to retry (its rate limit) has not refused the
    // record itself.
    if (IsPermanent(status.error_code()) && retry_after_ms <= 0) {
      now.state = v1::RECORD_STATE_REJECTED;
      stored = store_->MarkRejected(id, error);
      metrics_->CountRecord("outbound", "rejected", GrpcCodeName(status.error_code()));
      LogWarning("rejected by peer", {{"record_id", id}, {"error", error}});
    } else {
      now.next_attempt_ms = NowMs() + RetryDelayMs(entry.attempts + 1, retry_after_ms);
      stored = store_->MarkAttemptFailed(id, now.next_attempt_ms, error);
      metrics_->CountRecord("outbound", "retry", GrpcCodeName(status.error_code()));
      LogInfo("delivery will be retried", {{"record_id", id}, {"error", error}});
    }
  }
  if (!stored.ok()) {
    LogError("outbox update failed", {{"record_id", id}, {"error", stored.ToString()}});
  }
  if (!stored.ok()) {
    // The outcome is not durable: report the record as it was, still queued.
    now = entry;
    now.last_error = stored.ToString();
  }
  std::vector<Done> waiters = TakeWaiters(id, /*release=*/true);
  if (done) done(now);
  for (Done& w : waiters) w(now);
}

void OutboxSender::MarkDelivered(const OutboxEntry& now, v1::AuditEntry delivered) {
  const std::string& id = now.record.record_id();
  // DELIVERED is audited with the mark, in one transaction where the store
  // and the log commit together (gateway/joint_commit.h), or else once
  // the store holds the mark: a mark that failed means another attempt,
  // and one entry, not two.
  auto marked = [this, id, now](absl::Status s) {
    if (!s.ok()) {
      LogError("outbox update failed", {{"record_id", id}, {"error", s.ToString()}});
      // Still queued: its next attempt (the peer answers it with the same
      // receipt) waits its backoff instead of following at once. A write of
      // the store alone, which holds while the audit log refuses appends.
      absl::Status later = store_->MarkAttemptFailed(
          id, NowMs() + RetryDelayMs(now.attempts, 0),
          absl::StrCat("the peer signed for it, but marking it delivered failed: ", s.message()));
      if (!later.ok()) {
        LogError("outbox update failed", {{"record_id", id}, {"error", later.ToString()}});
      }
    } else if (!now.record.envelope_file().empty()) {
      // The peer holds the streamed envelope and the store says so: the
      // spooled copy is no longer needed.
      std::error_code ec;
      std::filesystem::remove(ctx_->config->data_dir() + "/" + now.record.envelope_file(), ec);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      marking_.erase(id);
    }
    for (Done& w : TakeWaiters(id, /*release=*/true)) w(now);
  };
  if (ctx_->joint != nullptr) {
    ctx_->joint->MarkDelivered(std::move(delivered), id, now.delivered_ms, now.receipt,
                               std::move(marked));
  } else {
    store_->MarkDeliveredAsync(
        id, now.delivered_ms, now.receipt,
        [this, e = std::move(delivered), marked = std::move(marked)](absl::Status s) mutable {
          if (s.ok()) ctx_->auditor->Note(std::move(e));
          marked(std::move(s));
        });
  }
}

std::optional<OutboxEntry> OutboxSender::Delivering(const std::string& record_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = marking_.find(record_id);
  if (it == marking_.end()) return std::nullopt;
  return it->second;
}

std::vector<OutboxSender::Done> OutboxSender::TakeWaiters(const std::string& id, bool release) {
  std::vector<Done> waiters;
  std::lock_guard<std::mutex> lock(mu_);
  if (release) {
    in_flight_.erase(id);
    drained_.notify_all();  // not cv_: the retry loop has nothing to do about it
  }
  auto it = waiters_.find(id);
  if (it != waiters_.end()) {
    waiters = std::move(it->second);
    waiters_.erase(it);
  }
  return waiters;
}

void OutboxSender::Run() {
  // When every due record is already in flight, wait a little rather than spin.
  int64_t floor_ms = 0;
  while (true) {
    int64_t wait_ms = 1000;
    {
      absl::StatusOr<int64_t> next = store_->NextAttemptMs();
      if (next.ok() && *next >= 0) wait_ms = std::clamp<int64_t>(*next - NowMs(), floor_ms, 1000);
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stopping_ || kicked_; });
      if (stopping_) return;
      kicked_ = false;
    }
    // Paused while the directory (or policy) in force has expired: records
    // stay queued and no attempt is spent on them (Kick() when a new one is
    // loaded).
    if (!CheckTrustInForce(*ctx_, absl::Now()).ok()) continue;
    absl::StatusOr<std::vector<OutboxEntry>> due = store_->DueForDelivery(NowMs(), 64);
    if (!due.ok()) {
      LogError("outbox read failed", {{"error", due.status().ToString()}});
      continue;
    }
    floor_ms = due->empty() ? 0 : 50;
    for (const OutboxEntry& entry : *due) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        if (in_flight_.size() >= kMaxInFlight) break;
        if (!in_flight_.insert(entry.record.record_id()).second) continue;
      }
      // The list was read before we claimed the record: an attempt that
      // finished in between (delivered, or failed and rescheduled) makes it
      // stale. Read the record again now that no other attempt can start.
      absl::StatusOr<OutboxEntry> current = store_->GetOutbox(entry.record.record_id());
      if (!current.ok() || current->state != v1::RECORD_STATE_QUEUED ||
          current->next_attempt_ms > NowMs()) {
        for (Done& w : TakeWaiters(entry.record.record_id(), /*release=*/true)) {
          w(current.ok() ? *current : entry);
        }
        continue;
      }
      floor_ms = 0;
      Attempt(*current, nullptr);
    }
  }
}

}  // namespace gatehouse

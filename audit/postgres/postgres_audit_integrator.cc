// PostgresAuditLog's integrator (postgres_audit_log.h): the thread every
// replica runs, which becomes the one integrator when it takes the
// session-level advisory lock, extends the tree from the entries sequenced
// since, and signs checkpoints.
#include <chrono>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "audit/checkpoint.h"
#include "audit/merkle_hasher.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "pg/pg_connection.h"
#include "audit/postgres/postgres_audit_log.h"
#include "audit/postgres/postgres_audit_tree.h"

namespace gatehouse {

using postgres::PgConnection;
using postgres::PgParams;
using postgres::PgResult;

namespace {
// Entries integrated a transaction.
// Entries integrated a transaction: an entry is at most 1 MiB, so a batch
// is read well within a statement's deadline.
constexpr int64_t kBatch = 256;
}  // namespace

class PostgresAuditLog::Integrator {
 public:
  explicit Integrator(PostgresAuditLog* log) : log_(log) {}

  // Becomes the integrator if it can, integrates one batch of new entries
  // (with `last`, all of them) and signs a checkpoint if one is due (with
  // `last`, whenever the tree grew past the newest). Whether it found
  // entries to integrate. An error leaves the session to be dropped.
  absl::StatusOr<bool> Step(bool last) {
    if (session_ == nullptr) {
      ASSIGN_OR_RETURN(session_, log_->options_.connect());
      // Over TCP, the server ends this session (and frees the lock) within
      // seconds of its peer going silent, not after the system's keepalive
      // default of two hours. (Ignored on a Unix socket.)
      RETURN_IF_ERROR(session_->Run(
          "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; "
          "SET tcp_keepalives_count = 3; SET tcp_user_timeout = 10000"));
    }
    if (!holding_) {
      ASSIGN_OR_RETURN(PgResult got, session_->Exec("SELECT pg_try_advisory_lock($1)",
                                                    PgParams().Int(postgres::kAuditIntegratorLock)));
      if (!got.Bool(0, 0)) {
        RETURN_IF_ERROR(EndStalledHolder());
        return false;
      }
      holding_ = true;
      RETURN_IF_ERROR(Take());
    }
    // The last pass integrates what was sequenced when it began, not what
    // other replicas go on appending: closing ends.
    uint64_t until = 0;
    if (last) {
      ASSIGN_OR_RETURN(PgResult head, session_->Exec("SELECT sequenced FROM audit_head"));
      until = head.Int(0, 0);
    }
    bool worked = false;
    for (;;) {
      ASSIGN_OR_RETURN(bool more, Integrate());
      worked = worked || more;
      if (!more || !last || range_.size() >= until) break;
    }
    RETURN_IF_ERROR(MaybeSign(last));
    return worked;
  }

  bool holding() const { return holding_; }

  // Ends the session: the server frees the lock.
  void Drop() {
    Unwatch();
    session_.reset();
    holding_ = false;
    log_->integrating_ = false;
  }

 private:
  // Another replica holds the lock. If it has left entries waiting, the
  // tree not moving, for integrator_stall (a process frozen, or a session
  // the server still thinks alive), its session is ended, which frees the
  // lock for the next try: the fencing on audit_head.integrated keeps a
  // holder that wakes up from moving the tree.
  absl::Status EndStalledHolder() {
    // The holder (its backend) and where the tree stands, in one snapshot.
    // The key's high and low halves are the lock's classid and objid.
    ASSIGN_OR_RETURN(
        PgResult now_seen,
        session_->Exec("SELECT h.sequenced, h.integrated, COALESCE((SELECT pid FROM pg_locks "
                       "WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2 "
                       "AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE "
                       "datname = current_database())), 0) FROM audit_head h",
                       PgParams()
                           .Int(postgres::kAuditIntegratorLock >> 32)
                           .Int(postgres::kAuditIntegratorLock & 0xffffffff)));
    const int64_t sequenced = now_seen.Int(0, 0);
    const int64_t integrated = now_seen.Int(0, 1);
    const int64_t holder = now_seen.Int(0, 2);
    const auto now = std::chrono::steady_clock::now();
    // The watch starts again whenever the tree moves, the holder changes, or
    // nothing waits: only one holder that did nothing all along is ended.
    if (sequenced == integrated || integrated != watched_ || holder != watched_holder_ ||
        holder == 0) {
      watched_ = integrated;
      watched_holder_ = holder;
      watched_since_ = now;
      return absl::OkStatus();
    }
    if (now - watched_since_ < absl::ToChronoNanoseconds(log_->options_.integrator_stall)) {
      return absl::OkStatus();
    }
    // That backend only, and only if it still holds the lock.
    ASSIGN_OR_RETURN(
        PgResult ended,
        session_->Exec("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
                       "'advisory' AND granted AND classid = $1 AND objid = $2 AND objsubid = 1 "
                       "AND pid = $3",
                       PgParams()
                           .Int(postgres::kAuditIntegratorLock >> 32)
                           .Int(postgres::kAuditIntegratorLock & 0xffffffff)
                           .Int(holder)));
    LogWarning("audit: the integrator left entries waiting; its session was ended",
               {{"integrated", absl::StrCat(integrated)},
                {"sequenced", absl::StrCat(sequenced)},
                {"backend", absl::StrCat(holder)},
                {"ended", ended.rows() == 1 && ended.Bool(0, 0) ? "yes" : "no"}});
    Unwatch();
    return absl::OkStatus();
  }

  void Unwatch() {
    watched_ = -1;
    watched_holder_ = 0;
  }

  // Just became the integrator: reads where the tree is.
  absl::Status Take() {
    ASSIGN_OR_RETURN(PgResult head, session_->Exec("SELECT integrated FROM audit_head"));
    const uint64_t integrated = head.Int(0, 0);
    ASSIGN_OR_RETURN(range_,
                     audit::CompactRange::FromReader(postgres::PgNodeReader(*session_), integrated));
    ASSIGN_OR_RETURN(PgResult cp, session_->Exec("SELECT COALESCE(MAX(size), 0) FROM audit_checkpoint"));
    checkpointed_ = cp.Int(0, 0);
    checkpointed_at_ = absl::Now();
    log_->integrating_ = true;
    Unwatch();
    log_->Grew(integrated);
    LogInfo("audit: this replica integrates the organisation's log",
            {{"integrated", absl::StrCat(integrated)}});
    return absl::OkStatus();
  }

  // Hashes the next batch of entries into the tree and stores the nodes it
  // completed and the new size in one transaction, fenced by the old size.
  absl::StatusOr<bool> Integrate() {
    const uint64_t from = range_.size();
    ASSIGN_OR_RETURN(PgResult rows,
                     session_->Exec("SELECT idx, entry FROM audit_entry WHERE idx >= $1 "
                                    "ORDER BY idx LIMIT $2",
                                    PgParams().Int(static_cast<int64_t>(from)).Int(kBatch)));
    if (rows.rows() == 0) return false;
    audit::CompactRange next = range_;
    std::vector<std::string> levels, indexes, hashes;
    for (int i = 0; i < rows.rows(); ++i) {
      if (static_cast<uint64_t>(rows.Int(i, 0)) != from + i) {
        return absl::DataLossError(absl::StrCat("audit: entry ", from + i, " is missing"));
      }
      next.Append(audit::HashLeaf(rows.Bytes(i, 1)),
                  [&](int level, uint64_t index, const audit::Hash& h) {
                    levels.push_back(absl::StrCat(level));
                    indexes.push_back(absl::StrCat(index));
                    hashes.push_back(absl::BytesToHexString(audit::HashToBytes(h)));
                  });
    }
    RETURN_IF_ERROR(session_->Run("BEGIN"));
    absl::Status s = [&]() -> absl::Status {
      RETURN_IF_ERROR(
          session_
              ->Exec("INSERT INTO audit_tree (level, idx, hash) "
                     "SELECT l::smallint, i::bigint, decode(h, 'hex') "
                     "FROM unnest($1::text[], $2::text[], $3::text[]) AS t(l, i, h)",
                     PgParams().TextArray(levels).TextArray(indexes).TextArray(hashes))
              .status());
      ASSIGN_OR_RETURN(PgResult moved,
                       session_->Exec("UPDATE audit_head SET integrated = $1 WHERE integrated = $2",
                                      PgParams()
                                          .Int(static_cast<int64_t>(next.size()))
                                          .Int(static_cast<int64_t>(from))));
      if (moved.affected() != 1) {
        return absl::AbortedError("audit: another integrator moved the tree; standing down");
      }
      return session_->Run("COMMIT");
    }();
    if (!s.ok()) {
      if (!session_->broken()) session_->Run("ROLLBACK").IgnoreError();
      return s;
    }
    range_ = std::move(next);
    log_->Grew(range_.size());
    return true;
  }

  absl::Status MaybeSign(bool now) {
    const uint64_t size = range_.size();
    if (size <= checkpointed_) return absl::OkStatus();
    if (!now && size - checkpointed_ < log_->options_.checkpoint_every_entries &&
        absl::Now() - checkpointed_at_ < log_->options_.checkpoint_interval) {
      return absl::OkStatus();
    }
    audit::Checkpoint cp;
    cp.origin = log_->options_.signer->name();
    cp.size = size;
    cp.root = range_.Root();
    const std::string note = audit::SignNote(audit::FormatCheckpoint(cp), {log_->options_.signer.get()});
    RETURN_IF_ERROR(session_
                        ->Exec("INSERT INTO audit_checkpoint (size, note) VALUES ($1, $2) "
                               "ON CONFLICT (size) DO NOTHING",
                               PgParams().Int(static_cast<int64_t>(size)).Text(note))
                        .status());
    checkpointed_ = size;
    checkpointed_at_ = absl::Now();
    std::lock_guard<std::mutex> lock(log_->mu_);
    ++log_->stats_.checkpoints;
    return absl::OkStatus();
  }

  PostgresAuditLog* const log_;
  std::unique_ptr<PgConnection> session_;
  bool holding_ = false;
  audit::CompactRange range_;
  uint64_t checkpointed_ = 0;
  absl::Time checkpointed_at_;
  // While another replica integrates: the tree size last seen, and since when.
  int64_t watched_ = -1;
  int64_t watched_holder_ = 0;
  std::chrono::steady_clock::time_point watched_since_;
};

void PostgresAuditLog::Run() {
  Integrator integrator(this);
  for (;;) {
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping = stop_;
    }
    absl::StatusOr<bool> worked = integrator.Step(stopping);
    if (stopping) {
      if (!worked.ok()) {
        LogWarning("audit: the last integration before closing failed",
                   {{"error", worked.status().ToString()}});
      }
      break;
    }
    absl::Duration wait = absl::ZeroDuration();
    if (!worked.ok()) {
      LogWarning("audit: integrating the log failed; another replica (or this one) takes over",
                 {{"error", worked.status().ToString()}});
      integrator.Drop();
      wait = options_.integrator_retry;
    } else if (!integrator.holding()) {
      wait = options_.integrator_retry;
    } else if (!*worked) {
      wait = options_.integrate_poll;
    }
    if (wait > absl::ZeroDuration()) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, absl::ToChronoMilliseconds(wait), [&] { return stop_; });
    }
  }
  integrator.Drop();
}

}  // namespace gatehouse

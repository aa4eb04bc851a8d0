// PostgresAuditLog (postgres_audit_log.h): opening, appending (sequencing),
// and what every replica serves. The integrator is in
// postgres_audit_integrator.cc.
#include "audit/postgres/postgres_audit_log.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "audit/checkpoint.h"
#include "audit/merkle_hasher.h"
#include "common/status_macros.h"
#include "audit/postgres/postgres_audit_tree.h"

namespace gatehouse {

using postgres::PgConnection;
using postgres::PgNodeReader;
using postgres::PgParams;
using postgres::PgResult;

namespace postgres {

absl::StatusOr<audit::Hash> PgNodeReader::GetNode(int level, uint64_t index) const {
  ASSIGN_OR_RETURN(PgResult r,
                   c_.Exec("SELECT hash FROM audit_tree WHERE level = $1 AND idx = $2",
                           PgParams().Int(level).Int(static_cast<int64_t>(index))));
  if (r.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("audit tree node (", level, ", ", index, ") not stored"));
  }
  audit::Hash h;
  if (!audit::HashFromBytes(r.Bytes(0, 0), &h)) {
    return absl::DataLossError(absl::StrCat("audit tree node (", level, ", ", index,
                                            ") is not 32 bytes"));
  }
  return h;
}

}  // namespace postgres

namespace {

// The largest entry accepted, as the file log's (audit_log.h).
constexpr size_t kMaxEntryBytes = 1 << 20;
// Entries read a query by ForEachEntry.
constexpr int64_t kPage = 1024;

// The integrated size, read where the proof is built.
absl::StatusOr<uint64_t> Integrated(PgConnection& c) {
  ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT integrated FROM audit_head"));
  return static_cast<uint64_t>(r.Int(0, 0));
}

absl::Status BeyondTree(uint64_t size, uint64_t integrated) {
  return absl::InvalidArgumentError(absl::StrCat("tree size ", size, " is beyond the log (",
                                                 integrated, " entries integrated)"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresAuditLog>> PostgresAuditLog::Open(
    PostgresAuditLogOptions options) {
  if (options.signer == nullptr || !options.sequence || !options.connect ||
      options.reads == nullptr) {
    return absl::InvalidArgumentError(
        "audit: a PostgreSQL audit log needs a signer, a write group, connections and reads");
  }
  if (!options.clock_ns) options.clock_ns = [] { return absl::GetCurrentTimeNanos(); };
  std::unique_ptr<PostgresAuditLog> log(new PostgresAuditLog(std::move(options)));
  RETURN_IF_ERROR(log->CheckOnOpen());
  log->thread_ = std::thread([l = log.get()] { l->Run(); });
  return log;
}

PostgresAuditLog::~PostgresAuditLog() { Close().IgnoreError(); }

absl::Status PostgresAuditLog::CheckOnOpen() {
  // One snapshot for the head, the newest checkpoint and the tree: read
  // one by one, another replica's integrator could sign a checkpoint
  // between them, past the size read first.
  return options_.reads->Read([&](PgConnection& c) -> absl::Status {
    RETURN_IF_ERROR(c.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    absl::Status checked = CheckSnapshot(c);
    absl::Status ended = c.Run(checked.ok() ? "COMMIT" : "ROLLBACK");
    return checked.ok() ? ended : checked;
  });
}

absl::Status PostgresAuditLog::CheckSnapshot(PgConnection& c) {
  ASSIGN_OR_RETURN(PgResult head, c.Exec("SELECT sequenced, integrated FROM audit_head"));
  const uint64_t sequenced = head.Int(0, 0);
  const uint64_t integrated = head.Int(0, 1);
  ASSIGN_OR_RETURN(PgResult latest,
                   c.Exec("SELECT size, note FROM audit_checkpoint ORDER BY size DESC LIMIT 1"));
  uint64_t checkpointed = 0;
  if (latest.rows() == 1) {
    checkpointed = latest.Int(0, 0);
    const audit::NoteVerifier own = *audit::NoteVerifier::FromVerifierKey(
        options_.signer->VerifierKeyString());
    std::vector<const audit::NoteVerifier*> keys = {&own};
    for (const audit::NoteVerifier& k : options_.previous_keys) keys.push_back(&k);
    absl::StatusOr<audit::SignedCheckpoint> cp = absl::NotFoundError("");
    for (const audit::NoteVerifier* k : keys) {
      cp = audit::OpenCheckpoint(latest.Bytes(0, 1), *k);
      if (cp.ok()) break;
    }
    if (!cp.ok() || cp->checkpoint.size != checkpointed) {
      return absl::DataLossError(absl::StrCat(
          "audit: the newest checkpoint in the database (", checkpointed,
          " entries) is not signed by this gateway's log key or a previous one"));
    }
    if (checkpointed > integrated) {
      return absl::DataLossError(absl::StrCat("audit: a checkpoint covers ", checkpointed,
                                              " entries but only ", integrated,
                                              " are in the tree"));
    }
    PgNodeReader tree(c);
    absl::StatusOr<audit::Hash> root = audit::TreeRoot(tree, checkpointed);
    if (!root.ok() || *root != cp->checkpoint.root) {
      return absl::DataLossError(absl::StrCat(
          "audit: the tree in the database does not reproduce the root the checkpoint at ",
          checkpointed, " entries signed", root.ok() ? "" : ": ",
          root.ok() ? "" : root.status().message()));
    }
  }
  size_ = std::max(sequenced, integrated);
  summary_ = absl::StrCat("audit log in PostgreSQL: ", sequenced, " entries, ", integrated,
                          " in the tree, newest checkpoint at ", checkpointed);
  return absl::OkStatus();
}

void PostgresAuditLog::Grew(uint64_t size) {
  uint64_t seen = size_.load();
  while (seen < size && !size_.compare_exchange_weak(seen, size)) {
  }
}

namespace {

// Numbers `entries` (each \x and its hex) from audit_head and inserts them,
// inside the caller's transaction; the first one's index.
absl::StatusOr<uint64_t> NumberEntries(PgConnection& c, const std::vector<std::string>& entries) {
  absl::StatusOr<PgResult> r =
      c.Exec("WITH n AS (UPDATE audit_head SET sequenced = sequenced + $1 "
             "RETURNING sequenced - $1 AS first) "
             "INSERT INTO audit_entry (idx, entry) SELECT n.first + t.ord - 1, t.e "
             "FROM n, unnest($2::bytea[]) WITH ORDINALITY AS t(e, ord) "
             "RETURNING (SELECT first FROM n)",
             PgParams().Int(static_cast<int64_t>(entries.size())).TextArray(entries));
  if (absl::IsAlreadyExists(r.status())) {
    // A number audit_head gives out is already taken: the log is not what
    // its head says (a bad restore), never a caller's duplicate.
    return absl::DataLossError(absl::StrCat("audit: a number audit_head gave out is taken: ",
                                            r.status().message()));
  }
  if (!r.ok()) return r.status();
  if (r->rows() != static_cast<int>(entries.size())) {
    return absl::DataLossError(absl::StrCat("audit: ", entries.size(), " entries to number, ",
                                            r->rows(), " stored (is audit_head's row missing?)"));
  }
  return static_cast<uint64_t>(r->Int(0, 0));
}

std::string EntryLiteral(const std::string& bytes) {
  return "\\x" + absl::BytesToHexString(bytes);
}

}  // namespace

absl::StatusOr<std::string> PostgresAuditLog::Admit(const v1::AuditEntry& entry) {
  v1::AuditEntry stamped = entry;
  if (stamped.time_unix_ns() == 0) stamped.set_time_unix_ns(options_.clock_ns());
  std::string bytes = stamped.SerializeAsString();
  if (bytes.size() > kMaxEntryBytes) {
    return absl::InvalidArgumentError(absl::StrCat("audit entry of ", bytes.size(),
                                                   " bytes is over the limit of ", kMaxEntryBytes));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return absl::FailedPreconditionError("audit log closed");
  ++pending_;
  return bytes;
}

void PostgresAuditLog::Answered(size_t count, size_t appended) {
  // Counted down only once every caller has been answered, and notified
  // under the lock: Close (and the log's destruction) waits for this,
  // never for less.
  std::lock_guard<std::mutex> lock(mu_);
  stats_.appended += appended;
  pending_ -= static_cast<int>(count);
  cv_.notify_all();
}

void PostgresAuditLog::AppendWith(const v1::AuditEntry& entry, Then then,
                                  std::function<void(absl::StatusOr<uint64_t>)> done) {
  Enqueue(entry, std::move(then), std::move(done));
}

void PostgresAuditLog::AppendAsync(const v1::AuditEntry& entry,
                                   std::function<void(absl::StatusOr<uint64_t>)> done) {
  Enqueue(entry, nullptr, std::move(done));
}

void PostgresAuditLog::Enqueue(const v1::AuditEntry& entry, Then then,
                               std::function<void(absl::StatusOr<uint64_t>)> done) {
  absl::StatusOr<std::string> bytes = Admit(entry);
  if (!bytes.ok()) {
    done(bytes.status());  // `done` may append again: no lock is held
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    Queued q;
    q.bytes = *std::move(bytes);
    q.then = std::move(then);
    q.done = std::move(done);
    queued_.push_back(std::move(q));
    // One write a group takes every entry queued until it runs; an entry
    // queued after that starts the next.
    if (sequencing_) return;
    sequencing_ = true;
  }
  auto batch = std::make_shared<std::vector<Queued>>();
  options_.sequence(
      [this, batch](PgConnection& c) -> absl::Status {
        {
          std::lock_guard<std::mutex> lock(mu_);
          batch->swap(queued_);
          sequencing_ = false;
        }
        return Sequence(c, *batch);
      },
      [this, batch](absl::Status s) {
        if (!s.ok() && batch->empty()) {
          // The write never ran (the store closing, or its group lost
          // before the writes): what it would have taken fails with it.
          std::lock_guard<std::mutex> lock(mu_);
          batch->swap(queued_);
          sequencing_ = false;
        }
        size_t kept = 0;
        for (const Queued& q : *batch) {
          if (!s.ok() || !q.result.ok()) continue;
          ++kept;
          Grew(q.index + 1);
        }
        for (Queued& q : *batch) {
          if (!s.ok()) {
            q.done(s);
          } else if (!q.result.ok()) {
            q.done(q.result);
          } else {
            q.done(q.index);
          }
        }
        Answered(batch->size(), kept);
      });
}

absl::Status PostgresAuditLog::Sequence(PgConnection& c, std::vector<Queued>& batch) {
  // A record's write (`then`) needs its entry's index before the entry is
  // stored: the numbers are read once (stable: every writer holds the
  // commit order lock) and given out in order to the entries kept; a
  // write that fails is undone to its own savepoint, its entry not kept
  // (an entry alone needs none: its failure is the whole write's).
  bool writes = false;
  for (const Queued& q : batch) writes |= q.then != nullptr;
  uint64_t next = 0;
  if (writes) {
    ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT sequenced FROM audit_head"));
    if (r.rows() != 1) return absl::DataLossError("audit: audit_head's row is missing");
    next = static_cast<uint64_t>(r.Int(0, 0));
  }
  const uint64_t base = next;
  const bool alone = batch.size() == 1;
  std::vector<std::string> kept;
  for (Queued& q : batch) {
    if (q.then != nullptr) {
      if (!alone) RETURN_IF_ERROR(c.Run("SAVEPOINT entry"));
      q.result = q.then(c, next);
      if (!q.result.ok() && (alone || c.broken())) return q.result;
      if (!q.result.ok()) RETURN_IF_ERROR(c.Run("ROLLBACK TO SAVEPOINT entry"));
      if (!alone) RETURN_IF_ERROR(c.Run("RELEASE SAVEPOINT entry"));
      if (!q.result.ok()) continue;
    }
    q.index = next++;
    kept.push_back(EntryLiteral(q.bytes));
  }
  if (kept.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(uint64_t first, NumberEntries(c, kept));
  if (writes && first != base) {
    return absl::DataLossError(absl::StrCat("audit: numbered from ", first, ", not ", base,
                                            ": the numbers moved inside a write group"));
  }
  for (Queued& q : batch) q.index += first - base;
  return absl::OkStatus();
}

audit::AuditLogStats PostgresAuditLog::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  audit::AuditLogStats out = stats_;
  if (options_.commits) std::tie(out.batches, out.sync_nanos) = options_.commits();
  return out;
}

absl::StatusOr<audit::CheckpointNote> PostgresAuditLog::LatestCheckpointNote() const {
  return options_.reads->Read([&](PgConnection& c) -> absl::StatusOr<audit::CheckpointNote> {
    ASSIGN_OR_RETURN(PgResult latest,
                     c.Exec("SELECT size, note FROM audit_checkpoint ORDER BY size DESC LIMIT 1"));
    if (latest.rows() == 0) return absl::NotFoundError("no audit checkpoint has been signed yet");
    audit::CheckpointNote out{static_cast<uint64_t>(latest.Int(0, 0)), latest.Bytes(0, 1)};
    ASSIGN_OR_RETURN(PgResult lines,
                     c.Exec("SELECT line FROM audit_cosignature WHERE size = $1 ORDER BY added",
                            PgParams().Int(static_cast<int64_t>(out.size))));
    for (int i = 0; i < lines.rows(); ++i) out.note += lines.Bytes(i, 0);
    return out;
  });
}

absl::StatusOr<std::vector<audit::Hash>> PostgresAuditLog::InclusionProof(
    uint64_t index, uint64_t tree_size) const {
  return options_.reads->Read(
      [&](PgConnection& c) -> absl::StatusOr<std::vector<audit::Hash>> {
        ASSIGN_OR_RETURN(uint64_t integrated, Integrated(c));
        if (tree_size > integrated) return BeyondTree(tree_size, integrated);
        return audit::ProveInclusion(PgNodeReader(c), index, tree_size);
      });
}

absl::StatusOr<std::vector<audit::Hash>> PostgresAuditLog::ConsistencyProof(
    uint64_t size1, uint64_t size2) const {
  return options_.reads->Read(
      [&](PgConnection& c) -> absl::StatusOr<std::vector<audit::Hash>> {
        ASSIGN_OR_RETURN(uint64_t integrated, Integrated(c));
        if (size2 > integrated) return BeyondTree(size2, integrated);
        return audit::ProveConsistency(PgNodeReader(c), size1, size2);
      });
}

absl::StatusOr<v1::AuditEntry> PostgresAuditLog::ReadEntry(uint64_t index) const {
  return options_.reads->Read([&](PgConnection& c) -> absl::StatusOr<v1::AuditEntry> {
    ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT entry FROM audit_entry WHERE idx = $1",
                                        PgParams().Int(static_cast<int64_t>(index))));
    if (r.rows() == 0) return absl::InvalidArgumentError(absl::StrCat("no entry ", index));
    v1::AuditEntry entry;
    if (!entry.ParseFromString(r.Bytes(0, 0))) {
      return absl::DataLossError(absl::StrCat("entry ", index, " does not parse"));
    }
    return entry;
  });
}

absl::Status PostgresAuditLog::ForEachEntry(
    uint64_t start, const std::function<bool(uint64_t, absl::string_view)>& fn) const {
  const int64_t end = static_cast<int64_t>(Size());
  for (int64_t next = static_cast<int64_t>(start); next < end;) {
    ASSIGN_OR_RETURN(PgResult page, options_.reads->Read([&](PgConnection& c) {
      return c.Exec(
          "SELECT idx, entry FROM audit_entry WHERE idx >= $1 AND idx < $2 ORDER BY idx LIMIT $3",
          PgParams().Int(next).Int(end).Int(kPage));
    }));
    if (page.rows() == 0) {
      return absl::DataLossError(absl::StrCat("audit: entry ", next, " is missing"));
    }
    for (int i = 0; i < page.rows(); ++i) {
      if (page.Int(i, 0) != next) {
        return absl::DataLossError(absl::StrCat("audit: entry ", next, " is missing"));
      }
      if (!fn(next, page.Bytes(i, 1))) return absl::OkStatus();
      ++next;
    }
  }
  return absl::OkStatus();
}

absl::Status PostgresAuditLog::AddCosignature(absl::string_view cosigned_note,
                                              const audit::NoteVerifier& cosigner) {
  ASSIGN_OR_RETURN(postgres::PgPool::Lease lease, options_.reads->Acquire());
  PgConnection& c = *lease;
  ASSIGN_OR_RETURN(
      audit::CheckedCosignature checked,
      audit::CheckCosignature(
          cosigned_note, cosigner, [&](uint64_t size) -> absl::StatusOr<std::string> {
            ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT note FROM audit_checkpoint WHERE size = $1",
                                                PgParams().Int(static_cast<int64_t>(size))));
            if (r.rows() == 0) return absl::NotFoundError("");
            return r.Bytes(0, 0);
          }));
  const int64_t size = static_cast<int64_t>(checked.size);
  RETURN_IF_ERROR(c.Run("BEGIN"));
  absl::Status s = [&]() -> absl::Status {
    // One check-and-store at a time: two calls by one cosigner cannot both pass.
    RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_xact_lock($1)",
                           PgParams().Int(postgres::kAuditCosignLock))
                        .status());
    ASSIGN_OR_RETURN(PgResult stored,
                     c.Exec("SELECT name, key_id, line FROM audit_cosignature WHERE size = $1",
                            PgParams().Int(size)));
    for (int i = 0; i < stored.rows(); ++i) {
      if (stored.Bytes(i, 0) != checked.name || stored.Int(i, 1) != checked.key_id) continue;
      if (stored.Bytes(i, 2) == checked.line) return absl::OkStatus();  // a retry
      return absl::AlreadyExistsError(
          absl::StrCat(cosigner.name(), " has already cosigned the checkpoint at ", size,
                       " entries; a second cosignature by one key is not stored"));
    }
    if (1 + static_cast<size_t>(stored.rows()) >= audit::kMaxNoteSignatures) {
      return absl::ResourceExhaustedError(absl::StrCat("the checkpoint at ", size,
                                                       " entries carries ", stored.rows(),
                                                       " cosignatures, the most a note can hold"));
    }
    return c.Exec("INSERT INTO audit_cosignature (size, name, key_id, line) "
                  "VALUES ($1, $2, $3, $4)",
                  PgParams().Int(size).Text(checked.name).Int(checked.key_id).Text(checked.line))
        .status();
  }();
  if (s.ok()) s = c.Run("COMMIT");
  if (!s.ok() && !c.broken()) c.Run("ROLLBACK").IgnoreError();
  return s;
}

absl::Status PostgresAuditLog::Close() {
  std::lock_guard<std::mutex> closing(close_mu_);  // one Close at a time joins
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_ && !thread_.joinable()) return absl::OkStatus();
    closed_ = true;
    // Appends queued before Close are answered (the store commits them)
    // before the integrator's last pass, so it covers them.
    cv_.wait(lock, [&] { return pending_ == 0; });
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  return absl::OkStatus();
}

}  // namespace gatehouse

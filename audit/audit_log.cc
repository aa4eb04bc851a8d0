#include "audit/audit_log.h"

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "audit/log_directory.h"
#include "audit/log_format.h"
#include "audit/merkle_verifier.h"
#include "audit/posix_file.h"
#include "audit/segment_reader.h"
#include "audit/tree_store.h"

namespace gatehouse::audit {

namespace {

// Creates the record file at `path` with its header, synced, and only then
// hands it over: a file whose header did not reach the disk is never
// written to (a record at offset 0 would leave a file that cannot be read).
// Open truncates, so a later try starts afresh. *refused (if given) says the
// file could not be made for want of space and nothing of it stays written.
absl::StatusOr<std::unique_ptr<AppendFile>> CreateRecordFile(const std::string& dir,
                                                             const std::string& path,
                                                             absl::string_view magic,
                                                             bool* refused = nullptr) {
  absl::StatusOr<std::unique_ptr<AppendFile>> opened = AppendFile::Open(path, 0, true);
  if (!opened.ok()) {
    if (refused != nullptr) *refused = absl::IsResourceExhausted(opened.status());
    return opened.status();
  }
  std::unique_ptr<AppendFile> f = *std::move(opened);
  bool cut_back = false;
  absl::Status written = f->Append(EncodeSegmentHeader(magic, 0), &cut_back);
  if (!written.ok()) {
    if (refused != nullptr) *refused = cut_back;
    return written;
  }
  RETURN_IF_ERROR(f->Sync());
  RETURN_IF_ERROR(SyncDir(dir));
  return f;
}

}  // namespace

// One pending append, prepared on the caller's thread.
struct AuditLog::Writer {
  std::string payload;
  Hash leaf;
  // The index the entry must get (AppendAtAsync), or kAnyIndex.
  uint64_t index = kAnyIndex;
  static constexpr uint64_t kAnyIndex = ~uint64_t{0};
};

std::string RecoveryReport::ToString() const {
  std::string s = absl::StrCat("audit log: ", entries, " entries");
  if (dropped_bytes > 0) absl::StrAppend(&s, "; dropped ", dropped_bytes, " bytes (", dropped_reason, ")");
  if (checkpoint_bytes_dropped > 0) absl::StrAppend(&s, "; dropped ", checkpoint_bytes_dropped, " checkpoint bytes");
  if (cosignature_bytes_dropped > 0) absl::StrAppend(&s, "; dropped ", cosignature_bytes_dropped, " cosignature bytes");
  if (cosignatures_repeated > 0) {
    absl::StrAppend(&s, "; ignored ", cosignatures_repeated,
                    " repeated cosignatures (a second by one key of one checkpoint)");
  }
  if (tree_leaves_rebuilt > 0) absl::StrAppend(&s, "; rebuilt ", tree_leaves_rebuilt, " tree leaves");
  absl::StrAppend(&s, "; latest checkpoint at ", latest_checkpoint_size);
  return s;
}

AuditLog::AuditLog(std::string dir, AuditLogOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& dir,
                                                         AuditLogOptions options) {
  if (!options.clock_ns) options.clock_ns = [] { return absl::GetCurrentTimeNanos(); };
  if (options.checkpoint_every_entries == 0) options.checkpoint_every_entries = 1;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (!options.create_if_missing) return absl::NotFoundError(absl::StrCat("no audit log at ", dir));
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
      return absl::UnavailableError(absl::StrCat("mkdir ", dir, ": ", strerror(errno)));
    }
  }
  std::unique_ptr<AuditLog> log(new AuditLog(dir, std::move(options)));
  absl::StatusOr<int> lock = LockFile(dir + "/LOCK", 0640);
  if (absl::IsFailedPrecondition(lock.status())) {
    return absl::FailedPreconditionError(absl::StrCat("audit log ", dir, " is in use by another writer"));
  }
  if (!lock.ok()) return lock.status();
  log->lock_fd_ = *lock;
  RETURN_IF_ERROR(log->Recover());
  Committer::Options commit;
  commit.stopped = absl::FailedPreconditionError("audit log is closed");
  // A batch takes entries while the bytes before the next one's payload
  // stay within max_batch_bytes (so its header may go past it), and at
  // least one.
  commit.cost = [](const Writer& w) { return w.payload.size() + kRecordHeaderSize; };
  const size_t max_bytes = log->options_.max_batch_bytes;
  commit.max_batch_cost = max_bytes > SIZE_MAX - kRecordHeaderSize ? SIZE_MAX
                                                                    : max_bytes + kRecordHeaderSize;
  log->committer_ = std::make_unique<Committer>(
      [l = log.get()](std::vector<Writer>& batch) { return l->CommitBatch(batch); },
      std::move(commit));
  if (log->options_.signer) {
    log->checkpointer_ = std::thread([l = log.get()] { l->CheckpointLoop(); });
  }
  return log;
}

absl::Status AuditLog::Recover() {
  std::unique_lock<std::mutex> cp_lock(cp_mu_);
  std::unique_lock<std::mutex> lock(mu_);
  // 1. Checkpoints first: they say how many entries must survive.
  std::vector<std::string> notes;
  uint64_t cp_good_end = kSegmentHeaderSize;
  bool have_cp_file = false;
  {
    absl::Status st;
    absl::StatusOr<std::vector<std::string>> got =
        ReadRecordFile(CheckpointsPath(dir_), kCheckpointMagic, &cp_good_end, &st);
    if (got.ok()) {
      have_cp_file = true;
      notes = *std::move(got);
      if (cp_good_end == 0) {
        ASSIGN_OR_RETURN(std::string b, ReadWholeFile(CheckpointsPath(dir_)));
        if (b.size() >= kSegmentHeaderSize) return st;  // a damaged header, not a torn one
        have_cp_file = false;  // created but its header never reached the disk
        report_.checkpoint_bytes_dropped = b.size();
      }
    } else if (!absl::IsNotFound(got.status())) {
      return got.status();
    }
  }
  Checkpoint latest;
  bool have_latest = false;
  std::unique_ptr<NoteVerifier> verifier;
  std::vector<const NoteVerifier*> keys;
  if (options_.signer) {
    verifier = std::make_unique<NoteVerifier>(NoteVerifier::FromPublicKey(
        options_.signer->name(), kSigTypeEd25519, options_.signer->public_key()));
    keys.push_back(verifier.get());
  }
  for (const NoteVerifier& k : options_.previous_keys) keys.push_back(&k);
  for (const std::string& note : notes) {
    absl::StatusOr<Note> parsed = keys.empty() ? ParseNote(note) : OpenNote(note, keys);
    if (!parsed.ok()) {
      return absl::DataLossError(absl::StrCat("checkpoints.log: ", parsed.status().message()));
    }
    ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpoint(parsed->text));
    if (have_latest && cp.size < latest.size) {
      return absl::DataLossError("checkpoints.log: checkpoint sizes go backwards");
    }
    checkpoints_[cp.size] = note;
    latest = cp;
    have_latest = true;
  }

  // 2. Segments: all but the last must be whole; the last may have a torn tail.
  ASSIGN_OR_RETURN(std::vector<SegmentFile> segs, ListSegments(dir_));
  uint64_t last_first = 0;
  uint64_t last_good_end = kSegmentHeaderSize;
  uint64_t last_file_size = 0;
  bool rewrite_header = segs.empty();
  std::vector<Hash> last_leaves;
  if (!segs.empty()) {
    if (segs[0].first_index != 0) return absl::DataLossError("first segment does not start at entry 0");
    const SegmentFile& last = segs.back();
    last_first = last.first_index;
    ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(last.path));
    last_file_size = bytes.size();
    absl::StatusOr<SegmentHeader> h = ParseSegmentHeader(bytes, kSegmentMagic);
    if (!h.ok()) {
      // A segment created but not yet fully written has a short header.
      if (bytes.size() >= kSegmentHeaderSize) {
        return absl::DataLossError(absl::StrCat(last.path, ": ", h.status().message()));
      }
      rewrite_header = true;
      report_.dropped_bytes = bytes.size();
      report_.dropped_reason = "torn segment header";
    } else {
      if (h->first_index != last.first_index) {
        return absl::DataLossError(absl::StrCat(last.path, ": header names first entry ", h->first_index));
      }
      SegmentReader reader(bytes);
      absl::string_view payload;
      while (reader.Next(&payload)) last_leaves.push_back(HashLeaf(payload));
      last_good_end = reader.good_end();
      if (!reader.status().ok()) {
        report_.dropped_bytes = bytes.size() - last_good_end;
        report_.dropped_reason = std::string(reader.status().message());
      }
    }
  }
  const uint64_t entries = last_first + last_leaves.size();
  if (have_latest && latest.size > entries) {
    return absl::DataLossError(absl::StrCat(
        "audit log holds ", entries, " whole entries but checkpoint ", latest.size,
        " was signed: acknowledged entries are damaged or missing (",
        report_.dropped_reason.empty() ? "segments missing" : report_.dropped_reason,
        "); run auditctl verify"));
  }

  // 3. Repair: cut torn tails, (re)create the last segment's header.
  if (rewrite_header) {
    const std::string path = SegmentPath(dir_, last_first);
    ASSIGN_OR_RETURN(segment_, AppendFile::Open(path, 0, true));
    RETURN_IF_ERROR(segment_->Append(EncodeSegmentHeader(kSegmentMagic, last_first)));
    RETURN_IF_ERROR(segment_->Sync());
    RETURN_IF_ERROR(SyncDir(dir_));
  } else {
    ASSIGN_OR_RETURN(segment_, AppendFile::Open(segs.back().path, last_good_end, false));
    // Synced even when nothing was cut: records a killed process wrote but
    // did not sync may be in the page cache only, and once this log says it
    // holds them its owner may rely on it (gateway/queued_audit_log.h
    // forgets its queued copies).
    RETURN_IF_ERROR(segment_->Sync());
  }
  if (have_cp_file) {
    ASSIGN_OR_RETURN(uint64_t cp_size_on_disk,
                     [&]() -> absl::StatusOr<uint64_t> {
                       ASSIGN_OR_RETURN(std::string b, ReadWholeFile(CheckpointsPath(dir_)));
                       return b.size();
                     }());
    report_.checkpoint_bytes_dropped = cp_size_on_disk - cp_good_end;
    ASSIGN_OR_RETURN(checkpoint_file_, AppendFile::Open(CheckpointsPath(dir_), cp_good_end, false));
    if (report_.checkpoint_bytes_dropped > 0) RETURN_IF_ERROR(checkpoint_file_->Sync());
  }
  {
    uint64_t good_end = kSegmentHeaderSize;
    absl::Status st;
    absl::StatusOr<std::vector<std::string>> got =
        ReadRecordFile(CosignaturesPath(dir_), kCosignatureMagic, &good_end, &st);
    if (got.ok() && good_end == 0) {
      ASSIGN_OR_RETURN(std::string b, ReadWholeFile(CosignaturesPath(dir_)));
      if (b.size() >= kSegmentHeaderSize) return st;  // a damaged header, not a torn one
      report_.cosignature_bytes_dropped = b.size();   // created, header never written
    } else if (got.ok()) {
      for (const std::string& rec : *got) {
        size_t nl = rec.find('\n');
        uint64_t size;
        absl::StatusOr<NoteSignature> sig = absl::InvalidArgumentError("");
        if (nl != std::string::npos && absl::EndsWith(rec, "\n")) {
          sig = ParseSignatureLine(
              absl::string_view(rec).substr(nl + 1, rec.size() - nl - 2));
        }
        if (!sig.ok() || !absl::SimpleAtoi(rec.substr(0, nl), &size)) {
          return absl::DataLossError("cosignatures.log: malformed record");
        }
        std::vector<StoredCosignature>& stored = cosignatures_[size];
        if (std::any_of(stored.begin(), stored.end(), [&](const StoredCosignature& c) {
              return c.name == sig->name && c.key_id == sig->key_id;
            })) {
          ++report_.cosignatures_repeated;  // written before repeats were refused
          continue;
        }
        stored.push_back({sig->name, sig->key_id, rec.substr(nl + 1)});
      }
      ASSIGN_OR_RETURN(std::string b, ReadWholeFile(CosignaturesPath(dir_)));
      report_.cosignature_bytes_dropped = b.size() - good_end;
      ASSIGN_OR_RETURN(cosignature_file_, AppendFile::Open(CosignaturesPath(dir_), good_end, false));
    } else if (!absl::IsNotFound(got.status())) {
      return got.status();
    }
  }

  // 4. Tree: keep what a checkpoint vouches for, rebuild the rest from segments.
  ASSIGN_OR_RETURN(tree_, TreeStore::Open(TreeDir(dir_)));
  uint64_t trusted = std::min(tree_->size(), entries);
  if (have_latest) {
    absl::StatusOr<Hash> root = latest.size <= trusted ? TreeRoot(*tree_, latest.size)
                                                       : absl::StatusOr<Hash>(absl::NotFoundError(""));
    trusted = (root.ok() && *root == latest.root) ? latest.size : 0;
    if (trusted > 0 && options_.verify_tree_on_open && !tree_->CheckConsistency(trusted).ok()) {
      trusted = 0;
    }
  } else {
    trusted = std::min(trusted, last_first);
  }
  RETURN_IF_ERROR(tree_->Truncate(trusted));
  absl::StatusOr<CompactRange> range = CompactRange::FromReader(*tree_, trusted);
  if (!range.ok()) {
    trusted = 0;
    RETURN_IF_ERROR(tree_->Truncate(0));
    range = CompactRange();
  }
  range_ = *std::move(range);
  std::array<std::string, TreeStore::kMaxLevels> nodes;
  auto sink = [&nodes](int level, uint64_t, const Hash& h) {
    nodes[level].append(reinterpret_cast<const char*>(h.data()), h.size());
  };
  auto flush = [&]() -> absl::Status {
    RETURN_IF_ERROR(tree_->Append(nodes));
    for (auto& n : nodes) n.clear();
    return absl::OkStatus();
  };
  if (trusted < last_first) {
    absl::Status inner;
    RETURN_IF_ERROR(audit::ForEachEntry(dir_, trusted, [&](uint64_t index, absl::string_view payload) {
      if (index >= last_first) return false;
      range_.Append(HashLeaf(payload), sink);
      if (nodes[0].size() >= (1 << 20)) {
        inner = flush();
        if (!inner.ok()) return false;
      }
      return true;
    }, /*map_newest=*/true));  // at Open nothing else writes to the log
    RETURN_IF_ERROR(inner);
    if (range_.size() != last_first) {
      return absl::DataLossError("segments hold fewer entries than their names say");
    }
  }
  for (uint64_t i = range_.size(); i < entries; ++i) range_.Append(last_leaves[i - last_first], sink);
  RETURN_IF_ERROR(flush());
  RETURN_IF_ERROR(tree_->Sync());
  report_.tree_leaves_rebuilt = entries - trusted;
  report_.entries = entries;
  report_.latest_checkpoint_size = have_latest ? latest.size : 0;
  size_ = entries;
  root_ = range_.Root();
  cp_size_ = have_latest ? latest.size : 0;
  cp_time_ = absl::Now();
  return absl::OkStatus();
}

AuditLog::~AuditLog() {
  if (tree_) Close().IgnoreError();  // tree_ is set once recovery succeeded
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string AuditLog::origin() const { return options_.signer ? options_.signer->name() : ""; }

AuditLogStats AuditLog::stats() const {
  std::unique_lock<std::mutex> lock(mu_);
  return stats_;
}

uint64_t AuditLog::Size() const {
  std::unique_lock<std::mutex> lock(mu_);
  return size_;
}

absl::StatusOr<std::string> AuditLog::EntryPayload(const gatehouse::v1::AuditEntry& entry,
                                                    const std::function<int64_t()>& clock_ns) {
  std::string payload;
  if (entry.time_unix_ns() == 0) {
    gatehouse::v1::AuditEntry copy = entry;
    copy.set_time_unix_ns(clock_ns());
    copy.SerializeToString(&payload);
  } else {
    entry.SerializeToString(&payload);
  }
  RETURN_IF_ERROR(CheckPayloadSize(payload));
  return payload;
}

absl::Status AuditLog::CheckPayloadSize(const std::string& payload) {
  if (payload.empty() || payload.size() > kMaxRecordSize) {
    return absl::InvalidArgumentError(absl::StrCat("audit entry serializes to ", payload.size(),
                                                   " bytes; want 1 to ", kMaxRecordSize));
  }
  return absl::OkStatus();
}

absl::Status AuditLog::Prepare(const gatehouse::v1::AuditEntry& entry, Writer* w) const {
  ASSIGN_OR_RETURN(w->payload, EntryPayload(entry, options_.clock_ns));
  w->leaf = HashLeaf(w->payload);  // hashed on the caller's thread, in parallel
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AuditLog::Append(const gatehouse::v1::AuditEntry& entry) {
  Writer w;
  RETURN_IF_ERROR(Prepare(entry, &w));
  return committer_->SubmitAndWait(std::move(w));
}

void AuditLog::AppendAsync(const gatehouse::v1::AuditEntry& entry,
                           std::function<void(absl::StatusOr<uint64_t>)> done) {
  Writer w;
  absl::Status s = Prepare(entry, &w);
  if (!s.ok()) {
    done(s);
    return;
  }
  committer_->Submit(std::move(w), std::move(done));
}

void AuditLog::AppendAtAsync(uint64_t index, std::string payload,
                             std::function<void(absl::StatusOr<uint64_t>)> done) {
  if (absl::Status size = CheckPayloadSize(payload); !size.ok()) {
    done(size);
    return;
  }
  Writer w;
  w.payload = std::move(payload);
  w.leaf = HashLeaf(w.payload);
  w.index = index;
  committer_->Submit(std::move(w), std::move(done));
}
// Group commit (common/group_commit.h): the committer thread takes every
// waiting append, and here writes their records in one write, fdatasyncs
// once, appends their tree nodes; only then are they acknowledged. Appends
// that arrive during the fdatasync form the next batch.
std::vector<absl::StatusOr<uint64_t>> AuditLog::CommitBatch(std::vector<Writer>& batch) {
  absl::Status status;
  uint64_t first;
  {
    std::unique_lock<std::mutex> lock(mu_);
    status = write_error_;
    first = size_;
  }
  for (size_t i = 0; status.ok() && i < batch.size(); ++i) {
    if (batch[i].index != Writer::kAnyIndex && batch[i].index != first + i) {
      status = absl::FailedPreconditionError(
          absl::StrCat("audit log: an entry numbered ", batch[i].index, " would be entry ",
                       first + i, "; its batch is not written"));
    }
  }
  Hash root{};
  uint64_t sync_nanos = 0;
  bool tail_known = true;
  if (status.ok()) status = WriteBatch(batch, first, &root, &sync_nanos, &tail_known);
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (status.ok()) {
      size_ = first + batch.size();
      root_ = root;
      stats_.appended += batch.size();
      ++stats_.batches;
      stats_.sync_nanos += sync_nanos;
      if (size_ - cp_size_ >= options_.checkpoint_every_entries) cp_cv_.notify_one();
    } else if (!tail_known) {
      write_error_.Update(status);  // the tail is unknown until reopened
    }
    // Else the write was refused (a full disk) and cut back: this batch
    // fails, the log still ends at its last durable entry and goes on.
  }
  std::vector<absl::StatusOr<uint64_t>> results;
  results.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (status.ok()) {
      results.emplace_back(first + i);
    } else {
      results.emplace_back(status);
    }
  }
  return results;
}

absl::Status AuditLog::WriteBatch(const std::vector<Writer>& batch, uint64_t first_index,
                                  Hash* root, uint64_t* sync_nanos, bool* tail_known) {
  // Until this batch's records are written, the log ends where it did. A
  // next segment left half made by a failure here is made again by the next
  // try (or, after a crash, trimmed by recovery).
  *tail_known = true;
  if (segment_->size() > kSegmentHeaderSize && segment_->size() >= options_.segment_bytes) {
    ASSIGN_OR_RETURN(std::unique_ptr<AppendFile> next,
                     AppendFile::Open(SegmentPath(dir_, first_index), 0, true));
    RETURN_IF_ERROR(next->Append(EncodeSegmentHeader(kSegmentMagic, first_index)));
    RETURN_IF_ERROR(next->Sync());
    RETURN_IF_ERROR(SyncDir(dir_));
    segment_ = std::move(next);
  }
  std::string buf;
  size_t total = 0;
  for (const Writer& x : batch) total += x.payload.size() + kRecordHeaderSize;
  buf.reserve(total);
  for (const Writer& x : batch) AppendRecord(x.payload, &buf);
  // A refused write that was cut back leaves the tail as it was; a failed
  // fdatasync does not (what reached the disk is unknown), nor does a
  // failure after it.
  RETURN_IF_ERROR(segment_->Append(buf, tail_known));
  *tail_known = false;
  const int64_t start = absl::GetCurrentTimeNanos();
  RETURN_IF_ERROR(segment_->Sync());
  *sync_nanos = static_cast<uint64_t>(absl::GetCurrentTimeNanos() - start);
  // Durable. Now the tree, so proofs for these entries work once acknowledged.
  std::array<std::string, TreeStore::kMaxLevels> nodes;
  for (const Writer& x : batch) {
    range_.Append(x.leaf, [&nodes](int level, uint64_t, const Hash& h) {
      nodes[level].append(reinterpret_cast<const char*>(h.data()), h.size());
    });
  }
  *root = range_.Root();
  return tree_->Append(nodes);
}

absl::Status AuditLog::SignCheckpoint(uint64_t size, const Hash& root, bool* refused) {
  // REQUIRES cp_mu_ held.
  RETURN_IF_ERROR(tree_->Sync());  // recovery trusts tree nodes a checkpoint covers
  Checkpoint cp;
  cp.origin = options_.signer->name();
  cp.size = size;
  cp.root = root;
  std::string note = SignNote(FormatCheckpoint(cp), {options_.signer.get()});
  bool cut_back = false;
  if (!checkpoint_file_) {
    absl::StatusOr<std::unique_ptr<AppendFile>> created =
        CreateRecordFile(dir_, CheckpointsPath(dir_), kCheckpointMagic, &cut_back);
    if (!created.ok()) {
      if (refused != nullptr) *refused = cut_back;
      return created.status();
    }
    checkpoint_file_ = *std::move(created);
  }
  std::string rec;
  AppendRecord(note, &rec);
  absl::Status written = checkpoint_file_->Append(rec, &cut_back);
  if (!written.ok()) {
    if (refused != nullptr) *refused = cut_back;
    return written;
  }
  RETURN_IF_ERROR(checkpoint_file_->Sync());
  std::unique_lock<std::mutex> lock(mu_);
  checkpoints_[size] = note;
  ++stats_.checkpoints;
  cp_size_ = size;
  cp_time_ = absl::Now();
  return absl::OkStatus();
}

void AuditLog::CheckpointLoop() {
  const absl::Duration interval = options_.checkpoint_interval;
  while (true) {
    uint64_t size;
    Hash root;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Check before waiting: a Signal sent while we were signing is not lost.
      while (true) {
        if (stop_) return;
        const bool fresh = size_ > cp_size_;
        const bool by_count = size_ - cp_size_ >= options_.checkpoint_every_entries;
        const absl::Duration age = absl::Now() - cp_time_;
        const bool timed = interval > absl::ZeroDuration();
        const absl::Duration backoff = cp_retry_after_ - absl::Now();
        if (fresh && backoff <= absl::ZeroDuration() && (by_count || (timed && age >= interval))) {
          break;
        }
        absl::Duration wait = timed ? (fresh ? interval - age : interval) : absl::Seconds(60);
        // Only the backoff after a refused write holds back a checkpoint
        // that is due by count: wait for it alone.
        if (fresh) wait = by_count ? backoff : std::max(wait, backoff);
        cp_cv_.wait_for(lock, absl::ToChronoNanoseconds(std::max(wait, absl::Milliseconds(1))));
      }
      size = size_;
      root = root_;
    }
    std::unique_lock<std::mutex> cp_lock(cp_mu_);
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (size <= cp_size_) continue;
    }
    bool refused = false;
    absl::Status s = SignCheckpoint(size, root, &refused);
    if (!s.ok()) {
      std::unique_lock<std::mutex> lock(mu_);
      if (refused) {
        // A full disk: nothing was written; try again in a second.
        cp_retry_after_ = absl::Now() + absl::Seconds(1);
      } else {
        write_error_.Update(s);  // a log that cannot checkpoint stops accepting entries
      }
    }
  }
}

absl::StatusOr<std::string> AuditLog::CheckpointNow() {
  if (!options_.signer) return absl::FailedPreconditionError("audit log has no checkpoint signer");
  std::unique_lock<std::mutex> cp_lock(cp_mu_);
  uint64_t size;
  Hash root;
  {
    std::unique_lock<std::mutex> lock(mu_);
    size = size_;
    root = root_;
    if (size <= cp_size_ && !checkpoints_.empty()) {
      return WithCosignatures(checkpoints_.rbegin()->first, checkpoints_.rbegin()->second);
    }
  }
  RETURN_IF_ERROR(SignCheckpoint(size, root));
  std::unique_lock<std::mutex> lock(mu_);
  return WithCosignatures(size, checkpoints_[size]);
}

std::string AuditLog::WithCosignatures(uint64_t size, const std::string& note) const {
  auto it = cosignatures_.find(size);
  if (it == cosignatures_.end()) return note;
  std::string out = note;
  for (const StoredCosignature& c : it->second) out += c.line;
  return out;
}

absl::StatusOr<std::string> AuditLog::LatestCheckpoint() const {
  std::unique_lock<std::mutex> lock(mu_);
  if (checkpoints_.empty()) return absl::NotFoundError("no checkpoint has been signed");
  return WithCosignatures(checkpoints_.rbegin()->first, checkpoints_.rbegin()->second);
}

absl::StatusOr<std::string> AuditLog::CheckpointAt(uint64_t size) const {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = checkpoints_.find(size);
  if (it == checkpoints_.end()) return absl::NotFoundError(absl::StrCat("no checkpoint at size ", size));
  return WithCosignatures(size, it->second);
}

absl::StatusOr<CheckpointNote> AuditLog::LatestCheckpointNote() const {
  std::unique_lock<std::mutex> lock(mu_);
  if (checkpoints_.empty()) return absl::NotFoundError("no audit checkpoint has been signed yet");
  const auto& [size, note] = *checkpoints_.rbegin();
  return CheckpointNote{size, WithCosignatures(size, note)};
}

std::vector<uint64_t> AuditLog::CheckpointSizes() const {
  std::unique_lock<std::mutex> lock(mu_);
  std::vector<uint64_t> out;
  for (const auto& [size, note] : checkpoints_) out.push_back(size);
  return out;
}

absl::StatusOr<Hash> AuditLog::RootAt(uint64_t size) const {
  if (size > Size()) return absl::InvalidArgumentError(absl::StrCat("size ", size, " is beyond the log"));
  return TreeRoot(*tree_, size);
}

absl::StatusOr<Hash> AuditLog::LeafHash(uint64_t index) const {
  if (index >= Size()) return absl::InvalidArgumentError(absl::StrCat("no entry ", index));
  return tree_->GetNode(0, index);
}

absl::StatusOr<std::vector<Hash>> AuditLog::InclusionProof(uint64_t index, uint64_t tree_size) const {
  if (tree_size > Size()) {
    return absl::InvalidArgumentError(absl::StrCat("tree size ", tree_size, " is beyond the log"));
  }
  return ProveInclusion(*tree_, index, tree_size);
}

absl::StatusOr<std::vector<Hash>> AuditLog::ConsistencyProof(uint64_t size1, uint64_t size2) const {
  if (size2 > Size()) {
    return absl::InvalidArgumentError(absl::StrCat("tree size ", size2, " is beyond the log"));
  }
  return ProveConsistency(*tree_, size1, size2);
}

absl::Status AuditLog::ForEachEntry(
    uint64_t start, const std::function<bool(uint64_t, absl::string_view)>& fn) const {
  const uint64_t end = Size();
  if (start >= end) return absl::OkStatus();
  // Mapped: the scan stops at an entry already durable, and a cut-back
  // never reaches below one.
  return audit::ForEachEntry(
      dir_, start,
      [&](uint64_t index, absl::string_view payload) { return index < end && fn(index, payload); },
      /*map_newest=*/true);
}

absl::StatusOr<gatehouse::v1::AuditEntry> AuditLog::ReadEntry(uint64_t index) const {
  if (index >= Size()) return absl::InvalidArgumentError(absl::StrCat("no entry ", index));
  gatehouse::v1::AuditEntry entry;
  bool found = false;
  // Mapped: the scan stops at `index`, which is durable, and a cut-back never
  // reaches below a durable entry.
  RETURN_IF_ERROR(audit::ForEachEntry(
      dir_, index,
      [&](uint64_t, absl::string_view payload) {
        found = entry.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
        return false;
      },
      /*map_newest=*/true));
  if (!found) return absl::DataLossError(absl::StrCat("entry ", index, " does not parse"));
  return entry;
}

absl::Status AuditLog::AddCosignature(absl::string_view cosigned_note, const NoteVerifier& cosigner) {
  std::unique_lock<std::mutex> cp_lock(cp_mu_);  // file I/O under cp_mu_, never under mu_
  ASSIGN_OR_RETURN(CheckedCosignature checked,
                   CheckCosignature(cosigned_note, cosigner,
                                    [this](uint64_t size) -> absl::StatusOr<std::string> {
                                      std::unique_lock<std::mutex> lock(mu_);
                                      auto it = checkpoints_.find(size);
                                      if (it == checkpoints_.end()) return absl::NotFoundError("");
                                      return it->second;
                                    }));
  const uint64_t size = checked.size;
  const std::string& line = checked.line;
  {
    // Checked and stored under cp_mu_: two calls by one cosigner cannot both pass.
    std::unique_lock<std::mutex> lock(mu_);
    auto stored = cosignatures_.find(size);
    if (stored != cosignatures_.end()) {
      for (const StoredCosignature& c : stored->second) {
        if (c.name != checked.name || c.key_id != checked.key_id) continue;
        if (c.line == line) return absl::OkStatus();  // a retry of the same call
        return absl::AlreadyExistsError(
            absl::StrCat(cosigner.name(), " has already cosigned the checkpoint at ", size,
                         " entries; a second cosignature by one key is not stored"));
      }
      // Our own signature line plus the cosignatures: ParseNote's limit.
      if (1 + stored->second.size() >= kMaxNoteSignatures) {
        return absl::ResourceExhaustedError(
            absl::StrCat("the checkpoint at ", size, " entries carries ",
                         stored->second.size(), " cosignatures, the most a note can hold"));
      }
    }
  }
  if (!cosignature_file_) {
    ASSIGN_OR_RETURN(cosignature_file_,
                     CreateRecordFile(dir_, CosignaturesPath(dir_), kCosignatureMagic));
  }
  std::string rec;
  AppendRecord(absl::StrCat(size, "\n", line), &rec);
  RETURN_IF_ERROR(cosignature_file_->Append(rec));
  RETURN_IF_ERROR(cosignature_file_->Sync());
  std::unique_lock<std::mutex> lock(mu_);
  cosignatures_[size].push_back({checked.name, checked.key_id, line});
  return absl::OkStatus();
}

void AuditLog::Abandon() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    abandoned_ = true;
  }
  Close().IgnoreError();
}

absl::Status AuditLog::Writable() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ && write_error_.ok()) return absl::FailedPreconditionError("audit log is closed");
  return write_error_;
}

absl::Status AuditLog::Close() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
    stop_ = true;
    cp_cv_.notify_all();
  }
  // No new appends (FailedPrecondition); those queued are still committed
  // and acknowledged.
  if (committer_) committer_->Stop();
  if (checkpointer_.joinable()) checkpointer_.join();
  if (!options_.signer) return absl::OkStatus();
  std::unique_lock<std::mutex> cp_lock(cp_mu_);
  uint64_t size;
  Hash root;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (abandoned_ || size_ <= cp_size_ || !write_error_.ok()) return write_error_;
    size = size_;
    root = root_;
  }
  return SignCheckpoint(size, root);
}

}  // namespace gatehouse::audit

// AuditLog: the gateway's tamper-evident, crash-safe audit log. Entries
// (gatehouse.v1.AuditEntry) are framed with length and CRC-32C in segment
// files, made durable by group commit (a commit thread writes every append
// waiting at that moment with one write and one fdatasync, and acknowledges
// them only after it returns; common/group_commit.h), hashed into an RFC 6962 Merkle tree stored
// beside them, and summarised in C2SP signed checkpoints every N entries or
// T milliseconds. Peers' cosignatures (C2SP tlog-cosignature) are stored beside
// the checkpoints, at most one a cosigner key a checkpoint. Format and recovery rules: docs/audit-log.md.
//
// Thread-safety: thread-safe. Append/AppendAsync may be called from any
// number of threads at once (that is how group commit batches); proofs,
// checkpoints and cosignatures may be requested concurrently with appends.
// Two threads run inside: the commit thread and (with a signer) the
// checkpoint thread. One AuditLog per directory (an flock enforces it).
//
// Example:
//   AuditLogOptions opts;
//   opts.signer = std::make_shared<NoteSigner>(*NoteSigner::FromPrivateKey(skey));
//   ASSIGN_OR_RETURN(std::unique_ptr<AuditLog> log, AuditLog::Open("/var/lib/gh/audit", opts));
//   LOG(INFO) << log->recovery_report().ToString();
//   ASSIGN_OR_RETURN(uint64_t index, log->Append(entry));   // durable on return
//   ASSIGN_OR_RETURN(std::string note, log->LatestCheckpoint());
//   ASSIGN_OR_RETURN(auto proof, log->InclusionProof(index, size_in_note));
#ifndef GATEHOUSE_AUDIT_AUDIT_LOG_H_
#define GATEHOUSE_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include <condition_variable>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit/audit_trail.h"
#include "common/group_commit.h"
#include "gatehouse/v1/audit.pb.h"
#include "audit/checkpoint.h"
#include "audit/merkle_tree.h"
#include "audit/note.h"

namespace gatehouse::audit {

class AppendFile;
class TreeStore;

struct AuditLogOptions {
  // Signs checkpoints (type 0x01 key; its name is the log's origin line). If
  // null, no checkpoints are signed; proofs still work against RootAt().
  std::shared_ptr<const NoteSigner> signer;
  // Keys that signed this log's earlier checkpoints, before a rotation to
  // `signer`: Open accepts checkpoints signed by them too.
  std::vector<NoteVerifier> previous_keys;
  // Sign a checkpoint once this many entries have arrived since the last one...
  uint64_t checkpoint_every_entries = 10000;
  // ...or once this long has passed with new entries (zero: count only).
  absl::Duration checkpoint_interval = absl::Seconds(1);
  // Start a new segment file once the current one reaches this size.
  uint64_t segment_bytes = 64ull << 20;
  // Most bytes one group commit writes.
  size_t max_batch_bytes = 4 << 20;
  // Wall clock in Unix nanoseconds, for entries appended with time_unix_ns 0.
  std::function<int64_t()> clock_ns;
  // On Open, recompute every stored tree node from the level below before
  // trusting the tree (one SHA-256 of 65 bytes per entry, read sequentially:
  // not measured here, expect well under a second per million entries).
  // Without it only the root at the latest checkpoint is checked; proofs
  // are self-checked anyway.
  bool verify_tree_on_open = true;
  // Create the directory (and an empty log) if it does not exist.
  bool create_if_missing = true;
};

// What Open found and repaired.
struct RecoveryReport {
  uint64_t entries = 0;            // entries in the log after recovery
  uint64_t dropped_bytes = 0;      // bytes cut from the end of the last segment
  std::string dropped_reason;      // the fault that ended the good data, if any
  uint64_t checkpoint_bytes_dropped = 0;  // torn tail of checkpoints.log
  uint64_t cosignature_bytes_dropped = 0;  // torn tail of cosignatures.log
  // Further cosignatures of one checkpoint by a key that had already
  // cosigned it (stored before such were refused): kept on disk, not served.
  uint64_t cosignatures_repeated = 0;
  uint64_t tree_leaves_rebuilt = 0;  // leaves re-hashed from segments into tree/
  uint64_t latest_checkpoint_size = 0;
  std::string ToString() const;
};

class AuditLog final : public AuditTrail {
 public:
  // Opens the log in `dir`, recovering from a crash: the last segment is cut
  // after its last whole, checksummed entry (bytes dropped are reported), torn
  // checkpoint/cosignature records are cut, and tree nodes that cannot be
  // vouched for (not covered by a checkpoint whose root they reproduce) are
  // rebuilt from the segments.
  // Only one AuditLog may hold a directory (an flock on <dir>/LOCK).
  // Errors: NotFound (no dir and !create_if_missing); FailedPrecondition if
  // another AuditLog (in any process) holds the directory; DataLoss if recovery
  // would leave fewer entries than the latest signed checkpoint covers (an
  // acknowledged entry is gone: nothing is truncated, the log refuses to
  // open), if a segment other than the last is damaged, or if a checkpoint was
  // signed by a key that is neither `signer` nor in `previous_keys`;
  // Unavailable on I/O errors. The checkpoint checks run before anything is
  // cut, so those DataLoss errors leave every file as it was.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& dir,
                                                        AuditLogOptions options);
  // Close()s, ignoring its status.
  ~AuditLog() override;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one entry and returns its index once it is durable (fdatasynced)
  // and in the Merkle tree, so InclusionProof(index, Size()) works at once.
  // If entry.time_unix_ns() is 0 the stored copy gets the clock's time.
  // Errors: InvalidArgument if the entry serializes to more than 1 MiB;
  // FailedPrecondition after Close(); ResourceExhausted/Unavailable when
  // the write is refused (a full disk): the segment is cut back to its last
  // durable entry and later appends are tried again. Unavailable on a failed
  // fdatasync (or a write that could not be cut back), after which every
  // later Append fails too: the log's tail is unknown until it is reopened
  // and recovered. A failed Append is not acknowledged and may or may not be
  // present after reopening.
  absl::StatusOr<uint64_t> Append(const gatehouse::v1::AuditEntry& entry);

  // As Append, but returns at once and calls `done` with the index (or the
  // error) once the entry is durable, or at once if it is refused. `done`
  // runs on the log's commit thread (or the caller's, for an immediate
  // refusal): it must be quick and must not call Append or Close (it may
  // call AppendAsync). For servers that must not park a thread per append.
  void AppendAsync(const gatehouse::v1::AuditEntry& entry,
                   std::function<void(absl::StatusOr<uint64_t>)> done) override;
  // As AppendAsync, for an entry numbered and stored elsewhere first
  // (gateway/queued_audit_log.h): `payload` is the entry serialized, its
  // time set, and is stored byte for byte, only as entry `index`. If the log
  // would give it another index (an earlier append failed, or another
  // writer got there first) it is refused with FailedPrecondition, and so
  // is the rest of its batch: nothing of that batch is written.
  void AppendAtAsync(uint64_t index, std::string payload,
                     std::function<void(absl::StatusOr<uint64_t>)> done);
  // What Append stores for `entry`: serialized, with `clock_ns()`'s time if
  // it has none. InvalidArgument if it is empty or over 1 MiB
  // (CheckPayloadSize).
  static absl::StatusOr<std::string> EntryPayload(const gatehouse::v1::AuditEntry& entry,
                                                  const std::function<int64_t()>& clock_ns);
  static absl::Status CheckPayloadSize(const std::string& payload);

  // Durable entries (the current tree size).
  uint64_t Size() const override;
  const RecoveryReport& recovery_report() const { return report_; }
  std::string RecoverySummary() const override { return report_.ToString(); }
  // The failed fdatasync (or write not cut back) after which every append
  // fails until the log is reopened, or FailedPrecondition once closed; OK
  // otherwise.
  absl::Status Writable() const override;
  AuditLogStats stats() const override;
  // The origin (signer's name), or "" without a signer.
  std::string origin() const override;

  // The newest signed checkpoint note, with every stored cosignature line.
  // NotFound if none has been signed.
  absl::StatusOr<std::string> LatestCheckpoint() const;
  // The signed checkpoint at exactly `size`, with cosignatures. NotFound if
  // none was signed at that size.
  absl::StatusOr<std::string> CheckpointAt(uint64_t size) const;
  // Sizes of all signed checkpoints, ascending.
  std::vector<uint64_t> CheckpointSizes() const;
  // The newest signed checkpoint's size and note, with cosignatures.
  absl::StatusOr<CheckpointNote> LatestCheckpointNote() const override;
  // Signs a checkpoint at the current size now (if it is larger than the last
  // one) and returns the latest note. FailedPrecondition without a signer.
  absl::StatusOr<std::string> CheckpointNow();

  // Root of the tree of the first `size` entries. InvalidArgument if
  // size > Size().
  absl::StatusOr<Hash> RootAt(uint64_t size) const;
  // RFC 6962 leaf hash of entry `index`. InvalidArgument if index >= Size().
  absl::StatusOr<Hash> LeafHash(uint64_t index) const;
  // RFC 9162 section 2.1.3.1 inclusion proof; reads O(log^2 n) tree nodes,
  // never the log. InvalidArgument unless index < tree_size <= Size().
  absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index,
                                                   uint64_t tree_size) const override;
  // RFC 9162 section 2.1.4.1 consistency proof. InvalidArgument unless
  // size1 <= size2 <= Size().
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1,
                                                     uint64_t size2) const override;
  // Reads entry `index` back from its segment (scans that segment: for tools
  // and tests, not the hot path). InvalidArgument if index >= Size().
  absl::StatusOr<gatehouse::v1::AuditEntry> ReadEntry(uint64_t index) const override;
  // Entries from `start` up to Size() when called (log_directory.h's
  // ForEachEntry over this log's directory).
  absl::Status ForEachEntry(
      uint64_t start, const std::function<bool(uint64_t, absl::string_view)>& fn) const override;

  // Stores a peer's cosignature of one of our checkpoints: at most one per
  // cosigner key per checkpoint, so a checkpoint's cosignatures count its
  // distinct cosigners. `cosigned_note` is the checkpoint note carrying (at
  // least) the cosigner's signature line; `cosigner` is its type-0x04 key
  // (the caller takes it from the signed directory). Only the first line by
  // `cosigner` is considered; lines by other keys are ignored.
  // OK: stored and synced; or exactly this line is stored already (a retry),
  // and nothing is written.
  // Errors, each leaving the log and cosignatures.log unchanged:
  //   InvalidArgument: a malformed note;
  //   NotFound: the text is not a checkpoint we signed, or no line is by
  //     `cosigner` (name and key id);
  //   DataLoss: that line does not verify under `cosigner`;
  //   AlreadyExists: `cosigner` has another cosignature of this checkpoint
  //     stored (say, with another timestamp);
  //   ResourceExhausted: the checkpoint already carries kMaxNoteSignatures
  //     signatures, so another would make the note unreadable.
  absl::Status AddCosignature(absl::string_view cosigned_note,
                              const NoteVerifier& cosigner) override;

  // Refuses further appends, commits (and acknowledges) every append queued
  // before it, stops both threads, and signs a final checkpoint if entries
  // arrived since the last one. Idempotent.
  absl::Status Close() override;
  // As Close, but signs no final checkpoint: for an owner that found the
  // log disagreeing with its own records (gateway/queued_audit_log.h), so
  // that nothing more is signed over it.
  void Abandon();

 private:
  struct Writer;
  AuditLog(std::string dir, AuditLogOptions options);

  absl::Status Recover();
  absl::Status Prepare(const gatehouse::v1::AuditEntry& entry, Writer* w) const;
  // Commits `batch` (one write, one fdatasync), on the commit thread: each
  // entry's index, or the batch's error.
  std::vector<absl::StatusOr<uint64_t>> CommitBatch(std::vector<Writer>& batch);
  // On failure, *tail_known says whether the segment still ends where it
  // did (a write refused and cut back): then the log can go on.
  absl::Status WriteBatch(const std::vector<Writer>& batch, uint64_t first_index, Hash* root,
                          uint64_t* sync_nanos, bool* tail_known);
  // On failure, *refused (if given) says the checkpoint's write was refused
  // and cut back: the file is as it was and a later try may succeed.
  absl::Status SignCheckpoint(uint64_t size, const Hash& root, bool* refused = nullptr);
  void CheckpointLoop();
  std::string WithCosignatures(uint64_t size, const std::string& note) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const AuditLogOptions options_;
  int lock_fd_ = -1;
  RecoveryReport report_;
  std::unique_ptr<TreeStore> tree_;

  // Touched only by the commit thread (after Recover).
  std::unique_ptr<AppendFile> segment_;
  CompactRange range_;

  std::mutex cp_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // serializes checkpoint signing
  std::unique_ptr<AppendFile> checkpoint_file_ ABSL_GUARDED_BY(cp_mu_);
  std::unique_ptr<AppendFile> cosignature_file_ ABSL_GUARDED_BY(cp_mu_);

  mutable std::mutex mu_;
  uint64_t size_ ABSL_GUARDED_BY(mu_) = 0;
  Hash root_ ABSL_GUARDED_BY(mu_){};
  absl::Status write_error_ ABSL_GUARDED_BY(mu_);  // sticky
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool abandoned_ ABSL_GUARDED_BY(mu_) = false;  // Abandon: no final checkpoint
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::condition_variable cp_cv_;
  uint64_t cp_size_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time cp_time_ ABSL_GUARDED_BY(mu_);
  // After a checkpoint write refused by a full disk, the next try waits.
  absl::Time cp_retry_after_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::map<uint64_t, std::string> checkpoints_ ABSL_GUARDED_BY(mu_);  // size -> note
  AuditLogStats stats_ ABSL_GUARDED_BY(mu_);
  // One stored cosignature line and the key it names.
  struct StoredCosignature {
    std::string name;
    uint32_t key_id = 0;
    std::string line;  // "— name base64(...)\n"
  };
  // checkpoint size -> its cosignatures, at most one a key (name, key id).
  std::map<uint64_t, std::vector<StoredCosignature>> cosignatures_ ABSL_GUARDED_BY(mu_);
  // The commit thread and its queue (common/group_commit.h): made once
  // recovery is done, stopped (drained) by Close.
  using Committer = GroupCommit<Writer, absl::StatusOr<uint64_t>>;
  std::unique_ptr<Committer> committer_;
  std::thread checkpointer_;
};

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_AUDIT_LOG_H_

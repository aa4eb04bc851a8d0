// AuditTrail: what a gateway needs of its audit log, whichever keeps it:
// AuditLog (audit_log.h: segment files on one machine's disk) or
// PostgresAuditLog (gateway/store/postgres/: one log in the database that
// every replica of an organisation's gateway shares). Appending, the
// newest signed checkpoint, proofs, entries read back, and peers'
// cosignatures.
//
// Also the pieces both keep alike: the check of a peer's cosignature
// (CheckCosignature) and proofs built from stored nodes and checked before
// they are handed out (ProveInclusion, ProveConsistency).
//
// Example:
//   std::unique_ptr<AuditTrail> trail = ...;
//   trail->AppendAsync(entry, [](absl::StatusOr<uint64_t> index) { ... });
//   ASSIGN_OR_RETURN(CheckpointNote latest, trail->LatestCheckpointNote());
//   ASSIGN_OR_RETURN(auto proof, trail->InclusionProof(index, latest.size));
//
// Thread-safety: implementations are thread-safe.
#ifndef GATEHOUSE_AUDIT_AUDIT_TRAIL_H_
#define GATEHOUSE_AUDIT_AUDIT_TRAIL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "audit/merkle_tree.h"
#include "audit/note.h"
#include "gatehouse/v1/audit.pb.h"

namespace gatehouse::audit {

// Counters since Open, for metrics and benchmarks.
struct AuditLogStats {
  uint64_t appended = 0;     // entries made durable
  uint64_t batches = 0;      // group commits (one fdatasync, or one transaction, each)
  uint64_t sync_nanos = 0;   // total time making batches durable
  uint64_t checkpoints = 0;  // checkpoints signed
};

// A signed checkpoint: the size it covers and its note, with every stored
// cosignature line.
struct CheckpointNote {
  uint64_t size = 0;
  std::string note;
};

class AuditTrail {
 public:
  virtual ~AuditTrail() = default;

  // Calls `done` with the entry's index once it is durable (or with the
  // error: nothing acknowledged). `done` must be quick; it may run on an
  // internal thread, or at once on the caller's for an immediate refusal.
  virtual void AppendAsync(const gatehouse::v1::AuditEntry& entry,
                           std::function<void(absl::StatusOr<uint64_t>)> done) = 0;
  // Entries durable, as far as this process knows.
  virtual uint64_t Size() const = 0;
  virtual AuditLogStats stats() const = 0;
  // The origin line of its checkpoints (the signer's name).
  virtual std::string origin() const = 0;
  // What opening found and repaired, in one line.
  virtual std::string RecoverySummary() const = 0;
  // Whether an append refused with Unavailable may succeed if tried again
  // (a database restarting), rather than the log refusing every append
  // from then on (the file log after a failed fdatasync).
  virtual bool UnavailableIsTransient() const { return false; }
  // OK while appends can succeed; else why every append is refused until
  // something changes (a restart, or the log's own recovery). For the
  // gateway's readiness.
  virtual absl::Status Writable() const { return absl::OkStatus(); }

  // The newest signed checkpoint. NotFound if none has been signed.
  virtual absl::StatusOr<CheckpointNote> LatestCheckpointNote() const = 0;
  // RFC 9162 proofs, checked before they are returned (DataLoss if stored
  // nodes are damaged). InvalidArgument for a size beyond what is proved.
  virtual absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index,
                                                           uint64_t tree_size) const = 0;
  virtual absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1,
                                                             uint64_t size2) const = 0;
  // Entry `index` read back. InvalidArgument if there is none.
  virtual absl::StatusOr<gatehouse::v1::AuditEntry> ReadEntry(uint64_t index) const = 0;
  // Calls fn(index, serialized entry) for entries from `start` on, in order,
  // until it returns false or the entries durable when called run out.
  virtual absl::Status ForEachEntry(
      uint64_t start, const std::function<bool(uint64_t, absl::string_view)>& fn) const = 0;
  // Stores a peer's cosignature of one of our checkpoints: the contract of
  // AuditLog::AddCosignature.
  virtual absl::Status AddCosignature(absl::string_view cosigned_note,
                                      const NoteVerifier& cosigner) = 0;
  // Acknowledges what is queued, refuses later appends. Idempotent.
  virtual absl::Status Close() = 0;
};

// A peer's cosignature, checked and ready to store: one line by one key.
struct CheckedCosignature {
  uint64_t size = 0;  // of the checkpoint cosigned
  std::string name;
  uint32_t key_id = 0;
  std::string line;  // "— name base64(...)\n"
};

// Checks `cosigned_note` as AddCosignature must: a checkpoint we signed
// (`ours(size)` gives the note we signed at that size, NotFound if none),
// carrying a line by `cosigner` that verifies. Errors as AddCosignature
// says for InvalidArgument, NotFound and DataLoss.
absl::StatusOr<CheckedCosignature> CheckCosignature(
    absl::string_view cosigned_note, const NoteVerifier& cosigner,
    const std::function<absl::StatusOr<std::string>(uint64_t)>& ours);

// Proofs from stored nodes, verified against roots from the same nodes
// before they are returned: damage shows as DataLoss, never as a wrong proof.
absl::StatusOr<std::vector<Hash>> ProveInclusion(const NodeReader& tree, uint64_t index,
                                                 uint64_t tree_size);
absl::StatusOr<std::vector<Hash>> ProveConsistency(const NodeReader& tree, uint64_t size1,
                                                   uint64_t size2);

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_AUDIT_TRAIL_H_

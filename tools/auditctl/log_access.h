// Read-only access to an audit log shared by auditctl's commands (prove,
// check-proof, sla, sla-countersign, export --tiles): the stored checkpoint
// notes, the entries of a log whatever holds it (EntrySource: a directory
// here, the database in postgres_log.h), every leaf in a MemoryTree, and
// inclusion proofs in the JSON form `prove` prints and `check-proof` checks
// (gatehouse.v1.AuditInclusionProof).
//
// Thread-safety: pure functions over the files; safe while a gateway is
// appending to the log.
#ifndef GATEHOUSE_TOOLS_AUDITCTL_LOG_ACCESS_H_
#define GATEHOUSE_TOOLS_AUDITCTL_LOG_ACCESS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "audit/merkle_hasher.h"
#include "audit/merkle_tree.h"
#include "audit/note.h"
#include "gatehouse/v1/audit.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace gatehouse::auditctl {

// `path`'s contents without trailing whitespace.
absl::StatusOr<std::string> ReadText(const std::string& path);

// The public key in file `path` ("name+id+base64", as keygen writes PREFIX.pub).
absl::StatusOr<audit::NoteVerifier> LoadVerifier(const std::string& path);

// `m` in the protobuf JSON mapping with the .proto field names.
std::string Json(const google::protobuf::Message& m, bool pretty);

// The stored checkpoint notes by size (not verified here; VerifyLog does
// that). Empty if there are none or the file cannot be read.
std::map<uint64_t, std::string> LoadCheckpoints(const std::string& dir);

// Called with each entry of a log (its index and stored bytes) in order;
// returning false stops the walk.
using EntryFn = std::function<bool(uint64_t, absl::string_view)>;
// Walks a log's entries from index 0 through an EntryFn, whatever holds
// them; the holder's error (DataLoss naming a missing or damaged entry) if
// it cannot.
using EntrySource = std::function<absl::Status(const EntryFn&)>;

// The entries of the log directory `dir` (audit::ForEachEntry).
EntrySource DirEntries(const std::string& dir);

// Appends every leaf of the log to `tree`, calling `each` (if set) with each
// parsed entry. Errors as `entries`; LoadTree(dir, ...) as audit::ForEachEntry.
absl::Status LoadTree(const EntrySource& entries, audit::MemoryTree* tree,
                      const std::function<void(uint64_t, const gatehouse::v1::AuditEntry&)>& each);
absl::Status LoadTree(const std::string& dir, audit::MemoryTree* tree,
                      const std::function<void(uint64_t, const gatehouse::v1::AuditEntry&)>& each);

// The inclusion proof of `entry` at `index` in the tree of `size` leaves,
// with the checkpoint note for `size` if `checkpoints` holds one.
// InvalidArgument unless index < size; the tree's error (NotFound) if it
// holds fewer than `size` leaves.
absl::StatusOr<gatehouse::v1::AuditInclusionProof> MakeInclusionProof(
    const audit::NodeReader& tree, uint64_t index, uint64_t size,
    const std::map<uint64_t, std::string>& checkpoints, const gatehouse::v1::AuditEntry& entry);

// What `prove` reads from a log, whatever holds it (a directory or a tiles
// export), so that both print the same proofs.
struct ProofSource {
  std::unique_ptr<audit::NodeReader> tree;
  uint64_t size = 0;                                     // leaves `tree` holds
  std::map<uint64_t, std::string> checkpoints;           // signed notes by tree size
  std::map<uint64_t, gatehouse::v1::AuditEntry> wanted;  // the entries asked for, by index
};

// Says which entries `prove` wants (by index or record id).
using EntryWanted = std::function<bool(uint64_t, const gatehouse::v1::AuditEntry&)>;

// A ProofSource over the log whose entries are `entries` and whose signed
// notes are `checkpoints`: the tree rebuilt from the entries (a stored tree
// is not trusted). Errors as LoadTree.
absl::StatusOr<ProofSource> LoadSource(const EntrySource& entries,
                                       std::map<uint64_t, std::string> checkpoints,
                                       const EntryWanted& wanted);

// A ProofSource over the log directory `dir`: the tree rebuilt from the
// segments (tree/ is not trusted). Errors as LoadTree.
absl::StatusOr<ProofSource> LoadDirSource(const std::string& dir, const EntryWanted& wanted);

// The public keys in files `paths` (--key, --cosigner). The first error, with
// the path, if one cannot be read.
absl::StatusOr<std::vector<audit::NoteVerifier>> LoadVerifiers(
    const std::vector<std::string>& paths);

// The root of the checkpoint `note` after checking it is signed by `key` and
// is for `size`. Errors as audit::OpenCheckpoint; DataLoss for another size.
absl::StatusOr<audit::Hash> CheckpointRoot(const std::string& note, uint64_t size,
                                           const audit::NoteVerifier& key);

// Proof path hashes from their bytes; a hash of the wrong length becomes
// zeros, so the proof fails to verify rather than being cut short.
std::vector<audit::Hash> ProofHashes(const google::protobuf::RepeatedPtrField<std::string>& in);

// OK iff `proof`'s entry is at its leaf index in the tree of its checkpoint,
// signed by `key`. DataLoss naming what does not match otherwise.
absl::Status CheckInclusionProof(const gatehouse::v1::AuditInclusionProof& proof,
                                 const audit::NoteVerifier& key);

}  // namespace gatehouse::auditctl

#endif  // GATEHOUSE_TOOLS_AUDITCTL_LOG_ACCESS_H_

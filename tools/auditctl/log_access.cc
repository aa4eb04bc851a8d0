#include "tools/auditctl/log_access.h"

#include <vector>

#include "absl/strings/strip.h"
#include "audit/checkpoint.h"
#include "audit/log_directory.h"
#include "audit/log_format.h"
#include "audit/merkle_verifier.h"
#include "audit/posix_file.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace gatehouse::auditctl {

using audit::Hash;

absl::StatusOr<std::string> ReadText(const std::string& path) {
  ASSIGN_OR_RETURN(std::string s, audit::ReadWholeFile(path));
  return std::string(absl::StripTrailingAsciiWhitespace(s));
}

absl::StatusOr<audit::NoteVerifier> LoadVerifier(const std::string& path) {
  ASSIGN_OR_RETURN(std::string vkey, ReadText(path));
  return audit::NoteVerifier::FromVerifierKey(vkey);
}

std::string Json(const google::protobuf::Message& m, bool pretty) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = pretty;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::map<uint64_t, std::string> LoadCheckpoints(const std::string& dir) {
  std::map<uint64_t, std::string> out;
  uint64_t end;
  absl::Status st;
  auto notes = audit::ReadRecordFile(audit::CheckpointsPath(dir), audit::kCheckpointMagic, &end, &st);
  if (!notes.ok()) return out;
  for (const std::string& n : *notes) {
    auto note = audit::ParseNote(n);
    if (!note.ok()) continue;
    auto cp = audit::ParseCheckpoint(note->text);
    if (cp.ok()) out[cp->size] = n;
  }
  return out;
}

EntrySource DirEntries(const std::string& dir) {
  return [dir](const EntryFn& fn) { return audit::ForEachEntry(dir, 0, fn); };
}

absl::Status LoadTree(const std::string& dir, audit::MemoryTree* tree,
                      const std::function<void(uint64_t, const gatehouse::v1::AuditEntry&)>& each) {
  return LoadTree(DirEntries(dir), tree, each);
}

absl::Status LoadTree(const EntrySource& entries, audit::MemoryTree* tree,
                      const std::function<void(uint64_t, const gatehouse::v1::AuditEntry&)>& each) {
  gatehouse::v1::AuditEntry e;
  return entries([&](uint64_t index, absl::string_view payload) {
    tree->Append(audit::HashLeaf(payload));
    if (each) {
      e.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
      each(index, e);
    }
    return true;
  });
}

absl::StatusOr<gatehouse::v1::AuditInclusionProof> MakeInclusionProof(
    const audit::NodeReader& tree, uint64_t index, uint64_t size,
    const std::map<uint64_t, std::string>& checkpoints, const gatehouse::v1::AuditEntry& entry) {
  ASSIGN_OR_RETURN(std::vector<Hash> proof, audit::BuildInclusionProof(tree, index, size));
  gatehouse::v1::AuditInclusionProof out;
  out.set_leaf_index(index);
  out.set_tree_size(size);
  ASSIGN_OR_RETURN(Hash leaf, tree.GetNode(0, index));
  ASSIGN_OR_RETURN(Hash root, audit::TreeRoot(tree, size));
  out.set_leaf_hash(audit::HashToBytes(leaf));
  out.set_root_hash(audit::HashToBytes(root));
  for (const Hash& h : proof) out.add_hashes(audit::HashToBytes(h));
  auto cp = checkpoints.find(size);
  if (cp != checkpoints.end()) out.set_checkpoint(cp->second);
  *out.mutable_entry() = entry;
  return out;
}

absl::StatusOr<ProofSource> LoadSource(const EntrySource& entries,
                                       std::map<uint64_t, std::string> checkpoints,
                                       const EntryWanted& wanted) {
  ProofSource out;
  auto tree = std::make_unique<audit::MemoryTree>();
  RETURN_IF_ERROR(LoadTree(entries, tree.get(), [&](uint64_t i, const gatehouse::v1::AuditEntry& e) {
    if (wanted(i, e)) out.wanted[i] = e;
  }));
  out.size = tree->size();
  out.tree = std::move(tree);
  out.checkpoints = std::move(checkpoints);
  return out;
}

absl::StatusOr<ProofSource> LoadDirSource(const std::string& dir, const EntryWanted& wanted) {
  return LoadSource(DirEntries(dir), LoadCheckpoints(dir), wanted);
}

absl::StatusOr<std::vector<audit::NoteVerifier>> LoadVerifiers(
    const std::vector<std::string>& paths) {
  std::vector<audit::NoteVerifier> out;
  for (const std::string& path : paths) {
    absl::StatusOr<audit::NoteVerifier> v = LoadVerifier(path);
    if (!v.ok())
      return absl::Status(v.status().code(), path + ": " + std::string(v.status().message()));
    out.push_back(*std::move(v));
  }
  return out;
}

absl::StatusOr<Hash> CheckpointRoot(const std::string& note, uint64_t size,
                                    const audit::NoteVerifier& key) {
  ASSIGN_OR_RETURN(audit::SignedCheckpoint cp, audit::OpenCheckpoint(note, key));
  if (cp.checkpoint.size != size) return absl::DataLossError("checkpoint is for another size");
  return cp.checkpoint.root;
}

std::vector<Hash> ProofHashes(const google::protobuf::RepeatedPtrField<std::string>& in) {
  std::vector<Hash> out;
  for (const std::string& s : in) {
    Hash h{};
    if (!audit::HashFromBytes(s, &h)) h.fill(0);
    out.push_back(h);
  }
  return out;
}

absl::Status CheckInclusionProof(const gatehouse::v1::AuditInclusionProof& proof,
                                 const audit::NoteVerifier& key) {
  ASSIGN_OR_RETURN(Hash root, CheckpointRoot(proof.checkpoint(), proof.tree_size(), key));
  const std::vector<Hash> path = ProofHashes(proof.hashes());
  std::string bytes;
  proof.entry().SerializeToString(&bytes);
  const Hash leaf = audit::HashLeaf(bytes);
  RETURN_IF_ERROR(audit::VerifyInclusion(proof.leaf_index(), proof.tree_size(), leaf, path, root));
  if (audit::HashToBytes(leaf) != proof.leaf_hash()) {
    return absl::DataLossError("leaf_hash does not match the entry");
  }
  return absl::OkStatus();
}

}  // namespace gatehouse::auditctl

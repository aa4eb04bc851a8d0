// The pieces AuditLog and PostgresAuditLog keep alike (audit_trail.h).
#include "audit/audit_trail.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "audit/checkpoint.h"
#include "audit/merkle_verifier.h"
#include "common/status_macros.h"

namespace gatehouse::audit {

absl::StatusOr<CheckedCosignature> CheckCosignature(
    absl::string_view cosigned_note, const NoteVerifier& cosigner,
    const std::function<absl::StatusOr<std::string>(uint64_t)>& ours) {
  ASSIGN_OR_RETURN(Note note, ParseNote(cosigned_note));
  ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpoint(note.text));
  absl::StatusOr<std::string> signed_note = ours(cp.size);
  if (absl::IsNotFound(signed_note.status()) ||
      (signed_note.ok() && !absl::StartsWith(*signed_note, note.text + "\n"))) {
    return absl::NotFoundError("cosigned note is not a checkpoint this log signed");
  }
  RETURN_IF_ERROR(signed_note.status());
  auto by_cosigner = std::find_if(
      note.signatures.begin(), note.signatures.end(), [&](const NoteSignature& sig) {
        return sig.name == cosigner.name() && sig.key_id == cosigner.key_id();
      });
  if (by_cosigner == note.signatures.end()) {
    return absl::NotFoundError(
        absl::StrCat("note carries no signature by cosigner ", cosigner.name()));
  }
  RETURN_IF_ERROR(VerifyCosignature(note.text, *by_cosigner, cosigner).status());
  return CheckedCosignature{cp.size, by_cosigner->name, by_cosigner->key_id,
                            FormatSignatureLine(*by_cosigner)};
}

absl::StatusOr<std::vector<Hash>> ProveInclusion(const NodeReader& tree, uint64_t index,
                                                 uint64_t tree_size) {
  ASSIGN_OR_RETURN(std::vector<Hash> proof, BuildInclusionProof(tree, index, tree_size));
  ASSIGN_OR_RETURN(Hash leaf, tree.GetNode(0, index));
  ASSIGN_OR_RETURN(Hash root, TreeRoot(tree, tree_size));
  absl::Status s = VerifyInclusion(index, tree_size, leaf, proof, root);
  if (!s.ok()) return absl::DataLossError(absl::StrCat("tree store damaged: ", s.message()));
  return proof;
}

absl::StatusOr<std::vector<Hash>> ProveConsistency(const NodeReader& tree, uint64_t size1,
                                                   uint64_t size2) {
  ASSIGN_OR_RETURN(std::vector<Hash> proof, BuildConsistencyProof(tree, size1, size2));
  ASSIGN_OR_RETURN(Hash root1, TreeRoot(tree, size1));
  ASSIGN_OR_RETURN(Hash root2, TreeRoot(tree, size2));
  absl::Status s = VerifyConsistency(size1, size2, root1, root2, proof);
  if (!s.ok()) return absl::DataLossError(absl::StrCat("tree store damaged: ", s.message()));
  return proof;
}

}  // namespace gatehouse::audit

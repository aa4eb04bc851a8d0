// Verification of RFC 9162 section 2.1.3 inclusion proofs and section 2.1.4
// consistency proofs over RFC 6962 SHA-256 trees. The verifier half of the
// proof code: it needs only hashes, never the log, so a peer gateway or an
// auditor can check proofs offline.
//
// Thread-safe: pure functions.
//
// Errors: InvalidArgument when the sizes or the proof's shape are impossible
// (index >= size, wrong number of hashes, size1 > size2); DataLoss when the
// shape is right but the hashes do not reproduce the root (a tampered proof,
// entry or root).
//
// Example:
//   absl::Status s = VerifyInclusion(index, size, HashLeaf(entry_bytes),
//                                    proof, checkpoint_root);
#ifndef GATEHOUSE_AUDIT_MERKLE_VERIFIER_H_
#define GATEHOUSE_AUDIT_MERKLE_VERIFIER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "audit/merkle_hasher.h"

namespace gatehouse::audit {

// RFC 9162 section 2.1.3.2: the root implied by `proof` for `leaf_hash` at
// `index` in a tree of `size` leaves.
// REQUIRES nothing: every input is checked.
absl::StatusOr<Hash> RootFromInclusionProof(uint64_t index, uint64_t size,
                                            const Hash& leaf_hash,
                                            const std::vector<Hash>& proof);

// OK iff `proof` shows `leaf_hash` at `index` in the tree of `size` with `root`.
absl::Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                             const std::vector<Hash>& proof, const Hash& root);

// RFC 9162 section 2.1.4.2: OK iff `proof` shows the tree of size2 with root2
// extends the tree of size1 with root1. size1 == size2 needs an empty proof
// and equal roots; size1 == 0 needs an empty proof (the empty tree is a
// prefix of every tree).
absl::Status VerifyConsistency(uint64_t size1, uint64_t size2, const Hash& root1,
                               const Hash& root2, const std::vector<Hash>& proof);

// Number of hashes in a correct inclusion proof for (index, size), or 0 when
// index >= size.
size_t InclusionProofSize(uint64_t index, uint64_t size);

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_MERKLE_VERIFIER_H_

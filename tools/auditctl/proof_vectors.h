// Generates the language-neutral proof test vectors in
// tests/testdata/audit/{inclusion,consistency}/, one JSON file per attack
// (gatehouse.v1.AuditProofVector), named after it, e.g.
// "modified-proof@1-bit-3.json", "preceding-garbage.json", "wrong-size.json".
// Deterministic: the tree is the SHA-256 leaves of the decimal strings "0".."20".
#ifndef GATEHOUSE_TOOLS_AUDITCTL_PROOF_VECTORS_H_
#define GATEHOUSE_TOOLS_AUDITCTL_PROOF_VECTORS_H_

#include <string>

#include "absl/status/statusor.h"

namespace gatehouse::auditctl {

// Writes every vector under `out_dir` (creating inclusion/ and consistency/).
// Returns how many files were written. Each is checked against the verifier
// before it is written: a vector whose verdict disagrees is an Internal error.
absl::StatusOr<int> WriteProofVectors(const std::string& out_dir);

}  // namespace gatehouse::auditctl

#endif  // GATEHOUSE_TOOLS_AUDITCTL_PROOF_VECTORS_H_

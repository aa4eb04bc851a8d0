// C2SP tlog-checkpoint bodies (https://c2sp.org/tlog-checkpoint) and C2SP
// tlog-cosignature v1 Ed25519 cosignatures (https://c2sp.org/tlog-cosignature).
//
//   <origin>\n<tree size, decimal, no leading zeros>\n<base64 root>\n[extension lines]
//
// A cosignature is a note signature line by a cosigner key of type 0x04 whose
// signature bytes are u64 big-endian timestamp || Ed25519 signature over
//   "cosignature/v1\ntime <timestamp>\n" || checkpoint text.
//
// This file, merkle_verifier.h and note.h are all a peer gateway or an
// auditor needs to check our checkpoints and proofs, or to cosign them.
//
// Thread-safety: pure functions.
//
// Example (cosigning a peer's checkpoint after checking consistency):
//   ASSIGN_OR_RETURN(SignedCheckpoint cp, OpenCheckpoint(note, peer_verifier));
//   RETURN_IF_ERROR(VerifyConsistency(old.size, cp.checkpoint.size, ...));
//   std::string line = Cosign(cp.text, my_cosigner_key, now_seconds);
#ifndef GATEHOUSE_AUDIT_CHECKPOINT_H_
#define GATEHOUSE_AUDIT_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "audit/merkle_hasher.h"
#include "audit/note.h"

namespace gatehouse::audit {

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;  // lines after the root, if any
};

// The note text for `cp` (ends with a newline).
std::string FormatCheckpoint(const Checkpoint& cp);

// Parses a checkpoint note text strictly: at least three non-empty lines,
// decimal size without leading zeros, root exactly 32 bytes of strict base64.
// InvalidArgument otherwise.
absl::StatusOr<Checkpoint> ParseCheckpoint(absl::string_view text);

// A checkpoint whose log signature has been verified.
struct SignedCheckpoint {
  Checkpoint checkpoint;
  std::string text;  // the note text that was signed
  Note note;         // every signature line, including cosignatures
};

// Verifies `note` with the log's verifier (type 0x01; its name must match the
// origin line) and parses the body. Errors as OpenNote, plus InvalidArgument
// for a bad body or an origin that is not the key name.
absl::StatusOr<SignedCheckpoint> OpenCheckpoint(absl::string_view note,
                                                const NoteVerifier& log_key);

// A C2SP tlog-cosignature/v1 signature (timestamp in POSIX seconds) over the
// checkpoint `text`, by a type-0x04 key. REQUIRES: signer.type() == 0x04.
NoteSignature Cosign(absl::string_view text, const NoteSigner& signer, uint64_t timestamp);

// Checks one cosignature line's signature against `cosigner` (type 0x04):
// name and key id must match (else NotFound: not this cosigner's), the
// timestamp must be below 2^63 and the Ed25519 signature must verify (else
// DataLoss). Returns the timestamp.
absl::StatusOr<uint64_t> VerifyCosignature(absl::string_view text, const NoteSignature& sig,
                                           const NoteVerifier& cosigner);

// The cosigners among `cosigners` (type 0x04) with a valid cosignature of
// `text` among `signatures`, each key once however many lines it has (or
// however often `cosigners` lists it), in the order of `cosigners`. Lines by other keys and lines that do not verify
// count for nothing. This is the number to report as "cosigned by N": it
// cannot be inflated by repeating one cosigner's line with new timestamps.
std::vector<const NoteVerifier*> VerifiedCosigners(
    absl::string_view text, const std::vector<NoteSignature>& signatures,
    const std::vector<const NoteVerifier*>& cosigners);

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_CHECKPOINT_H_

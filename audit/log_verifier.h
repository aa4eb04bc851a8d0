// Offline verification of a whole audit log directory from genesis, for
// `auditctl verify` and auditors: every segment header and record frame,
// every entry parses, segments are contiguous, the Merkle root recomputed
// from the entries matches every signed checkpoint, every checkpoint is
// signed by the log key, sizes never go backwards, and (for known cosigners)
// every cosignature verifies. It trusts nothing stored under tree/.
// Cosignatures are counted by distinct cosigner: one key's repeated
// cosignatures of one checkpoint (with new timestamps) count once.
//
// Thread-safety: pure function over the files; safe from any thread.
//
// Example:
//   VerifyOptions opts;
//   opts.log_key = &log_verifier;
//   absl::StatusOr<VerifyReport> r = VerifyLog("/var/lib/gh/audit", opts);
//   if (!r.ok()) { std::cerr << r.status(); return 1; }   // names the first bad entry
#ifndef GATEHOUSE_AUDIT_LOG_VERIFIER_H_
#define GATEHOUSE_AUDIT_LOG_VERIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/merkle_hasher.h"
#include "audit/note.h"

namespace gatehouse::audit {

struct VerifyOptions {
  // The log's checkpoint key (type 0x01). If null, checkpoint signatures are
  // not checked (only roots); the report says so.
  const NoteVerifier* log_key = nullptr;
  // Keys the log signed checkpoints with before a key rotation (type 0x01).
  // A checkpoint must verify under log_key or one of these, and its origin
  // must be the name of the key that verified it.
  std::vector<const NoteVerifier*> previous_log_keys;
  // Cosigner keys (type 0x04) whose cosignatures must verify; others are counted.
  std::vector<const NoteVerifier*> cosigners;
};

struct VerifyReport {
  uint64_t entries = 0;
  uint64_t segments = 0;
  uint64_t checkpoints = 0;
  // Distinct keys among VerifyOptions::cosigners with at least one verified
  // cosignature: what "verified cosigners" means.
  uint64_t cosigners_verified = 0;
  // Distinct (checkpoint, known cosigner key) pairs that verified.
  uint64_t cosignatures_verified = 0;
  // Distinct (checkpoint, key name and id) pairs by keys not given: unchecked.
  uint64_t cosignatures_unknown = 0;
  // Lines by a key that had already cosigned the same checkpoint (a log
  // written before such were refused): checked if the key is known, else
  // not; counted only here.
  uint64_t cosignatures_repeated = 0;
  bool signatures_checked = false;
  Hash root{};  // root over all entries
};

// OK with a report if the log is intact. DataLoss naming the first bad entry
// ("entry 1234 (<segment> offset 5678): checksum mismatch") or the first bad
// checkpoint/cosignature otherwise; NotFound if `dir` has no log.
absl::StatusOr<VerifyReport> VerifyLog(const std::string& dir, const VerifyOptions& options);

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_LOG_VERIFIER_H_

// `auditctl verify --dsn`: the checks audit::VerifyLog makes of a log
// directory (log_verifier.h), made of an organisation's audit log in
// PostgreSQL (postgres_log.h), and the stored tree besides:
//
//   - audit_head: integrated <= sequenced; no entry row outside
//     0..sequenced-1, and every index in it present (no gap);
//   - every entry parses as a gatehouse.v1.AuditEntry;
//   - every checkpoint, by size: verifies under VerifyOptions::log_key (or a
//     previous key) with that key's name as its origin, is for the size
//     its row says, covers no more than the tree (integrated), and its root
//     is the root recomputed from the entries at its size (so successive
//     checkpoints are consistent: one append-only tree of the entries);
//   - every cosignature line parses, is by the key its row names, and
//     verifies if by a VerifyOptions::cosigners key (others are counted);
//   - audit_tree: every node of the tree of `integrated` leaves is stored
//     and equals the node recomputed from the entries, and no other node is
//     stored.
//
// The first failure is returned as DataLoss naming it: "entry 5: missing
// (...)", "checkpoint 0 (size 30): root does not match the entries ...",
// "audit_tree node (level 1, index 2) does not match ...". A mismatch in the
// stored tree is reported only when the entries and checkpoints agree (the
// tree is derived from them), so a changed entry is named as such.
//
// Thread-safety: one call at a time on one PostgresLog.
#ifndef GATEHOUSE_TOOLS_AUDITCTL_POSTGRES_VERIFY_H_
#define GATEHOUSE_TOOLS_AUDITCTL_POSTGRES_VERIFY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "audit/log_verifier.h"
#include "tools/auditctl/postgres_log.h"

namespace gatehouse::auditctl {

struct PostgresVerifyReport {
  // As VerifyLog's: entries (sequenced), checkpoints, cosigners, the root
  // over every entry; `segments` is 0.
  audit::VerifyReport log;
  uint64_t integrated = 0;  // leaves in the stored tree
  uint64_t tree_nodes = 0;  // stored nodes checked
};

// OK with a report if the log in `log`'s snapshot is intact; errors as the
// file comment says, or the database's (Unavailable). Reads only.
absl::StatusOr<PostgresVerifyReport> VerifyPostgresLog(PostgresLog& log,
                                                       const audit::VerifyOptions& options);

}  // namespace gatehouse::auditctl

#endif  // GATEHOUSE_TOOLS_AUDITCTL_POSTGRES_VERIFY_H_

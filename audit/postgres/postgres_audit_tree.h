// The audit log's tree in PostgreSQL (internal to gatehouse_store_postgres;
// postgres_audit_log.h): node (level, index) read from audit_tree, for
// proofs and roots (audit/merkle_tree.h), and the advisory locks the log
// takes.
//
// Not thread-safe: reads on one connection, used by one thread.
#ifndef GATEHOUSE_AUDIT_POSTGRES_POSTGRES_AUDIT_TREE_H_
#define GATEHOUSE_AUDIT_POSTGRES_POSTGRES_AUDIT_TREE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "audit/merkle_tree.h"
#include "pg/pg_connection.h"

namespace gatehouse::postgres {

// Held, session-level, by the one replica integrating the log.
inline constexpr int64_t kAuditIntegratorLock = 0x6761746568736933;  // "gatehsi3"
// Held, transaction-level, while a cosignature is checked against those stored.
inline constexpr int64_t kAuditCosignLock = 0x6761746568736334;  // "gatehsc4"

class PgNodeReader : public audit::NodeReader {
 public:
  explicit PgNodeReader(PgConnection& c) : c_(c) {}
  absl::StatusOr<audit::Hash> GetNode(int level, uint64_t index) const override;

 private:
  PgConnection& c_;
};

}  // namespace gatehouse::postgres

#endif  // GATEHOUSE_AUDIT_POSTGRES_POSTGRES_AUDIT_TREE_H_

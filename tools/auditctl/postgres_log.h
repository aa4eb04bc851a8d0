// Read-only access to an organisation's audit log in PostgreSQL
// (audit/postgres/postgres_audit_log.h; its tables are migration 3 of
// gateway/store/postgres/postgres_schema.cc) for auditctl's --dsn: one
// connection, inside one REPEATABLE READ, READ ONLY transaction, so that
// every read sees one snapshot of the log while the gateway's replicas go
// on appending to it, and nothing is ever written.
//
// What it reads is the tables as they are: it checks nothing beyond what
// each method says (postgres_verify.h checks the log).
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<PostgresLog> log, PostgresLog::Open(options));
//   RETURN_IF_ERROR(log->Entries()([&](uint64_t i, absl::string_view entry) { ...; return true;
//   }));
//
// Not thread-safe: one thread uses a PostgresLog.
#ifndef GATEHOUSE_TOOLS_AUDITCTL_POSTGRES_LOG_H_
#define GATEHOUSE_TOOLS_AUDITCTL_POSTGRES_LOG_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "pg/pg_connection.h"
#include "tools/auditctl/log_access.h"

namespace gatehouse::auditctl {

// A row of audit_cosignature.
struct StoredCosignature {
  std::string name;
  int64_t key_id = 0;
  std::string line;  // "— name base64(key id || signature)\n"
};

// A row of audit_checkpoint and its cosignatures, in the order they came.
struct StoredCheckpoint {
  uint64_t size = 0;  // the row's key
  std::string note;   // the signed note as the log signed it
  std::vector<StoredCosignature> cosignatures;

  // The note as the log serves it (LatestCheckpointNote): the signed note
  // followed by every cosignature line.
  std::string Served() const;
};

// A row of audit_tree: node (level, index) of the tree (merkle_tree.h).
struct StoredNode {
  int level = 0;
  int64_t index = 0;
  std::string hash;  // 32 bytes if intact
};

class PostgresLog {
 public:
  // Connects and opens the snapshot. InvalidArgument if the DSN does not
  // parse or holds a password (postgres::CheckConnectOptions; nothing is
  // tried); Unavailable if the server cannot be reached; FailedPrecondition
  // if the database holds no Gatehouse audit log (its tables are missing).
  static absl::StatusOr<std::unique_ptr<PostgresLog>> Open(const postgres::ConnectOptions& options);

  // audit_head: the entries numbered and the size of the stored tree.
  uint64_t sequenced() const { return sequenced_; }
  uint64_t integrated() const { return integrated_; }

  // Entries 0..sequenced()-1 in order, read a page at a time. DataLoss
  // naming the first index with no row.
  EntrySource Entries();

  // Up to `limit` checkpoints with a size above `after` (-1: from the
  // first), by size, with their cosignatures. Empty past the last.
  absl::StatusOr<std::vector<StoredCheckpoint>> CheckpointsAfter(int64_t after, int limit);
  // The checkpoint of `size`, or nullopt if none is stored.
  absl::StatusOr<std::optional<StoredCheckpoint>> CheckpointAt(uint64_t size);
  // The newest checkpoint; NotFound if none has been signed yet.
  absl::StatusOr<StoredCheckpoint> Newest();

  // The stored nodes a tree completes when leaves [from, to) are appended
  // (every (level, index) with from <= (index + 1) * 2^level - 1 < to),
  // ordered by level then index: the nodes CompactRange::Append reports for
  // those leaves, as far as they are stored.
  absl::StatusOr<std::vector<StoredNode>> NodesCompletedBy(uint64_t from, uint64_t to);
  // A stored node that is not part of the tree of `size` leaves (a level
  // outside 0..62, a negative index, or a subtree reaching past `size`), if
  // there is one.
  absl::StatusOr<std::optional<std::pair<int, int64_t>>> NodeBeyond(uint64_t size);
  // The lowest entry index that is negative or at least sequenced(), if any.
  absl::StatusOr<std::optional<int64_t>> EntryBeyond();

 private:
  explicit PostgresLog(std::unique_ptr<postgres::PgConnection> c) : c_(std::move(c)) {}
  absl::Status Begin();
  absl::Status ReadCosignatures(std::vector<StoredCheckpoint>* cps);

  std::unique_ptr<postgres::PgConnection> c_;
  uint64_t sequenced_ = 0;
  uint64_t integrated_ = 0;
};

}  // namespace gatehouse::auditctl

#endif  // GATEHOUSE_TOOLS_AUDITCTL_POSTGRES_LOG_H_

// Store on SQLite in WAL mode with synchronous=FULL: a committed change
// survives a crash of the process or the machine.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
//                    SqliteStore::Open("/var/lib/gatehouse/gatehouse.db"));
//
// Thread-safe: one connection, serialised by a mutex.
#ifndef GATEHOUSE_GATEWAY_SQLITE_STORE_H_
#define GATEHOUSE_GATEWAY_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "gateway/store.h"

struct sqlite3;

namespace gatehouse {

class SqliteStore final : public Store {
 public:
  // Opens or creates the database at `path`. Unavailable if it cannot.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  absl::StatusOr<OutboxEntry> AddToOutbox(const v1::DeliverRequest& request,
                                          const std::string& idempotency_key,
                                          int64_t now_ms, bool* inserted) override;
  absl::StatusOr<std::vector<OutboxEntry>> DueForDelivery(int64_t now_ms, int limit) override;
  absl::StatusOr<int64_t> NextAttemptMs() override;
  absl::Status MarkDelivered(const std::string& record_id, int64_t delivered_ms) override;
  absl::Status MarkAttemptFailed(const std::string& record_id, int64_t next_attempt_ms,
                                 const std::string& error) override;
  absl::Status MarkRejected(const std::string& record_id, const std::string& error) override;
  absl::StatusOr<OutboxEntry> GetOutbox(const std::string& record_id) override;
  absl::StatusOr<int64_t> OutboxDepth() override;
  absl::StatusOr<MailboxPut> AddToMailbox(const v1::Record& record, int64_t now_ms) override;
  absl::StatusOr<std::vector<MailboxEntry>> FetchMailbox(const std::string& system,
                                                         int64_t after_seq, int limit) override;
  absl::StatusOr<int> AckMailbox(const std::string& system,
                                 const std::vector<std::string>& record_ids,
                                 int64_t now_ms) override;
  absl::StatusOr<int64_t> MailboxDepth(const std::string& system) override;

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  absl::StatusOr<OutboxEntry> GetOutboxLocked(const std::string& record_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* const db_ ABSL_GUARDED_BY(mu_);
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;  // outbox rows still queued
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_SQLITE_STORE_H_

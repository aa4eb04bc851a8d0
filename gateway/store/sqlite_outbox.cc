// SqliteStore's OutboxStore and IdempotencyStore: records we send, until a
// peer gateway acknowledges or refuses them, found again by a system's
// idempotency key.
#include <sqlite3.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/rendezvous.h"
#include "common/status_macros.h"
#include "gateway/store/sqlite_statement.h"
#include "gateway/store/sqlite_store.h"

namespace gatehouse {

using sqlite::Stmt;

namespace {

constexpr const char* kOutboxColumns =
    "SELECT idempotency_key, record, state, attempts, next_attempt_ms, "
    "delivered_ms, last_error, receipt, change_seq, acked_ms, fetched_ms FROM outbox ";
// The next change number, inside the write's transaction.
constexpr const char* kNextChange = "(SELECT COALESCE(MAX(change_seq), 0) + 1 FROM outbox)";

absl::StatusOr<OutboxEntry> ReadOutboxRow(Stmt& s) {
  OutboxEntry e;
  e.idempotency_key = s.Text(0);
  if (!e.record.ParseFromString(s.Text(1)) ||
      (!s.IsNull(7) && !e.receipt.ParseFromString(s.Text(7)))) {
    return absl::DataLossError("store: an outbox row does not parse");
  }
  e.state = static_cast<v1::RecordState>(s.Int(2));
  e.attempts = static_cast<int32_t>(s.Int(3));
  e.next_attempt_ms = s.Int(4);
  e.delivered_ms = s.Int(5);
  e.last_error = s.Text(6);
  e.change_seq = s.Int(8);
  e.acked_ms = s.Int(9);
  e.fetched_ms = s.Int(10);
  return e;
}

// Every row `s` (a kOutboxColumns query, bound) yields, in order.
absl::StatusOr<std::vector<OutboxEntry>> ReadOutboxRows(Stmt& s) {
  std::vector<OutboxEntry> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(OutboxEntry e, ReadOutboxRow(s));
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return out;
}

absl::StatusOr<OutboxEntry> GetOutboxOn(sqlite3* db, const std::string& record_id) {
  Stmt s(db, (std::string(kOutboxColumns) + "WHERE record_id = ?").c_str());
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, record_id);
  int rc = s.Step();
  if (rc == SQLITE_DONE) {
    return absl::NotFoundError(absl::StrCat("no record ", record_id, " in the outbox"));
  }
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return ReadOutboxRow(s);
}


// The key's earlier record into st->result, or the record inserted.
absl::Status InsertOutbox(sqlite3* db, OutboxAdd* st, int64_t* delta) {
  st->inserted = false;
  if (!st->key.empty()) {
    Stmt find(db, "SELECT record_id FROM outbox WHERE sender_system = ? AND idempotency_key = ?");
    RETURN_IF_ERROR(find.ok());
    find.Bind(1, st->request.sender_system());
    find.Bind(2, st->key);
    int rc = find.Step();
    if (rc == SQLITE_ROW) {
      ASSIGN_OR_RETURN(st->result, GetOutboxOn(db, find.Text(0)));
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(find.Check(rc, "lookup"));
  }
  Stmt s(db, absl::StrCat("INSERT INTO outbox (record_id, sender_system, idempotency_key, "
                          "record, state, next_attempt_ms, accepted_ms, change_seq) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ",
                          kNextChange, ")")
                 .c_str());
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, st->request.record_id());
  s.Bind(2, st->request.sender_system());
  if (st->key.empty()) {
    s.BindNull(3);
  } else {
    s.Bind(3, st->key);
  }
  s.BindBlob(4, st->request.SerializeAsString());
  s.Bind(5, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
  s.Bind(6, st->now_ms);
  s.Bind(7, st->now_ms);
  if (absl::Status done = s.Done(); !done.ok()) {
    // As on PostgreSQL: a record id already used is the caller's to fix.
    if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return absl::AlreadyExistsError(
          absl::StrCat("store: record ", st->request.record_id(), " is already in the outbox"));
    }
    return done;
  }
  *delta = 1;
  st->inserted = true;
  return absl::OkStatus();
}

}  // namespace

SqliteStore::IndexedWrite<OutboxAddResult> SqliteStore::OutboxAddAt(
    const v1::OutboxRecord& request, const std::string& idempotency_key, int64_t now_ms) {
  std::shared_ptr<OutboxAdd> st = NewOutboxAdd(request, idempotency_key, now_ms);
  IndexedWrite<OutboxAddResult> w;
  w.apply = [st](sqlite3* db, uint64_t audit_index, int64_t* delta) -> absl::Status {
    st->request.set_audit_index(audit_index);
    RETURN_IF_ERROR(InsertOutbox(db, st.get(), delta));
    if (st->inserted) return absl::OkStatus();
    st->withdrawn = true;
    return absl::CancelledError("store: withdrawn, its idempotency key's record is held");
  };
  w.result = [st](absl::Status status) { return AnswerOutboxAdd(st.get(), status); };
  return w;
}

void SqliteStore::AddToOutboxAsync(const v1::OutboxRecord& request,
                                   const std::string& idempotency_key, int64_t now_ms,
                                   OutboxDone done) {
  std::shared_ptr<OutboxAdd> st = NewOutboxAdd(request, idempotency_key, now_ms);
  RunWriteAsync(
      [st](sqlite3* db, int64_t* delta) { return InsertOutbox(db, st.get(), delta); },
      [st, done = std::move(done)](absl::Status status) {
        OutboxAddResult r = AnswerOutboxAdd(st.get(), std::move(status));
        done(std::move(r.first), r.second);
      });
}

absl::StatusOr<OutboxEntry> SqliteStore::AddToOutbox(const v1::OutboxRecord& request,
                                                     const std::string& idempotency_key,
                                                     int64_t now_ms, bool* inserted) {
  using Result = std::pair<absl::StatusOr<OutboxEntry>, bool>;
  Rendezvous<Result> r;
  AddToOutboxAsync(request, idempotency_key, now_ms,
                   [cb = r.Callback()](absl::StatusOr<OutboxEntry> e, bool ins) {
                     cb(Result(std::move(e), ins));
                   });
  Result result = r.Wait();
  *inserted = result.second;
  return std::move(result.first);
}

absl::StatusOr<std::vector<OutboxEntry>> SqliteStore::DueForDelivery(int64_t now_ms, int limit) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, (std::string(kOutboxColumns) +
                   "WHERE state = ? AND next_attempt_ms <= ? ORDER BY next_attempt_ms LIMIT ?")
                      .c_str());
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
  s.Bind(2, now_ms);
  s.Bind(3, limit);
  return ReadOutboxRows(s);
}

absl::StatusOr<std::vector<OutboxEntry>> SqliteStore::OutboxChanges(
    const std::string& sender_system, int64_t after_seq, int limit) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, (std::string(kOutboxColumns) +
                   "WHERE sender_system = ? AND change_seq > ? ORDER BY change_seq LIMIT ?")
                      .c_str());
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, sender_system);
  s.Bind(2, after_seq);
  s.Bind(3, limit);
  return ReadOutboxRows(s);
}

absl::StatusOr<std::vector<OutboxEntry>> SqliteStore::AwaitingAcknowledgement(int limit) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, (std::string(kOutboxColumns) +
                   "WHERE state IN (?, ?) ORDER BY checked_ms LIMIT ?")
                      .c_str());
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, static_cast<int64_t>(v1::RECORD_STATE_DELIVERED));
  s.Bind(2, static_cast<int64_t>(v1::RECORD_STATE_FETCHED));
  s.Bind(3, limit);
  return ReadOutboxRows(s);
}

absl::Status SqliteStore::MarkChecked(const std::vector<std::string>& record_ids,
                                      int64_t now_ms) {
  return RunWrite([&](sqlite3* db, int64_t*) -> absl::Status {
    for (const std::string& id : record_ids) {
      Stmt s(db, "UPDATE outbox SET checked_ms = ? WHERE record_id = ?");
      RETURN_IF_ERROR(s.ok());
      s.Bind(1, now_ms);
      s.Bind(2, id);
      RETURN_IF_ERROR(s.Done());
    }
    return absl::OkStatus();
  });
}

absl::Status SqliteStore::MarkTaken(const std::string& record_id, int64_t fetched_ms,
                                    int64_t acked_ms) {
  if (fetched_ms <= 0 && acked_ms <= 0) return absl::OkStatus();
  const v1::RecordState state =
      acked_ms > 0 ? v1::RECORD_STATE_ACKNOWLEDGED : v1::RECORD_STATE_FETCHED;
  return RunWrite([&](sqlite3* db, int64_t*) -> absl::Status {
    Stmt s(db, absl::StrCat("UPDATE outbox SET state = ?1, acked_ms = ?2, fetched_ms = "
                            "CASE WHEN fetched_ms = 0 THEN ?3 ELSE fetched_ms END, change_seq = ",
                            kNextChange, " WHERE record_id = ?4 AND state IN (?5, ?6) AND state != ?1")
                   .c_str());
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, static_cast<int64_t>(state));
    s.Bind(2, acked_ms);
    s.Bind(3, std::max<int64_t>(fetched_ms, 0));
    s.Bind(4, record_id);
    s.Bind(5, static_cast<int64_t>(v1::RECORD_STATE_DELIVERED));
    s.Bind(6, static_cast<int64_t>(v1::RECORD_STATE_FETCHED));
    return s.Done();
  });
}

absl::StatusOr<int64_t> SqliteStore::NextAttemptMs() {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, "SELECT MIN(next_attempt_ms) FROM outbox WHERE state = ?");
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
  int rc = s.Step();
  RETURN_IF_ERROR(s.Check(rc, "read"));
  if (rc != SQLITE_ROW || s.IsNull(0)) return -1;
  return s.Int(0);
}

namespace {

// Marks `record_id` delivered if it is queued; *delta is minus the rows it
// changed (0 for a record in any other state, which is not an error).
absl::Status UpdateDelivered(sqlite3* db, const std::string& record_id, int64_t delivered_ms,
                             const std::string& receipt_bytes, int64_t* delta) {
  Stmt s(db, absl::StrCat("UPDATE outbox SET state = ?, delivered_ms = ?, last_error = '', "
                          "attempts = attempts + 1, receipt = ?, change_seq = ",
                          kNextChange, " WHERE record_id = ? AND state = ?")
                 .c_str());
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, static_cast<int64_t>(v1::RECORD_STATE_DELIVERED));
  s.Bind(2, delivered_ms);
  s.BindBlob(3, receipt_bytes);
  s.Bind(4, record_id);
  s.Bind(5, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
  RETURN_IF_ERROR(s.Done());
  *delta = -sqlite3_changes(db);
  return absl::OkStatus();
}

}  // namespace

void SqliteStore::MarkDeliveredAsync(const std::string& record_id, int64_t delivered_ms,
                                     const v1::SignedReceipt& receipt, WriteDone done) {
  RunWriteAsync(
      [record_id, delivered_ms, receipt_bytes = receipt.SerializeAsString()](
          sqlite3* db, int64_t* delta) {
        return UpdateDelivered(db, record_id, delivered_ms, receipt_bytes, delta);
      },
      std::move(done));
}

SqliteStore::IndexedWrite<absl::Status> SqliteStore::MarkDeliveredAt(
    const std::string& record_id, int64_t delivered_ms, const v1::SignedReceipt& receipt) {
  IndexedWrite<absl::Status> w;
  auto withdrawn = std::make_shared<bool>(false);
  w.apply = [record_id, delivered_ms, receipt_bytes = receipt.SerializeAsString(), withdrawn](
                sqlite3* db, uint64_t /*audit_index*/, int64_t* delta) -> absl::Status {
    RETURN_IF_ERROR(UpdateDelivered(db, record_id, delivered_ms, receipt_bytes, delta));
    if (*delta != 0) return absl::OkStatus();
    *withdrawn = true;
    return absl::CancelledError("store: withdrawn, the record is no longer queued");
  };
  // Only this write's own withdrawal answers OK.
  w.result = [withdrawn](absl::Status status) {
    return *withdrawn && absl::IsCancelled(status) ? absl::OkStatus() : status;
  };
  return w;
}

absl::Status SqliteStore::MarkDelivered(const std::string& record_id, int64_t delivered_ms,
                                        const v1::SignedReceipt& receipt) {
  Rendezvous<absl::Status> r;
  MarkDeliveredAsync(record_id, delivered_ms, receipt, r.Callback());
  return r.Wait();
}

absl::Status SqliteStore::MarkAttemptFailed(const std::string& record_id,
                                            int64_t next_attempt_ms,
                                            const std::string& error) {
  return RunWrite([&](sqlite3* db, int64_t*) -> absl::Status {
    Stmt s(db, "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?, "
               "last_error = ? WHERE record_id = ? AND state = ?");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, next_attempt_ms);
    s.Bind(2, error);
    s.Bind(3, record_id);
    s.Bind(4, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
    return s.Done();
  });
}

absl::Status SqliteStore::MarkRejected(const std::string& record_id,
                                       const std::string& error) {
  return RunWrite([&](sqlite3* db, int64_t* delta) -> absl::Status {
    Stmt s(db, absl::StrCat("UPDATE outbox SET state = ?, attempts = attempts + 1, "
                            "last_error = ?, change_seq = ",
                            kNextChange, " WHERE record_id = ? AND state = ?")
                   .c_str());
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, static_cast<int64_t>(v1::RECORD_STATE_REJECTED));
    s.Bind(2, error);
    s.Bind(3, record_id);
    s.Bind(4, static_cast<int64_t>(v1::RECORD_STATE_QUEUED));
    RETURN_IF_ERROR(s.Done());
    *delta = -sqlite3_changes(db);
    return absl::OkStatus();
  });
}

absl::StatusOr<OutboxEntry> SqliteStore::FindByIdempotencyKey(const std::string& system,
                                                              const std::string& key) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, (std::string(kOutboxColumns) +
                   "WHERE sender_system = ? AND idempotency_key = ?").c_str());
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, system);
  s.Bind(2, key);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError("no such idempotency key");
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return ReadOutboxRow(s);
}

absl::StatusOr<OutboxEntry> SqliteStore::GetOutbox(const std::string& record_id) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return GetOutboxOn(reader_, record_id);
}

absl::StatusOr<int64_t> SqliteStore::OutboxDepth() {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return queued_;
}

}  // namespace gatehouse

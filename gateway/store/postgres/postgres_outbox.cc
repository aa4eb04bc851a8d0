// PostgresStore's OutboxStore and IdempotencyStore: records we send, until a
// peer gateway acknowledges or refuses them, found again by a system's
// idempotency key.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "pg/pg_connection.h"
#include "pg/pg_pool.h"
#include "gateway/store/postgres/postgres_store.h"

namespace gatehouse {

using postgres::PgConnection;
using postgres::PgParams;
using postgres::PgResult;

namespace {

// An OutboxEntry's columns, in ReadOutboxRow's order.
constexpr const char* kOutboxColumns =
    "idempotency_key, record, state, attempts, next_attempt_ms, delivered_ms, last_error, "
    "receipt, change_seq, acked_ms, fetched_ms";
// The next change number: grows with every change of state of any row.
// Allocated only inside a write group, under the commit order lock
// (postgres_store.cc), so numbers become visible in the order they grow.
constexpr const char* kNextChange = "nextval('outbox_change_seq')";
// Now by the database's clock, in Unix ms: the one clock of every store's
// leases, whatever the replicas' clocks say.
constexpr const char* kDbNowMs = "(extract(epoch FROM statement_timestamp()) * 1000)::bigint";

// The outbox rows `condition` (WHERE, ORDER BY, LIMIT) selects, as
// kOutboxColumns.
std::string SelectOutbox(const char* condition) {
  return absl::StrCat("SELECT ", kOutboxColumns, " FROM outbox ", condition);
}

int64_t StateNumber(v1::RecordState s) { return static_cast<int64_t>(s); }

absl::StatusOr<OutboxEntry> ReadOutboxRow(const PgResult& r, int row) {
  OutboxEntry e;
  e.idempotency_key = r.Bytes(row, 0);
  if (!e.record.ParseFromString(r.Bytes(row, 1)) ||
      (!r.IsNull(row, 7) && !e.receipt.ParseFromString(r.Bytes(row, 7)))) {
    return absl::DataLossError("store: an outbox row does not parse");
  }
  e.state = static_cast<v1::RecordState>(r.Int(row, 2));
  e.attempts = static_cast<int32_t>(r.Int(row, 3));
  e.next_attempt_ms = r.Int(row, 4);
  e.delivered_ms = r.Int(row, 5);
  e.last_error = r.Bytes(row, 6);
  e.change_seq = r.Int(row, 8);
  e.acked_ms = r.Int(row, 9);
  e.fetched_ms = r.Int(row, 10);
  return e;
}

// Every row of `sql` (kOutboxColumns and a condition) with `params`, in order.
absl::StatusOr<std::vector<OutboxEntry>> ReadOutboxRows(PgConnection& c, const std::string& sql,
                                                        const PgParams& params) {
  ASSIGN_OR_RETURN(PgResult r, c.Exec(sql, params));
  std::vector<OutboxEntry> out;
  for (int i = 0; i < r.rows(); ++i) {
    ASSIGN_OR_RETURN(OutboxEntry e, ReadOutboxRow(r, i));
    out.push_back(std::move(e));
  }
  return out;
}

// The one row `sql` selects, or `not_found`.
absl::StatusOr<OutboxEntry> ReadOneOutboxRow(PgConnection& c, const std::string& sql,
                                             const PgParams& params, absl::Status not_found) {
  ASSIGN_OR_RETURN(std::vector<OutboxEntry> rows, ReadOutboxRows(c, sql, params));
  if (rows.empty()) return not_found;
  return std::move(rows.front());
}

// Runs one write statement, ignoring what it returns.
absl::Status Change(PgConnection& c, const std::string& sql, const PgParams& params) {
  return c.Exec(sql, params).status();
}

// An attempt's outcome: applies `set` (an UPDATE's SET list, whose
// parameters are `params`) to `record_id` if it is queued, and ends its
// delivery lease; a record in any other state (or none) is left as it is,
// and that is not an error.
// Returns the rows changed (0 or 1).
absl::StatusOr<int64_t> CountIfQueued(PgConnection& c, const std::string& set, PgParams params,
                                      const std::string& record_id) {
  const int n = params.size();
  params.Text(record_id).Int(StateNumber(v1::RECORD_STATE_QUEUED));
  // Settled: whichever store held the lease lets it go.
  ASSIGN_OR_RETURN(PgResult r,
                   c.Exec(absl::StrCat("UPDATE outbox SET ", set,
                                       ", lease_owner = NULL, lease_until_ms = 0 WHERE record_id = $",
                                       n + 1, " AND state = $", n + 2),
                          params));
  return r.affected();
}

absl::Status ChangeIfQueued(PgConnection& c, const std::string& set, PgParams params,
                            const std::string& record_id) {
  return CountIfQueued(c, set, std::move(params), record_id).status();
}

}  // namespace

namespace {

// An outbox add: the record, and what the write found.
absl::Status InsertOutbox(PgConnection& c, OutboxAdd* st) {
  // A key already used is decided by the unique key itself, so that two
  // writers racing with one key get one row; an id already used is still
  // an error (AlreadyExists).
  PgParams params;
  params.Text(st->request.record_id()).Text(st->request.sender_system());
  if (st->key.empty()) {
    params.Null();
  } else {
    params.Text(st->key);
  }
  params.Bytes(st->bytes).Int(StateNumber(v1::RECORD_STATE_QUEUED)).Int(st->now_ms);
  ASSIGN_OR_RETURN(
      PgResult r,
      c.Exec("INSERT INTO outbox (record_id, sender_system, idempotency_key, record, state, "
             "next_attempt_ms, accepted_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) "
             "ON CONFLICT (sender_system, idempotency_key) DO NOTHING RETURNING change_seq",
             params));
  st->inserted = r.rows() == 1;
  if (st->inserted) {
    st->result = OutboxEntry();
    st->result.change_seq = r.Int(0, 0);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(
      st->result,
      ReadOneOutboxRow(c, SelectOutbox("WHERE sender_system = $1 AND idempotency_key = $2"),
                       PgParams().Text(st->request.sender_system()).Text(st->key),
                       absl::InternalError("store: an idempotency key conflicted, then "
                                           "named no row")));
  return absl::OkStatus();
}

}  // namespace

PostgresStore::Write<OutboxAddResult> PostgresStore::AddToOutboxWrite(
    const v1::OutboxRecord& request, const std::string& idempotency_key, int64_t now_ms) {
  std::shared_ptr<OutboxAdd> st = NewOutboxAdd(request, idempotency_key, now_ms);
  st->bytes = request.SerializeAsString();
  Write<OutboxAddResult> w;
  w.apply = [st](PgConnection& c) { return InsertOutbox(c, st.get()); };
  w.result = [st](absl::Status status) { return AnswerOutboxAdd(st.get(), status); };
  return w;
}

PostgresStore::IndexedWrite<OutboxAddResult> PostgresStore::OutboxAddAt(
    const v1::OutboxRecord& request, const std::string& idempotency_key, int64_t now_ms) {
  std::shared_ptr<OutboxAdd> st = NewOutboxAdd(request, idempotency_key, now_ms);
  IndexedWrite<OutboxAddResult> w;
  w.apply = [st](PgConnection& c, uint64_t audit_index) -> absl::Status {
    st->request.set_audit_index(audit_index);
    st->bytes = st->request.SerializeAsString();
    RETURN_IF_ERROR(InsertOutbox(c, st.get()));
    if (st->inserted) return absl::OkStatus();
    st->withdrawn = true;
    return absl::CancelledError("store: withdrawn, its idempotency key's record is held");
  };
  w.result = [st](absl::Status status) { return AnswerOutboxAdd(st.get(), status); };
  return w;
}

void PostgresStore::AddToOutboxAsync(const v1::OutboxRecord& record,
                                     const std::string& idempotency_key, int64_t now_ms,
                                     OutboxDone done) {
  Submit<OutboxAddResult>(
      AddToOutboxWrite(record, idempotency_key, now_ms),
      [done = std::move(done)](OutboxAddResult r) {
        done(std::move(r.first), r.second);
      });
}

absl::StatusOr<OutboxEntry> PostgresStore::AddToOutbox(const v1::OutboxRecord& record,
                                                       const std::string& idempotency_key,
                                                       int64_t now_ms, bool* inserted) {
  auto result = Await(AddToOutboxWrite(record, idempotency_key, now_ms));
  *inserted = result.second;
  return std::move(result.first);
}

absl::StatusOr<std::vector<OutboxEntry>> PostgresStore::DueForDelivery(int64_t now_ms, int limit) {
  // One statement, so the claim is atomic: the due rows no other store holds
  // a lease on, locked (skipping rows another store is claiming or
  // settling, never waiting for them), leased to this store (a lease of its
  // own renewed once less than half is left), and returned as locked: the
  // latest version of each row. Autocommitted on a pooled connection; run
  // again if the connection is lost, a claim is the same the second time.
  const std::string sql = absl::StrCat(
      "WITH due AS (SELECT ", kOutboxColumns,
      ", record_id, lease_owner AS held_by, lease_until_ms AS held_until FROM outbox "
      "WHERE state = $1 AND next_attempt_ms <= $2 AND (lease_owner IS NULL OR "
      "lease_owner = $4 OR lease_until_ms <= ",
      kDbNowMs,
      ") ORDER BY next_attempt_ms, change_seq LIMIT $3 FOR UPDATE SKIP LOCKED), "
      "claim AS (UPDATE outbox o SET lease_owner = $4, lease_until_ms = ",
      kDbNowMs,
      " + $5 FROM due WHERE o.record_id = due.record_id AND (due.held_by IS DISTINCT FROM $4 "
      "OR due.held_until < ",
      kDbNowMs, " + $5 / 2)) SELECT * FROM due ORDER BY next_attempt_ms, change_seq");
  return readers_->Read([&](PgConnection& c) {
    return ReadOutboxRows(c, sql,
                          PgParams()
                              .Int(StateNumber(v1::RECORD_STATE_QUEUED))
                              .Int(now_ms)
                              .Int(limit)
                              .Text(lease_owner_)
                              .Int(options_.delivery_lease_ms));
  });
}

absl::StatusOr<std::vector<OutboxEntry>> PostgresStore::OutboxChanges(
    const std::string& sender_system, int64_t after_seq, int limit) {
  return readers_->Read([&](PgConnection& c) {
    return ReadOutboxRows(
        c,
        SelectOutbox("WHERE sender_system = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3"),
        PgParams().Text(sender_system).Int(after_seq).Int(limit));
  });
}

absl::StatusOr<std::vector<OutboxEntry>> PostgresStore::AwaitingAcknowledgement(int limit) {
  return readers_->Read([&](PgConnection& c) {
    return ReadOutboxRows(
        c, SelectOutbox("WHERE state IN ($1, $2) ORDER BY checked_ms, change_seq LIMIT $3"),
        PgParams()
            .Int(StateNumber(v1::RECORD_STATE_DELIVERED))
            .Int(StateNumber(v1::RECORD_STATE_FETCHED))
            .Int(limit));
  });
}

absl::Status PostgresStore::MarkChecked(const std::vector<std::string>& record_ids,
                                        int64_t now_ms) {
  if (record_ids.empty()) return absl::OkStatus();
  return RunWrite([&](PgConnection& c) {
    return Change(c, "UPDATE outbox SET checked_ms = $1 WHERE record_id = ANY ($2::text[])",
                  PgParams().Int(now_ms).TextArray(record_ids));
  });
}

absl::Status PostgresStore::MarkTaken(const std::string& record_id, int64_t fetched_ms,
                                      int64_t acked_ms) {
  if (fetched_ms <= 0 && acked_ms <= 0) return absl::OkStatus();
  const v1::RecordState state =
      acked_ms > 0 ? v1::RECORD_STATE_ACKNOWLEDGED : v1::RECORD_STATE_FETCHED;
  return RunWrite([&](PgConnection& c) {
    return Change(
        c,
        absl::StrCat("UPDATE outbox SET state = $1, acked_ms = $2, fetched_ms = "
                     "CASE WHEN fetched_ms = 0 THEN $3 ELSE fetched_ms END, "
                     "change_seq = ",
                     kNextChange, " WHERE record_id = $4 AND state IN ($5, $6) AND state <> $1"),
        PgParams()
            .Int(StateNumber(state))
            .Int(acked_ms)
            .Int(std::max<int64_t>(fetched_ms, 0))
            .Text(record_id)
            .Int(StateNumber(v1::RECORD_STATE_DELIVERED))
            .Int(StateNumber(v1::RECORD_STATE_FETCHED)));
  });
}

absl::StatusOr<int64_t> PostgresStore::NextAttemptMs() {
  // For this store, a row another store holds a lease on is next due when
  // the lease ends (if later than its next attempt): so the others wait
  // for the lease rather than ask again at once. The first by index
  // outbox_due, the second by outbox_leased.
  const std::string sql = absl::StrCat(
      "SELECT LEAST((SELECT MIN(next_attempt_ms) FROM outbox WHERE state = $1 AND "
      "(lease_owner IS NULL OR lease_owner = $2 OR lease_until_ms <= ",
      kDbNowMs,
      ")), (SELECT MIN(GREATEST(next_attempt_ms, lease_until_ms)) FROM outbox WHERE "
      "state = $1 AND lease_owner <> $2 AND lease_until_ms > ",
      kDbNowMs, "))");
  return readers_->Read([&](PgConnection& c) -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(
        PgResult r,
        c.Exec(sql, PgParams().Int(StateNumber(v1::RECORD_STATE_QUEUED)).Text(lease_owner_)));
    return r.IsNull(0, 0) ? -1 : r.Int(0, 0);
  });
}

namespace {

// Marks `record_id` delivered if it is queued; the rows changed (0 or 1).
absl::StatusOr<int64_t> SetDelivered(PgConnection& c, const std::string& record_id,
                                     int64_t delivered_ms, const std::string& receipt_bytes) {
  return CountIfQueued(c,
                       absl::StrCat("state = $1, delivered_ms = $2, last_error = '', "
                                    "attempts = attempts + 1, receipt = $3, change_seq = ",
                                    kNextChange),
                       PgParams()
                           .Int(StateNumber(v1::RECORD_STATE_DELIVERED))
                           .Int(delivered_ms)
                           .Bytes(receipt_bytes),
                       record_id);
}

}  // namespace

PostgresStore::Write<absl::Status> PostgresStore::MarkDeliveredWrite(
    const std::string& record_id, int64_t delivered_ms, const v1::SignedReceipt& receipt) {
  Write<absl::Status> w;
  w.apply = [record_id, delivered_ms,
             receipt_bytes = receipt.SerializeAsString()](PgConnection& c) {
    return SetDelivered(c, record_id, delivered_ms, receipt_bytes).status();
  };
  w.result = [](absl::Status s) { return s; };
  return w;
}

PostgresStore::IndexedWrite<absl::Status> PostgresStore::MarkDeliveredAt(
    const std::string& record_id, int64_t delivered_ms, const v1::SignedReceipt& receipt) {
  IndexedWrite<absl::Status> w;
  auto withdrawn = std::make_shared<bool>(false);
  w.apply = [record_id, delivered_ms, receipt_bytes = receipt.SerializeAsString(), withdrawn](
                PgConnection& c, uint64_t /*audit_index*/) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t changed, SetDelivered(c, record_id, delivered_ms, receipt_bytes));
    if (changed != 0) return absl::OkStatus();
    *withdrawn = true;
    return absl::CancelledError("store: withdrawn, the record is no longer queued");
  };
  // Only this write's own withdrawal answers OK.
  w.result = [withdrawn](absl::Status status) {
    return *withdrawn && absl::IsCancelled(status) ? absl::OkStatus() : status;
  };
  return w;
}

void PostgresStore::MarkDeliveredAsync(const std::string& record_id, int64_t delivered_ms,
                                       const v1::SignedReceipt& receipt, WriteDone done) {
  Submit<absl::Status>(MarkDeliveredWrite(record_id, delivered_ms, receipt), std::move(done));
}

absl::Status PostgresStore::MarkDelivered(const std::string& record_id, int64_t delivered_ms,
                                          const v1::SignedReceipt& receipt) {
  return Await(MarkDeliveredWrite(record_id, delivered_ms, receipt));
}

absl::Status PostgresStore::MarkAttemptFailed(const std::string& record_id, int64_t next_attempt_ms,
                                              const std::string& error) {
  return RunWrite([&](PgConnection& c) {
    return ChangeIfQueued(c, "attempts = attempts + 1, next_attempt_ms = $1, last_error = $2",
                          PgParams().Int(next_attempt_ms).Text(error), record_id);
  });
}

absl::Status PostgresStore::MarkRejected(const std::string& record_id, const std::string& error) {
  return RunWrite([&](PgConnection& c) {
    return ChangeIfQueued(
        c,
        absl::StrCat("state = $1, attempts = attempts + 1, last_error = $2, change_seq = ",
                     kNextChange),
        PgParams().Int(StateNumber(v1::RECORD_STATE_REJECTED)).Text(error), record_id);
  });
}

absl::StatusOr<OutboxEntry> PostgresStore::FindByIdempotencyKey(const std::string& system,
                                                                const std::string& key) {
  return readers_->Read([&](PgConnection& c) {
    return ReadOneOutboxRow(c, SelectOutbox("WHERE sender_system = $1 AND idempotency_key = $2"),
                            PgParams().Text(system).Text(key),
                            absl::NotFoundError("no such idempotency key"));
  });
}

absl::StatusOr<OutboxEntry> PostgresStore::GetOutbox(const std::string& record_id) {
  return readers_->Read([&](PgConnection& c) {
    return ReadOneOutboxRow(
        c, SelectOutbox("WHERE record_id = $1"), PgParams().Text(record_id),
        absl::NotFoundError(absl::StrCat("no record ", record_id, " in the outbox")));
  });
}

absl::StatusOr<int64_t> PostgresStore::OutboxDepth() {
  // Counted, not kept in memory as SQLite does: other replicas write too.
  return readers_->Read([&](PgConnection& c) -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT COUNT(*) FROM outbox WHERE state = $1",
                                        PgParams().Int(StateNumber(v1::RECORD_STATE_QUEUED))));
    return r.Int(0, 0);
  });
}

}  // namespace gatehouse

// PostgresStore's MailboxStore: records peer gateways delivered to us, until
// our systems acknowledge them; who sees which is MailboxReader's rule.
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
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

// Row `row` of a result selected as (seq, record).
absl::StatusOr<MailboxEntry> ReadMailboxRow(const PgResult& r, int row) {
  MailboxEntry e;
  e.seq = r.Int(row, 0);
  if (!e.record.ParseFromString(r.Bytes(row, 1))) {
    return absl::DataLossError("store: a mailbox row does not parse");
  }
  return e;
}

absl::StatusOr<MailboxSeen> FindMailboxOn(PgConnection& c, const std::string& sender_org,
                                          const std::string& record_id) {
  // By index mailbox_record; the sender's own row first if there are more.
  ASSIGN_OR_RETURN(PgResult r,
                   c.Exec("SELECT sender_org, envelope_sha256, receipt, acked_ms, fetched_ms "
                          "FROM mailbox WHERE record_id = $1 ORDER BY sender_org = $2 DESC "
                          "LIMIT 1",
                          PgParams().Text(record_id).Text(sender_org)));
  if (r.rows() == 0) return absl::NotFoundError("not in the mailbox");
  MailboxSeen seen;
  seen.sender_org = r.Bytes(0, 0);
  seen.envelope_sha256 = r.Bytes(0, 1);
  seen.acked_ms = r.Int(0, 3);  // 0 for NULL
  seen.fetched_ms = r.Int(0, 4);
  if (!seen.receipt.ParseFromString(r.Bytes(0, 2))) {
    return absl::DataLossError("store: a mailbox receipt does not parse");
  }
  return seen;
}

// The mailbox rows a reader sees (see MailboxReader), for a statement whose
// first two parameters are ReaderParams. $2 is '' if the reader takes
// organisation-wide records, else its system again (so it adds nothing);
// an organisation-wide row it has acknowledged is left out. By index
// mailbox_open, and mailbox_ack's key.
constexpr const char* kVisibleTo =
    "acked_ms IS NULL AND recipient_system IN ($1, $2) AND NOT (recipient_system = '' AND "
    "EXISTS (SELECT 1 FROM mailbox_ack a WHERE a.sender_org = mailbox.sender_org AND "
    "a.record_id = mailbox.record_id AND a.system = $1))";

// REQUIRES: !reader.system.empty() (an empty one would match the
// organisation-wide rows as its own).
PgParams ReaderParams(const MailboxReader& reader) {
  PgParams p;
  p.Text(reader.system).Text(reader.TakesOrgWide() ? std::string() : reader.system);
  return p;
}

// A mailbox row a reader is about to acknowledge.
struct VisibleRow {
  std::string sender_org;
  std::string envelope_sha256;
  bool org_wide = false;
};

// The rows under `record_id` visible to `reader` (more than one only if
// several organisations used the id). By index mailbox_record.
absl::StatusOr<std::vector<VisibleRow>> VisibleById(PgConnection& c, const MailboxReader& reader,
                                                    const std::string& record_id) {
  ASSIGN_OR_RETURN(PgResult r, c.Exec(absl::StrCat("SELECT sender_org, envelope_sha256, "
                                                   "recipient_system = '' FROM mailbox WHERE "
                                                   "record_id = $3 AND ",
                                                   kVisibleTo),
                                      ReaderParams(reader).Text(record_id)));
  std::vector<VisibleRow> rows;
  for (int i = 0; i < r.rows(); ++i) rows.push_back({r.Bytes(i, 0), r.Bytes(i, 1), r.Bool(i, 2)});
  return rows;
}

// Drops the payload of (sender_org, record_id), keeping its id.
absl::Status DropPayload(PgConnection& c, const std::string& sender_org,
                         const std::string& record_id, int64_t now_ms) {
  return c
      .Exec(
          "UPDATE mailbox SET acked_ms = $1, record = NULL WHERE sender_org = $2 AND "
          "record_id = $3 AND acked_ms IS NULL",
          PgParams().Int(now_ms).Text(sender_org).Text(record_id))
      .status();
}

// Records reader.system's acknowledgement of the organisation-wide record
// (sender_org, record_id), which it has not acknowledged before. If every
// system of reader.org_recipients now has, drops the payload (and the
// acknowledgements, needed no more) and returns true.
absl::StatusOr<bool> AckOrgWide(PgConnection& c, const MailboxReader& reader,
                                const std::string& sender_org, const std::string& record_id,
                                int64_t now_ms) {
  RETURN_IF_ERROR(
      c.Exec("INSERT INTO mailbox_ack (sender_org, record_id, system, acked_ms) "
             "VALUES ($1, $2, $3, $4)",
             PgParams().Text(sender_org).Text(record_id).Text(reader.system).Int(now_ms))
          .status());
  const PgParams key = PgParams().Text(sender_org).Text(record_id);
  ASSIGN_OR_RETURN(PgResult acked,
                   c.Exec("SELECT system FROM mailbox_ack WHERE sender_org = $1 AND "
                          "record_id = $2",
                          key));
  std::set<std::string> waiting(reader.org_recipients.begin(), reader.org_recipients.end());
  for (int i = 0; i < acked.rows(); ++i) waiting.erase(acked.Bytes(i, 0));
  if (!waiting.empty()) return false;
  RETURN_IF_ERROR(DropPayload(c, sender_org, record_id, now_ms));
  RETURN_IF_ERROR(
      c.Exec("DELETE FROM mailbox_ack WHERE sender_org = $1 AND record_id = $2", key).status());
  return true;
}

}  // namespace

absl::StatusOr<MailboxSeen> PostgresStore::FindInMailbox(const std::string& sender_org,
                                                         const std::string& record_id) {
  return readers_->Read([&](PgConnection& c) { return FindMailboxOn(c, sender_org, record_id); });
}

absl::StatusOr<std::set<std::string>> PostgresStore::HeldEnvelopes(
    const std::set<std::string>& among) {
  std::set<std::string> held;
  if (among.empty()) return held;
  // A bytea[] literal: each hash as \x and its hex.
  std::vector<std::string> hex;
  for (const std::string& sha : among) hex.push_back("\\x" + absl::BytesToHexString(sha));
  return readers_->Read([&](PgConnection& c) -> absl::StatusOr<std::set<std::string>> {
    // acked_ms stays NULL until the last system a record waits for has
    // acknowledged it (an organisation-wide record's payload is kept till then).
    ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT DISTINCT envelope_sha256 FROM mailbox WHERE "
                                        "acked_ms IS NULL AND envelope_sha256 = ANY ($1::bytea[])",
                                        PgParams().TextArray(hex)));
    std::set<std::string> found;
    for (int i = 0; i < r.rows(); ++i) found.insert(r.Bytes(i, 0));
    return found;
  });
}

namespace {

// A mailbox add: the record, its receipt, and what the write found.
absl::Status InsertMailbox(PgConnection& c, MailboxAdd* st) {
  // Whether the record is already held is the unique key's to decide, so
  // two writers racing with one record keep one row.
  ASSIGN_OR_RETURN(PgResult r,
                   c.Exec("INSERT INTO mailbox (sender_org, record_id, recipient_system, "
                          "record, envelope_sha256, receipt, received_ms) VALUES ($1, $2, $3, "
                          "$4, $5, $6, $7) ON CONFLICT (sender_org, record_id) DO NOTHING",
                          PgParams()
                              .Text(st->sender_org)
                              .Text(st->record_id)
                              .Text(st->recipient_system)
                              .Bytes(st->record_bytes)
                              .Bytes(st->sha)
                              .Bytes(st->receipt.SerializeAsString())
                              .Int(st->received_ms)));
  if (r.affected() == 1) {
    st->put = MailboxPut{true, MailboxSeen{st->sender_org, st->sha, st->receipt}};
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(MailboxSeen held, FindMailboxOn(c, st->sender_org, st->record_id));
  st->put = MailboxPut{false, std::move(held)};
  return absl::OkStatus();
}

}  // namespace

PostgresStore::Write<absl::StatusOr<MailboxPut>> PostgresStore::AddToMailboxWrite(
    const v1::MailboxRecord& record, const std::string& envelope_sha256,
    const v1::SignedReceipt& receipt) {
  std::shared_ptr<MailboxAdd> st = NewMailboxAdd(record, envelope_sha256);
  st->receipt = receipt;
  Write<absl::StatusOr<MailboxPut>> w;
  w.apply = [st](PgConnection& c) { return InsertMailbox(c, st.get()); };
  w.result = [st](absl::Status status) { return AnswerMailboxAdd(st.get(), status); };
  return w;
}

PostgresStore::IndexedWrite<absl::StatusOr<MailboxPut>> PostgresStore::MailboxAddAt(
    const v1::MailboxRecord& record, const std::string& envelope_sha256, ReceiptAt receipt_at) {
  std::shared_ptr<MailboxAdd> st = NewMailboxAdd(record, envelope_sha256);
  IndexedWrite<absl::StatusOr<MailboxPut>> w;
  w.apply = [st, receipt_at = std::move(receipt_at)](PgConnection& c,
                                                      uint64_t audit_index) -> absl::Status {
    ASSIGN_OR_RETURN(st->receipt, receipt_at(audit_index));
    RETURN_IF_ERROR(InsertMailbox(c, st.get()));
    if (st->put.inserted) return absl::OkStatus();
    st->withdrawn = true;
    return absl::CancelledError("store: withdrawn, a copy is held");
  };
  w.result = [st](absl::Status status) { return AnswerMailboxAdd(st.get(), status); };
  return w;
}

void PostgresStore::AddToMailboxAsync(const v1::MailboxRecord& record,
                                      const std::string& envelope_sha256,
                                      const v1::SignedReceipt& receipt, MailboxDone done) {
  Submit<absl::StatusOr<MailboxPut>>(AddToMailboxWrite(record, envelope_sha256, receipt),
                                     std::move(done));
}

absl::StatusOr<MailboxPut> PostgresStore::AddToMailbox(const v1::MailboxRecord& record,
                                                       const std::string& envelope_sha256,
                                                       const v1::SignedReceipt& receipt) {
  return Await(AddToMailboxWrite(record, envelope_sha256, receipt));
}

absl::StatusOr<std::vector<MailboxEntry>> PostgresStore::FetchMailbox(const MailboxReader& reader,
                                                                      int64_t after_seq,
                                                                      int limit) {
  if (reader.system.empty()) return std::vector<MailboxEntry>();
  return readers_->Read([&](PgConnection& c) -> absl::StatusOr<std::vector<MailboxEntry>> {
    ASSIGN_OR_RETURN(PgResult r,
                     c.Exec(absl::StrCat("SELECT seq, record FROM mailbox WHERE ", kVisibleTo,
                                         " AND seq > $3 ORDER BY seq LIMIT $4"),
                            ReaderParams(reader).Int(after_seq).Int(limit)));
    std::vector<MailboxEntry> out;
    for (int i = 0; i < r.rows(); ++i) {
      ASSIGN_OR_RETURN(MailboxEntry e, ReadMailboxRow(r, i));
      out.push_back(std::move(e));
    }
    return out;
  });
}

absl::StatusOr<MailboxEntry> PostgresStore::GetMailbox(const MailboxReader& reader,
                                                       const std::string& sender_org,
                                                       const std::string& record_id) {
  absl::Status not_found =
      absl::NotFoundError(absl::StrCat("record ", record_id, " from ", sender_org,
                                       " is not waiting in the mailbox of ", reader.system));
  if (reader.system.empty()) return not_found;
  return readers_->Read([&](PgConnection& c) -> absl::StatusOr<MailboxEntry> {
    ASSIGN_OR_RETURN(PgResult r, c.Exec(absl::StrCat("SELECT seq, record FROM mailbox WHERE "
                                                     "sender_org = $3 AND record_id = $4 AND ",
                                                     kVisibleTo),
                                        ReaderParams(reader).Text(sender_org).Text(record_id)));
    if (r.rows() == 0) return not_found;
    return ReadMailboxRow(r, 0);
  });
}

PostgresStore::Write<absl::StatusOr<std::vector<MailboxAcked>>> PostgresStore::AckMailboxWrite(
    const MailboxReader& reader, std::vector<std::string> record_ids, int64_t now_ms) {
  struct State {
    MailboxReader reader;
    std::vector<std::string> ids;
    std::vector<MailboxAcked> acked;
  };
  auto st = std::make_shared<State>(State{reader, std::move(record_ids), {}});
  Write<absl::StatusOr<std::vector<MailboxAcked>>> w;
  w.apply = [st, now_ms](PgConnection& c) -> absl::Status {
    st->acked.clear();
    for (const std::string& id : st->ids) {
      // A row acknowledged here is not visible again: an id given twice is
      // acknowledged once.
      ASSIGN_OR_RETURN(std::vector<VisibleRow> rows, VisibleById(c, st->reader, id));
      for (VisibleRow& row : rows) {
        MailboxAcked a{row.sender_org, id, std::move(row.envelope_sha256), true};
        if (row.org_wide) {
          ASSIGN_OR_RETURN(a.payload_dropped,
                           AckOrgWide(c, st->reader, row.sender_org, id, now_ms));
        } else {
          RETURN_IF_ERROR(DropPayload(c, row.sender_org, id, now_ms));
        }
        st->acked.push_back(std::move(a));
      }
    }
    return absl::OkStatus();
  };
  w.result = [st](absl::Status status) -> absl::StatusOr<std::vector<MailboxAcked>> {
    if (!status.ok()) return status;
    return std::move(st->acked);
  };
  return w;
}

void PostgresStore::AckMailboxAsync(const MailboxReader& reader,
                                    std::vector<std::string> record_ids, int64_t now_ms,
                                    AckDone done) {
  if (reader.system.empty()) {
    done(std::vector<MailboxAcked>());
    return;
  }
  Submit<absl::StatusOr<std::vector<MailboxAcked>>>(
      AckMailboxWrite(reader, std::move(record_ids), now_ms), std::move(done));
}

absl::StatusOr<std::vector<MailboxAcked>> PostgresStore::AckMailbox(
    const MailboxReader& reader, const std::vector<std::string>& record_ids, int64_t now_ms) {
  if (reader.system.empty()) return std::vector<MailboxAcked>();
  return Await(AckMailboxWrite(reader, record_ids, now_ms));
}

void PostgresStore::MarkFetchedAsync(std::vector<MailboxKey> records, int64_t now_ms,
                                     std::function<void(absl::Status)> done) {
  std::vector<std::string> orgs, ids;
  for (MailboxKey& key : records) {
    orgs.push_back(std::move(key.sender_org));
    ids.push_back(std::move(key.record_id));
  }
  // Every key in one statement; unknown keys match nothing.
  RunWriteAsync(
      [orgs = std::move(orgs), ids = std::move(ids), now_ms](PgConnection& c) {
        return c
            .Exec(
                "UPDATE mailbox m SET fetched_ms = $1 FROM unnest($2::text[], $3::text[]) "
                "AS k (sender_org, record_id) WHERE m.sender_org = k.sender_org AND "
                "m.record_id = k.record_id AND m.fetched_ms IS NULL",
                PgParams().Int(now_ms).TextArray(orgs).TextArray(ids))
            .status();
      },
      std::move(done));
}

absl::StatusOr<int64_t> PostgresStore::MailboxDepth(const MailboxReader& reader) {
  if (reader.system.empty()) return 0;
  return readers_->Read([&](PgConnection& c) -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(PgResult r,
                     c.Exec(absl::StrCat("SELECT COUNT(*) FROM mailbox WHERE ", kVisibleTo),
                            ReaderParams(reader)));
    return r.Int(0, 0);
  });
}

absl::StatusOr<int64_t> PostgresStore::HeldMailboxRecords() {
  return readers_->Read([&](PgConnection& c) -> absl::StatusOr<int64_t> {
    // By index mailbox_open.
    ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT COUNT(*) FROM mailbox WHERE acked_ms IS NULL"));
    return r.Int(0, 0);
  });
}

}  // namespace gatehouse

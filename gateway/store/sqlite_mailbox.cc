// SqliteStore's MailboxStore: records peer gateways delivered to us, until
// our systems acknowledge them; who sees which is MailboxReader's rule.
#include <sqlite3.h>

#include <functional>
#include <memory>
#include <mutex>
#include <set>
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

// A mailbox row selected as (seq, record).
absl::StatusOr<MailboxEntry> ReadMailboxRow(Stmt& s) {
  MailboxEntry e;
  e.seq = s.Int(0);
  if (!e.record.ParseFromString(s.Text(1))) {
    return absl::DataLossError("store: a mailbox row does not parse");
  }
  return e;
}

absl::StatusOr<MailboxSeen> FindMailboxOn(sqlite3* db, const std::string& sender_org,
                                          const std::string& record_id) {
  // By index mailbox_record; the sender's own row first if there are more.
  Stmt find(db, "SELECT sender_org, envelope_sha256, receipt, acked_ms, fetched_ms FROM mailbox "
                "WHERE record_id = ? ORDER BY sender_org = ? DESC LIMIT 1");
  RETURN_IF_ERROR(find.ok());
  find.Bind(1, record_id);
  find.Bind(2, sender_org);
  int rc = find.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError("not in the mailbox");
  RETURN_IF_ERROR(find.Check(rc, "lookup"));
  MailboxSeen seen;
  seen.sender_org = find.Text(0);
  seen.envelope_sha256 = find.Text(1);
  seen.acked_ms = find.IsNull(3) ? 0 : find.Int(3);
  seen.fetched_ms = find.IsNull(4) ? 0 : find.Int(4);
  if (!seen.receipt.ParseFromString(find.Text(2))) {
    return absl::DataLossError("store: a mailbox receipt does not parse");
  }
  return seen;
}

// The mailbox rows a reader sees (see MailboxReader), in a statement that
// binds them with BindReader. ?2 is '' if the reader takes
// organisation-wide records, else its system again (so it adds nothing);
// an organisation-wide row it has acknowledged is left out. Searched by
// index mailbox_open, and mailbox_ack's key.
constexpr const char* kVisibleTo =
    "acked_ms IS NULL AND recipient_system IN (?1, ?2) AND NOT (recipient_system = '' AND "
    "EXISTS (SELECT 1 FROM mailbox_ack a WHERE a.sender_org = mailbox.sender_org AND "
    "a.record_id = mailbox.record_id AND a.system = ?1))";

// REQUIRES: !reader.system.empty() (an empty one would match the
// organisation-wide rows as its own).
void BindReader(Stmt& s, const MailboxReader& reader) {
  s.Bind(1, reader.system);
  s.Bind(2, reader.TakesOrgWide() ? std::string() : reader.system);
}

// A mailbox row a reader is about to acknowledge.
struct VisibleRow {
  std::string sender_org;
  std::string envelope_sha256;
  bool org_wide = false;
};

// The rows under `record_id` visible to `reader` (more than one only if
// several organisations used the id). By index mailbox_record.
absl::StatusOr<std::vector<VisibleRow>> VisibleById(sqlite3* db, const MailboxReader& reader,
                                                    const std::string& record_id) {
  Stmt s(db, absl::StrCat("SELECT sender_org, envelope_sha256, recipient_system = '' "
                          "FROM mailbox WHERE record_id = ?3 AND ", kVisibleTo).c_str());
  RETURN_IF_ERROR(s.ok());
  BindReader(s, reader);
  s.Bind(3, record_id);
  std::vector<VisibleRow> rows;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) rows.push_back({s.Text(0), s.Text(1), s.Int(2) != 0});
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return rows;
}

// Drops the payload of (sender_org, record_id), keeping its id.
absl::Status DropPayload(sqlite3* db, const std::string& sender_org,
                         const std::string& record_id, int64_t now_ms) {
  Stmt s(db, "UPDATE mailbox SET acked_ms = ?, record = NULL WHERE sender_org = ? AND "
             "record_id = ? AND acked_ms IS NULL");
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, now_ms);
  s.Bind(2, sender_org);
  s.Bind(3, record_id);
  return s.Done();
}

// Records reader.system's acknowledgement of the organisation-wide record
// (sender_org, record_id), which it has not acknowledged before. If every
// system of reader.org_recipients now has, drops the payload (and the
// acknowledgements, needed no more) and returns true.
absl::StatusOr<bool> AckOrgWide(sqlite3* db, const MailboxReader& reader,
                                const std::string& sender_org, const std::string& record_id,
                                int64_t now_ms) {
  {
    Stmt s(db, "INSERT INTO mailbox_ack (sender_org, record_id, system, acked_ms) "
               "VALUES (?, ?, ?, ?)");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, sender_org);
    s.Bind(2, record_id);
    s.Bind(3, reader.system);
    s.Bind(4, now_ms);
    RETURN_IF_ERROR(s.Done());
  }
  std::set<std::string> waiting(reader.org_recipients.begin(), reader.org_recipients.end());
  {
    Stmt s(db, "SELECT system FROM mailbox_ack WHERE sender_org = ? AND record_id = ?");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, sender_org);
    s.Bind(2, record_id);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) waiting.erase(s.Text(0));
    RETURN_IF_ERROR(s.Check(rc, "read"));
  }
  if (!waiting.empty()) return false;
  RETURN_IF_ERROR(DropPayload(db, sender_org, record_id, now_ms));
  Stmt s(db, "DELETE FROM mailbox_ack WHERE sender_org = ? AND record_id = ?");
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, sender_org);
  s.Bind(2, record_id);
  RETURN_IF_ERROR(s.Done());
  return true;
}

}  // namespace

absl::StatusOr<MailboxSeen> SqliteStore::FindInMailbox(const std::string& sender_org,
                                                       const std::string& record_id) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return FindMailboxOn(reader_, sender_org, record_id);
}

absl::StatusOr<std::set<std::string>> SqliteStore::HeldEnvelopes(
    const std::set<std::string>& among) {
  std::set<std::string> held;
  if (among.empty()) return held;
  std::lock_guard<std::mutex> lock(read_mu_);
  // acked_ms stays NULL until the last system a record waits for has
  // acknowledged it (an organisation-wide record's payload is kept till then).
  Stmt s(reader_, "SELECT envelope_sha256 FROM mailbox WHERE acked_ms IS NULL");
  RETURN_IF_ERROR(s.ok());
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    std::string sha = s.Text(0);
    if (among.count(sha) > 0) held.insert(std::move(sha));
  }
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return held;
}

namespace {

// The copy already held into st->put, or (its receipt made by `receipt`
// only then) the record inserted.
absl::Status InsertMailbox(sqlite3* db, MailboxAdd* st,
                           const std::function<absl::Status(MailboxAdd*)>& receipt) {
  absl::StatusOr<MailboxSeen> held = FindMailboxOn(db, st->sender_org, st->record_id);
  if (held.ok() && held->sender_org == st->sender_org) {
    st->put = MailboxPut{false, *std::move(held)};
    return absl::OkStatus();
  }
  if (!held.ok() && !absl::IsNotFound(held.status())) return held.status();
  RETURN_IF_ERROR(receipt(st));
  Stmt s(db, "INSERT INTO mailbox (sender_org, record_id, recipient_system, record, "
             "envelope_sha256, receipt, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, st->sender_org);
  s.Bind(2, st->record_id);
  s.Bind(3, st->recipient_system);
  s.BindBlob(4, st->record_bytes);
  s.BindBlob(5, st->sha);
  s.BindBlob(6, st->receipt.SerializeAsString());
  s.Bind(7, st->received_ms);
  RETURN_IF_ERROR(s.Done());
  st->put = MailboxPut{true, MailboxSeen{st->sender_org, st->sha, st->receipt}};
  return absl::OkStatus();
}

}  // namespace

SqliteStore::IndexedWrite<absl::StatusOr<MailboxPut>> SqliteStore::MailboxAddAt(
    const v1::MailboxRecord& record, const std::string& envelope_sha256, ReceiptAt receipt_at) {
  std::shared_ptr<MailboxAdd> st = NewMailboxAdd(record, envelope_sha256);
  IndexedWrite<absl::StatusOr<MailboxPut>> w;
  w.apply = [st, receipt_at = std::move(receipt_at)](sqlite3* db, uint64_t audit_index,
                                                      int64_t*) -> absl::Status {
    RETURN_IF_ERROR(InsertMailbox(db, st.get(), [&](MailboxAdd* add) -> absl::Status {
      ASSIGN_OR_RETURN(add->receipt, receipt_at(audit_index));
      return absl::OkStatus();
    }));
    if (st->put.inserted) return absl::OkStatus();
    st->withdrawn = true;
    return absl::CancelledError("store: withdrawn, a copy is held");
  };
  w.result = [st](absl::Status status) { return AnswerMailboxAdd(st.get(), status); };
  return w;
}

void SqliteStore::AddToMailboxAsync(const v1::MailboxRecord& record,
                                    const std::string& envelope_sha256,
                                    const v1::SignedReceipt& receipt, MailboxDone done) {
  std::shared_ptr<MailboxAdd> st = NewMailboxAdd(record, envelope_sha256);
  st->receipt = receipt;
  RunWriteAsync(
      [st](sqlite3* db, int64_t*) {
        return InsertMailbox(db, st.get(), [](MailboxAdd*) { return absl::OkStatus(); });
      },
      [st, done = std::move(done)](absl::Status status) {
        done(AnswerMailboxAdd(st.get(), std::move(status)));
      });
}

absl::StatusOr<MailboxPut> SqliteStore::AddToMailbox(const v1::MailboxRecord& record,
                                                     const std::string& envelope_sha256,
                                                     const v1::SignedReceipt& receipt) {
  Rendezvous<absl::StatusOr<MailboxPut>> r;
  AddToMailboxAsync(record, envelope_sha256, receipt, r.Callback());
  return r.Wait();
}

absl::StatusOr<std::vector<MailboxEntry>> SqliteStore::FetchMailbox(const MailboxReader& reader,
                                                                    int64_t after_seq,
                                                                    int limit) {
  std::vector<MailboxEntry> out;
  if (reader.system.empty()) return out;
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, absl::StrCat("SELECT seq, record FROM mailbox WHERE ", kVisibleTo,
                               " AND seq > ?3 ORDER BY seq LIMIT ?4").c_str());
  RETURN_IF_ERROR(s.ok());
  BindReader(s, reader);
  s.Bind(3, after_seq);
  s.Bind(4, limit);
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(MailboxEntry e, ReadMailboxRow(s));
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return out;
}

absl::StatusOr<MailboxEntry> SqliteStore::GetMailbox(const MailboxReader& reader,
                                                     const std::string& sender_org,
                                                     const std::string& record_id) {
  absl::Status not_found = absl::NotFoundError(absl::StrCat(
      "record ", record_id, " from ", sender_org, " is not waiting in the mailbox of ",
      reader.system));
  if (reader.system.empty()) return not_found;
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, absl::StrCat("SELECT seq, record FROM mailbox WHERE sender_org = ?3 AND "
                               "record_id = ?4 AND ", kVisibleTo).c_str());
  RETURN_IF_ERROR(s.ok());
  BindReader(s, reader);
  s.Bind(3, sender_org);
  s.Bind(4, record_id);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return not_found;
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return ReadMailboxRow(s);
}

void SqliteStore::AckMailboxAsync(const MailboxReader& reader,
                                  std::vector<std::string> record_ids, int64_t now_ms,
                                  AckDone done) {
  if (reader.system.empty()) {
    done(std::vector<MailboxAcked>());
    return;
  }
  struct State {
    MailboxReader reader;
    std::vector<std::string> ids;
    std::vector<MailboxAcked> acked;
  };
  auto st = std::make_shared<State>(State{reader, std::move(record_ids), {}});
  RunWriteAsync(
      [st, now_ms](sqlite3* db, int64_t*) -> absl::Status {
        st->acked.clear();
        for (const std::string& id : st->ids) {
          // A row acknowledged here is not visible again: an id given twice
          // is acknowledged once.
          ASSIGN_OR_RETURN(std::vector<VisibleRow> rows, VisibleById(db, st->reader, id));
          for (VisibleRow& row : rows) {
            MailboxAcked a{row.sender_org, id, std::move(row.envelope_sha256), true};
            if (row.org_wide) {
              ASSIGN_OR_RETURN(a.payload_dropped,
                               AckOrgWide(db, st->reader, row.sender_org, id, now_ms));
            } else {
              RETURN_IF_ERROR(DropPayload(db, row.sender_org, id, now_ms));
            }
            st->acked.push_back(std::move(a));
          }
        }
        return absl::OkStatus();
      },
      [st, done = std::move(done)](absl::Status status) {
        if (!status.ok()) {
          done(status);
        } else {
          done(std::move(st->acked));
        }
      });
}

absl::StatusOr<std::vector<MailboxAcked>> SqliteStore::AckMailbox(
    const MailboxReader& reader, const std::vector<std::string>& record_ids, int64_t now_ms) {
  Rendezvous<absl::StatusOr<std::vector<MailboxAcked>>> r;
  AckMailboxAsync(reader, record_ids, now_ms, r.Callback());
  return r.Wait();
}

void SqliteStore::MarkFetchedAsync(std::vector<MailboxKey> records, int64_t now_ms,
                                   std::function<void(absl::Status)> done) {
  RunWriteAsync(
      [records = std::move(records), now_ms](sqlite3* db, int64_t*) -> absl::Status {
        for (const MailboxKey& key : records) {
          Stmt s(db, "UPDATE mailbox SET fetched_ms = ? WHERE sender_org = ? AND "
                     "record_id = ? AND fetched_ms IS NULL");
          RETURN_IF_ERROR(s.ok());
          s.Bind(1, now_ms);
          s.Bind(2, key.sender_org);
          s.Bind(3, key.record_id);
          RETURN_IF_ERROR(s.Done());
        }
        return absl::OkStatus();
      },
      std::move(done));
}

absl::StatusOr<int64_t> SqliteStore::MailboxDepth(const MailboxReader& reader) {
  if (reader.system.empty()) return 0;
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, absl::StrCat("SELECT COUNT(*) FROM mailbox WHERE ", kVisibleTo).c_str());
  RETURN_IF_ERROR(s.ok());
  BindReader(s, reader);
  RETURN_IF_ERROR(s.Check(s.Step(), "read"));
  return s.Int(0);
}

absl::StatusOr<int64_t> SqliteStore::HeldMailboxRecords() {
  std::lock_guard<std::mutex> lock(read_mu_);
  // By index mailbox_open.
  Stmt s(reader_, "SELECT COUNT(*) FROM mailbox WHERE acked_ms IS NULL");
  RETURN_IF_ERROR(s.ok());
  RETURN_IF_ERROR(s.Check(s.Step(), "read"));
  return s.Int(0);
}

}  // namespace gatehouse

// PostgresGatewayTest: a fixture for tests of real gatehoused processes whose
// durable state is in PostgreSQL (store.postgres): a database a test on
// this process's server (tests/gateway/store/postgres_server.h), a cluster
// of gateways (gateway_harness.h), SQL against the database, and an
// organisation's audit log in the database checked from its rows.
#ifndef GATEHOUSE_TESTS_GATEWAY_POSTGRES_GATEWAY_TEST_H_
#define GATEHOUSE_TESTS_GATEWAY_POSTGRES_GATEWAY_TEST_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "audit/checkpoint.h"
#include "audit/merkle_tree.h"
#include "audit/note.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/peer.pb.h"
#include "gatehouse/v1/store.pb.h"
#include "gtest/gtest.h"
#include "tests/gateway/gateway_harness.h"
#include "tests/gateway/store/postgres_server.h"

namespace gatehouse {

// The config fields that put a gateway's store (and audit log) in `dsn`.
inline std::string StoreJson(const std::string& dsn) {
  return absl::StrCat(R"("store": {"postgres": {"dsn": ")", dsn, R"("}})");
}

class PostgresGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::PostgresServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *server;
    auto db = server_->CreateDatabase();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *db;
  }
  // `sql`'s first value in the gateway's database, "" if it fails.
  std::string Query(const std::string& sql) {
    auto v = server_->Query(db_, sql);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : "";
  }

  // `org`'s audit log in database `db`, checked from its rows alone, as
  // VerifyAuditLog checks a file log: entries numbered 0..n-1 without a gap,
  // all integrated and covered by the newest checkpoint (a gateway signs
  // one as it stops), which verifies under the organisation's log key and
  // whose root the entries reproduce (leaf hashes computed by PostgreSQL).
  // The number of entries.
  absl::StatusOr<uint64_t> VerifyDatabaseLog(const std::string& org, const std::string& db) {
    auto q = [&](const std::string& sql) { return server_->Query(db, sql); };
    ASSIGN_OR_RETURN(std::string counts,
                     q("SELECT COUNT(*) || ' ' || COALESCE(MAX(idx) + 1, 0) || ' ' || "
                       "(SELECT sequenced || ' ' || integrated FROM audit_head) FROM audit_entry"));
    const std::vector<std::string> n = absl::StrSplit(counts, ' ');
    if (n.size() != 4 || n[0] != n[1] || n[1] != n[2] || n[2] != n[3]) {
      return absl::DataLossError("entries, numbers, sequenced, integrated: " + counts);
    }
    ASSIGN_OR_RETURN(std::string leaves,
                     q("SELECT COALESCE(string_agg(encode(sha256('\\x00'::bytea || entry), "
                       "'hex'), ',' ORDER BY idx), '') FROM audit_entry"));
    audit::MemoryTree tree;
    for (absl::string_view hex : absl::StrSplit(leaves, ',', absl::SkipEmpty())) {
      audit::Hash h;
      if (!audit::HashFromBytes(absl::HexStringToBytes(hex), &h)) return absl::DataLossError("leaf");
      tree.Append(h);
    }
    ASSIGN_OR_RETURN(std::string note,
                     q("SELECT note FROM audit_checkpoint ORDER BY size DESC LIMIT 1"));
    ASSIGN_OR_RETURN(std::string key, ReadFile(cluster_.dir() + "/keys-" + org + "/audit.key"));
    ASSIGN_OR_RETURN(audit::NoteSigner signer,
                     audit::NoteSigner::FromPrivateKey(absl::StripAsciiWhitespace(key)));
    ASSIGN_OR_RETURN(audit::NoteVerifier verifier,
                     audit::NoteVerifier::FromVerifierKey(signer.VerifierKeyString()));
    ASSIGN_OR_RETURN(audit::SignedCheckpoint cp, audit::OpenCheckpoint(note, verifier));
    if (cp.checkpoint.size != tree.size()) {
      return absl::DataLossError(absl::StrCat("the newest checkpoint covers ", cp.checkpoint.size,
                                              " of ", tree.size(), " entries"));
    }
    ASSIGN_OR_RETURN(audit::Hash root, audit::TreeRoot(tree, tree.size()));
    if (root != cp.checkpoint.root) return absl::DataLossError("root differs");
    return tree.size();
  }

  // One commit a record (gateway/joint_commit.h), checked from database
  // `db`'s rows: each outbox row's audit_index names a SUBMITTED entry of
  // its record and each mailbox row's receipt a RECEIVED entry of its
  // record; no record has a second such entry; and no such entry names a
  // record without a row (an entry kept while its row was lost, by a kill
  // or a lost COMMIT). OK, or what differs.
  absl::Status VerifyOneEntryARecord(const std::string& db) {
    auto q = [&](const std::string& sql) { return server_->Query(db, sql); };
    ASSIGN_OR_RETURN(std::string entries,
                     q("SELECT COALESCE(string_agg(encode(entry, 'hex'), ',' ORDER BY idx), '') "
                       "FROM audit_entry"));
    // record id -> the index of each entry of `event` naming it.
    std::map<std::string, std::vector<uint64_t>> submitted, received;
    uint64_t index = 0;
    for (absl::string_view hex : absl::StrSplit(entries, ',', absl::SkipEmpty())) {
      v1::AuditEntry e;
      if (!e.ParseFromString(absl::HexStringToBytes(hex))) return absl::DataLossError("entry");
      const std::string key = absl::StrCat(e.sender_org(), "/", e.record_id());
      if (e.event() == v1::AUDIT_EVENT_SUBMITTED) submitted[key].push_back(index);
      if (e.event() == v1::AUDIT_EVENT_RECEIVED) received[key].push_back(index);
      ++index;
    }
    // sender org/record id -> the index its row names; a second row for
    // one record is itself a failure.
    std::map<std::string, uint64_t> rows;
    auto add_row = [&rows](const std::string& key, uint64_t index) {
      return rows.emplace(key, index).second
                 ? absl::OkStatus()
                 : absl::DataLossError(absl::StrCat("two rows for ", key));
    };
    ASSIGN_OR_RETURN(std::string outbox, q("SELECT COALESCE(string_agg(encode(record, 'hex'), "
                                           "','), '') FROM outbox"));
    for (absl::string_view hex : absl::StrSplit(outbox, ',', absl::SkipEmpty())) {
      v1::OutboxRecord r;
      if (!r.ParseFromString(absl::HexStringToBytes(hex))) return absl::DataLossError("outbox");
      RETURN_IF_ERROR(add_row(absl::StrCat(r.sender_org(), "/", r.record_id()), r.audit_index()));
    }
    RETURN_IF_ERROR(OneForOne("outbox", "SUBMITTED", rows, submitted));
    rows.clear();
    ASSIGN_OR_RETURN(std::string mailbox, q("SELECT COALESCE(string_agg(encode(receipt, 'hex'), "
                                            "','), '') FROM mailbox"));
    for (absl::string_view hex : absl::StrSplit(mailbox, ',', absl::SkipEmpty())) {
      v1::SignedReceipt s;
      v1::DeliveryReceipt r;
      if (!s.ParseFromString(absl::HexStringToBytes(hex)) || !r.ParseFromString(s.receipt())) {
        return absl::DataLossError("mailbox receipt");
      }
      RETURN_IF_ERROR(add_row(absl::StrCat(r.sender_org(), "/", r.record_id()), r.audit_index()));
    }
    return OneForOne("mailbox", "RECEIVED", rows, received);
  }

  // Each of `rows` (record -> the index it names) names the one entry of
  // `entries` (record -> indexes) for its record, and every record with
  // an entry has a row.
  static absl::Status OneForOne(const std::string& table, const std::string& event,
                                const std::map<std::string, uint64_t>& rows,
                                const std::map<std::string, std::vector<uint64_t>>& entries) {
    for (const auto& [id, named] : rows) {
      auto it = entries.find(id);
      if (it == entries.end() || it->second != std::vector<uint64_t>{named}) {
        return absl::DataLossError(absl::StrCat(table, " row ", id, " names entry ", named, "; ",
                                                event, " entries of it: ",
                                                it == entries.end() ? 0 : it->second.size()));
      }
    }
    for (const auto& [id, indexes] : entries) {
      if (rows.count(id) == 0) {
        return absl::DataLossError(absl::StrCat(event, " entry ", indexes[0], " names ", id,
                                                ", which has no ", table, " row"));
      }
    }
    return absl::OkStatus();
  }

  testing::PostgresServer* server_ = nullptr;
  std::string db_;
  Cluster cluster_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_GATEWAY_POSTGRES_GATEWAY_TEST_H_

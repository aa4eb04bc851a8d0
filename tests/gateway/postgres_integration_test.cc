// A gateway whose durable state is in PostgreSQL (store.postgres), with
// real gatehoused processes and a real PostgreSQL server started by the
// test (tests/gateway/store/postgres_server.h): a record reaches it, is
// held across a SIGKILL and fetched intact after; a sender on PostgreSQL
// keeps a queued record across a SIGKILL and delivers it once the peer is
// up; each log verifies. PostgreSQL stopped as by a power cut under load:
// calls answer UNAVAILABLE meanwhile, and once it is back every record a
// Submit accepted is delivered exactly once, the gateways reconnecting by
// themselves. A DSN holding a password, one that reaches no
// server, or a delivery lease shorter than an attempt stops the gateway at
// start with the reason.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/fault_proxy.h"
#include "tests/gateway/gateway_harness.h"
#include "tests/gateway/postgres_gateway_test.h"
#include "tests/gateway/store/postgres_server.h"

namespace gatehouse {
namespace {

using ::testing::HasSubstr;

// A PostgreSQL server of the test's own on loopback TCP, a database on it,
// and a fault proxy in front: a database a gateway can be cut off from.
struct ProxiedDatabase {
  std::unique_ptr<testing::PostgresServer> server;
  std::string db;
  std::unique_ptr<FaultProxy> proxy;
  // A DSN through the proxy, with `extra` conninfo fields.
  std::string Dsn(const std::string& extra = "") const {
    return absl::StrCat("host=127.0.0.1 port=", proxy->port(), " user=postgres ", extra,
                        extra.empty() ? "" : " ", "dbname=", db);
  }
};

void StartProxied(ProxiedDatabase* p) {
  auto server = testing::PostgresServer::Start(/*tcp=*/true);
  ASSERT_TRUE(server.ok()) << server.status();
  p->server = *std::move(server);
  auto db = p->server->CreateDatabase();
  ASSERT_TRUE(db.ok()) << db.status();
  p->db = *db;
  p->proxy = FaultProxy::Start(p->server->tcp_port());
  ASSERT_NE(p->proxy, nullptr);
}

TEST_F(PostgresGatewayTest, ARecordReachesAGatewayOnPostgresAndOutlivesASigkill) {
  // The recipient starts first: a sender whose cosigner asked council-a
  // before it listened backs off its reconnects (up to 2 s), and a Submit
  // meanwhile answers QUEUED, correctly but not what this test is about.
  ASSERT_TRUE(cluster_.Start("council-a", StoreJson(server_->Dsn(db_))));
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  EXPECT_THAT(cluster_.Log("council-a"), ::testing::Not(HasSubstr("error")));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  const std::string payload("{\"on\":\"postgres\"}\0\xfe", 19);
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(payload), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_DELIVERED)
      << resp.receipt().last_error() << "\nnhs-trust-a:\n" << cluster_.Log("nhs-trust-a")
      << "\ncouncil-a:\n" << cluster_.Log("council-a");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM mailbox"), "1");
  EXPECT_FALSE(std::filesystem::exists(cluster_.dir() + "/data-council-a/gatehouse.db"));

  cluster_.Kill("council-a");
  ASSERT_TRUE(cluster_.Restart("council-a"));
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchResponse got = FetchAll(*care);
  ASSERT_EQ(got.records_size(), 1);
  EXPECT_EQ(got.records(0).record_id(), resp.receipt().record_id());
  EXPECT_EQ(got.records(0).payload(), payload);
  v1::AckRequest ack;
  ack.add_record_ids(got.records(0).record_id());
  v1::AckResponse acked;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Ack, *care, ack, &acked).ok());
  EXPECT_EQ(acked.acked(), 1);
  EXPECT_EQ(FetchAll(*care).records_size(), 0);
  // The sender learns it was taken, through the peer link, as on SQLite.
  EXPECT_TRUE(Eventually([&] {
    v1::StatusRequest req;
    req.set_record_id(resp.receipt().record_id());
    v1::StatusResponse st;
    return Call(&v1::Exchange::Stub::Status, *ehr, req, &st).ok() &&
           st.receipt().state() == v1::RECORD_STATE_ACKNOWLEDGED;
  }));
  cluster_.Stop("council-a");
  auto report = VerifyDatabaseLog("council-a", db_);
  EXPECT_TRUE(report.ok()) << report.status();
  absl::Status one = VerifyOneEntryARecord(db_);
  EXPECT_TRUE(one.ok()) << one;
  // The log is in the database, not in the audit directory.
  EXPECT_FALSE(std::filesystem::exists(cluster_.AuditDir("council-a") + "/checkpoints.log"));
}

TEST_F(PostgresGatewayTest, ASenderOnPostgresKeepsAQueuedRecordAcrossASigkill) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a", StoreJson(server_->Dsn(db_))));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(R"({"n":7})"), &resp).ok());
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_QUEUED);  // council-a is not running
  EXPECT_EQ(Query("SELECT COUNT(*) FROM outbox"), "1");

  cluster_.Kill("nhs-trust-a");
  ASSERT_TRUE(cluster_.Start("council-a"));
  ASSERT_TRUE(cluster_.Restart("nhs-trust-a"));
  EXPECT_TRUE(Eventually([&] { return cluster_.Count("council-a", "mailbox") == 1; }));
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchResponse got = FetchAll(*care);
  ASSERT_EQ(got.records_size(), 1);
  EXPECT_EQ(got.records(0).record_id(), resp.receipt().record_id());
  EXPECT_EQ(got.records(0).payload(), R"({"n":7})");
  cluster_.Stop("nhs-trust-a");
  auto report = VerifyDatabaseLog("nhs-trust-a", db_);
  EXPECT_TRUE(report.ok()) << report.status();
  absl::Status one = VerifyOneEntryARecord(db_);
  EXPECT_TRUE(one.ok()) << one;
}

TEST_F(PostgresGatewayTest, PostgresCrashedUnderLoadLosesNothingAcceptedAndIsRejoined) {
  auto second = server_->CreateDatabase();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(cluster_.Start("nhs-trust-a", StoreJson(server_->Dsn(*second))));
  ASSERT_TRUE(cluster_.Start("council-a", StoreJson(server_->Dsn(db_))));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  std::atomic<bool> stop{false};
  std::set<std::string> accepted;
  std::atomic<int> unavailable{0}, other{0};
  // A Submit refused as unavailable is sent again with its idempotency key,
  // as a stock client does: a COMMIT lost in the crash may have kept the
  // record (the gateway cannot know, and says so), and the retry then finds
  // it rather than adding a second one.
  std::thread load([&] {
    bool retrying = false;
    int retries_after_stop = 0;  // the database is back by then; bounded anyway
    for (int i = 0; !stop || (retrying && ++retries_after_stop < 500);) {
      v1::SubmitRequest req = SampleSubmit(absl::StrCat("{\"n\":", i, "}"));
      req.set_idempotency_key(absl::StrCat("crash-load-", i));
      v1::SubmitResponse resp;
      grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, req, &resp);
      retrying = false;
      if (s.ok()) {
        accepted.insert(resp.receipt().record_id());
        ++i;
      } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
        ++unavailable;
        retrying = true;
      } else {
        ++other;
        ADD_FAILURE() << "Submit: " << s.error_code() << " " << s.error_message();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_TRUE(server_->Stop(/*crash=*/true).ok());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  // While the database is down, a fetch is refused as unavailable.
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchRequest fetch;
  v1::FetchResponse fetched;
  EXPECT_EQ(Call(&v1::Exchange::Stub::Fetch, *care, fetch, &fetched).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(server_->Restart().ok());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  load.join();
  EXPECT_GT(unavailable.load(), 0) << "no Submit met the outage";
  EXPECT_EQ(other.load(), 0);
  ASSERT_GT(accepted.size(), 20u);
  // Every accepted record reaches council-a once, and nothing else does.
  EXPECT_TRUE(Eventually(
      [&] { return Query("SELECT COUNT(*) FROM mailbox") == std::to_string(accepted.size()); },
      60))
      << Query("SELECT COUNT(*) FROM mailbox") << " in the mailbox, " << accepted.size()
      << " accepted";
  size_t found = 0;
  for (const std::string& id : accepted) {
    found += Query("SELECT COUNT(*) FROM mailbox WHERE record_id = '" + id + "'") == "1";
  }
  EXPECT_EQ(found, accepted.size());
  EXPECT_TRUE(Eventually([&] { return FetchAll(*care).records_size() > 0; }));
  // Both logs verify: what was audited while the database was down (a
  // refused call) is in them, and nothing is torn. A COMMIT lost in the
  // crash left a record's entry and row both or neither: no record has a
  // second entry from its retry, and no entry names a record not held.
  for (const std::string org : {"nhs-trust-a", "council-a"}) {
    EXPECT_EQ(cluster_.Stop(org), 0) << org;
    const std::string& db = org == "council-a" ? db_ : *second;
    auto report = VerifyDatabaseLog(org, db);
    EXPECT_TRUE(report.ok()) << org << ": " << report.status();
    absl::Status one = VerifyOneEntryARecord(db);
    EXPECT_TRUE(one.ok()) << org << ": " << one;
  }
}

// A gateway cut off from its database (the fault proxy in between resets
// every connection and refuses new ones) answers UNAVAILABLE, stays up,
// and once the way is open again reconnects by itself: every record its
// peer accepted meanwhile arrives, once.
TEST_F(PostgresGatewayTest, AGatewayCutOffFromItsDatabaseRecoversAndLosesNothing) {
  ProxiedDatabase cut;
  ASSERT_NO_FATAL_FAILURE(StartProxied(&cut));
  const std::string dsn = cut.Dsn();
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a", StoreJson(dsn)));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  auto care = cluster_.Client("council-a", "council-a/care");
  std::set<std::string> accepted;
  auto submit = [&](int n) {
    for (int i = 0; i < n; ++i) {
      v1::SubmitResponse resp;
      grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();  // the sender's own store is fine
      accepted.insert(resp.receipt().record_id());
    }
  };
  submit(3);
  cut.proxy->Refuse();  // resets what is open, refuses what comes
  submit(5);        // queued at the sender: council-a cannot store them
  v1::FetchRequest fetch;
  v1::FetchResponse fetched;
  EXPECT_EQ(Call(&v1::Exchange::Stub::Fetch, *care, fetch, &fetched).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  cut.proxy->Pass();
  EXPECT_TRUE(Eventually([&] { return FetchAll(*care).records_size() == 8; }, 60));
  auto count = cut.server->Query(cut.db, "SELECT COUNT(*) FROM mailbox");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, "8");
  const v1::FetchResponse all = FetchAll(*care);
  for (const v1::Record& r : all.records()) EXPECT_EQ(accepted.count(r.record_id()), 1u);
}

// A link to the database that goes silent (packets dropped, no reset: a
// firewall, a cut cable) does not hold calls for as long as TCP retries:
// each statement has a deadline (statementTimeoutSeconds), after which its
// connection is given up, the call answers UNAVAILABLE, and once the link
// is back the gateway reconnects and loses nothing.
TEST_F(PostgresGatewayTest, ASilentLinkToTheDatabaseAnswersUnavailableInTimeAndRecovers) {
  ProxiedDatabase cut;
  ASSERT_NO_FATAL_FAILURE(StartProxied(&cut));
  const std::string dsn = cut.Dsn("connect_timeout=2");
  ASSERT_TRUE(cluster_.Start("council-a", absl::StrCat(R"("store": {"postgres": {"dsn": ")", dsn,
                                                       R"(", "statementTimeoutSeconds": 2}})")));
  auto care = cluster_.Client("council-a", "council-a/care");
  ASSERT_EQ(FetchAll(*care).records_size(), 0);
  cut.proxy->Blackhole();
  const absl::Time start = absl::Now();
  v1::FetchRequest fetch;
  v1::FetchResponse fetched;
  const grpc::Status s = Call(&v1::Exchange::Stub::Fetch, *care, fetch, &fetched);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // A statement's 2 s, and (a read is tried once more on a new connection)
  // a connect's 2 s: well inside the client's 30 s deadline.
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  cut.proxy->Pass();
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  EXPECT_TRUE(Eventually([&] { return FetchAll(*care).records_size() == 1; }, 60));
}

// A gateway whose audit log is in files (SQLite so far) is not started on
// PostgreSQL with the same log key: the database log would be a second
// history under one key. The start stops with the reason; nothing is
// written to the database's log.
TEST_F(PostgresGatewayTest, AFileAuditLogIsNotContinuedInTheDatabaseUnderTheSameKey) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  EXPECT_EQ(cluster_.Stop("council-a"), 0);
  EXPECT_FALSE(cluster_.Start("council-a", StoreJson(server_->Dsn(db_))));
  EXPECT_THAT(cluster_.Log("council-a"),
              HasSubstr("holds this organisation's audit log in files"));
  EXPECT_EQ(Query("SELECT to_regclass('audit_entry') IS NULL OR "
                  "(SELECT COUNT(*) FROM audit_entry) = 0"),
            "t");
}

// A database a newer gateway has migrated stops an older one at start,
// naming the versions and changing nothing; one at an older version is
// migrated and keeps its rows.
TEST_F(PostgresGatewayTest, ADatabaseOfANewerGatewayStopsTheStartAndAnOlderIsMigrated) {
  ASSERT_TRUE(cluster_.Start("council-a", StoreJson(server_->Dsn(db_))));
  ASSERT_EQ(cluster_.Stop("council-a"), 0);
  const std::string latest = Query("SELECT MAX(version) FROM schema_version");
  const std::string newer = std::to_string(std::stoi(latest) + 1);
  Query("INSERT INTO schema_version (version) VALUES (" + newer + ")");
  EXPECT_FALSE(cluster_.Start("council-a", StoreJson(server_->Dsn(db_))));
  EXPECT_THAT(cluster_.Log("council-a"), HasSubstr("schema version " + newer));
  EXPECT_EQ(Query("SELECT MAX(version) FROM schema_version"), newer);  // left as it was

  // Back to version 1, before delivery leases (as an older gateway left it).
  Query("DELETE FROM schema_version WHERE version >= 2");
  Query("ALTER TABLE outbox DROP COLUMN lease_owner, DROP COLUMN lease_until_ms");
  Query("DROP TABLE audit_cosignature, audit_checkpoint, audit_tree, audit_entry, audit_head");
  ASSERT_TRUE(cluster_.Start("council-a", StoreJson(server_->Dsn(db_))));  // recipient first, as above
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  EXPECT_EQ(Query("SELECT MAX(version) FROM schema_version"), latest);
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_DELIVERED);
}

TEST_F(PostgresGatewayTest, ADsnWithAPasswordOrNoServerStopsTheGatewayWithTheReason) {
  EXPECT_FALSE(cluster_.Start("council-a", StoreJson(server_->Dsn(db_) + " password=hunter22")));
  std::string log = cluster_.Log("council-a");
  EXPECT_THAT(log, HasSubstr("store.postgres"));
  EXPECT_THAT(log, HasSubstr("password"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("hunter22")));  // the secret is not echoed
  EXPECT_FALSE(cluster_.Start(
      "council-a", StoreJson("host=/nonexistent-gatehouse-socket-dir dbname=gatehouse")));
  log = cluster_.Log("council-a");
  EXPECT_THAT(log, HasSubstr("store.postgres"));
  EXPECT_THAT(log, HasSubstr("/nonexistent-gatehouse-socket-dir"));
  // A claim on a record must outlast an attempt to deliver it.
  EXPECT_FALSE(cluster_.Start(
      "council-a", absl::StrCat(R"("store": {"postgres": {"dsn": ")", server_->Dsn(db_),
                                R"(", "deliveryLeaseSeconds": 2}})")));
  EXPECT_THAT(cluster_.Log("council-a"), HasSubstr("must exceed retry.deliverTimeoutMs"));
  // Nothing was created in the database by the refused starts.
  EXPECT_EQ(Query("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"), "0");
}

}  // namespace
}  // namespace gatehouse

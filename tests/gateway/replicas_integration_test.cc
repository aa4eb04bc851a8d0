// One organisation's gateway as three replicas (real gatehoused processes)
// sharing one PostgreSQL database, and so one outbox and one audit log
// (issue 19). Under load through every replica, a replica chosen at random
// is SIGKILLed and restarted, cycle after cycle: every record a Submit
// accepted is delivered exactly once, the outbox drains, the integrator's
// work goes on within seconds of each kill (a newer checkpoint; every
// other kill is of the integrator, which another replica becomes), and the
// organisation's one log verifies from genesis.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/gateway/gateway_harness.h"
#include "tests/gateway/postgres_gateway_test.h"

namespace gatehouse {
namespace {

constexpr int kCycles = 7;
const std::vector<std::string> kReplicas = {"nhs-trust-a", "nhs-trust-a#2", "nhs-trust-a#3"};

// Store fields for replica `i`: a name of its own, and a delivery lease a
// little over the harness's 3 s attempt, so a dead replica's claims pass on
// soon.
std::string ReplicaJson(const std::string& dsn, int i) {
  return absl::StrCat(R"("store": {"postgres": {"dsn": ")", dsn, R"(", "replicaId": "replica-)",
                      i, R"(", "deliveryLeaseSeconds": 4}})");
}

class ReplicasTest : public PostgresGatewayTest {
 protected:
  // The size of the newest checkpoint in the organisation's log (0 if none).
  uint64_t Checkpointed() {
    const std::string v = Query("SELECT COALESCE(MAX(size), 0) FROM audit_checkpoint");
    return v.empty() ? 0 : std::stoull(v);
  }
  // The replica that last became the integrator, by the time of the line
  // each logs when it does ("" if none has).
  std::string Integrator() {
    std::string who, when;
    for (const std::string& r : kReplicas) {
      const std::string log = cluster_.Log(r);
      const size_t at = log.rfind("this replica integrates");
      if (at == std::string::npos) continue;
      const size_t line = log.rfind('\n', at) == std::string::npos ? 0 : log.rfind('\n', at) + 1;
      const size_t t = log.find("\"time\":\"", line);
      if (t == std::string::npos || t > at) continue;
      const std::string time = log.substr(t + 8, 24);  // ISO 8601, fixed width
      if (time > when) {
        when = time;
        who = r;
      }
    }
    return who;
  }
};

TEST_F(ReplicasTest, ReplicasKilledAtRandomUnderLoadLoseNothingAndShareOneLog) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  for (size_t i = 0; i < kReplicas.size(); ++i) {
    ASSERT_TRUE(cluster_.Start(kReplicas[i], ReplicaJson(server_->Dsn(db_), i)));
  }
  std::mutex mu;
  std::set<std::string> accepted;
  std::atomic<int> refused{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (const std::string& replica : kReplicas) {
    load.emplace_back([&, replica] {
      auto ehr = cluster_.Client(replica, "nhs-trust-a/ehr");
      for (int i = 0; !stop; ++i) {
        v1::SubmitResponse resp;
        grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr,
                              SampleSubmit(absl::StrCat(R"({"via":")", replica, R"(","n":)", i, "}")),
                              &resp);
        if (s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          accepted.insert(resp.receipt().record_id());
        } else {
          ++refused;  // the replica is down: its caller would retry elsewhere
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    });
  }
  std::mt19937 random(std::random_device{}());
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    // Every other cycle the integrator itself (the last one stopped, not
    // killed); the rest a replica at random.
    const std::string integrator = Integrator();
    ASSERT_FALSE(integrator.empty()) << "no replica integrates the log";
    const std::string victim =
        cycle % 2 == 0 ? integrator : kReplicas[random() % kReplicas.size()];
    const uint64_t before = Checkpointed();
    if (cycle == kCycles - 1) {
      // The last is stopped cleanly while the others go on appending: its
      // closing (a last integration and checkpoint) ends.
      EXPECT_EQ(cluster_.Stop(victim), 0) << victim;
    } else {
      cluster_.Kill(victim);
    }
    // The log goes on being integrated and signed within seconds while the
    // others take the load; when the integrator was killed, by another.
    EXPECT_TRUE(Eventually([&] { return Checkpointed() > before; }, 10))
        << "cycle " << cycle << ": no checkpoint past " << before << " after killing " << victim;
    if (victim == integrator) {
      EXPECT_TRUE(Eventually([&] { return Integrator() != victim; }, 10))
          << "cycle " << cycle << ": the integrator did not move from " << victim;
    }
    ASSERT_TRUE(cluster_.Restart(victim)) << victim;
  }
  stop = true;
  for (std::thread& t : load) t.join();
  ASSERT_GT(accepted.size(), 50u);

  // Every accepted record reaches council-a exactly once (its mailbox keys
  // records by sender and id, so a second copy could only be refused), and
  // the shared outbox drains.
  EXPECT_TRUE(Eventually([&] { return Query("SELECT COUNT(*) FROM outbox WHERE delivered_ms = 0") == "0"; },
                         60))
      << Query("SELECT COUNT(*) FROM outbox WHERE delivered_ms = 0") << " not delivered";
  std::vector<std::string> quoted;
  for (const std::string& id : accepted) quoted.push_back(absl::StrCat("'", id, "'"));
  EXPECT_EQ(cluster_.Count("council-a", "mailbox",
                           absl::StrCat("record_id IN (", absl::StrJoin(quoted, ","), ")")),
            static_cast<int64_t>(accepted.size()));
  const int64_t held = cluster_.Count("council-a", "mailbox");
  EXPECT_GE(held, static_cast<int64_t>(accepted.size()));
  EXPECT_LE(held, static_cast<int64_t>(accepted.size()) + refused.load());

  // One log for the organisation, whatever replica audited what.
  for (const std::string& replica : kReplicas) EXPECT_EQ(cluster_.Stop(replica), 0) << replica;
  absl::StatusOr<uint64_t> entries = VerifyDatabaseLog("nhs-trust-a", db_);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_GE(*entries, accepted.size());
  // Replicas killed mid-commit left each record's entry and row both or
  // neither (one commit a record).
  absl::Status one = VerifyOneEntryARecord(db_);
  EXPECT_TRUE(one.ok()) << one;
}

}  // namespace
}  // namespace gatehouse

// Network faults between two real gateways, put there by a loopback proxy
// (tests/gateway/fault_proxy.h): an unreachable receiver, connections reset
// in the middle of calls, a slow peer and a black hole. Every Submit that
// returned OK is delivered exactly once once the network heals, and the
// outbox drains.
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/gateway/fault_proxy.h"
#include "tests/gateway/gateway_harness.h"

namespace gatehouse {
namespace {

class NetworkFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proxy_ = FaultProxy::Start(cluster_.peer_port("council-a"));
    ASSERT_NE(proxy_, nullptr);
    cluster_.SetAddress("council-a", absl::StrCat("127.0.0.1:", proxy_->port()));
    ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
    ASSERT_TRUE(cluster_.Start("council-a"));
    ehr_ = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  }

  // Submits `n` records tagged `tag`; returns how many were acknowledged.
  int SubmitMany(const std::string& tag, int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) {
      v1::SubmitResponse resp;
      if (Call(&v1::Exchange::Stub::Submit, *ehr_,
               SampleSubmit(absl::StrCat(R"({"tag":")", tag, i, R"("})")), &resp)
              .ok()) {
        acknowledged_.insert(absl::StrCat(R"({"tag":")", tag, i, R"("})"));
        ++ok;
      }
    }
    return ok;
  }

  // Waits for the outbox to drain, then checks every acknowledged record
  // arrived exactly once and nothing else did.
  void ExpectEachAcknowledgedOnce() {
    EXPECT_TRUE(Eventually(
        [&] { return cluster_.Count("nhs-trust-a", "outbox", "state = 1") == 0; }, 60));
    std::map<std::string, int> seen;
    auto care = cluster_.Client("council-a", "council-a/care");
    v1::FetchRequest req;
    req.set_max_records(1000);
    v1::FetchResponse resp;
    ASSERT_TRUE(Call(&v1::Exchange::Stub::Fetch, *care, req, &resp).ok());
    for (const v1::Record& r : resp.records()) ++seen[r.payload()];
    int lost = 0, duplicated = 0;
    for (const std::string& p : acknowledged_) lost += seen.count(p) ? 0 : 1;
    for (const auto& [p, n] : seen) duplicated += n - 1;
    std::printf("%s: acknowledged %zu, delivered %zu, lost %d, duplicated %d, proxy "
                "connections %lld\n",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                acknowledged_.size(), seen.size(), lost, duplicated,
                static_cast<long long>(proxy_->connections()));
    EXPECT_EQ(lost, 0);
    EXPECT_EQ(duplicated, 0);
    EXPECT_EQ(seen.size(), acknowledged_.size());
  }

  Cluster cluster_;
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<v1::Exchange::Stub> ehr_;
  std::set<std::string> acknowledged_;
};

TEST_F(NetworkFaultTest, UnreachableReceiverQueuesThenDrains) {
  proxy_->Refuse();
  ASSERT_EQ(SubmitMany("refused", 10), 10);
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox", "state = 1"), 10);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
  proxy_->Pass();
  ExpectEachAcknowledgedOnce();
}

TEST_F(NetworkFaultTest, ConnectionsResetMidCallLoseAndDuplicateNothing) {
  std::atomic<bool> stop{false};
  std::thread resetter([&] {
    while (!stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
      proxy_->ResetAll();
    }
  });
  EXPECT_GT(SubmitMany("reset", 60), 0);
  stop = true;
  resetter.join();
  ExpectEachAcknowledgedOnce();
}

TEST_F(NetworkFaultTest, SlowPeerStillDelivers) {
  proxy_->Delay(200);
  ASSERT_EQ(SubmitMany("slow", 5), 5);
  proxy_->Pass();
  ExpectEachAcknowledgedOnce();
}

TEST_F(NetworkFaultTest, BlackHoledPeerTimesOutThenDrains) {
  proxy_->Blackhole();
  proxy_->ResetAll();  // the sender's open connection goes too
  ASSERT_EQ(SubmitMany("blackhole", 3), 3);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
  proxy_->Pass();
  ExpectEachAcknowledgedOnce();
}

}  // namespace
}  // namespace gatehouse

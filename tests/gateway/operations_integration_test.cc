// Integration tests of operating a gateway: the admin endpoint, directory
// reload, the outbox bound and per-system rate limits.
#include <csignal>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/gateway_harness.h"

namespace gatehouse {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kAdmin = R"("adminListen": "127.0.0.1:0", "directoryRefreshSeconds": 1)";

TEST(OperationsIntegrationTest, AdminEndpointServesMetricsAndReadiness) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start("nhs-trust-a", kAdmin));
  ASSERT_TRUE(cluster.Start("council-a"));
  int admin = cluster.AdminPort("nhs-trust-a");
  ASSERT_GT(admin, 0);
  EXPECT_EQ(HttpGet(admin, "/healthz"), "200\nok\n");
  std::string ready = HttpGet(admin, "/readyz");
  EXPECT_THAT(ready, StartsWith("200\n"));
  EXPECT_THAT(ready, HasSubstr("certificate: ok"));
  EXPECT_THAT(ready, HasSubstr("directory: ok"));
  EXPECT_THAT(HttpGet(admin, "/nothing"), StartsWith("404\n"));

  auto ehr = cluster.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  auto intruder = cluster.Client("nhs-trust-a", "bad/nosan");
  EXPECT_FALSE(Call(&v1::Exchange::Stub::Submit, *intruder, SampleSubmit(), &resp).ok());

  // Submit is answered once the record is delivered; marking it delivered
  // in the store is committed just after: wait for that commit.
  std::string metrics;
  EXPECT_TRUE(Eventually([&] {
    metrics = HttpGet(admin, "/metrics");
    return metrics.find("gatehouse_outbox_depth 0\n") != std::string::npos;
  }));
  EXPECT_THAT(metrics, StartsWith("200\n"));
  EXPECT_THAT(metrics, HasSubstr(
      "gatehouse_records_total{direction=\"outbound\",outcome=\"delivered\",reason=\"\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("gatehouse_refusals_total{api=\"client\",code=\"UNAUTHENTICATED\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("gatehouse_submit_seconds_count 1\n"));
  EXPECT_THAT(metrics, HasSubstr("gatehouse_outbox_depth 0\n"));
  EXPECT_THAT(metrics, HasSubstr("gatehouse_sealed_records 1\n"));
  EXPECT_THAT(metrics, HasSubstr("gatehouse_seal_batches 1\n"));
  EXPECT_THAT(metrics, HasSubstr("gatehouse_certificate_expiry_timestamp_seconds "));
  // At least one group commit each, and time in them.
  auto value = [&metrics](const std::string& name) {
    const size_t at = metrics.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(metrics.substr(at + name.size() + 2));
  };
  EXPECT_GE(value("gatehouse_audit_batches_total"), 1);
  EXPECT_LE(value("gatehouse_audit_batches_total"), value("gatehouse_audit_entries"));
  EXPECT_GT(value("gatehouse_audit_sync_seconds_total"), 0);
  EXPECT_GE(value("gatehouse_store_commits_total"), 2);  // queued, then marked delivered
  EXPECT_GT(value("gatehouse_store_commit_seconds_total"), 0);
  EXPECT_THAT(metrics, HasSubstr("# TYPE gatehouse_store_commits_total counter\n"));
  // Never a payload in the metrics.
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr("discharge\\\"")));
}

// SIGHUP (systemd's ExecReload) re-reads changed files at once: with the
// watcher's own check an hour away, a new directory is in force within
// seconds of the signal, and not before it.
TEST(OperationsIntegrationTest, SighupReloadsAChangedDirectoryAtOnce) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start(
      "nhs-trust-a", R"("adminListen": "127.0.0.1:0", "directoryRefreshSeconds": 3600)"));
  int admin = cluster.AdminPort("nhs-trust-a");
  const std::string loaded = "gatehouse_reloads_total{what=\"directory\",result=\"ok\"} 1";
  cluster.WriteSignedDirectory(cluster.MakeDirectory());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_THAT(HttpGet(admin, "/metrics"), ::testing::Not(HasSubstr(loaded)));  // watcher waits
  cluster.Signal("nhs-trust-a", SIGHUP);
  EXPECT_TRUE(Eventually([&] { return HttpGet(admin, "/metrics").find(loaded) != std::string::npos; }));
  EXPECT_THAT(cluster.Log("nhs-trust-a"), HasSubstr("reload requested (SIGHUP)"));
  EXPECT_THAT(HttpGet(admin, "/readyz"), StartsWith("200\n"));  // still running
}

TEST(OperationsIntegrationTest, BadDirectoryIsRefusedAndTheLastGoodOneStays) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start("nhs-trust-a", kAdmin));
  ASSERT_TRUE(cluster.Start("council-a"));
  int admin = cluster.AdminPort("nhs-trust-a");
  // A directory that is not signed by the authority: the council's address
  // moved to a dead port (as a tamperer would), signature bytes kept.
  v1::Directory tampered = cluster.MakeDirectory();
  cluster.WriteSignedDirectory(tampered);
  const std::string path = cluster.dir() + "/directory.signed";
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_TRUE(Eventually([&] {
    return HttpGet(admin, "/metrics").find(
               "gatehouse_reloads_total{what=\"directory\",result=\"ok\"} 1") !=
           std::string::npos;
  }));
  v1::SignedDirectory signed_directory;
  ASSERT_TRUE(signed_directory.ParseFromString(bytes));
  for (v1::Organisation& o : *tampered.mutable_organisations()) {
    if (o.org_id() == "council-a") o.set_gateway_address("127.0.0.1:1");
  }
  signed_directory.set_directory(tampered.SerializeAsString());
  cluster.WriteRawDirectory(signed_directory.SerializeAsString());
  EXPECT_TRUE(Eventually([&] {
    return HttpGet(admin, "/metrics").find(
               "gatehouse_reloads_total{what=\"directory\",result=\"refused\"} 1") !=
           std::string::npos;
  }));
  // Garbage too.
  cluster.WriteRawDirectory("{\"organisations\": [{\"orgId\": \"council-a\", \"bogus\": 1}]}");
  EXPECT_TRUE(Eventually([&] {
    return HttpGet(admin, "/metrics").find(
               "gatehouse_reloads_total{what=\"directory\",result=\"refused\"} 2") !=
           std::string::npos;
  }));
  EXPECT_THAT(cluster.Log("nhs-trust-a"), HasSubstr("directory refused"));
  std::string ready = HttpGet(admin, "/readyz");
  EXPECT_THAT(ready, StartsWith("200\n"));
  EXPECT_THAT(ready, HasSubstr("serving the last good one"));
  // Records still route by the last good directory.
  auto ehr = cluster.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_DELIVERED);
}

// An older signed directory put back in place is refused while the gateway
// runs and after it restarts; so is a changed directory under the version in
// use.
TEST(OperationsIntegrationTest, AnOlderDirectoryIsRefusedOnReloadAndAfterARestart) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start("nhs-trust-a", kAdmin));
  const int admin = cluster.AdminPort("nhs-trust-a");
  const std::string path = cluster.dir() + "/directory.signed";
  auto read = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto reloads = [&](const std::string& result, int n) {
    return Eventually([&] {
      return HttpGet(admin, "/metrics")
                 .find(absl::StrCat("gatehouse_reloads_total{what=\"directory\",result=\"",
                                    result, "\"} ", n)) != std::string::npos;
    });
  };
  const std::string older = read();
  v1::Directory newer = cluster.MakeDirectory();
  cluster.WriteSignedDirectory(newer);
  ASSERT_TRUE(reloads("ok", 1));

  cluster.WriteRawDirectory(older);
  EXPECT_TRUE(reloads("refused", 1));
  for (v1::Organisation& o : *newer.mutable_organisations()) {
    if (o.org_id() == "council-a") o.set_gateway_address("127.0.0.1:1");
  }
  cluster.WriteSignedDirectory(newer);  // signed, same version, other contents
  EXPECT_TRUE(reloads("refused", 2));
  EXPECT_THAT(HttpGet(admin, "/readyz"), HasSubstr("a changed directory needs a new version"));

  cluster.Stop("nhs-trust-a");
  cluster.WriteRawDirectory(older);
  EXPECT_FALSE(cluster.Start("nhs-trust-a", kAdmin));
  EXPECT_THAT(cluster.Log("nhs-trust-a"), HasSubstr("older than the one this gateway last used"));
}

TEST(OperationsIntegrationTest, ChangedDirectoryIsPickedUpWithoutRestart) {
  Cluster cluster;
  // The council's entry points at a dead port: records queue.
  const int council_port = cluster.peer_port("council-a");
  cluster.SetAddress("council-a", "127.0.0.1:1");
  ASSERT_TRUE(cluster.Start("nhs-trust-a", kAdmin));
  ASSERT_TRUE(cluster.Start("council-a"));
  auto ehr = cluster.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_QUEUED);
  // Fix the directory on disk; the gateway reloads it and delivers.
  cluster.SetAddress("council-a", "127.0.0.1:" + std::to_string(council_port));
  EXPECT_TRUE(Eventually([&] { return cluster.Count("council-a", "mailbox") == 1; }));
  EXPECT_THAT(HttpGet(cluster.AdminPort("nhs-trust-a"), "/metrics"),
              HasSubstr("gatehouse_reloads_total{what=\"directory\",result=\"ok\"}"));
}

TEST(OperationsIntegrationTest, FullOutboxAnswersResourceExhausted) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start("nhs-trust-a", R"("maxOutboxRecords": 2)"));
  auto ehr = cluster.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
    EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_QUEUED);
  }
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("outbox holds 2"));
  EXPECT_EQ(cluster.Count("nhs-trust-a", "outbox"), 2);
  // Once the peer is back and the outbox drains, Submit works again.
  ASSERT_TRUE(cluster.Start("council-a"));
  EXPECT_TRUE(Eventually([&] { return cluster.Count("nhs-trust-a", "outbox", "state = 1") == 0; }));
  EXPECT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
}

TEST(OperationsIntegrationTest, SystemOverItsRateIsToldWhenToRetry) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start("nhs-trust-a",
                            R"("submitRatePerSystem": 0.5, "submitBurstPerSystem": 2)"));
  ASSERT_TRUE(cluster.Start("council-a"));
  auto ehr = cluster.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  grpc::ClientContext ctx;
  grpc::Status s = ehr->Submit(&ctx, SampleSubmit(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("retry after"));
  EXPECT_EQ(ctx.GetServerTrailingMetadata().count("retry-after-ms"), 1u);
  // Another system of the same organisation has its own allowance.
  auto pas = cluster.Client("nhs-trust-a", "nhs-trust-a/pas");
  EXPECT_TRUE(Call(&v1::Exchange::Stub::Submit, *pas, SampleSubmit(), &resp).ok());
  EXPECT_EQ(cluster.Count("council-a", "mailbox"), 3);
}

TEST(OperationsIntegrationTest, PeerOverItsRateIsToldWhenToRetryAndNothingIsLost) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster.Start("council-a", R"("deliverRatePerOrg": 2, "deliverBurstPerOrg": 1)"));
  // Straight at the peer API: the second call in a burst of one is refused
  // with when to retry.
  auto nhs_gw = cluster.PeerClient("council-a", "nhs-trust-a/gateway");
  v1::DeliverRequest garbage;
  garbage.set_envelope("x");
  v1::DeliverResponse dresp;
  (void)Call(&v1::Peer::Stub::Deliver, *nhs_gw, garbage, &dresp);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status limited = nhs_gw->Deliver(&ctx, garbage, &dresp);
  EXPECT_EQ(limited.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(limited.error_message(), HasSubstr("nhs-trust-a is over its limit"));
  EXPECT_EQ(ctx.GetServerTrailingMetadata().count("retry-after-ms"), 1u);
  // Through the gateways: records over the rate are queued and retried, not
  // rejected, and all arrive once.
  auto ehr = cluster.Client("nhs-trust-a", "nhs-trust-a/ehr");
  for (int i = 0; i < 6; ++i) {
    v1::SubmitResponse resp;
    ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
    EXPECT_NE(resp.receipt().state(), v1::RECORD_STATE_REJECTED);
  }
  EXPECT_TRUE(Eventually([&] { return cluster.Count("council-a", "mailbox") == 6; }, 30));
  EXPECT_EQ(cluster.Count("nhs-trust-a", "outbox", "state = 3"), 0);
}

}  // namespace
}  // namespace gatehouse

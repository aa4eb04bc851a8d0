// Service levels with two real gateways (issue 22): a peer taken down for a
// measured time and brought back. The sender's admin port shows the outage
// and the late record live (/sla.json, /metrics, /sla.html); then, offline,
// `auditctl sla` reports the same from the sender's log and the receiver
// countersigns it from its own (`auditctl sla-countersign`).
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit/note.h"
#include "audit/secret_key.h"
#include "gatehouse/v1/sla_report.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/gateway/gateway_harness.h"

namespace gatehouse {
namespace {

using ::testing::HasSubstr;

// Runs `command` in a shell: exit status and what it printed.
std::pair<int, std::string> RunShell(const std::string& command) {
  std::string out;
  const int code = RunCommand(command, &out);
  return {code, out};
}

// `auditctl <args>`.
std::pair<int, std::string> Auditctl(const std::string& args) {
  return RunShell(absl::StrCat(AUDITCTL_PATH, " ", args));
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

// The HTTP body of "<code>\n<body>" from HttpGet, if the code is 200.
std::string Body(const std::string& answer) {
  if (answer.rfind("200\n", 0) != 0) return "";
  return answer.substr(4);
}

TEST(ServiceLevelsIntegrationTest, AnOutageOfThePeerIsMeasuredLiveAndCountersignedOffline) {
  Cluster cluster;
  // Delivery within 2 s; the link counts as down once a record has waited
  // 1 s with no delivery for 1 s.
  const std::string levels =
      R"("adminListen": "127.0.0.1:0", "serviceLevels": {"objectives": ["delivery:2s:90%", "availability:99.9%"],
          "graceSeconds": 1, "refreshSeconds": 1, "windowHours": 1})";
  ASSERT_TRUE(cluster.Start("nhs-trust-a", levels));
  ASSERT_TRUE(cluster.Start("council-a"));
  // The period the offline report covers starts once both logs have begun.
  const absl::Time from = absl::Now();
  auto ehr = cluster.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse first;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit("{\"n\":1}"), &first).ok());
  // Delivered before the outage: at once, or (a first attempt that met a
  // peer still starting, seen under ASan) by the first retry, well within
  // the 2 s objective.
  if (first.receipt().state() != v1::RECORD_STATE_DELIVERED) {
    ASSERT_TRUE(Eventually([&] {
      return cluster.Count("nhs-trust-a", "outbox", "state = 2") == 1;
    }, 2)) << first.receipt().DebugString();
  }

  // The peer is down for about five seconds while a record waits.
  cluster.Stop("council-a");
  v1::SubmitRequest late_request = SampleSubmit("{\"n\":2}");
  late_request.set_idempotency_key("late");
  v1::SubmitResponse late;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, late_request, &late).ok());
  ASSERT_EQ(late.receipt().state(), v1::RECORD_STATE_QUEUED);
  const absl::Time down_from = absl::Now();
  std::this_thread::sleep_for(std::chrono::seconds(5));
  ASSERT_TRUE(cluster.Start("council-a"));
  ASSERT_TRUE(Eventually([&] {
    return cluster.Count("nhs-trust-a", "outbox", "state = 2") == 2;
  }, 30));
  const absl::Duration down_for = absl::Now() - down_from;

  // Live, on the sender's admin port, once refreshed.
  const int admin = cluster.AdminPort("nhs-trust-a");
  v1::ServiceLevelReport live;
  ASSERT_TRUE(Eventually([&] {
    live.Clear();
    const std::string json = Body(HttpGet(admin, "/sla.json"));
    return google::protobuf::util::JsonStringToMessage(json, &live).ok() &&
           live.peers_size() == 1 && live.peers(0).outbound().delivered() == 2;
  }, 10)) << HttpGet(admin, "/sla.json");
  const v1::SlaOutbound& ob = live.peers(0).outbound();
  EXPECT_EQ(live.peers(0).peer(), "council-a");
  const absl::Duration max_latency = absl::Nanoseconds(ob.delivery_latency().max_ns());
  EXPECT_GE(max_latency, absl::Seconds(4)) << ob.DebugString();
  EXPECT_LE(max_latency, down_for + absl::Seconds(1)) << ob.DebugString();
  ASSERT_GE(ob.outages_size(), 1) << ob.DebugString();
  const v1::SlaInterval& outage = ob.outages(0);
  // Down from 1 s (the grace) after the record was queued until it was
  // delivered.
  const absl::Duration outage_length = absl::Nanoseconds(outage.end_ns() - outage.start_ns());
  EXPECT_GE(outage_length, absl::Seconds(3)) << ob.DebugString();
  EXPECT_LE(outage_length, down_for) << ob.DebugString();
  EXPECT_LT(ob.availability_ppm(), 1000000u);
  // Two payloads of 7 bytes each ({"n":1} and {"n":2}).
  EXPECT_EQ(ob.submitted_bytes(), 14u);
  EXPECT_EQ(ob.delivered_bytes(), 14u);
  for (const v1::SlaObjective& o : live.peers(0).objectives()) {
    EXPECT_FALSE(o.met()) << o.DebugString();  // one late of two; and the outage
  }
  const std::string metrics = Body(HttpGet(admin, "/metrics"));
  EXPECT_THAT(metrics, HasSubstr("gatehouse_sla_delivered_total{peer=\"council-a\"} 2\n"));
  EXPECT_THAT(metrics, HasSubstr("gatehouse_sla_delivered_late_total{peer=\"council-a\","
                                 "objective=\"delivery within 2s at 90%\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("gatehouse_sla_link_down{peer=\"council-a\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE gatehouse_sla_error_budget_remaining_ratio gauge"));
  // Every metric the shipped alerting rules use is one the gateway exports.
  std::ifstream rules_file(std::string(GATEHOUSE_SOURCE_DIR) +
                           "/deploy/prometheus/gatehouse-sla-rules.yml");
  const std::string rules((std::istreambuf_iterator<char>(rules_file)),
                          std::istreambuf_iterator<char>());
  int used = 0;
  for (size_t at = rules.find("gatehouse_sla_"); at != std::string::npos;
       at = rules.find("gatehouse_sla_", at + 1)) {
    size_t end = at;
    while (end < rules.size() && (std::islower(rules[end]) || rules[end] == '_')) ++end;
    const std::string name = rules.substr(at, end - at);
    EXPECT_THAT(metrics, HasSubstr("\n" + name + "{")) << name << " is not exported";
    ++used;
  }
  EXPECT_GE(used, 4);
  const std::string page = Body(HttpGet(admin, "/sla.html"));
  EXPECT_THAT(page, HasSubstr("<svg"));
  EXPECT_THAT(page, HasSubstr("council-a"));
  EXPECT_THAT(page, ::testing::Not(HasSubstr("<script")));

  // Offline: the sender's report from its log, countersigned by the
  // receiver from its own. A record after the period shows both logs go on
  // past it; both gateways stop first, so their last checkpoints cover
  // everything.
  const absl::Time to = absl::Now();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  v1::SubmitResponse after;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit("{\"n\":3}"), &after).ok());
  ASSERT_EQ(after.receipt().state(), v1::RECORD_STATE_DELIVERED);
  cluster.Stop("nhs-trust-a");
  cluster.Stop("council-a");
  const std::string dir = cluster.dir();
  const std::string report = dir + "/sla-report.json";
  auto [code, out] = Auditctl(absl::StrCat(
      "sla --log ", dir, "/data-nhs-trust-a/audit --from ", Rfc3339(from), " --to ", Rfc3339(to),
      " --peer council-a --key ", dir, "/keys-nhs-trust-a/audit.key --grace 1s --out ", report,
      " --html ", dir, "/sla-report.html --objective delivery:2s:90%"));
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(std::filesystem::exists(report + ".sig"));
  // The receiver is handed the sender's public audit key (the directory's
  // auditKey for nhs-trust-a).
  std::ifstream key_file(dir + "/keys-nhs-trust-a/audit.key");
  std::string private_key;
  std::getline(key_file, private_key);
  absl::StatusOr<audit::NoteSigner> signer = audit::NoteSigner::FromPrivateKey(private_key);
  ASSERT_TRUE(signer.ok()) << signer.status();
  std::ofstream(dir + "/nhs-trust-a-audit.pub") << signer->VerifierKeyString() << "\n";
  std::tie(code, out) = Auditctl(absl::StrCat(
      "sla-countersign --report ", report, " --report-key ", dir, "/nhs-trust-a-audit.pub --log ",
      dir, "/data-council-a/audit --key ", dir, "/keys-council-a/audit.key --out ", dir,
      "/sla-report.countersig"));
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(std::filesystem::exists(dir + "/sla-report.countersig")) << out;

  // The report's page in a real browser, under the admin port's CSP, with
  // a screenshot kept in the build tree (docs/service-levels.md shows one).
  const std::string shot = std::string(GATEHOUSE_SLA_SHOTS_DIR) + "/sla-report.png";
  std::filesystem::remove(shot);
  std::tie(code, out) = RunShell(absl::StrCat(
      GATEHOUSE_PYTHON, " -B ", GATEHOUSE_SOURCE_DIR, "/tests/gateway/sla_page_browser.py ", dir,
      "/sla-report.html ", shot));
  EXPECT_EQ(code, 0) << out << "\n(needs chromium, chromium-driver, python3-selenium: "
                                "scripts/setup.sh)";
  EXPECT_TRUE(std::filesystem::exists(shot)) << out;
}

}  // namespace
}  // namespace gatehouse

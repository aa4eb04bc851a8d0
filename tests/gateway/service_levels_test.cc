// ServiceLevels on its own: entries in, live figures out; the memory bound
// (serviceLevels.maxRecords) shortens the live window instead of growing.
#include "gateway/service_levels.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <string>

#include "absl/strings/str_cat.h"
#include "audit/audit_log.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

v1::AuditEntry Entry(v1::AuditEvent event, const std::string& id, absl::Time at) {
  v1::AuditEntry e;
  e.set_event(event);
  e.set_record_id(id);
  e.set_sender_org("nhs-trust-a");
  e.set_recipient_org("council-a");
  e.set_time_unix_ns(absl::ToUnixNanos(at));
  e.set_payload_bytes(10);
  return e;
}

v1::ServiceLevelConfig Config(int max_records) {
  v1::ServiceLevelConfig c;
  c.add_objectives("delivery:10s:99%");
  c.set_window_hours(1);
  c.set_grace_seconds(60);
  c.set_refresh_seconds(15);
  c.set_max_records(max_records);
  return c;
}

// Forty records a minute apart, each delivered after `took`, added as
// the Auditor adds them (after an empty log was read back).
void Feed(ServiceLevels* levels, absl::Duration took) {
  std::string dir = (std::filesystem::temp_directory_path() / "gh-sla-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  ASSERT_TRUE(levels->Load(dir, 0, kNow).ok());
  std::filesystem::remove_all(dir);
  uint64_t index = 0;
  for (int i = 0; i < 40; ++i) {
    const absl::Time at = kNow - absl::Minutes(45) + absl::Minutes(i);
    const std::string id = absl::StrCat("r", i);
    levels->Add(index++, Entry(v1::AUDIT_EVENT_SUBMITTED, id, at));
    levels->Add(index++, Entry(v1::AUDIT_EVENT_DELIVERED, id, at + took));
  }
}

TEST(ServiceLevelsTest, EntriesAddedAreTheLiveFigures) {
  ServiceLevels levels("nhs-trust-a", Config(1000));
  Feed(&levels, absl::Seconds(20));  // every one late for "within 10 s"
  levels.Refresh(kNow);
  const v1::ServiceLevelReport r = levels.Report();
  ASSERT_EQ(r.peers_size(), 1);
  EXPECT_EQ(r.peers(0).outbound().delivered(), 40u);
  EXPECT_EQ(r.peers(0).outbound().delivered_bytes(), 400u);
  EXPECT_EQ(r.peers(0).outbound().delivery_latency().max_ns(), absl::ToInt64Nanoseconds(absl::Seconds(20)));
  EXPECT_EQ(r.from_ns(), absl::ToUnixNanos(kNow - absl::Hours(1)));
  std::string metrics;
  for (const Gauge& g : levels.Gauges()) absl::StrAppend(&metrics, g.name, "{", g.labels, "} ", g.value, "\n");
  EXPECT_THAT(metrics, HasSubstr("gatehouse_sla_delivered_total{peer=\"council-a\"} 40\n"));
  EXPECT_THAT(metrics, HasSubstr("gatehouse_sla_delivered_late_total{peer=\"council-a\","
                                 "objective=\"delivery within 10s at 99%\"} 40\n"));
  EXPECT_THAT(metrics, HasSubstr("gatehouse_sla_window_shortened_total{} 0\n"));
}

// After a restart the figures are read back from the log itself, not from
// counters the restart lost: the same report as when the entries were
// added live; records settled before the window are left out.
TEST(ServiceLevelsTest, AfterARestartTheFiguresAreReadBackFromTheLog) {
  std::string dir = (std::filesystem::temp_directory_path() / "gh-sla-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  ServiceLevels live("nhs-trust-a", Config(1000));
  Feed(&live, absl::Seconds(20));
  {
    audit::AuditLogOptions o;
    o.checkpoint_interval = absl::ZeroDuration();
    auto log = audit::AuditLog::Open(dir + "/audit", o);
    ASSERT_TRUE(log.ok()) << log.status();
    // One record settled two hours ago, then the forty Feed adds.
    ASSERT_TRUE((*log)->Append(Entry(v1::AUDIT_EVENT_SUBMITTED, "old", kNow - absl::Hours(2))).ok());
    ASSERT_TRUE((*log)->Append(Entry(v1::AUDIT_EVENT_DELIVERED, "old", kNow - absl::Hours(2))).ok());
    for (int i = 0; i < 40; ++i) {
      const absl::Time at = kNow - absl::Minutes(45) + absl::Minutes(i);
      const std::string id = absl::StrCat("r", i);
      ASSERT_TRUE((*log)->Append(Entry(v1::AUDIT_EVENT_SUBMITTED, id, at)).ok());
      ASSERT_TRUE((*log)->Append(Entry(v1::AUDIT_EVENT_DELIVERED, id, at + absl::Seconds(20))).ok());
    }
    ASSERT_TRUE((*log)->Close().ok());
  }
  ServiceLevels restarted("nhs-trust-a", Config(1000));
  ASSERT_TRUE(restarted.Load(dir + "/audit", 82, kNow).ok());
  live.Refresh(kNow);
  restarted.Refresh(kNow);
  v1::ServiceLevelReport read_back = restarted.Report(), added = live.Report();
  // The same entries, at other indexes (the old record's two come first).
  EXPECT_EQ(read_back.binding().first_index(), 2u);
  EXPECT_EQ(read_back.binding().entries_used(), added.binding().entries_used());
  read_back.clear_binding();
  added.clear_binding();
  EXPECT_EQ(read_back.SerializeAsString(), added.SerializeAsString())
      << read_back.DebugString() << "\nlive:\n" << added.DebugString();
  EXPECT_EQ(read_back.peers(0).outbound().delivered(), 40u);
  std::filesystem::remove_all(dir);
}

// Entries handed over while the log is still being read back are taken
// once: those the scan read are dropped from the queue, the later ones kept
// in order.
TEST(ServiceLevelsTest, EntriesAppendedDuringTheReadBackAreTakenOnce) {
  std::string dir = (std::filesystem::temp_directory_path() / "gh-sla-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const absl::Time at = kNow - absl::Minutes(10);
  const v1::AuditEntry entries[] = {Entry(v1::AUDIT_EVENT_SUBMITTED, "a", at),
                                    Entry(v1::AUDIT_EVENT_DELIVERED, "a", at + absl::Seconds(1)),
                                    Entry(v1::AUDIT_EVENT_SUBMITTED, "b", at + absl::Seconds(2)),
                                    Entry(v1::AUDIT_EVENT_DELIVERED, "b", at + absl::Seconds(30))};
  {
    audit::AuditLogOptions o;
    o.checkpoint_interval = absl::ZeroDuration();
    auto log = audit::AuditLog::Open(dir + "/audit", o);
    ASSERT_TRUE(log.ok()) << log.status();
    for (const v1::AuditEntry& e : entries) ASSERT_TRUE((*log)->Append(e).ok());
    ASSERT_TRUE((*log)->Close().ok());
  }
  ServiceLevels levels("nhs-trust-a", Config(1000));
  // All four handed over (as the Auditor would, while the scan runs), but
  // the scan reads only the first two.
  for (uint64_t i = 0; i < 4; ++i) levels.Add(i, entries[i]);
  ASSERT_TRUE(levels.Load(dir + "/audit", 2, kNow).ok());
  levels.Refresh(kNow);
  const v1::ServiceLevelReport r = levels.Report();
  ASSERT_EQ(r.peers_size(), 1);
  EXPECT_EQ(r.peers(0).outbound().submitted(), 2u);
  EXPECT_EQ(r.peers(0).outbound().delivered(), 2u);
  EXPECT_EQ(r.peers(0).outbound().delivery_latency().max_ns(),
            absl::ToInt64Nanoseconds(absl::Seconds(28)));
  std::filesystem::remove_all(dir);
}

// The audit log's thread hands entries over while refreshes and scrapes
// run: nothing is lost, whichever takes the queue.
TEST(ServiceLevelsTest, EntriesAddedWhileRefreshingAreAllCounted) {
  ServiceLevels levels("nhs-trust-a", Config(1000000));
  std::string dir = (std::filesystem::temp_directory_path() / "gh-sla-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  ASSERT_TRUE(levels.Load(dir, 0, kNow).ok());
  std::filesystem::remove_all(dir);
  constexpr int kRecords = 3 * static_cast<int>(ServiceLevels::kDrainAt);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      levels.Refresh(kNow);
      (void)levels.Gauges();
    }
  });
  uint64_t index = 0;
  for (int i = 0; i < kRecords; ++i) {
    const absl::Time at = kNow - absl::Minutes(30) + absl::Milliseconds(i);
    const std::string id = absl::StrCat("r", i);
    levels.Add(index++, Entry(v1::AUDIT_EVENT_SUBMITTED, id, at));
    levels.Add(index++, Entry(v1::AUDIT_EVENT_DELIVERED, id, at + absl::Seconds(1)));
  }
  done = true;
  reader.join();
  levels.Refresh(kNow);
  EXPECT_EQ(levels.Report().peers(0).outbound().delivered(), static_cast<uint64_t>(kRecords));
  std::string metrics;
  for (const Gauge& g : levels.Gauges()) absl::StrAppend(&metrics, g.name, "{", g.labels, "} ", g.value, "\n");
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("gatehouse_sla_delivered_total{peer=\"council-a\"} ",
                                              kRecords, "\n")));
}

TEST(ServiceLevelsTest, PastMaxRecordsTheWindowStartsLaterAndTheFiguresStayExact) {
  ServiceLevels levels("nhs-trust-a", Config(20));
  Feed(&levels, absl::Seconds(1));
  levels.Refresh(kNow);
  const v1::ServiceLevelReport r = levels.Report();
  // Forty records held, twenty allowed: the oldest settled are dropped down
  // to fifteen, and the window starts a grace after the last one dropped.
  const int64_t dropped_last = absl::ToUnixNanos(kNow - absl::Minutes(45) + absl::Minutes(24) +
                                                 absl::Seconds(1));
  EXPECT_EQ(r.from_ns(), dropped_last + 1 + absl::ToInt64Nanoseconds(absl::Seconds(60)));
  ASSERT_EQ(r.peers_size(), 1);
  // Records 26 .. 39 were submitted and delivered in the shortened window.
  EXPECT_EQ(r.peers(0).outbound().delivered(), 14u);
  EXPECT_EQ(r.peers(0).outbound().submitted(), 14u);
  std::string metrics;
  for (const Gauge& g : levels.Gauges()) absl::StrAppend(&metrics, g.name, "{", g.labels, "} ", g.value, "\n");
  EXPECT_THAT(metrics, HasSubstr("gatehouse_sla_window_shortened_total{} 1\n"));
  // The counters since start are not touched by the bound.
  EXPECT_THAT(metrics, HasSubstr("gatehouse_sla_delivered_total{peer=\"council-a\"} 40\n"));
}

}  // namespace
}  // namespace gatehouse

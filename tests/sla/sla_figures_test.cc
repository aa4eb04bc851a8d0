// Known-answer tests of the service-level figures on synthetic logs written
// with the audit library: exact nearest-rank percentiles, outages that
// cross the period's edges (clipped), a delivery keeping the link up, clock
// steps, restarts, refusals by rule, and objectives met and missed with the
// exact remaining budget. Each expected figure is worked out in a comment.
#include <algorithm>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sla/figures.h"
#include "sla/intervals.h"
#include "sla/objectives.h"
#include "sla/percentile.h"
#include "tests/sla/sla_test_util.h"

namespace gatehouse::sla {
namespace {

using testing::Min;
using testing::Sec;
using testing::SyntheticLog;
using testing::T0;

class SlaFiguresTest : public ::testing::Test {
 protected:
  // The figures of health-a's log over [from, to) for its peer council-a.
  gatehouse::v1::SlaPeer Figures(SyntheticLog& log, int64_t from, int64_t to,
                                 std::vector<Objective> objectives = DefaultObjectives()) {
    FigureOptions o;
    o.from_ns = from;
    o.to_ns = to;
    o.peer = "council-a";
    o.objectives = std::move(objectives);
    absl::StatusOr<gatehouse::v1::ServiceLevelReport> r = ComputeReport(log.ReadLedger(), o);
    EXPECT_TRUE(r.ok()) << r.status();
    last_ = *r;
    return r->peers(0);
  }
  audit::testing::ScratchDir scratch_;
  SyntheticLog log_{scratch_.Sub("health"), "health-a"};
  gatehouse::v1::ServiceLevelReport last_;
};

TEST(NearestRankTest, KnownAnswers) {
  // Rank ceil(p * n / 100), 1-based.
  EXPECT_EQ(NearestRank({10, 20, 30, 40}, 500), 20);  // ceil(2.0) = 2
  EXPECT_EQ(NearestRank({10, 20, 30, 40}, 900), 40);  // ceil(3.6) = 4
  EXPECT_EQ(NearestRank({10, 20, 30}, 500), 20);      // ceil(1.5) = 2
  EXPECT_EQ(NearestRank({7}, 990), 7);
  std::vector<int64_t> v(200);
  std::iota(v.begin(), v.end(), 1);
  EXPECT_EQ(NearestRank(v, 990), 198);  // ceil(198.0) = 198
  EXPECT_EQ(NearestRank(v, 900), 180);
  v.pop_back();                          // 199 values
  EXPECT_EQ(NearestRank(v, 990), 198);  // ceil(197.01) = 198
  EXPECT_EQ(NearestRank(v, 500), 100);  // ceil(99.5) = 100
}

TEST(IntervalsTest, UnionAndSubtract) {
  EXPECT_EQ(Union({{30, 40}, {0, 10}, {5, 20}, {20, 25}, {50, 50}}),
            (std::vector<Interval>{{0, 25}, {30, 40}}));
  EXPECT_EQ(Subtract({{0, 20}, {30, 40}}, {{5, 8}, {15, 35}}),
            (std::vector<Interval>{{0, 5}, {8, 15}, {35, 40}}));
  EXPECT_EQ(Subtract({{0, 20}}, {{0, 20}}), std::vector<Interval>{});
  EXPECT_EQ(LengthWithin({{0, 10}, {20, 30}}, 5, 25), 10);
}

TEST_F(SlaFiguresTest, DeliveryLatencyPercentilesAreExact) {
  // 100 records with latencies 1 s .. 100 s, submitted in a shuffled order:
  // nearest rank gives p50 = 50 s, p90 = 90 s, p99 = 99 s, max = 100 s.
  std::vector<int> order(100);
  std::iota(order.begin(), order.end(), 1);
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  for (int i : order) {
    const std::string id = absl::StrCat("rec-", i);
    log_.Submitted(id, "council-a", T0() + Min(i));
    log_.Delivered(id, "council-a", T0() + Min(i) + Sec(i));
  }
  gatehouse::v1::SlaPeer p = Figures(log_, T0(), T0() + Min(200));
  const auto& lat = p.outbound().delivery_latency();
  EXPECT_EQ(lat.count(), 100u);
  EXPECT_EQ(lat.p50_ns(), Sec(50));
  EXPECT_EQ(lat.p90_ns(), Sec(90));
  EXPECT_EQ(lat.p99_ns(), Sec(99));
  EXPECT_EQ(lat.max_ns(), Sec(100));
  EXPECT_EQ(p.outbound().submitted(), 100u);
  EXPECT_EQ(p.outbound().records_size(), 100);
  EXPECT_EQ(p.outbound().records(0).record_id(), "rec-1");  // in submit order
}

// Payload bytes come from the SUBMITTED and RECEIVED entries: summed for the
// records submitted, delivered and received in the period, each once.
TEST_F(SlaFiguresTest, PayloadBytesAreSummedPerDirection) {
  auto entry = [](gatehouse::v1::AuditEvent ev, const std::string& id, const std::string& from,
                  const std::string& to, int64_t t, uint64_t bytes) {
    gatehouse::v1::AuditEntry e;
    e.set_event(ev);
    e.set_record_id(id);
    e.set_sender_org(from);
    e.set_recipient_org(to);
    e.set_time_unix_ns(t);
    e.set_payload_bytes(bytes);
    return e;
  };
  const std::string me = "health-a";
  // a: 1000 bytes, submitted before the period, delivered in it;
  // b: 20 bytes, submitted and delivered in it; c: 300 bytes, submitted in
  // it, delivered after. d: 4000 bytes received in it; e after it.
  log_.Append(entry(gatehouse::v1::AUDIT_EVENT_SUBMITTED, "a", me, "council-a", T0() - Min(1), 1000));
  log_.Append(entry(gatehouse::v1::AUDIT_EVENT_SUBMITTED, "b", me, "council-a", T0() + Min(1), 20));
  log_.Append(entry(gatehouse::v1::AUDIT_EVENT_DELIVERED, "a", me, "council-a", T0() + Min(2), 0));
  log_.Append(entry(gatehouse::v1::AUDIT_EVENT_DELIVERED, "b", me, "council-a", T0() + Min(2), 0));
  log_.Append(entry(gatehouse::v1::AUDIT_EVENT_SUBMITTED, "c", me, "council-a", T0() + Min(3), 300));
  log_.Append(entry(gatehouse::v1::AUDIT_EVENT_RECEIVED, "d", "council-a", me, T0() + Min(4), 4000));
  log_.Append(entry(gatehouse::v1::AUDIT_EVENT_DELIVERED, "c", me, "council-a", T0() + Min(11), 0));
  log_.Append(entry(gatehouse::v1::AUDIT_EVENT_RECEIVED, "e", "council-a", me, T0() + Min(12), 50));
  gatehouse::v1::SlaPeer p = Figures(log_, T0(), T0() + Min(10));
  EXPECT_EQ(p.outbound().submitted_bytes(), 320u);   // b + c
  EXPECT_EQ(p.outbound().delivered_bytes(), 1020u);  // a + b
  EXPECT_EQ(p.inbound().received_bytes(), 4000u);    // d
}

TEST_F(SlaFiguresTest, OutagesCrossingThePeriodsStartAndEndAreClipped) {
  // Period [T0, T0+60m), grace 60 s.
  //   a: submitted T0-5m, delivered T0+10m   overdue [T0-4m, T0+10m)
  //   c: submitted T0+20m, delivered +5 s    never overdue
  //   b: submitted T0+50m, delivered T0+80m  overdue [T0+51m, T0+80m)
  // Down: [T0-4m, T0+10m) and [T0+51m, T0+80m); clipped: [T0, T0+10m) and
  // [T0+51m, T0+60m): 19 minutes, availability 41/60 = 683333 ppm (floor).
  log_.Submitted("a", "council-a", T0() - Min(5));
  log_.Submitted("c", "council-a", T0() + Min(20));
  log_.Delivered("c", "council-a", T0() + Min(20) + Sec(5));
  log_.Delivered("a", "council-a", T0() + Min(10));
  log_.Submitted("b", "council-a", T0() + Min(50));
  log_.Delivered("b", "council-a", T0() + Min(80));
  gatehouse::v1::SlaPeer p = Figures(log_, T0(), T0() + Min(60));
  const auto& out = p.outbound();
  ASSERT_EQ(out.outages_size(), 2);
  EXPECT_EQ(out.outages(0).start_ns(), T0());
  EXPECT_EQ(out.outages(0).end_ns(), T0() + Min(10));
  EXPECT_TRUE(out.outages(0).clipped_start());
  EXPECT_FALSE(out.outages(0).clipped_end());
  EXPECT_EQ(out.outages(1).start_ns(), T0() + Min(51));
  EXPECT_EQ(out.outages(1).end_ns(), T0() + Min(60));
  EXPECT_FALSE(out.outages(1).clipped_start());
  EXPECT_TRUE(out.outages(1).clipped_end());
  EXPECT_EQ(out.down_ns(), Min(19));
  EXPECT_EQ(out.availability_ppm(), 683333u);
  EXPECT_EQ(out.longest_outage().start_ns(), T0());
  EXPECT_EQ(out.longest_outage().end_ns(), T0() + Min(10));
  // a was submitted before the period and delivered inside it: it counts,
  // with its whole latency (15 min); b is still waiting at the end.
  EXPECT_EQ(out.submitted(), 2u);  // c and b
  EXPECT_EQ(out.delivered(), 2u);  // a and c
  EXPECT_EQ(out.delivered_submitted_before(), 1u);
  EXPECT_EQ(out.pending_at_start(), 1u);
  EXPECT_EQ(out.pending_at_end(), 1u);
  EXPECT_EQ(out.oldest_pending_at_end_ns(), T0() + Min(50));
  EXPECT_EQ(out.delivery_latency().max_ns(), Min(15));
  EXPECT_EQ(out.delivery_latency().p50_ns(), Sec(5));
  // Budgets: delivery 60 s at 99% judges a (late), c (on time) and b
  // (waited 10 min by the end: late already): 3 judged, 2 bad, budget
  // 0.03, remaining -1.97. Availability at 99.9%: budget 3.6 s, 19 min down.
  ASSERT_EQ(p.objectives_size(), 2);
  EXPECT_EQ(p.objectives(0).eligible(), 3);
  EXPECT_EQ(p.objectives(0).bad(), 2);
  EXPECT_DOUBLE_EQ(p.objectives(0).budget(), 0.03);
  EXPECT_DOUBLE_EQ(p.objectives(0).remaining(), 0.03 - 2);
  EXPECT_FALSE(p.objectives(0).met());
  EXPECT_EQ(p.objectives(1).bad(), Min(19));
  EXPECT_DOUBLE_EQ(p.objectives(1).budget(), 3.6e9);
  EXPECT_FALSE(p.objectives(1).met());
}

TEST_F(SlaFiguresTest, ADeliveryKeepsTheLinkUpForAGrace) {
  // d waits from T0+1m; e is delivered at T0+1m30s, so the link is up until
  // T0+2m30s; d is overdue from T0+2m and delivered at T0+3m: down
  // [T0+2m30s, T0+3m) = 30 s.
  log_.Submitted("d", "council-a", T0() + Min(1));
  log_.Submitted("e", "council-a", T0() + Min(1.25));
  log_.Delivered("e", "council-a", T0() + Min(1.5));
  log_.Delivered("d", "council-a", T0() + Min(3));
  gatehouse::v1::SlaPeer p = Figures(log_, T0(), T0() + Min(10));
  ASSERT_EQ(p.outbound().outages_size(), 1);
  EXPECT_EQ(p.outbound().outages(0).start_ns(), T0() + Min(2.5));
  EXPECT_EQ(p.outbound().outages(0).end_ns(), T0() + Min(3));
  EXPECT_EQ(p.outbound().max_outbox_depth(), 2u);
  EXPECT_EQ(p.outbound().max_outbox_depth_at_ns(), T0() + Min(1.25));
}

TEST_F(SlaFiguresTest, AClockStepIsCountedAndGivesNoNegativeLatency) {
  // x is DELIVERED a minute before its SUBMITTED (the clock stepped back):
  // counted, listed, and left out of the latencies; y took 2 s. An inbound
  // record fetched before it was received is a clock step there too.
  log_.Submitted("x", "council-a", T0() + Min(10));
  log_.Delivered("x", "council-a", T0() + Min(9));
  log_.Submitted("y", "council-a", T0() + Min(11));
  log_.Delivered("y", "council-a", T0() + Min(11) + Sec(2));
  log_.Received("in-1", "council-a", T0() + Min(20));
  log_.Fetched("in-1", "council-a", T0() + Min(19));
  log_.Received("in-2", "council-a", T0() + Min(21));
  log_.Fetched("in-2", "council-a", T0() + Min(21) + Sec(30));
  gatehouse::v1::SlaPeer p = Figures(log_, T0(), T0() + Min(60));
  EXPECT_EQ(p.outbound().clock_steps(), 1u);
  ASSERT_EQ(p.outbound().clock_step_record_ids_size(), 1);
  EXPECT_EQ(p.outbound().clock_step_record_ids(0), "x");
  EXPECT_EQ(p.outbound().delivery_latency().count(), 1u);
  EXPECT_EQ(p.outbound().delivery_latency().p50_ns(), Sec(2));
  EXPECT_EQ(p.outbound().delivery_latency().max_ns(), Sec(2));
  EXPECT_EQ(p.outbound().down_ns(), 0);  // x never waited
  EXPECT_EQ(p.inbound().clock_steps(), 1u);
  EXPECT_EQ(p.inbound().fetch_latency().count(), 1u);
  EXPECT_EQ(p.inbound().fetch_latency().max_ns(), Sec(30));
  EXPECT_EQ(p.objectives(0).eligible(), 1);  // y only
}

TEST_F(SlaFiguresTest, ARecordWaitingAcrossARestartKeepsItsWait) {
  // The gateway restarts at T0+20m with r in its outbox (durable): r's
  // latency is the whole 30 min and the outage runs through the restart.
  log_.Started(T0() - Min(60));  // before the period: not listed
  log_.Submitted("r", "council-a", T0() + Min(10));
  log_.Started(T0() + Min(20));
  log_.Delivered("r", "council-a", T0() + Min(40));
  gatehouse::v1::SlaPeer p = Figures(log_, T0(), T0() + Min(60));
  ASSERT_EQ(last_.restarts_size(), 1);
  EXPECT_EQ(last_.restarts(0).at_ns(), T0() + Min(20));
  EXPECT_EQ(last_.restarts(0).leaf_index(), 2u);
  EXPECT_EQ(p.outbound().delivery_latency().max_ns(), Min(30));
  ASSERT_EQ(p.outbound().outages_size(), 1);
  EXPECT_EQ(p.outbound().outages(0).start_ns(), T0() + Min(11));
  EXPECT_EQ(p.outbound().outages(0).end_ns(), T0() + Min(40));
  // Entries used: r's SUBMITTED (1), the restart (2), r's DELIVERED (3).
  EXPECT_EQ(last_.binding().first_index(), 1u);
  EXPECT_EQ(last_.binding().last_index(), 3u);
  EXPECT_EQ(last_.binding().entries_used(), 3u);
}

TEST_F(SlaFiguresTest, RefusalsAreGroupedByStatusRuleAndReason) {
  for (int i = 0; i < 3; ++i) {
    log_.Denied(absl::StrCat("w", i), "council-a", T0() + Min(i), "PERMISSION_DENIED", "no-write-down",
                "recipient accreditation below SECRET");
  }
  log_.Denied("m", "council-a", T0() + Min(5), "PERMISSION_DENIED", "forbid-medical", "MEDICAL caveat");
  log_.Denied("late", "council-a", T0() + Min(70), "PERMISSION_DENIED", "forbid-medical", "outside");
  log_.Rejected("s1", "council-a", T0() + Min(6), "UNAUTHENTICATED", "", "bad signature");
  log_.Rejected("s2", "council-a", T0() + Min(7), "UNAUTHENTICATED", "", "bad signature");
  gatehouse::v1::SlaPeer p = Figures(log_, T0(), T0() + Min(60));
  EXPECT_EQ(p.outbound().denied(), 4u);
  ASSERT_EQ(p.outbound().refusals_size(), 2);
  EXPECT_EQ(p.outbound().refusals(0).rule(), "no-write-down");
  EXPECT_EQ(p.outbound().refusals(0).count(), 3u);
  EXPECT_EQ(p.outbound().refusals(1).rule(), "forbid-medical");
  EXPECT_EQ(p.outbound().refusals(1).count(), 1u);
  EXPECT_EQ(p.inbound().rejected(), 2u);
  ASSERT_EQ(p.inbound().refusals_size(), 1);
  EXPECT_EQ(p.inbound().refusals(0).status_code(), "UNAUTHENTICATED");
  EXPECT_EQ(p.inbound().refusals(0).count(), 2u);
}

TEST_F(SlaFiguresTest, DeliveryObjectiveMetThenMissedWithExactRemainingBudget) {
  // 200 records; 2 late (61 s and 120 s). At 99%: budget 200 * 1% = 2
  // records, 2 used: met, 0 remaining. At 99.5%: budget 1, missed by 1.
  // Within 90 s at 99%: only the 120 s one is late, half the budget left.
  for (int i = 0; i < 200; ++i) {
    const std::string id = absl::StrCat("ok-", i);
    const int64_t latency = i == 0 ? Sec(61) : i == 1 ? Sec(120) : Sec(1 + i % 50);
    log_.Submitted(id, "council-a", T0() + Sec(10 * i));
    log_.Delivered(id, "council-a", T0() + Sec(10 * i) + latency);
  }
  gatehouse::v1::SlaPeer p = Figures(
      log_, T0(), T0() + Min(60),
      {*ParseObjective("delivery:60s:99%"), *ParseObjective("delivery:60s:99.5%"),
       *ParseObjective("delivery:90s:99%")});
  const auto& at99 = p.objectives(0);
  EXPECT_EQ(at99.eligible(), 200);
  EXPECT_EQ(at99.bad(), 2);
  EXPECT_DOUBLE_EQ(at99.budget(), 2);
  EXPECT_DOUBLE_EQ(at99.remaining(), 0);
  EXPECT_DOUBLE_EQ(at99.remaining_fraction(), 0);
  EXPECT_TRUE(at99.met());
  ASSERT_EQ(at99.burn_size(), 1);  // one hour, one slice
  EXPECT_DOUBLE_EQ(at99.burn(0).used(), 1);
  const auto& at995 = p.objectives(1);
  EXPECT_DOUBLE_EQ(at995.budget(), 1);
  EXPECT_DOUBLE_EQ(at995.remaining(), -1);
  EXPECT_FALSE(at995.met());
  const auto& within90 = p.objectives(2);  // 61 s is within 90 s: 1 late of 2 allowed
  EXPECT_EQ(within90.bad(), 1);
  EXPECT_DOUBLE_EQ(within90.remaining_fraction(), 0.5);
  EXPECT_TRUE(within90.met());
}

TEST_F(SlaFiguresTest, AvailabilityObjectiveHasAnExactBudgetInNanoseconds) {
  // One outage of 5 min in a 60 min period ([T0+11m, T0+16m)). At 90%: budget
  // 6 min, 1 min remaining (1/6). At 99%: budget 36 s, missed by 264 s.
  log_.Submitted("o", "council-a", T0() + Min(10));
  log_.Delivered("o", "council-a", T0() + Min(16));
  gatehouse::v1::SlaPeer p = Figures(log_, T0(), T0() + Min(60),
                                     {*ParseObjective("availability:90%"), *ParseObjective("availability:99%")});
  EXPECT_EQ(p.outbound().down_ns(), Min(5));
  EXPECT_EQ(p.objectives(0).eligible(), Min(60));
  EXPECT_DOUBLE_EQ(p.objectives(0).budget(), static_cast<double>(Min(6)));
  EXPECT_DOUBLE_EQ(p.objectives(0).remaining(), static_cast<double>(Min(1)));
  EXPECT_DOUBLE_EQ(p.objectives(0).remaining_fraction(), 1.0 / 6);
  EXPECT_TRUE(p.objectives(0).met());
  EXPECT_DOUBLE_EQ(p.objectives(1).remaining(), static_cast<double>(Sec(36) - Min(5)));
  EXPECT_FALSE(p.objectives(1).met());
}

TEST(ObjectiveTest, ParsesSpecsExactlyAndRefusesBadOnes) {
  absl::StatusOr<Objective> d = ParseObjective("delivery:60s:99%");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->kind, Objective::Kind::kDelivery);
  EXPECT_EQ(d->within, absl::Seconds(60));
  EXPECT_EQ(d->target_ppm, 990000u);
  EXPECT_EQ(ParseObjective("availability:99.9%")->target_ppm, 999000u);
  EXPECT_EQ(ParseObjective("availability:99.9999")->target_ppm, 999999u);
  EXPECT_EQ(ParseObjective("availability:99.9%")->Name(), "availability at 99.9%");
  for (const char* bad : {"availability:101%", "availability:0%", "availability:99.99999%",
                          "delivery:0s:99%", "delivery:soon:99%", "latency:60s:99%", "availability",
                          "availability:-1%", "availability:9x%"}) {
    EXPECT_EQ(ParseObjective(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(SlaFiguresTest, AnEmptyPeriodAndAnUnknownPeerAreRefused) {
  log_.Submitted("a", "council-a", T0());
  FigureOptions o;
  o.from_ns = o.to_ns = T0();
  EXPECT_EQ(ComputeReport(log_.ReadLedger(), o).status().code(), absl::StatusCode::kInvalidArgument);
  o.to_ns = T0() + Min(1);
  o.peer = "police-b";
  EXPECT_EQ(ComputeReport(log_.ReadLedger(), o).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace gatehouse::sla

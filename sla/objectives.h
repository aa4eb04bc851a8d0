// Service-level objectives and their evaluation with an error budget
// (docs/service-levels.md, "Objectives"). An Objective is a plain struct the
// gateway's config can fill; ParseObjective reads the command-line form.
//
//   delivery:60s:99%     99% of records delivered within 60 s
//   availability:99.9%   the link available 99.9% of the period
//
// Targets are held in parts per million, so "99.9%" is exactly 999000 and
// every comparison is done in integers: met iff bad * 10^6 <= eligible *
// (10^6 - target_ppm). The budget (bad allowed) and what remains of it are
// reported as doubles, exact while below 2^53 (records, or nanoseconds:
// 104 days).
//
// Thread-safety: pure functions over values.
//
// Example:
//   ASSIGN_OR_RETURN(Objective o, ParseObjective("delivery:60s:99%"));
//   v1::SlaObjective r = Evaluate(o, outcomes, bucket_ends);
//   if (!r.met()) ...
#ifndef GATEHOUSE_SLA_OBJECTIVES_H_
#define GATEHOUSE_SLA_OBJECTIVES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gatehouse/v1/sla_report.pb.h"
#include "sla/intervals.h"

namespace gatehouse::sla {

struct Objective {
  enum class Kind { kDelivery, kAvailability };
  Kind kind = Kind::kDelivery;
  // Delivery: a record is on time if DELIVERED within this of SUBMITTED.
  absl::Duration within = absl::Seconds(60);
  // Share of records on time, or of the period available, in parts per
  // million (990000 = 99%). REQUIRES: 0 < target_ppm <= 1000000.
  uint32_t target_ppm = 990000;

  // "delivery within 60s at 99%", "availability at 99.9%".
  std::string Name() const;
};

// Parses "delivery:DURATION:PERCENT" or "availability:PERCENT" (PERCENT as
// "99", "99.9%", up to four decimals; DURATION as absl::ParseDuration, e.g.
// "60s", "2m"). InvalidArgument naming what is wrong otherwise.
absl::StatusOr<Objective> ParseObjective(absl::string_view spec);

// 99% delivered within 60 s, and 99.9% available: the examples.
std::vector<Objective> DefaultObjectives();

// What objectives are judged on, for one peer and one period (figures.cc
// builds it from a Ledger).
struct Outcomes {
  int64_t from_ns = 0, to_ns = 0;
  enum class State { kDelivered, kExpired, kWaiting };
  struct Record {
    State state = State::kDelivered;
    int64_t submitted_ns = 0;
    int64_t settled_ns = 0;   // delivered or expired; unused when waiting
    int64_t latency_ns = 0;   // delivered: settled - submitted; waiting: to - submitted
  };
  // Records DELIVERED or EXPIRED in the period (clock steps left out), and
  // records still waiting at its end.
  std::vector<Record> records;
  // Outages of the link, clipped to the period (as Union returns).
  std::vector<Interval> down;
};

// Evaluates `objective` on `outcomes`. Delivery: a delivered record is
// judged at its delivery, on time iff latency <= within; an expired record is
// judged bad when it expired; a record still waiting at the end is judged
// bad (at submitted + within) if it has waited longer than `within`, else not
// judged. Availability: eligible is the period's length, bad the time down.
// `burn` gets one point at each of `bucket_ends` (ascending).
gatehouse::v1::SlaObjective Evaluate(const Objective& objective, const Outcomes& outcomes,
                                     const std::vector<int64_t>& bucket_ends);

}  // namespace gatehouse::sla

#endif  // GATEHOUSE_SLA_OBJECTIVES_H_

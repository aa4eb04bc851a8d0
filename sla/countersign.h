// The peer's side of a service-level report: recompute from its own log
// and list where the report disagrees (docs/service-levels.md,
// "Countersigning"). A record's submit and delivery times are in the
// sender's log, its RECEIVED in the receiver's; the receiver's RECEIVED
// must fall between the sender's SUBMITTED and DELIVERED, give or take a
// tolerance for the two clocks, and every record either side logged well
// inside the period must be on both sides.
//
// Checking the report's signature and its proofs is the caller's (they
// need the files and the log); this compares contents only.
//
// Thread-safety: pure function over a const Ledger.
//
// Example:
//   ASSIGN_OR_RETURN(std::vector<Difference> d, CompareWithOwnLog(report, ledger, "council-a", absl::Seconds(2)));
//   if (d.empty()) countersign...
#ifndef GATEHOUSE_SLA_COUNTERSIGN_H_
#define GATEHOUSE_SLA_COUNTERSIGN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gatehouse/v1/sla_report.pb.h"
#include "sla/ledger.h"

namespace gatehouse::sla {

// One record on which the report and the countersigner's log differ.
struct Difference {
  std::string record_id;
  std::string what;  // a sentence naming both sides' times
};

// The records where `report` (by another organisation, about `own_org`
// alone) and `own` (own_org's ledger) differ, sorted by record id; empty if
// they agree. InvalidArgument if the report is not about own_org alone, is
// own_org's own, or is not a report; DataLoss if its figures do not follow
// from the records it lists (a report edited after it was computed).
absl::StatusOr<std::vector<Difference>> CompareWithOwnLog(
    const gatehouse::v1::ServiceLevelReport& report, const Ledger& own,
    const std::string& own_org, absl::Duration tolerance);

}  // namespace gatehouse::sla

#endif  // GATEHOUSE_SLA_COUNTERSIGN_H_

// Service-level figures for one period, per peer organisation and
// direction, computed from a Ledger (docs/service-levels.md defines each
// figure). The result is the report message without its binding to the log
// (binding.first_index/last_index/entries_used are set; the checkpoint and
// proofs are the caller's: see tools/auditctl/sla_command.cc), so the
// gateway can serve the same figures live.
//
// Thread-safety: pure function over a const Ledger.
//
// Example:
//   FigureOptions o;
//   o.from_ns = from; o.to_ns = to;
//   ASSIGN_OR_RETURN(v1::ServiceLevelReport r, ComputeReport(ledger, o));
#ifndef GATEHOUSE_SLA_FIGURES_H_
#define GATEHOUSE_SLA_FIGURES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gatehouse/v1/sla_report.pb.h"
#include "sla/ledger.h"
#include "sla/objectives.h"

namespace gatehouse::sla {

inline constexpr char kReportFormat[] = "gatehouse.sla-report/v1";

struct FigureOptions {
  // The period [from_ns, to_ns). REQUIRES nothing: checked.
  int64_t from_ns = 0;
  int64_t to_ns = 0;
  // A record waiting longer than this with no delivery to its peer within
  // this long puts the link down (docs/service-levels.md, "Availability").
  absl::Duration grace = absl::Seconds(60);
  // This gateway's organisation; empty: Ledger::OwnOrg().
  std::string org;
  // Only this peer; empty: every peer the period's records involve.
  std::string peer;
  std::vector<Objective> objectives = DefaultObjectives();
  // List each record (needed to countersign; large for long periods).
  bool with_records = true;
};

// The figures. InvalidArgument if from >= to, grace is not positive, or
// there is no org and the ledger's is ambiguous; NotFound if `peer` is set
// and the ledger never exchanged a record with it.
absl::StatusOr<gatehouse::v1::ServiceLevelReport> ComputeReport(const Ledger& ledger,
                                                                const FigureOptions& options);

}  // namespace gatehouse::sla

#endif  // GATEHOUSE_SLA_FIGURES_H_

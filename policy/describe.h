// Human-readable descriptions of cells, cubes and regions of a policy's
// request space, and the explanation of one decision: deciding rules and,
// for a denial, the nearest permit and the conditions it failed.
// Stateless; thread-safe. Allocates (tooling and audit, not the hot path).
#ifndef GATEHOUSE_POLICY_DESCRIBE_H_
#define GATEHOUSE_POLICY_DESCRIBE_H_

#include <string>
#include <vector>

#include "policy/engine.h"
#include "policy/model.h"

namespace gatehouse::policy {

// e.g. "sender health (trust-01, trust-02) -> recipient any council,
// record type safeguarding_referral, OFFICIAL-SENSITIVE, purpose
// safeguarding, caveats: with CHILD, without PERSONAL".
std::string DescribeCube(const Domains& domains, const Cube& cube);

// A box of requests as an officer reads it, e.g. "health → police:
// crime_report for law_enforcement, up to OFFICIAL-SENSITIVE, with
// SCH2-AUTHORISED". Parties: "anyone", a whole sector by its name, or
// organisation ids; a dimension left out is any value. With `context`, a
// dimension is "any" when the box holds all of the context's values there
// (e.g. every organisation both versions of a policy declare).
std::string DescribeFlow(const Domains& domains, const Cube& box,
                         const Cube* context = nullptr);

// How a rule opens, as written: "permit", "forbid" or "defensive forbid".
std::string DescribeRuleKind(const Rule& rule);

// A retention period as an officer writes it: "8 years", "18 months",
// "45 days" (a year is 365 days, a month 30).
std::string DescribeRetention(uint32_t days);

// The obligations of an allow, as an officer writes them, joined by "; ",
// e.g. "encrypt; redact gp_free_text; retain 2920 days; notify originator;
// require recipient system"; "" if there are none.
std::string DescribeObligations(const Engine& engine,
                                const DecisionObligations& obligations);

// A permit's obligations, as DescribeObligations words them (redacted
// fields sorted).
std::string DescribeModelObligations(const Obligations& obligations);

// Multi-line explanation of `decision` for `request`: outcome, deciding
// rules with their source positions, for an allow its obligations, and for
// a denial by default (no permit) the permit that came closest and each
// condition it failed.
std::string ExplainDecision(const Engine& engine,
                            const ResolvedRequest& request,
                            const Decision& decision);

// One request exactly, e.g. "leeds-trust (health, OFFICIAL-SENSITIVE) →
// leeds-council (council, OFFICIAL-SENSITIVE): discharge_summary,
// OFFICIAL-SENSITIVE, for direct_care, with PERSONAL".
std::string DescribeRequest(const Domains& domains, const ResolvedRequest& request);

// Converts the cell of a resolved request to a one-cell cube.
Cube CellCube(const Domains& domains, const ResolvedRequest& request);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_DESCRIBE_H_

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

// The obligations of an allow, as an officer writes them, joined by "; ",
// e.g. "encrypt; redact gp_free_text; retain 2920 days; notify originator;
// require recipient system"; "" if there are none.
std::string DescribeObligations(const Engine& engine,
                                const DecisionObligations& obligations);

// Multi-line explanation of `decision` for `request`: outcome, deciding
// rules with their source positions, for an allow its obligations, and for
// a denial by default (no permit) the permit that came closest and each
// condition it failed.
std::string ExplainDecision(const Engine& engine,
                            const ResolvedRequest& request,
                            const Decision& decision);

// Converts the cell of a resolved request to a one-cell cube.
Cube CellCube(const Domains& domains, const ResolvedRequest& request);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_DESCRIBE_H_

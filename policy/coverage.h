// Which flows no permit reaches: for each pair of sectors (sender's,
// recipient's), the record types that no request between them can be
// allowed, whatever its other labels. What `policyc coverage` prints.
//
// Exact, by one partition of the request space (partition.h) that stops
// looking into a box as soon as every sector pair and record type it
// touches is known to be reached, or a forbid (or the write-down) covers
// it, or no permit meets it. Stateless; thread-safe.
//
// Example:
//   for (const UnreachedFlow& f : UnreachedFlows(model)) {
//     std::cout << f.sender_sector << " -> " << f.recipient_sector << "\n";
//   }
#ifndef GATEHOUSE_POLICY_COVERAGE_H_
#define GATEHOUSE_POLICY_COVERAGE_H_

#include <string>
#include <vector>

#include "policy/model.h"

namespace gatehouse::policy {

struct UnreachedFlow {
  std::string sender_sector, recipient_sector;
  std::vector<std::string> record_types;  // in declaration order, never empty
};

// The sector pairs (each with an organisation on both sides) and, for each,
// the record types no request is allowed; pairs with none are left out.
// Sender sectors in declaration order, then recipient sectors.
// REQUIRES: `model` compiled without errors.
std::vector<UnreachedFlow> UnreachedFlows(const Model& model);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_COVERAGE_H_

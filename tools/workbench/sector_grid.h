// See with sectors on both axes: each sector cell sums up the organisation
// cells of /api/flows (what_if.h decided, one pair of organisations each)
// whose sender is in one sector and recipient in the other. The summary is
// honest: a sector cell has one outcome only when every organisation pair
// in it has that outcome, otherwise "mixed", and it lists its pairs so that
// a click can explain it. Nothing is decided here; the engine decided each
// organisation cell.
//
// Stateless functions; thread-safe.
//
// Example:
//   JsonValue layer = ...;  // {classification, cells: [{sender, recipient, outcome, ...}]}
//   JsonValue sectors = SectorLayer(engine.model().domains, layer);
#ifndef GATEHOUSE_TOOLS_WORKBENCH_SECTOR_GRID_H_
#define GATEHOUSE_TOOLS_WORKBENCH_SECTOR_GRID_H_

#include "policy/model.h"
#include "tools/workbench/json_body.h"

namespace gatehouse::workbench {

// The declared sectors with their organisations, in declaration order:
//   [{sector, organisations: [id, ...]}]
// A sector no organisation is in is listed with none.
JsonValue SectorsOf(const policy::Domains& domains);

// `organisation_layer` ({classification, cells}) summed up by sector:
//   {classification, cells: [{sender_sector, recipient_sector, outcome,
//                             marks, rules, flows, counts, summary, changed,
//                             members}]}
// with a cell for every ordered pair of declared sectors (a sector to
// itself too: two trusts of one sector), where
//   outcome  the outcome every member has, "mixed" if they differ, "none"
//            if there is no member (no two distinct organisations)
//   marks    the permitted members' marks if all are the same, "varies"
//            if they differ, "" if none is permitted
//   rules    every member's deciding rules, each once, first seen first
//   flows    the number of members; counts: [{outcome, count}], first seen first
//   summary  in words, e.g. "2 flows: 1 permitted, 1 forbidden", and
//            "; obligations differ" when marks is "varies"
//   changed  the number of members whose "change" (a compared picture, see
//            /api/flows) is not ""
//   members  [{sender, recipient, outcome, marks, change}] in the
//            organisation grid's order ("change" "" if not compared)
// An organisation cell whose sender or recipient is not a declared
// organisation with a declared sector is left out (a compiled policy has
// none).
JsonValue SectorLayer(const policy::Domains& domains, const JsonValue& organisation_layer);

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_SECTOR_GRID_H_

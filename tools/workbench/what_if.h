// A what-if: the labels of one imagined record and its decision as JSON,
// decided by the policy library's engine exactly as a gateway decides it.
// Shared by /api/ask (one what-if, explained) and /api/flows (one what-if
// for each pair of organisations), so that a cell of the picture and the
// answer to Ask can never disagree.
//
// Plain values; thread-compatible.
//
// Example:
//   ASSIGN_OR_RETURN(WhatIf w, WhatIfOf(body));
//   JsonValue answer = DecideWhatIf(engine, w, /*explain=*/true);
#ifndef GATEHOUSE_TOOLS_WORKBENCH_WHAT_IF_H_
#define GATEHOUSE_TOOLS_WORKBENCH_WHAT_IF_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/engine.h"
#include "tools/workbench/json_body.h"

namespace gatehouse::workbench {

// The labels of a what-if, owned. An empty label is the engine's to refuse
// (missing-label), as a gateway would.
struct WhatIf {
  std::string sender, recipient, type, classification, purpose, originator, role, basis;
  std::vector<std::string> caveats;
};

// The labels in a request body: sender, recipient, type, classification,
// purpose, originator, role, legal_basis (strings, "" if absent) and
// caveats (a list or a comma-separated string). InvalidArgument if one is
// of the wrong JSON type.
absl::StatusOr<WhatIf> WhatIfOf(const JsonBody& body);

// Decides `what_if` with `engine`:
//   {allowed, outcome, reason, rules, obligations, marks, explanation}
// where outcome is policy::OutcomeName's word, obligations are in words
// and marks the same in a few letters for a cell of the picture, e.g.
// "enc, redact, keep, notify, sys" (both "" unless allowed). With `explain`, explanation is
// policy::ExplainDecision's text (the nearest permit for a denial) and
// "request" describes the resolved request; without, explanation is "".
// An unknown or missing label is a decision too (outcome unknown-label or
// missing-label), never an error.
JsonValue DecideWhatIf(const policy::Engine& engine, const WhatIf& what_if, bool explain);

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_WHAT_IF_H_

// Exact analysis of a compiled policy. The request space is finite, so each
// question is answered by set algebra on Regions (cube.h), not heuristics.
// Stateless; thread-safe.
//
// Diagnostics (code: severity):
//   never-fires: warning   a rule's condition is contradictory, or a permit
//                          only covers flows the built-in no-write-down denies
//   overridden:  warning   forbid rules deny every request a permit covers
//   redundant:   warning   other permits already allow everything it allows
//                          and already impose every obligation it imposes
//   overlap:     info      some forbid rules override part of a permit
//   write-down:  error     a permit that explicitly requires a classification
//                          above the lowest (e.g. "classification at least
//                          SECRET") also covers recipients accredited below
//                          it, and no forbid removes those flows
//   layer-widens: error    a local layer's permit allows a flow the baseline
//                          does not (local layers may only narrow)
#ifndef GATEHOUSE_POLICY_ANALYZER_H_
#define GATEHOUSE_POLICY_ANALYZER_H_

#include <vector>

#include "policy/diagnostic.h"
#include "policy/model.h"

namespace gatehouse::policy {

// Appends the diagnostics above, in rule order.
void Analyze(const Model& model, std::vector<Diagnostic>* diagnostics);

// The cells the policy allows: (∪ permits) \ (∪ forbids) \ write-down.
Region AllowedRegion(const Model& model);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_ANALYZER_H_

// Exact analysis of a compiled policy. The request space is finite, so each
// question is answered exactly, not by heuristics or sampling: one pass of
// partition.h splits the space into boxes on which every rule is all or
// nothing, skipping boxes no permit reaches, boxes a forbid covers (noting
// which permits it overrides there) and write-down boxes where no permit
// asks for a level above the lowest; in each remaining box the permits that
// decide are recorded. Every finding below is read off those records (and a
// few small per-rule subtractions of the write-down, which has at most one
// cube a level). Cost: that of the partition (see partition.h), then
// linear in what it records. Stateless; thread-safe.
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
//   defensive-reachable: warning
//                          a "defensive forbid" (meant never to decide, a
//                          backup of the built-in no-write-down) matches a
//                          request that is not a write-down
#ifndef GATEHOUSE_POLICY_ANALYZER_H_
#define GATEHOUSE_POLICY_ANALYZER_H_

#include <vector>

#include "policy/diagnostic.h"
#include "policy/model.h"

namespace gatehouse::policy {

struct AnalyzeOptions {
  // Report "overlap" infos. A realistic policy has thousands of (permit,
  // forbid) pairs that overlap, and finding them all costs time in
  // proportion; policyc finds them only for --info.
  bool overlaps = true;
};

// Appends the diagnostics above. Safe on a model compiled with errors: it
// analyses the rules that compiled (nothing if the classifications are
// missing).
void Analyze(const Model& model, std::vector<Diagnostic>* diagnostics);
void Analyze(const Model& model, const AnalyzeOptions& options,
             std::vector<Diagnostic>* diagnostics);

// The cells the policy allows: (∪ permits) \ (∪ forbids) \ write-down, as
// disjoint cubes.
Region AllowedRegion(const Model& model);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_ANALYZER_H_

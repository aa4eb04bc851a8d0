// What a new version of a policy changes, exactly and in officers' words:
// the flows it newly permits, newly denies, or permits with different
// obligations, each with the rules (and declarations) responsible; and the
// declarations it changes (organisations added, removed, moved to another
// sector or accredited differently; levels, caveats, sectors, record types
// and purposes added or removed).
//
// The two versions may declare different domains: names are matched by
// name, and a request naming something one version does not declare is, in
// that version, denied (unknown label), as the engine does.
//
// Exact: the request space is partitioned (partition.h) into boxes where
// every rule of both versions is all or nothing, and each version's decision
// is worked out box by box (missing label, unknown label, write-down,
// forbid, permit and merged obligations, as engine.h decides). Boxes that
// only rules identical in both versions reach are skipped, so the cost
// follows the size of the change, not of the policy; so is what a forbid
// (or write-down) of both versions covers, as soon as a box is inside it
// or it cuts the box on one dimension only; and each set of rules is
// decided once, however many boxes share it.
//
// Stateless; thread-safe.
//
// Example:
//   ASSIGN_OR_RETURN(PolicyDiff diff, DiffPolicies(old_model, new_model));
//   std::cout << DescribeDiff(diff, /*limit=*/40);
//   if (!diff.Empty()) return 1;
#ifndef GATEHOUSE_POLICY_DIFF_H_
#define GATEHOUSE_POLICY_DIFF_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policy/model.h"

namespace gatehouse::policy {

struct FlowChange {
  enum class Kind { kNewlyPermitted, kNewlyDenied, kObligationsChanged };
  Kind kind = Kind::kNewlyPermitted;
  // Where: disjoint boxes of requests over PolicyDiff::domains, merged for
  // reading (exactly the requests that change this way for these reasons).
  Region where;
  // If has_summary: one box holding all of `where`, every other request in
  // which both versions deny; so `where` is exactly "summary, where either
  // version allows it". Easier to read than `where` when another rule (an
  // originator control, say) cuts the change into many boxes.
  bool has_summary = false;
  Cube summary;
  // If set, the change holds for exactly the requests of `where` that one
  // version allows: `where` names something (an originator, a role, a
  // purpose...) only one version declares, so the other denies it all, and
  // the change is "what the declaring version allows there" (has_summary is
  // set too, summary == where[0]).
  bool only_where_allowed = false;
  std::string before;  // the old decision, e.g. "denied: no permit covers it"
  std::string after;   // the new one, e.g. "allowed by P3 (encrypt; retain 6 years)"
  // For kObligationsChanged: e.g. "no longer notify originator; retain 2
  // years (was 6 years)".
  std::string obligations;
  // The rules and declarations responsible, e.g. "rule P3 changed
  // (new.ghp:40:1)", "organisation council-2 accredited OFFICIAL (was
  // OFFICIAL-SENSITIVE)".
  std::vector<std::string> causes;
};

struct PolicyDiff {
  Domains domains;                        // both versions' names, by name
  Cube common;                            // the requests both versions can name
  std::vector<std::string> declarations;  // declaration changes, in words
  std::vector<FlowChange> changes;        // permitted, denied, obligations
  bool Empty() const { return declarations.empty() && changes.empty(); }
};

// Compares `before` with `after` (both compiled without errors).
// InvalidArgument if the two together name more values of one kind than a
// policy may have (kMaxValues; kMaxCaveats caveats).
absl::StatusOr<PolicyDiff> DiffPolicies(const Model& before, const Model& after);

// The diff as an officer reads it: declarations, then each kind of change
// with where, before and after, and why; at most `limit` groups of each
// kind (and how many more there are). "No change" if there is none.
std::string DescribeDiff(const PolicyDiff& diff, size_t limit);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_DIFF_H_

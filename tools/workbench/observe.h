// Observe: what a gateway decided, from an audit export (`auditctl export`:
// one JSON line an entry, an AuditInclusionProof with leaf_index, leaf_hash
// and entry), summed up for an officer: decisions over time by rule and
// outcome, the most-denied flows with their reasons, the shadow policy's
// differences (AUDIT_EVENT_SHADOW_DIFFERS), and, given a draft, what the
// draft would have decided otherwise on the same traffic.
//
// The export is untrusted input (an officer's upload): it is parsed here,
// strictly (an unknown field or a bad line is refused with its line
// number), and bounded (kMaxExportEntries). It is not authenticated: the
// leaf hashes are not checked against a signed checkpoint (auditctl verify
// does that on the log itself).
//
// A decision is an entry with a decision (PERMIT or DENY); it counts under
// its deciding rule (the first rule id, "(no rule)" when none). A flow is
// sender, recipient, record type, classification, purpose and caveats.
//
// Stateless functions; thread-safe.
//
// Example:
//   ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries, ParseAuditExport(text));
//   Observation o = Observe(entries, &draft_engine);  // or nullptr
#ifndef GATEHOUSE_TOOLS_WORKBENCH_OBSERVE_H_
#define GATEHOUSE_TOOLS_WORKBENCH_OBSERVE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gatehouse/v1/audit.pb.h"
#include "policy/engine.h"

namespace gatehouse::workbench {

inline constexpr size_t kMaxExportEntries = 100000;
// Most rows of each table (most-denied, shadow, draft changes).
inline constexpr size_t kMaxObservedRows = 20;
// Most bars of the chart: the bucket width is the first of a few round
// widths (a minute ... a week) that keeps to this many.
inline constexpr int kMaxBuckets = 48;

// The entries of an export, in its order. InvalidArgument naming the line
// ("line 3: ...") if a non-blank line is not an AuditInclusionProof in
// protobuf JSON with an entry; ResourceExhausted past kMaxExportEntries.
absl::StatusOr<std::vector<v1::AuditEntry>> ParseAuditExport(absl::string_view text);

// Who sent what to whom; ordered, to group by.
struct Flow {
  std::string sender, recipient, record_type, classification, purpose, caveats;
  bool operator<(const Flow& o) const;
};

struct Counted {
  Flow flow;
  int count = 0;
  std::map<std::string, int> reasons;  // reason -> entries
  std::vector<std::string> rules;      // deciding rules, first seen first
};

struct TimeBucket {
  int64_t start_ns = 0;
  // rule -> {permits, denies}
  std::map<std::string, std::pair<int, int>> by_rule;
};

struct Observation {
  int entries = 0, permits = 0, denies = 0, shadow_differences = 0;
  int64_t first_ns = 0, last_ns = 0;  // of the timed decisions; 0 if none
  // The chart: decisions without a time (0) are counted but not drawn.
  int64_t bucket_ns = 0;
  std::vector<TimeBucket> buckets;     // contiguous, oldest first
  std::map<std::string, std::pair<int, int>> rules;  // rule -> {permits, denies}
  std::vector<Counted> most_denied;    // most first, at most kMaxObservedRows
  std::vector<Counted> shadow;         // each difference's flow and reason
  // With a draft: decisions it would have made otherwise. reasons holds
  // "was permitted, the draft denies: <its reason>" or "was denied, the
  // draft permits it"; rules are the draft's deciding rules.
  bool with_draft = false;
  int draft_changed = 0;  // decisions that would change
  std::vector<Counted> draft_changes;
};

// Sums up `entries`; with `draft` (may be null), decides each decision's
// labels by it as a gateway would and reports those that differ.
Observation Observe(const std::vector<v1::AuditEntry>& entries, const policy::Engine* draft);

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_OBSERVE_H_

// DescribeDiff (diff.h): a diff in an officer's words.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/describe.h"
#include "policy/diff.h"

namespace gatehouse::policy {

std::string DescribeDiff(const PolicyDiff& diff, size_t limit) {
  if (diff.Empty()) {
    return "No change: the new version decides every request as the old one does, with the "
           "same obligations, and declares the same names.\n";
  }
  std::string out;
  if (!diff.declarations.empty()) {
    absl::StrAppend(&out, "Declarations changed (", diff.declarations.size(), "):\n");
    for (const std::string& d : diff.declarations) absl::StrAppend(&out, "  ", d, "\n");
  }
  const char* kTitles[] = {"Newly permitted", "Newly denied", "Obligations changed"};
  size_t counts[3] = {0, 0, 0};
  for (const FlowChange& c : diff.changes) ++counts[static_cast<int>(c.kind)];
  for (int kind = 0; kind < 3; ++kind) {
    if (!counts[kind]) continue;
    absl::StrAppend(&out, out.empty() ? "" : "\n", kTitles[kind], " (", counts[kind],
                    counts[kind] == 1 ? " group" : " groups", "):\n");
    size_t shown = 0, hidden = 0;
    for (const FlowChange& c : diff.changes) {
      if (static_cast<int>(c.kind) != kind) continue;
      if (shown >= limit) {
        ++hidden;
        continue;
      }
      ++shown;
      if (c.has_summary) {
        absl::StrAppend(&out, "  ", DescribeFlow(diff.domains, c.summary, &diff.common),
                        "\n    (where either version allows it)\n");
      } else {
        for (size_t i = 0; i < c.where.size(); ++i) {
          if (i == 6 && c.where.size() > 7) {
            absl::StrAppend(&out, "    ... and ", c.where.size() - 6, " more such flows\n");
            break;
          }
          absl::StrAppend(&out, i ? "    " : "  ",
                          DescribeFlow(diff.domains, c.where[i], &diff.common), "\n");
        }
      }
      if (c.kind == FlowChange::Kind::kObligationsChanged) {
        absl::StrAppend(&out, "    ", c.obligations, "\n");
        absl::StrAppend(&out, "    now ", c.after, "; was ", c.before, "\n");
      } else {
        absl::StrAppend(&out, "    now ", c.after, "; was ", c.before, "\n");
      }
      if (!c.causes.empty()) {
        absl::StrAppend(&out, "    because: ", absl::StrJoin(c.causes, "; "), "\n");
      }
    }
    if (hidden) absl::StrAppend(&out, "  ... ", hidden, " more groups (--limit)\n");
  }
  absl::StrAppend(&out, "\nSummary: ", counts[0], " newly permitted, ", counts[1],
                  " newly denied, ", counts[2], " with changed obligations (groups of flows); ",
                  diff.declarations.size(), " declaration change(s).\n");
  return out;
}

}  // namespace gatehouse::policy

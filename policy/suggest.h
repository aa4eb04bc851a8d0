// "Did you mean ...?": the declared name closest to a misspelt one, for
// diagnostics and command lines. Stateless; thread-safe.
//
// Example:
//   ClosestName("OFFICIAL_SENSITIVE", {"OFFICIAL", "OFFICIAL-SENSITIVE"})
//     == "OFFICIAL-SENSITIVE"
#ifndef GATEHOUSE_POLICY_SUGGEST_H_
#define GATEHOUSE_POLICY_SUGGEST_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace gatehouse::policy {

// The candidate closest to `word`: one that differs only in case, '-'
// versus '_' or spaces, else one within a small edit distance (1 for short
// words, 2 from 5 characters, 3 from 12). "" if none is that close or two
// are equally close. Cost: O(|word| x total length of the candidates).
std::string ClosestName(absl::string_view word,
                        const std::vector<std::string>& candidates);

// Edit distance (insert, delete, substitute, swap two adjacent characters),
// giving up early: returns limit + 1 once the distance exceeds `limit`.
int EditDistance(absl::string_view a, absl::string_view b, int limit);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_SUGGEST_H_

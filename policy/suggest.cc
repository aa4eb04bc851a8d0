#include "policy/suggest.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"

namespace gatehouse::policy {
namespace {

// Lower case, with '-', '_' and ' ' all read as '-'.
std::string Fold(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    out.push_back(c == '_' || c == ' ' ? '-' : absl::ascii_tolower(c));
  }
  return out;
}

}  // namespace

int EditDistance(absl::string_view a, absl::string_view b, int limit) {
  const int n = static_cast<int>(a.size()), m = static_cast<int>(b.size());
  if (std::abs(n - m) > limit) return limit + 1;
  // Optimal string alignment distance, three rows.
  std::vector<int> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (int j = 0; j <= m; ++j) prev[j] = j;
  for (int i = 1; i <= n; ++i) {
    cur[0] = i;
    int row_min = cur[0];
    for (int j = 1; j <= m; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit) return limit + 1;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], limit + 1);
}

std::string ClosestName(absl::string_view word,
                        const std::vector<std::string>& candidates) {
  if (word.empty()) return "";
  const std::string folded = Fold(word);
  const int limit = folded.size() >= 12 ? 3 : folded.size() >= 5 ? 2 : 1;
  std::string best, best_folded;
  int best_distance = limit + 1;
  bool tie = false;
  for (const std::string& c : candidates) {
    if (c == word) continue;
    const std::string fc = Fold(c);
    // Same letters, different case or separators: the closest there is.
    const int d = fc == folded ? 0 : EditDistance(folded, fc, limit);
    if (d < best_distance) {
      best_distance = d;
      best = c;
      best_folded = fc;
      tie = false;
    } else if (d == best_distance && fc != best_folded) {
      tie = true;
    }
  }
  if (tie || best_distance > limit) return "";
  return best;
}

}  // namespace gatehouse::policy

#include "sla/intervals.h"

#include <algorithm>

namespace gatehouse::sla {

std::vector<Interval> Union(std::vector<Interval> in) {
  in.erase(std::remove_if(in.begin(), in.end(), [](const Interval& i) { return i.end <= i.start; }),
           in.end());
  std::sort(in.begin(), in.end(), [](const Interval& x, const Interval& y) { return x.start < y.start; });
  std::vector<Interval> out;
  for (const Interval& i : in) {
    if (!out.empty() && i.start <= out.back().end) {
      out.back().end = std::max(out.back().end, i.end);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

std::vector<Interval> Subtract(const std::vector<Interval>& a, const std::vector<Interval>& b) {
  std::vector<Interval> out;
  size_t j = 0;
  for (Interval cur : a) {
    while (j < b.size() && b[j].end <= cur.start) ++j;
    for (size_t k = j; k < b.size() && b[k].start < cur.end; ++k) {
      if (b[k].start > cur.start) out.push_back({cur.start, b[k].start});
      cur.start = std::max(cur.start, b[k].end);
      if (cur.start >= cur.end) break;
    }
    if (cur.start < cur.end) out.push_back(cur);
  }
  return out;
}

std::vector<Interval> Clip(const std::vector<Interval>& in, int64_t from, int64_t to) {
  std::vector<Interval> out;
  for (const Interval& i : in) {
    Interval c{std::max(i.start, from), std::min(i.end, to)};
    if (c.start < c.end) out.push_back(c);
  }
  return out;
}

int64_t LengthWithin(const std::vector<Interval>& in, int64_t from, int64_t to) {
  int64_t total = 0;
  for (const Interval& i : Clip(in, from, to)) total += i.length();
  return total;
}

}  // namespace gatehouse::sla

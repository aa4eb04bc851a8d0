// Half-open time intervals [start, end) and the two operations availability
// needs (docs/service-levels.md, "Availability"): the union of a set, and
// one union minus another.
//
// Thread-safety: pure functions.
//
// Example:
//   Union({{0, 10}, {5, 20}, {30, 40}})          // {{0, 20}, {30, 40}}
//   Subtract({{0, 20}}, {{5, 8}})                // {{0, 5}, {8, 20}}
#ifndef GATEHOUSE_SLA_INTERVALS_H_
#define GATEHOUSE_SLA_INTERVALS_H_

#include <cstdint>
#include <vector>

namespace gatehouse::sla {

struct Interval {
  int64_t start = 0;
  int64_t end = 0;  // exclusive
  int64_t length() const { return end - start; }
  bool operator==(const Interval& o) const { return start == o.start && end == o.end; }
};

// Sorted, disjoint, non-touching, non-empty intervals covering exactly what
// `in` covers. Empty and inverted intervals in `in` are dropped.
std::vector<Interval> Union(std::vector<Interval> in);

// What `a` covers and `b` does not. REQUIRES: both as Union returns them.
std::vector<Interval> Subtract(const std::vector<Interval>& a, const std::vector<Interval>& b);

// `in` (as Union returns) cut to [from, to).
std::vector<Interval> Clip(const std::vector<Interval>& in, int64_t from, int64_t to);

// Total length of `in` (as Union returns) inside [from, to).
int64_t LengthWithin(const std::vector<Interval>& in, int64_t from, int64_t to);

}  // namespace gatehouse::sla

#endif  // GATEHOUSE_SLA_INTERVALS_H_

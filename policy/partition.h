// Splits a box of the request space into disjoint boxes on each of which
// every one of a set of cubes is all or nothing: it contains the whole box
// or misses it. Each such box is "uniform": every request in it matches the
// same rules, so one decision (and one set of obligations) holds for all of
// it. Exact questions over many rules at once (what a new version changes,
// which flows no permit reaches, which rules are redundant) are answered
// box by box instead of by subtracting cubes, which multiplies them.
//
// Algorithm (recursive refinement, after the atomic predicates of Yang and
// Lam, "Real-time verification of network properties using atomic
// predicates", ICNP 2013, computed lazily and only where asked):
//   Split(box, cubes meeting box):
//     if the visitor's Enter says nothing in the box matters: stop
//     if every cube contains the box: it is uniform; Leaf(box, cubes)
//     else pick the value dimension on which the most cubes are partial
//       (a caveat only when no value dimension is left), cut the box's
//       values there into the atoms the partial cubes induce (values no
//       cube tells apart stay together), and Split each part with the
//       cubes that meet it.
//   A dimension is cut at most once on any path, so the depth is at most
//   the number of dimensions.
// Cost: O(boxes visited x cubes per box x words). In the worst case the
// number of boxes is the product over dimensions of the atoms in each
// (exponential in the number of dimensions, as for any exact method: the
// question is NP-hard in general); policies as officers write them, where
// rules name parties, types and purposes, give a number roughly linear in
// the number of rules. Enter lets a caller prune what cannot matter (diff
// skips any box that only rules unchanged in both versions meet).
//
// Stateless; thread-compatible (the visitor is the caller's).
#ifndef GATEHOUSE_POLICY_PARTITION_H_
#define GATEHOUSE_POLICY_PARTITION_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "policy/cube.h"

namespace gatehouse::policy {

class BoxVisitor {
 public:
  virtual ~BoxVisitor() = default;
  // Before a box is looked into: `cubes` (indices into the input) are the
  // cubes that meet it. Return false to skip it and all its parts.
  virtual bool Enter(const Cube& box, absl::Span<const uint32_t> cubes) {
    (void)box;
    (void)cubes;
    return true;
  }
  // A uniform box and the cubes that contain it (every cube that meets it),
  // in increasing index order. The boxes of one call are disjoint and cover
  // `within`, less what Enter skipped.
  virtual void Leaf(const Cube& box, absl::Span<const uint32_t> cubes) = 0;
  // True once the visitor has its answer: no further box is visited.
  virtual bool Done() const { return false; }
};

// Partitions `within` (non-empty) by `cubes` as above.
void PartitionSpace(const Shape& shape, const Cube& within,
                    const std::vector<Cube>& cubes, BoxVisitor* visitor);
// The same over cubes held elsewhere (indices are into `cubes`).
void PartitionSpace(const Shape& shape, const Cube& within,
                    const std::vector<const Cube*>& cubes, BoxVisitor* visitor);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_PARTITION_H_

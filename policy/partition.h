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
//     take out of the box each part that a cube of the visitor's Skips
//       cuts off on one dimension (a forbid of one caveat, say), until
//       none does; stop if a Skips cube contains what is left, or nothing
//       is left (then Enter the box that is left)
//     if every cube contains the box: it is uniform; Leaf(box, cubes)
//     else pick the value dimension on which the most cubes are partial
//       (a caveat only when no value dimension is left), cut the box's
//       values there into the atoms the partial cubes induce (values no
//       cube tells apart stay together), and Split each part with the
//       cubes that meet it.
//   A dimension is cut at most once on any path, so the depth is at most
//   the number of dimensions.
// Only the cubes partial on a box are read again in its parts (a cube
// containing a box contains its parts; a cube holding the box in every
// dimension but the one cut contains each atom it meets), a part that a
// Skips cube contains is dropped before its cubes are listed, and the box
// is cut in place (no copy, which allocates for domains over 64 values).
// Taking out what a Skips cube cuts off on one dimension turns a chain of
// k caveat cuts, one side of each inside a forbid, into one step.
// Cost: O(boxes visited x cubes per box x words). In the worst case the
// number of boxes is the product over dimensions of the atoms in each
// (exponential in the number of dimensions, as for any exact method: the
// question is NP-hard in general); policies as officers write them, where
// rules name parties, types and purposes, give a number roughly linear in
// the number of rules. Enter and Skips let a caller prune what cannot
// matter (diff skips any box that only rules unchanged in both versions
// meet, and what a forbid both versions have covers).
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
  // As Enter, told also which of `cubes` contain the whole box (whole[k]
  // for cubes[k]), which the partition knows: a visitor that would ask
  // Contains of the cubes overrides this one instead. By default calls
  // Enter(box, cubes).
  virtual bool EnterKnowingWhole(const Cube& box, absl::Span<const uint32_t> cubes,
                                 absl::Span<const uint8_t> whole) {
    (void)whole;
    return Enter(box, cubes);
  }
  // The cubes inside which nothing matters to the visitor (a forbid's, to
  // a visitor that looks only at what is allowed): skips[i] nonzero for
  // cube i. A box one of them contains is skipped without Enter, and a box
  // one of them cuts on a single dimension (or caveat) loses that part
  // before it is looked into. Called once a partition; empty (the
  // default): none.
  virtual absl::Span<const uint8_t> Skips() const { return {}; }
  // A uniform box and the cubes that contain it (every cube that meets it),
  // in increasing index order. The boxes of one call are disjoint and cover
  // `within`, less what Enter and Skips skipped.
  virtual void Leaf(const Cube& box, absl::Span<const uint32_t> cubes) = 0;
  // True once the visitor has its answer: no further box is visited.
  virtual bool Done() const { return false; }
};

// Partitions `within` (non-empty) by `cubes` as above.
void PartitionSpace(const Shape& shape, const Cube& within,
                    const std::vector<Cube>& cubes, BoxVisitor* visitor);
// The same, given the indices (increasing) of the cubes that meet `within`
// (from a CubeIndex, say) instead of testing every cube.
void PartitionSpace(const Shape& shape, const Cube& within, const std::vector<Cube>& cubes,
                    const std::vector<uint32_t>& meeting, BoxVisitor* visitor);
// The same over cubes held elsewhere (indices are into `cubes`).
void PartitionSpace(const Shape& shape, const Cube& within,
                    const std::vector<const Cube*>& cubes, BoxVisitor* visitor);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_PARTITION_H_

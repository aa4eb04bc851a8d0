#include "policy/partition.h"

#include <utility>

#include "absl/container/flat_hash_set.h"

namespace gatehouse::policy {
namespace {

class Partitioner {
 public:
  Partitioner(const Shape& shape, const std::vector<const Cube*>& cubes, BoxVisitor* visitor)
      : shape_(shape), cubes_(cubes), visitor_(visitor) {}

  void Split(const Cube& box, std::vector<uint32_t> idx) {
    if (visitor_->Done() || !visitor_->Enter(box, idx)) return;
    // The dimension on which the most cubes are partial.
    int best_dim = -1, best_caveat = -1, best = 0;
    for (int d = 0; d < kNumValueDims; ++d) {
      if (box.m[d].Count() < 2) continue;
      int partial = 0;
      for (uint32_t i : idx) partial += !box.m[d].SubsetOf(cubes_[i]->m[d]);
      if (partial > best) {
        best = partial;
        best_dim = d;
      }
    }
    // Caveats only once no value dimension is left to split: by then a
    // cube partial on a caveat is partial on nothing else, so one side of
    // the cut is wholly inside it (a forbid there settles that side at
    // once) and k caveats cost k cuts, not 2^k boxes.
    uint64_t open = best > 0 ? 0 : box.absent_ok & box.present_ok & shape_.CaveatsFull();
    for (; open; open &= open - 1) {
      const int c = __builtin_ctzll(open);
      const uint64_t bit = uint64_t{1} << c;
      int partial = 0;
      for (uint32_t i : idx) partial += !(cubes_[i]->absent_ok & cubes_[i]->present_ok & bit);
      if (partial > best) {
        best = partial;
        best_dim = -1;
        best_caveat = c;
      }
    }
    if (best == 0) {
      visitor_->Leaf(box, idx);
      return;
    }
    if (best_caveat >= 0) {
      SplitCaveat(box, idx, uint64_t{1} << best_caveat);
    } else {
      SplitValues(box, idx, best_dim);
    }
  }

 private:
  void SplitCaveat(const Cube& box, const std::vector<uint32_t>& idx, uint64_t bit) {
    for (const bool present : {false, true}) {
      Cube child = box;
      if (present) {
        child.absent_ok &= ~bit;
      } else {
        child.present_ok &= ~bit;
      }
      std::vector<uint32_t> in;
      for (uint32_t i : idx) {
        if ((present ? cubes_[i]->present_ok : cubes_[i]->absent_ok) & bit) in.push_back(i);
      }
      Split(child, std::move(in));
    }
  }

  void SplitValues(const Cube& box, const std::vector<uint32_t>& idx, int d) {
    // The atoms: the coarsest partition of the box's values that every
    // partial cube's value set is a union of.
    absl::flat_hash_set<ValueSet> seen;
    std::vector<ValueSet> blocks = {box.m[d]};
    for (uint32_t i : idx) {
      ValueSet m = cubes_[i]->m[d] & box.m[d];
      if (m == box.m[d] || !seen.insert(m).second) continue;
      const size_t n = blocks.size();
      for (size_t b = 0; b < n; ++b) {
        ValueSet inside = blocks[b] & m;
        if (inside.Empty() || inside == blocks[b]) continue;
        blocks[b].AndNot(m);
        blocks.push_back(std::move(inside));
      }
    }
    for (const ValueSet& block : blocks) {
      Cube child = box;
      child.m[d] = block;
      std::vector<uint32_t> in;
      for (uint32_t i : idx) {
        if (cubes_[i]->m[d].Intersects(block)) in.push_back(i);
      }
      Split(child, std::move(in));
    }
  }

  const Shape& shape_;
  const std::vector<const Cube*>& cubes_;
  BoxVisitor* visitor_;
};

}  // namespace

void PartitionSpace(const Shape& shape, const Cube& within,
                    const std::vector<const Cube*>& cubes, BoxVisitor* visitor) {
  if (within.Empty(shape)) return;
  std::vector<uint32_t> idx;
  for (uint32_t i = 0; i < cubes.size(); ++i) {
    if (Intersects(shape, *cubes[i], within)) idx.push_back(i);
  }
  Partitioner(shape, cubes, visitor).Split(within, std::move(idx));
}

void PartitionSpace(const Shape& shape, const Cube& within, const std::vector<Cube>& cubes,
                    BoxVisitor* visitor) {
  std::vector<const Cube*> pointers;
  pointers.reserve(cubes.size());
  for (const Cube& c : cubes) pointers.push_back(&c);
  PartitionSpace(shape, within, pointers, visitor);
}

}  // namespace gatehouse::policy

#include "policy/partition.h"

#include <array>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"

namespace gatehouse::policy {
namespace {

const Cube& At(const std::vector<Cube>& cubes, uint32_t i) { return cubes[i]; }
const Cube& At(const std::vector<const Cube*>& cubes, uint32_t i) { return *cubes[i]; }

// One refinement. The box being looked into is one Cube, cut and restored
// in place (a copy of a box with domains wider than 64 values allocates).
// The cubes meeting each box are a range of one stack of entries (index_,
// whole_, absent_, present_); a part's range is pushed on top of its
// box's and popped when the part is done. A cube that contains a box
// contains every part of it, so only the others (partial_: positions in
// the stack) are looked at again. Once the value dimensions are uniform,
// the cubes still partial differ from the box in caveats only, and the
// caveat masks kept beside each entry answer every question without
// reading the cube. Cubes: std::vector<Cube> or std::vector<const Cube*>.
template <typename Cubes>
class Partitioner {
 public:
  Partitioner(const Shape& shape, const Cubes& cubes, BoxVisitor* visitor)
      : shape_(shape), cubes_(cubes), visitor_(visitor) {}

  void Run(const Cube& within, const std::vector<uint32_t>& meeting) {
    skips_ = visitor_->Skips();
    box_ = within;
    for (uint32_t i : meeting) {
      const bool contains = Contains(At(cubes_, i), box_);
      if (contains && Skipped(i)) return;
      Push(i, contains);
    }
    Split(Range{0, index_.size(), 0, partial_.size()}, /*caveats_only=*/false);
  }

 private:
  // The entries of one box: index_[begin, end) and partial_[pbegin, pend).
  struct Range {
    size_t begin, end, pbegin, pend;
  };
  // An empty range at the top of the stack.
  Range Top() const {
    return Range{index_.size(), index_.size(), partial_.size(), partial_.size()};
  }

  bool Skipped(uint32_t i) const { return i < skips_.size() && skips_[i]; }

  void Push(uint32_t i, bool contains) {
    if (!contains) partial_.push_back(static_cast<uint32_t>(index_.size()));
    index_.push_back(i);
    whole_.push_back(contains);
    absent_.push_back(At(cubes_, i).absent_ok);
    present_.push_back(At(cubes_, i).present_ok);
  }
  void PushWhole(size_t k) {
    index_.push_back(index_[k]);
    whole_.push_back(1);
    absent_.push_back(absent_[k]);
    present_.push_back(present_[k]);
  }

  bool Enter(const Range& r) {
    return visitor_->EnterKnowingWhole(
        box_, absl::Span<const uint32_t>(index_.data() + r.begin, r.end - r.begin),
        absl::Span<const uint8_t>(whole_.data() + r.begin, r.end - r.begin));
  }

  // Looks into box_, met by the entries of `r`. `caveats_only`: no cube
  // is partial on a value dimension of it. Leaves box_ and the stack as
  // they were.
  void Split(const Range& r, bool caveats_only) {
    if (visitor_->Done() || !Enter(r)) return;
    const Range mark = Top();
    std::optional<Cube> saved;  // box_ before it was trimmed
    Look(r, caveats_only, &saved);
    PopTo(mark);
    if (saved) box_ = std::move(*saved);
  }

  void Look(Range r, bool caveats_only, std::optional<Cube>* saved) {
    for (;;) {
      if (r.pbegin == r.pend) {
        visitor_->Leaf(box_, absl::Span<const uint32_t>(index_.data() + r.begin,
                                                         r.end - r.begin));
        return;
      }
      // How many cubes are partial on each value dimension and caveat;
      // meanwhile, trim off what a Skips cube partial on one only covers.
      std::array<int, kNumValueDims> partial{};
      std::array<int, kMaxCaveats> partial_caveat{};
      std::array<bool, kNumValueDims> open{};
      for (int d = 0; d < kNumValueDims; ++d) open[d] = !caveats_only && box_.m[d].Count() >= 2;
      const uint64_t open_caveats = box_.absent_ok & box_.present_ok & shape_.CaveatsFull();
      bool trimmed = false;
      for (size_t p = r.pbegin; p < r.pend; ++p) {
        const size_t k = partial_[p];
        const uint32_t i = index_[k];
        int dims = 0, dim = -1;
        if (!caveats_only) {
          const Cube& c = At(cubes_, i);
          for (int d = 0; d < kNumValueDims; ++d) {
            if (open[d] && !box_.m[d].SubsetOf(c.m[d])) {
              ++partial[d];
              ++dims;
              dim = d;
            }
          }
        }
        const uint64_t bits = open_caveats & ~(absent_[k] & present_[k]);
        for (uint64_t m = bits; m; m &= m - 1) ++partial_caveat[__builtin_ctzll(m)];
        dims += __builtin_popcountll(bits);
        if (dims != 1 || !Skipped(i)) continue;
        // The cube contains the box but on `dim` (or one caveat): its part
        // of the box is the box cut there, and is skipped.
        if (!*saved) saved->emplace(box_);
        trimmed = true;
        if (dim >= 0) {
          box_.m[dim].AndNot(At(cubes_, i).m[dim]);
          if (box_.m[dim].Empty()) return;
        } else {
          box_.absent_ok &= ~(absent_[k] & bits);
          box_.present_ok &= ~(present_[k] & bits);
          if (!((box_.absent_ok | box_.present_ok) & bits)) return;
        }
      }
      if (trimmed) {
        // What meets the box now.
        const Range n = Top();
        for (size_t k = r.begin; k < r.end; ++k) {
          const uint32_t i = index_[k];
          if (whole_[k]) {
            PushWhole(k);
          } else if (Intersects(shape_, At(cubes_, i), box_)) {
            const bool contains = Contains(At(cubes_, i), box_);
            if (contains && Skipped(i)) return;
            Push(i, contains);
          }
        }
        r = Range{n.end, index_.size(), n.pend, partial_.size()};
        if (!Enter(r)) return;
        continue;
      }
      // The value dimension on which the most cubes are partial; caveats
      // only once no value dimension is left to split: by then a cube
      // partial on a caveat is partial on nothing else, so one side of
      // the cut is wholly inside it (a forbid there settles that side at
      // once) and k caveats cost k cuts, not 2^k boxes. The lowest of
      // equals.
      int best = 0, best_dim = -1, best_caveat = -1;
      for (int d = 0; d < kNumValueDims; ++d) {
        if (partial[d] > best) {
          best = partial[d];
          best_dim = d;
        }
      }
      if (best > 0) {
        SplitValues(r, best_dim);
        return;
      }
      for (uint64_t m = open_caveats; m; m &= m - 1) {
        const int c = __builtin_ctzll(m);
        if (partial_caveat[c] > best) {
          best = partial_caveat[c];
          best_caveat = c;
        }
      }
      if (best_caveat < 0) {  // (cannot be: a cube partial on the box is partial somewhere)
        visitor_->Leaf(box_, absl::Span<const uint32_t>(index_.data() + r.begin,
                                                         r.end - r.begin));
        return;
      }
      SplitCaveat(r, uint64_t{1} << best_caveat);
      return;
    }
  }

  // Pops what was pushed since `mark`.
  void PopTo(const Range& mark) {
    index_.resize(mark.end);
    whole_.resize(mark.end);
    absent_.resize(mark.end);
    present_.resize(mark.end);
    partial_.resize(mark.pend);
  }

  void SplitCaveat(const Range& r, uint64_t bit) {
    const uint64_t absent_ok = box_.absent_ok, present_ok = box_.present_ok;
    for (const bool present : {false, true}) {
      if (present) {
        box_.absent_ok = absent_ok & ~bit;
      } else {
        box_.present_ok = present_ok & ~bit;
      }
      const Range mark = Top();
      bool skipped = false;
      for (size_t k = r.begin; k < r.end && !skipped; ++k) {
        const uint32_t i = index_[k];
        if (whole_[k]) {
          PushWhole(k);
          continue;
        }
        const uint64_t a = absent_[k], p = present_[k];
        if (!((present ? p : a) & bit)) continue;  // misses this side
        // Whole in every value dimension: contains the part if its caveats do.
        const bool contains = (box_.absent_ok & ~a) == 0 && (box_.present_ok & ~p) == 0;
        skipped = contains && Skipped(i);
        if (!contains) partial_.push_back(static_cast<uint32_t>(index_.size()));
        index_.push_back(i);
        whole_.push_back(contains);
        absent_.push_back(a);
        present_.push_back(p);
      }
      if (!skipped) Split(Range{mark.end, index_.size(), mark.pend, partial_.size()}, true);
      PopTo(mark);
      box_.absent_ok = absent_ok;
      box_.present_ok = present_ok;
    }
  }

  void SplitValues(const Range& r, int d) {
    // A value dimension is cut once on a path: its scratch is its own.
    Scratch& s = scratch_[d];
    // The atoms: the coarsest partition of the box's values that every
    // partial cube's value set is a union of.
    s.saved = box_.m[d];
    s.seen.clear();
    size_t blocks = 0;
    auto add = [&](const ValueSet& v) {
      if (blocks < s.blocks.size()) {
        s.blocks[blocks] = v;
      } else {
        s.blocks.push_back(v);
      }
      ++blocks;
    };
    add(box_.m[d]);
    for (size_t p = r.pbegin; p < r.pend; ++p) {
      s.cut = At(cubes_, index_[partial_[p]]).m[d];
      s.cut &= box_.m[d];
      if (s.cut == box_.m[d] || !s.seen.insert(s.cut).second) continue;
      const size_t n = blocks;
      for (size_t b = 0; b < n; ++b) {
        s.inside = s.blocks[b];
        s.inside &= s.cut;
        if (s.inside.Empty() || s.inside == s.blocks[b]) continue;
        s.blocks[b].AndNot(s.cut);
        add(s.inside);
      }
    }
    // Which atoms each partial cube meets (a bit per atom), and whether it
    // holds the box in every other dimension and caveat: then it contains
    // each atom it meets (an atom it meets is inside it), so the parts need
    // not read it again.
    s.atom_of.resize(shape_.size[d]);
    for (size_t b = 0; b < blocks; ++b) {
      s.blocks[b].ForEach([&](int v) { s.atom_of[v] = static_cast<uint32_t>(b); });
    }
    const size_t words = (blocks + 63) / 64, partials = r.pend - r.pbegin;
    s.meets.assign(partials * words, 0);
    s.holds.assign(partials, 0);
    for (size_t p = 0; p < partials; ++p) {
      const Cube& c = At(cubes_, index_[partial_[r.pbegin + p]]);
      s.cut = c.m[d];
      s.cut &= box_.m[d];
      uint64_t* bits = &s.meets[p * words];
      s.cut.ForEach([&](int v) { bits[s.atom_of[v] / 64] |= uint64_t{1} << (s.atom_of[v] % 64); });
      s.holds[p] = HoldsBut(c, d);
    }
    for (size_t b = 0; b < blocks; ++b) {
      box_.m[d] = s.blocks[b];
      const Range mark = Top();
      bool skipped = false;
      size_t p = 0;  // partial_[r.pbegin + p] is the next entry not containing the box
      for (size_t k = r.begin; k < r.end && !skipped; ++k) {
        if (whole_[k]) {
          PushWhole(k);
          continue;
        }
        const size_t q = p++;
        if (!((s.meets[q * words + b / 64] >> (b % 64)) & 1)) continue;
        const bool contains = s.holds[q] != 0;
        skipped = contains && Skipped(index_[k]);
        Push(index_[k], contains);
      }
      if (!skipped) Split(Range{mark.end, index_.size(), mark.pend, partial_.size()}, false);
      PopTo(mark);
    }
    box_.m[d] = s.saved;
  }

  // True if `c` holds box_ in every value dimension but `d`, and in every
  // caveat.
  bool HoldsBut(const Cube& c, int d) const {
    if ((box_.absent_ok & ~c.absent_ok) != 0 || (box_.present_ok & ~c.present_ok) != 0) {
      return false;
    }
    for (int e = 0; e < kNumValueDims; ++e) {
      if (e != d && !box_.m[e].SubsetOf(c.m[e])) return false;
    }
    return true;
  }

  // Kept between cuts so that a cut allocates nothing once the stacks
  // have grown.
  struct Scratch {
    ValueSet saved, cut, inside;
    std::vector<ValueSet> blocks;  // the first `blocks` of a call are its atoms
    absl::flat_hash_set<ValueSet> seen;
    std::vector<uint32_t> atom_of;  // per value of the box: its atom
    std::vector<uint64_t> meets;    // per partial cube: a bit per atom it meets
    std::vector<uint8_t> holds;     // per partial cube: HoldsBut the dimension
  };

  const Shape& shape_;
  const Cubes& cubes_;
  BoxVisitor* visitor_;
  absl::Span<const uint8_t> skips_;
  Cube box_;
  // The stack of entries: a cube, whether it contains its box, its caveat
  // masks.
  std::vector<uint32_t> index_;
  std::vector<uint8_t> whole_;
  std::vector<uint64_t> absent_, present_;
  std::vector<uint32_t> partial_;  // positions of the entries not containing their box
  std::array<Scratch, kNumValueDims> scratch_;  // per dimension
};

template <typename Cubes>
void Partition(const Shape& shape, const Cube& within, const Cubes& cubes,
               const std::vector<uint32_t>* meeting, BoxVisitor* visitor) {
  if (within.Empty(shape)) return;
  if (meeting) {
    Partitioner<Cubes>(shape, cubes, visitor).Run(within, *meeting);
    return;
  }
  std::vector<uint32_t> idx;
  for (uint32_t i = 0; i < cubes.size(); ++i) {
    if (Intersects(shape, At(cubes, i), within)) idx.push_back(i);
  }
  Partitioner<Cubes>(shape, cubes, visitor).Run(within, idx);
}

}  // namespace

void PartitionSpace(const Shape& shape, const Cube& within,
                    const std::vector<const Cube*>& cubes, BoxVisitor* visitor) {
  Partition(shape, within, cubes, nullptr, visitor);
}

void PartitionSpace(const Shape& shape, const Cube& within, const std::vector<Cube>& cubes,
                    BoxVisitor* visitor) {
  Partition(shape, within, cubes, nullptr, visitor);
}

void PartitionSpace(const Shape& shape, const Cube& within, const std::vector<Cube>& cubes,
                    const std::vector<uint32_t>& meeting, BoxVisitor* visitor) {
  Partition(shape, within, cubes, &meeting, visitor);
}

}  // namespace gatehouse::policy

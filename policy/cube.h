// Sets of requests as unions of cubes, for exact analysis and compilation.
//
// The request space is the product of finite value dimensions (sender,
// recipient, record type, classification, purpose, originator, requester
// role, legal basis; each at most kMaxValues values) and one boolean
// dimension per caveat (at most
// kMaxCaveats). A Cube is a product of one value set per dimension; a Region
// is a union of cubes (not necessarily disjoint). Every operation here is
// exact. Plain values; thread-compatible.
//
// Example:
//   Shape s = ...;                        // from Domains::shape()
//   Cube c = Cube::Universe(s);
//   c.m[kDimPurpose] = ValueSet::Single(s.size[kDimPurpose], 2);
//   Region rest = SubtractRegions(s, Region{Cube::Universe(s)}, Region{c});
#ifndef GATEHOUSE_POLICY_CUBE_H_
#define GATEHOUSE_POLICY_CUBE_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"

namespace gatehouse::policy {

enum Dim { kDimSender = 0, kDimRecipient, kDimRecordType, kDimClassification,
           kDimPurpose, kDimOriginator, kDimRole, kDimLegalBasis, kNumValueDims };

// The dimensions bundles of format versions 1 and 2 carry (see
// PolicyCube in proto/gatehouse/v1/policy.proto).
inline constexpr int kNumBaseDims = 6;

// The most values a value dimension may have, and the most caveats.
inline constexpr int kMaxValues = 1024;
inline constexpr int kMaxCaveats = 64;

// A set of the values of one dimension, as a bitset (bit v: value v). Up to
// 64 values it is one inline word and never allocates; wider sets use
// ceil(size / 64) words. Sets combined by the operators must come from one
// dimension (the same number of words).
class ValueSet {
 public:
  ValueSet() : w_(1, 0) {}
  // The empty set of a dimension of `size` values.
  explicit ValueSet(int size) : w_(Words(size), 0) {}
  static ValueSet Full(int size);
  static ValueSet Single(int size, int value);
  // From the low bits of `bits` (only for dimensions of at most 64 values,
  // or the first 64 values of a wider one).
  static ValueSet FromWord(int size, uint64_t bits);

  bool Has(int v) const { return (w_[v >> 6] >> (v & 63)) & 1; }
  void Set(int v) { w_[v >> 6] |= uint64_t{1} << (v & 63); }
  void Reset(int v) { w_[v >> 6] &= ~(uint64_t{1} << (v & 63)); }
  bool Empty() const {
    for (uint64_t x : w_) {
      if (x) return false;
    }
    return true;
  }
  int Count() const;
  int First() const;  // the lowest value, or -1 if empty
  // Calls f(v) for each value, lowest first.
  template <typename F>
  void ForEach(F f) const {
    for (size_t i = 0; i < w_.size(); ++i) {
      for (uint64_t b = w_[i]; b; b &= b - 1) f(static_cast<int>(i * 64) + __builtin_ctzll(b));
    }
  }
  // Inline: the analysis and diff call these billions of times.
  bool SubsetOf(const ValueSet& o) const {
    const uint64_t* a = w_.data();
    const uint64_t* b = o.w_.data();
    const size_t n = w_.size(), m = o.w_.size();
    for (size_t i = 0; i < n; ++i) {
      if (a[i] & ~(i < m ? b[i] : 0)) return false;
    }
    return true;
  }
  bool Intersects(const ValueSet& o) const {
    const uint64_t* a = w_.data();
    const uint64_t* b = o.w_.data();
    const size_t n = std::min(w_.size(), o.w_.size());
    for (size_t i = 0; i < n; ++i) {
      if (a[i] & b[i]) return true;
    }
    return false;
  }

  ValueSet& operator&=(const ValueSet& o);
  ValueSet& operator|=(const ValueSet& o);
  ValueSet& AndNot(const ValueSet& o);  // *this &= ~o
  friend ValueSet operator&(ValueSet a, const ValueSet& b) { return a &= b; }
  friend ValueSet operator|(ValueSet a, const ValueSet& b) { return a |= b; }
  bool operator==(const ValueSet& o) const { return w_ == o.w_; }
  bool operator!=(const ValueSet& o) const { return !(w_ == o.w_); }

  int words() const { return static_cast<int>(w_.size()); }
  uint64_t word(int i) const { return w_[i]; }
  uint64_t& word(int i) { return w_[i]; }
  template <typename H>
  friend H AbslHashValue(H h, const ValueSet& s) {
    return H::combine_contiguous(std::move(h), s.w_.data(), s.w_.size());
  }

  static int Words(int size) { return size <= 64 ? 1 : (size + 63) / 64; }

 private:
  absl::InlinedVector<uint64_t, 1> w_;
};

// Sizes of the dimensions of one policy's request space.
struct Shape {
  std::array<int, kNumValueDims> size{};  // values per dimension, 0..kMaxValues
  int caveats = 0;                          // 0..kMaxCaveats

  ValueSet Full(int dim) const { return ValueSet::Full(size[dim]); }
  ValueSet None(int dim) const { return ValueSet(size[dim]); }
  ValueSet Single(int dim, int v) const { return ValueSet::Single(size[dim], v); }
  uint64_t CaveatsFull() const {
    return caveats >= 64 ? ~0ULL : ((1ULL << caveats) - 1);
  }
};

struct Cube {
  std::array<ValueSet, kNumValueDims> m;  // allowed values per dimension
  uint64_t absent_ok = 0;   // bit i: caveat i may be absent
  uint64_t present_ok = 0;  // bit i: caveat i may be present

  static Cube Universe(const Shape& shape);
  bool Empty(const Shape& shape) const;
  bool operator==(const Cube& o) const {
    return m == o.m && absent_ok == o.absent_ok && present_ok == o.present_ok;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Cube& c) {
    return H::combine(std::move(h), c.m, c.absent_ok, c.present_ok);
  }
};

using Region = std::vector<Cube>;

// Intersection of two cubes (may be Empty).
Cube Intersect(const Cube& a, const Cube& b);
// True if a and b share a cell.
bool Intersects(const Shape& shape, const Cube& a, const Cube& b);
// True if every cell of `inner` is in `outer`.
bool Contains(const Cube& outer, const Cube& inner);
// Appends a \ b to *out as disjoint cubes (at most one per dimension and
// caveat).
void Subtract(const Shape& shape, const Cube& a, const Cube& b, Region* out);

// Region operations. Results drop empty cubes and cubes contained in
// another cube of the result.
Region Union(const Region& a, const Region& b);
Region IntersectRegions(const Shape& shape, const Region& a, const Region& b);
Region SubtractRegions(const Shape& shape, const Region& a, const Region& b);
Region Complement(const Shape& shape, const Region& a);
bool IsEmpty(const Region& a);
// True if a ⊆ union of b (exact).
bool Covered(const Shape& shape, const Region& a, const Region& b);
// Removes empty cubes and cubes contained in another.
void Simplify(const Shape& shape, Region* r);
// Number of cells (caveat combinations counted), as a double.
double CellCount(const Shape& shape, const Region& disjoint_region);
// Rewrites a region as disjoint cubes covering the same cells.
Region Disjoint(const Shape& shape, const Region& a);
// Merges cubes of a disjoint region that differ in one dimension (or one
// caveat) into one, until no two do: the same cells in fewer cubes, for
// people to read. REQUIRES: the cubes are disjoint.
void MergeForReading(const Shape& shape, Region* r);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_CUBE_H_

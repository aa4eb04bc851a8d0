// Sets of requests as unions of cubes, for exact analysis and compilation.
//
// The request space is the product of six finite dimensions (sender,
// recipient, record type, classification, purpose, originator; each at most
// 64 values) and one boolean dimension per caveat (at most 64 caveats). A
// Cube is a product of one value set per dimension; a Region is a union of
// cubes (not necessarily disjoint). Every operation here is exact.
// Plain values; thread-compatible.
#ifndef GATEHOUSE_POLICY_CUBE_H_
#define GATEHOUSE_POLICY_CUBE_H_

#include <array>
#include <cstdint>
#include <vector>

namespace gatehouse::policy {

enum Dim { kDimSender = 0, kDimRecipient, kDimRecordType, kDimClassification,
           kDimPurpose, kDimOriginator, kNumValueDims };

// Sizes of the dimensions of one policy's request space.
struct Shape {
  std::array<int, kNumValueDims> size{};  // values per dimension, 1..64
  int caveats = 0;                          // 0..64

  uint64_t Full(int dim) const {
    return size[dim] >= 64 ? ~0ULL : ((1ULL << size[dim]) - 1);
  }
  uint64_t CaveatsFull() const {
    return caveats >= 64 ? ~0ULL : ((1ULL << caveats) - 1);
  }
};

struct Cube {
  std::array<uint64_t, kNumValueDims> m{};  // allowed values per dimension
  uint64_t absent_ok = 0;   // bit i: caveat i may be absent
  uint64_t present_ok = 0;  // bit i: caveat i may be present

  static Cube Universe(const Shape& shape);
  bool Empty(const Shape& shape) const;
  bool operator==(const Cube& o) const {
    return m == o.m && absent_ok == o.absent_ok && present_ok == o.present_ok;
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
// Number of cells (caveat combinations counted), saturating at 2^63.
double CellCount(const Shape& shape, const Region& disjoint_region);
// Rewrites a region as disjoint cubes covering the same cells.
Region Disjoint(const Shape& shape, const Region& a);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_CUBE_H_

// Finds the cubes of a set that meet a given cube without comparing it
// with every one. Each cube is listed under each record type it allows
// (or under "any type" if it allows more than half of them) and, within
// that, under each value of its most selective other dimension (the one
// where it allows the smallest share of values; or under "any" if it allows
// at least half in every one). A cube that meets the query shares a value
// with it in every dimension, so it is in one of the lists looked up:
// the lists of the query's types and "any type", and in each of those the
// lists of the query's values in every dimension and "any". Each candidate
// is then checked exactly. Immutable after construction; Meeting is
// thread-compatible (it reuses scratch space).
//
// Example:
//   CubeIndex index(shape, cubes);
//   for (uint32_t i : index.Meeting(rule_cube)) ...   // cubes[i] meets it
#ifndef GATEHOUSE_POLICY_CUBE_INDEX_H_
#define GATEHOUSE_POLICY_CUBE_INDEX_H_

#include <array>
#include <cstdint>
#include <vector>

#include "policy/cube.h"

namespace gatehouse::policy {

class CubeIndex {
 public:
  // Keeps a reference to `cubes`, which must outlive the index.
  CubeIndex(const Shape& shape, const std::vector<Cube>& cubes);

  // Indices of the cubes that share a cell with `c`, increasing.
  std::vector<uint32_t> Meeting(const Cube& c) const;

 private:
  // Lists for one record type (or "any type").
  struct ByType {
    std::array<std::vector<std::vector<uint32_t>>, kNumValueDims> by_value;
    std::vector<uint32_t> any;  // no selective dimension
  };
  void Add(ByType* t, uint32_t i);
  void Look(const ByType& t, const Cube& c, std::vector<uint32_t>* out) const;

  Shape shape_;
  const std::vector<Cube>& cubes_;
  std::vector<ByType> by_type_;  // [type], then "any type" last
  mutable std::vector<uint32_t> seen_;  // stamp per cube
  mutable uint32_t stamp_ = 0;
};

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_CUBE_INDEX_H_

#include "policy/cube_index.h"

#include <algorithm>

namespace gatehouse::policy {

CubeIndex::CubeIndex(const Shape& shape, const std::vector<Cube>& cubes)
    : shape_(shape), cubes_(cubes), by_type_(shape.size[kDimRecordType] + 1),
      seen_(cubes.size(), 0) {
  for (ByType& t : by_type_) {
    for (int d = 0; d < kNumValueDims; ++d) {
      if (d != kDimRecordType) t.by_value[d].resize(shape.size[d]);
    }
  }
  const int types = shape.size[kDimRecordType];
  for (uint32_t i = 0; i < cubes.size(); ++i) {
    const ValueSet& t = cubes[i].m[kDimRecordType];
    if (2 * t.Count() > types) {
      Add(&by_type_.back(), i);
      continue;
    }
    t.ForEach([&](int v) {
      if (v < types) Add(&by_type_[v], i);
    });
  }
}

void CubeIndex::Add(ByType* t, uint32_t i) {
  const Cube& c = cubes_[i];
  int best = -1;
  double share = 0.5;
  for (int d = 0; d < kNumValueDims; ++d) {
    if (d == kDimRecordType || shape_.size[d] < 2) continue;
    const double s = static_cast<double>(c.m[d].Count()) / shape_.size[d];
    if (s < share) {
      share = s;
      best = d;
    }
  }
  if (best < 0) {
    t->any.push_back(i);
    return;
  }
  c.m[best].ForEach([&](int v) {
    if (v < static_cast<int>(t->by_value[best].size())) t->by_value[best][v].push_back(i);
  });
}

void CubeIndex::Look(const ByType& t, const Cube& c, std::vector<uint32_t>* out) const {
  auto consider = [&](uint32_t i) {
    if (seen_[i] == stamp_) return;
    seen_[i] = stamp_;
    if (Intersects(shape_, cubes_[i], c)) out->push_back(i);
  };
  for (uint32_t i : t.any) consider(i);
  for (int d = 0; d < kNumValueDims; ++d) {
    const auto& lists = t.by_value[d];
    if (lists.empty()) continue;
    c.m[d].ForEach([&](int v) {
      if (v < static_cast<int>(lists.size())) {
        for (uint32_t i : lists[v]) consider(i);
      }
    });
  }
}

std::vector<uint32_t> CubeIndex::Meeting(const Cube& c) const {
  std::vector<uint32_t> out;
  if (++stamp_ == 0) {
    std::fill(seen_.begin(), seen_.end(), 0);
    stamp_ = 1;
  }
  Look(by_type_.back(), c, &out);
  const int types = static_cast<int>(by_type_.size()) - 1;
  c.m[kDimRecordType].ForEach([&](int v) {
    if (v < types) Look(by_type_[v], c, &out);
  });
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace gatehouse::policy

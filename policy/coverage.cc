#include "policy/coverage.h"

#include "policy/partition.h"

namespace gatehouse::policy {
namespace {

// Marks the (sender sector, recipient sector, record type) triples an
// allowed box touches; skips boxes that can add nothing.
class ReachVisitor : public BoxVisitor {
 public:
  ReachVisitor(const Domains& d, const std::vector<Cube>& cubes, const std::vector<bool>& deny)
      : cubes_(cubes), deny_(deny) {
    const Shape s = d.shape();
    const size_t n = d.sectors.size();
    orgs_.assign(n, s.None(kDimSender));
    for (size_t o = 0; o < d.organisations.size(); ++o) {
      const int sector = d.organisations[o].sector;
      if (sector >= 0 && sector < static_cast<int>(n)) orgs_[sector].Set(static_cast<int>(o));
    }
    unreached_.assign(n * n, s.None(kDimRecordType));
    for (size_t a = 0; a < n; ++a) {
      for (size_t b = 0; b < n; ++b) {
        if (!orgs_[a].Empty() && !orgs_[b].Empty()) {
          unreached_[a * n + b] = s.Full(kDimRecordType);
          ++open_;
        }
      }
    }
  }

  bool Enter(const Cube& box, absl::Span<const uint32_t> idx) override {
    bool permit = false;
    for (uint32_t i : idx) {
      if (!deny_[i]) {
        permit = true;
      } else if (Contains(cubes_[i], box)) {
        return false;  // forbidden, or a write-down, throughout
      }
    }
    return permit && Touches(box, /*mark=*/false);
  }

  void Leaf(const Cube& box, absl::Span<const uint32_t> idx) override {
    for (uint32_t i : idx) {
      if (deny_[i]) return;
    }
    Touches(box, /*mark=*/true);
  }

  bool Done() const override { return open_ == 0; }

  const ValueSet& unreached(size_t a, size_t b) const {
    return unreached_[a * orgs_.size() + b];
  }

 private:
  // True if the box touches a triple not yet reached; with `mark`, marks
  // every triple it touches as reached.
  bool Touches(const Cube& box, bool mark) {
    const size_t n = orgs_.size();
    bool any = false;
    for (size_t a = 0; a < n; ++a) {
      if (!orgs_[a].Intersects(box.m[kDimSender])) continue;
      for (size_t b = 0; b < n; ++b) {
        ValueSet& open = unreached_[a * n + b];
        if (!open.Intersects(box.m[kDimRecordType]) ||
            !orgs_[b].Intersects(box.m[kDimRecipient])) {
          continue;
        }
        if (!mark) return true;
        open.AndNot(box.m[kDimRecordType]);
        open_ -= open.Empty();
        any = true;
      }
    }
    return any;
  }

  const std::vector<Cube>& cubes_;
  const std::vector<bool>& deny_;
  std::vector<ValueSet> orgs_;       // per sector, its organisations
  std::vector<ValueSet> unreached_;  // per sector pair, record types not reached
  size_t open_ = 0;                  // pairs with a type not reached
};

}  // namespace

std::vector<UnreachedFlow> UnreachedFlows(const Model& model) {
  const Domains& d = model.domains;
  const Shape shape = d.shape();
  std::vector<Cube> cubes;
  std::vector<bool> deny;
  for (const Rule& r : model.rules) {
    for (const Cube& c : r.region) {
      cubes.push_back(c);
      deny.push_back(r.forbid);
    }
  }
  for (const Cube& c : d.WriteDownRegion()) {
    cubes.push_back(c);
    deny.push_back(true);
  }
  ReachVisitor visitor(d, cubes, deny);
  if (!d.classifications.empty()) PartitionSpace(shape, Cube::Universe(shape), cubes, &visitor);
  std::vector<UnreachedFlow> out;
  const size_t n = d.sectors.size();
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = 0; b < n; ++b) {
      UnreachedFlow f{d.sectors[a], d.sectors[b], {}};
      visitor.unreached(a, b).ForEach([&](int t) { f.record_types.push_back(d.record_types[t]); });
      if (!f.record_types.empty()) out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace gatehouse::policy

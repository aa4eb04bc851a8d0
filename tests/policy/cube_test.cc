// The set algebra behind the analysis is exact: checked against brute-force
// enumeration of every cell of a small request space, and the allowed
// region agrees with the engine on every generated request.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "policy/cube.h"
#include "policy/describe.h"
#include "policy/partition.h"
#include "tests/policy/cedar_requests.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

Shape SmallShape() {
  Shape s;
  s.size = {3, 2, 2, 3, 2, 2, 2, 1};
  s.caveats = 2;
  return s;
}

// Enumerates every cell of `s` as (value per dim, caveat mask).
template <typename F>
void ForEachCell(const Shape& s, F f) {
  std::array<int, kNumValueDims> v{};
  for (;;) {
    for (uint64_t cav = 0; cav < (1ULL << s.caveats); ++cav) f(v, cav);
    int d = 0;
    while (d < kNumValueDims && ++v[d] == s.size[d]) v[d++] = 0;
    if (d == kNumValueDims) return;
  }
}

bool In(const Cube& c, const std::array<int, kNumValueDims>& v, uint64_t cav) {
  for (int d = 0; d < kNumValueDims; ++d) {
    if (!c.m[d].Has(v[d])) return false;
  }
  return (cav & ~c.present_ok) == 0 && (~cav & ~c.absent_ok & 3) == 0;
}

bool InRegion(const Region& r, const std::array<int, kNumValueDims>& v, uint64_t cav) {
  for (const Cube& c : r) {
    if (In(c, v, cav)) return true;
  }
  return false;
}

Cube RandomCube(const Shape& s, Mulberry32& rnd) {
  Cube c;
  for (int d = 0; d < kNumValueDims; ++d) {
    c.m[d] = s.None(d);
    for (int v = 0; v < s.size[d]; ++v) {
      if (rnd.Next() < 0.5) c.m[d].Set(v);
    }
    c.m[d].Set(static_cast<int>(rnd.Next() * s.size[d]));
    if (rnd.Next() < 0.5) c.m[d] = s.Full(d);
  }
  c.absent_ok = static_cast<uint64_t>(rnd.Next() * 4);
  c.present_ok = static_cast<uint64_t>(rnd.Next() * 4) | (~c.absent_ok & 3);
  return c;
}

void CheckAgainstEnumeration(const Shape& s, int trials) {
  Mulberry32 rnd(1);
  for (int trial = 0; trial < trials; ++trial) {
    Region a{RandomCube(s, rnd), RandomCube(s, rnd)};
    Region b{RandomCube(s, rnd), RandomCube(s, rnd), RandomCube(s, rnd)};
    const Region diff = SubtractRegions(s, a, b);
    const Region inter = IntersectRegions(s, a, b);
    const Region comp = Complement(s, a);
    bool covered = true;
    double count = 0;
    ForEachCell(s, [&](const auto& v, uint64_t cav) {
      const bool ia = InRegion(a, v, cav), ib = InRegion(b, v, cav);
      ASSERT_EQ(InRegion(diff, v, cav), ia && !ib);
      ASSERT_EQ(InRegion(inter, v, cav), ia && ib);
      ASSERT_EQ(InRegion(comp, v, cav), !ia);
      if (ia && !ib) covered = false;
      count += ia;
    });
    EXPECT_EQ(Covered(s, a, b), covered);
    EXPECT_EQ(CellCount(s, Disjoint(s, a)), count);
  }
}

TEST(PolicyCube, SubtractAndCoveredMatchEnumeration) { CheckAgainstEnumeration(SmallShape(), 300); }

// Issue 20, point 9: a national directory has hundreds of organisations.
// A dimension of 130 values takes three words; the algebra stays exact.
TEST(PolicyCube, ADimensionWiderThan64ValuesStaysExact) {
  Shape s = SmallShape();
  s.size[0] = 130;
  CheckAgainstEnumeration(s, 60);
}

TEST(PolicyCube, ValueSetsWiderThanOneWord) {
  ValueSet a(300), b = ValueSet::Full(300);
  EXPECT_EQ(a.words(), 5);
  EXPECT_TRUE(a.Empty());
  EXPECT_EQ(b.Count(), 300);
  a.Set(0);
  a.Set(299);
  EXPECT_EQ(a.First(), 0);
  EXPECT_TRUE(a.SubsetOf(b));
  EXPECT_FALSE(b.SubsetOf(a));
  b.AndNot(a);
  EXPECT_EQ(b.Count(), 298);
  EXPECT_FALSE(b.Has(299));
  EXPECT_FALSE(a.Intersects(b));
  std::vector<int> values;
  a.ForEach([&](int v) { values.push_back(v); });
  EXPECT_EQ(values, (std::vector<int>{0, 299}));
  EXPECT_EQ(ValueSet::Full(64).words(), 1);
  EXPECT_EQ(ValueSet::Full(65).words(), 2);
}

// Keeps every box a partition reports, with its cubes; skips what the
// cubes marked in `skip` contain.
struct CollectLeaves : BoxVisitor {
  std::vector<uint8_t> skip;
  std::vector<std::pair<Cube, std::vector<uint32_t>>> leaves;
  absl::Span<const uint8_t> Skips() const override { return skip; }
  void Leaf(const Cube& box, absl::Span<const uint32_t> in) override {
    leaves.emplace_back(box, std::vector<uint32_t>(in.begin(), in.end()));
  }
};

// Every cell lies in exactly one box of the partition, and the cubes the
// box reports are exactly the cubes that contain the cell.
TEST(PolicyPartition, BoxesAreDisjointCoverTheSpaceAndAreUniform) {
  for (const bool wide : {false, true}) {
    Shape s = SmallShape();
    if (wide) s.size[2] = 70;
    Mulberry32 rnd(5);
    for (int trial = 0; trial < 40; ++trial) {
      std::vector<Cube> cubes;
      const int n = 1 + static_cast<int>(rnd.Next() * 7);
      for (int i = 0; i < n; ++i) cubes.push_back(RandomCube(s, rnd));
      CollectLeaves collect;
      PartitionSpace(s, Cube::Universe(s), cubes, &collect);
      ForEachCell(s, [&](const auto& v, uint64_t cav) {
        int found = 0;
        for (const auto& [box, in] : collect.leaves) {
          if (!In(box, v, cav)) continue;
          ++found;
          std::vector<uint32_t> want;
          for (uint32_t i = 0; i < cubes.size(); ++i) {
            if (In(cubes[i], v, cav)) want.push_back(i);
          }
          ASSERT_EQ(in, want);
        }
        ASSERT_EQ(found, 1);
      });
    }
  }
}

// A visitor's Skips cubes (forbids, to the diff) are taken out: the
// partition skips a box one contains and trims off the part of a box that
// one cuts on a single dimension or caveat. What is left is partitioned as
// before: every cell outside the skipped cubes is in exactly one box, with
// exactly the cubes holding it; no cell inside one is in any box.
TEST(PolicyPartition, SkippedCubesAreTakenOutExactly) {
  for (const bool wide : {false, true}) {
    Shape s = SmallShape();
    if (wide) s.size[2] = 70;
    Mulberry32 rnd(11);
    for (int trial = 0; trial < 60; ++trial) {
      std::vector<Cube> cubes;
      std::vector<uint8_t> skips;
      const int n = 2 + static_cast<int>(rnd.Next() * 7);
      for (int i = 0; i < n; ++i) {
        Cube c = RandomCube(s, rnd);
        if (rnd.Next() < 0.5) {
          // All of the space but one dimension or caveat: trimmed off.
          const int d = static_cast<int>(rnd.Next() * (kNumValueDims + s.caveats));
          Cube one = Cube::Universe(s);
          if (d < kNumValueDims) {
            one.m[d] = c.m[d];
          } else {
            const uint64_t bit = uint64_t{1} << (d - kNumValueDims);
            one.absent_ok &= rnd.Next() < 0.5 ? ~bit : ~uint64_t{0};
            one.present_ok &= (one.absent_ok & bit) ? ~bit : ~uint64_t{0};
          }
          c = one;
        }
        cubes.push_back(c);
        skips.push_back(rnd.Next() < 0.4);
      }
      CollectLeaves collect;
      collect.skip = skips;
      PartitionSpace(s, Cube::Universe(s), cubes, &collect);
      ForEachCell(s, [&](const auto& v, uint64_t cav) {
        std::vector<uint32_t> want;
        bool skipped = false;
        for (uint32_t i = 0; i < cubes.size(); ++i) {
          if (!In(cubes[i], v, cav)) continue;
          want.push_back(i);
          skipped |= skips[i] != 0;
        }
        int found = 0;
        for (const auto& [box, in] : collect.leaves) {
          if (!In(box, v, cav)) continue;
          ++found;
          ASSERT_EQ(in, want);
        }
        ASSERT_EQ(found, skipped ? 0 : 1) << "trial " << trial;
      });
    }
  }
}

TEST(PolicyCube, AllowedRegionAgreesWithEngineOnEveryRequest) {
  std::string text;
  ASSERT_TRUE(ReadFileToString(SourcePath("policy/examples/interorg.ghp"), &text));
  Compiled c = CompileText(text);
  ASSERT_FALSE(HasErrors(c.diagnostics));
  const Engine e = *Engine::FromModel(c.model);
  const Region allowed = AllowedRegion(c.model);
  const Shape s = c.model.domains.shape();
  for (const PeerRequest& p : GenerateRequests(5000, 11)) {
    ResolvedRequest r;
    Decision denial;
    ASSERT_TRUE(e.Resolve(p.AsRequest(), &r, &denial));
    const Cube cell = CellCube(c.model.domains, r);
    ASSERT_EQ(Covered(s, Region{cell}, allowed), e.EvaluateResolved(r).allowed);
  }
}

}  // namespace
}  // namespace gatehouse::policy::testing

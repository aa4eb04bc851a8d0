// The set algebra behind the analysis is exact: checked against brute-force
// enumeration of every cell of a small request space, and the allowed
// region agrees with the engine on every generated request.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "policy/cube.h"
#include "tests/policy/cedar_requests.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

Shape SmallShape() {
  Shape s;
  s.size = {3, 2, 2, 3, 2, 2};
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
    if (!((c.m[d] >> v[d]) & 1)) return false;
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
    c.m[d] = static_cast<uint64_t>(rnd.Next() * (1 << s.size[d])) | 1;
    if (rnd.Next() < 0.5) c.m[d] = s.Full(d);
  }
  c.absent_ok = static_cast<uint64_t>(rnd.Next() * 4);
  c.present_ok = static_cast<uint64_t>(rnd.Next() * 4) | (~c.absent_ok & 3);
  return c;
}

TEST(PolicyCube, SubtractAndCoveredMatchEnumeration) {
  const Shape s = SmallShape();
  Mulberry32 rnd(1);
  for (int trial = 0; trial < 300; ++trial) {
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
    Cube cell;
    cell.m = {1ULL << r.sender, 1ULL << r.recipient, 1ULL << r.record_type,
              1ULL << r.classification, 1ULL << r.purpose, 1ULL << r.originator};
    cell.present_ok = r.caveats;
    cell.absent_ok = s.CaveatsFull() & ~r.caveats;
    ASSERT_EQ(Covered(s, Region{cell}, allowed), e.EvaluateResolved(r).allowed);
  }
}

}  // namespace
}  // namespace gatehouse::policy::testing

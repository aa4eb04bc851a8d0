// UnreachedFlows is exact: it agrees with intersecting each sector pair
// and record type with the allowed region, the way it was computed before
// (which did not finish in 300 s on 10,000 rules; policy_compile_bench
// times the new way).
#include "policy/coverage.h"

#include "gtest/gtest.h"
#include "policy/analyzer.h"
#include "tests/policy/policy_generator.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

Model MustCompile(const std::string& text) {
  Compiled c = CompileText(text);
  EXPECT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  return c.model;
}

// The old way: one intersection of the allowed region per combination.
std::vector<UnreachedFlow> Slow(const Model& m) {
  const Domains& d = m.domains;
  const Shape s = d.shape();
  const Region allowed = AllowedRegion(m);
  std::vector<UnreachedFlow> out;
  for (size_t a = 0; a < d.sectors.size(); ++a) {
    for (size_t b = 0; b < d.sectors.size(); ++b) {
      ValueSet so = s.None(kDimSender), ro = s.None(kDimRecipient);
      for (size_t o = 0; o < d.organisations.size(); ++o) {
        if (d.organisations[o].sector == static_cast<int>(a)) so.Set(static_cast<int>(o));
        if (d.organisations[o].sector == static_cast<int>(b)) ro.Set(static_cast<int>(o));
      }
      if (so.Empty() || ro.Empty()) continue;
      UnreachedFlow f{d.sectors[a], d.sectors[b], {}};
      for (size_t t = 0; t < d.record_types.size(); ++t) {
        Cube c = Cube::Universe(s);
        c.m[kDimSender] = so;
        c.m[kDimRecipient] = ro;
        c.m[kDimRecordType] = s.Single(kDimRecordType, static_cast<int>(t));
        if (IntersectRegions(s, Region{c}, allowed).empty()) {
          f.record_types.push_back(d.record_types[t]);
        }
      }
      if (!f.record_types.empty()) out.push_back(std::move(f));
    }
  }
  return out;
}

bool operator==(const UnreachedFlow& x, const UnreachedFlow& y) {
  return x.sender_sector == y.sender_sector && x.recipient_sector == y.recipient_sector &&
         x.record_types == y.record_types;
}

TEST(PolicyCoverage, AgreesWithTheAllowedRegionOnAGeneratedPolicy) {
  GeneratorOptions o;
  o.rules = 150;
  o.organisations = 20;
  o.record_types = 10;
  o.purposes = 5;
  const Model m = MustCompile(GeneratePolicy(o));
  const std::vector<UnreachedFlow> fast = UnreachedFlows(m), slow = Slow(m);
  ASSERT_FALSE(slow.empty());
  ASSERT_EQ(fast.size(), slow.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    EXPECT_TRUE(fast[i] == slow[i]) << fast[i].sender_sector << " -> " << fast[i].recipient_sector;
  }
}

TEST(PolicyCoverage, AForbidEverywhereLeavesEveryCombinationUnreached) {
  const Model m = MustCompile(
      "policy p\nclassifications A\nsectors s, t\nrecord types r1, r2\npurposes x\n"
      "organisation o1 sector s accredited A\norganisation o2 sector t accredited A\n"
      "permit P when record type is r1\nforbid F when recipient sector is t\n");
  const std::vector<UnreachedFlow> f = UnreachedFlows(m);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].sender_sector, "s");
  EXPECT_EQ(f[0].recipient_sector, "s");
  EXPECT_EQ(f[0].record_types, std::vector<std::string>{"r2"});
  EXPECT_EQ(f[1].recipient_sector, "t");
  EXPECT_EQ(f[1].record_types, (std::vector<std::string>{"r1", "r2"}));
}

}  // namespace
}  // namespace gatehouse::policy::testing

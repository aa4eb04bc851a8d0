// Differential test against the Cedar peer: the 53 rules re-expressed in
// policy/examples/interorg.ghp must decide every generated request exactly
// as Cedar 4.13 decides the original policies.cedar. Cedar's decisions for
// the first 20000 requests are checked in (regenerate with
// regen_cedar_decisions.sh); for N = 100000 the README of the peer gives the
// FNV-1a fingerprint 97ce0f91 (22058 allows).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/policy/cedar_requests.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

constexpr uint32_t kSeed = 20240901;

Engine InterorgEngine() {
  std::string text;
  EXPECT_TRUE(ReadFileToString(SourcePath("policy/examples/interorg.ghp"), &text));
  Compiled c = CompileText(text);
  EXPECT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  auto engine = Engine::FromModel(c.model);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return *std::move(engine);
}

std::string CedarDecisions() {
  std::string text, digits;
  EXPECT_TRUE(ReadFileToString(
      SourcePath("tests/policy/testdata/cedar_decisions_seed20240901_n20000.txt"),
      &text));
  bool comment = false;
  for (char c : text) {
    if (c == '#') comment = true;
    if (c == '\n') comment = false;
    if (!comment && (c == '0' || c == '1')) digits.push_back(c);
  }
  return digits;
}

TEST(PolicyCedarDifferential, Mulberry32MatchesJavaScript) {
  // The raw 32-bit outputs for seed 20240901, from node:
  //   node -e 'function m(a){return function(){a=(a+0x6d2b79f5)>>>0;let t=a;
  //     t=Math.imul(t^(t>>>15),t|1);t^=t+Math.imul(t^(t>>>7),t|61);
  //     return ((t^(t>>>14))>>>0)}}; const r=m(20240901);
  //     console.log(r(), r(), r())'
  //   2427989250 2351920578 3267794978
  Mulberry32 r(kSeed);
  EXPECT_EQ(r.Next(), 2427989250.0 / 4294967296.0);
  EXPECT_EQ(r.Next(), 2351920578.0 / 4294967296.0);
  EXPECT_EQ(r.Next(), 3267794978.0 / 4294967296.0);
}

TEST(PolicyCedarDifferential, EveryDecisionEqualsCedarOnFirst20000) {
  const Engine engine = InterorgEngine();
  const std::string cedar = CedarDecisions();
  ASSERT_EQ(cedar.size(), 20000u);
  const std::vector<PeerRequest> requests = GenerateRequests(20000, kSeed);
  int mismatches = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const Decision d = engine.Evaluate(requests[i].AsRequest());
    const bool cedar_allows = cedar[i] == '1';
    if (d.allowed != cedar_allows && ++mismatches <= 5) {
      ADD_FAILURE() << "request " << i << ": " << requests[i].sender << " -> "
                    << requests[i].recipient << " " << requests[i].record_type
                    << " class " << requests[i].classification << " purpose "
                    << requests[i].purpose << ": we "
                    << (d.allowed ? "allow" : "deny") << " (" << d.reason
                    << "), Cedar " << (cedar_allows ? "allows" : "denies");
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(PolicyCedarDifferential, FingerprintOf100000MatchesPeerReadme) {
  const Engine engine = InterorgEngine();
  const std::vector<PeerRequest> requests = GenerateRequests(100000, kSeed);
  std::vector<uint8_t> decisions;
  int allows = 0;
  for (const PeerRequest& r : requests) {
    const bool allowed = engine.Evaluate(r.AsRequest()).allowed;
    decisions.push_back(allowed ? 1 : 0);
    allows += allowed;
  }
  EXPECT_EQ(allows, 22058);
  EXPECT_EQ(DecisionFingerprint(decisions), 0x97ce0f91u);
}

}  // namespace
}  // namespace gatehouse::policy::testing

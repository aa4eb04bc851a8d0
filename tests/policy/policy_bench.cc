// Benchmark (not a test): decisions per second of the policy engine on the
// Cedar peer's request mix (seed 20240901), one core. Prints figures and one
// JSON line. Two arms: labels already resolved to indices (what a gateway
// does once per record before evaluating) and full Evaluate from strings.
//
//   policy_bench [--n 100000] [--reps 50]
// See docs/benchmarks/policy.md and side_by_side.sh.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/policy/cedar_requests.h"
#include "tests/policy/test_util.h"

using gatehouse::policy::Decision;
using gatehouse::policy::Engine;
using gatehouse::policy::ResolvedRequest;
using namespace gatehouse::policy::testing;

int main(int argc, char** argv) {
  int n = 100000, reps = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--n")) n = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
  }
  std::string text;
  if (!ReadFileToString(SourcePath("policy/examples/interorg.ghp"), &text)) {
    std::fprintf(stderr, "cannot read policy/examples/interorg.ghp\n");
    return 1;
  }
  Compiled c = CompileText(text);
  if (HasErrors(c.diagnostics)) {
    std::fprintf(stderr, "%s", c.Dump().c_str());
    return 1;
  }
  auto engine_or = Engine::FromModel(c.model);
  if (!engine_or.ok()) return 1;
  const Engine& engine = *engine_or;
  const std::vector<PeerRequest> reqs = GenerateRequests(n, 20240901);
  std::vector<ResolvedRequest> resolved(n);
  for (int i = 0; i < n; ++i) {
    Decision denial;
    if (!engine.Resolve(reqs[i].AsRequest(), &resolved[i], &denial)) return 1;
  }
  std::vector<uint8_t> decisions(n);
  using Clock = std::chrono::steady_clock;
  // Warm-up and decision check.
  for (int i = 0; i < n; ++i) decisions[i] = engine.EvaluateResolved(resolved[i]).allowed;
  const uint32_t fp = DecisionFingerprint(decisions);

  long long allows = 0;
  auto t0 = Clock::now();
  for (int r = 0; r < reps; ++r) {
    for (int i = 0; i < n; ++i) allows += engine.EvaluateResolved(resolved[i]).allowed;
  }
  const double resolved_ns =
      std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
      (double(n) * reps);

  std::vector<gatehouse::policy::Request> requests;
  requests.reserve(n);
  for (const PeerRequest& p : reqs) requests.push_back(p.AsRequest());
  const int sreps = reps / 5 > 0 ? reps / 5 : 1;
  t0 = Clock::now();
  for (int r = 0; r < sreps; ++r) {
    for (int i = 0; i < n; ++i) allows += engine.Evaluate(requests[i]).allowed;
  }
  const double strings_ns =
      std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
      (double(n) * sreps);

  // The same rules and requests with 250 more organisations declared (a
  // national directory): domains wider than 64 values, so multi-word sets.
  double wide_ns = 0;
  {
    std::string wide_text = text;
    for (int o = 0; o < 250; ++o) {
      absl::StrAppend(&wide_text, "\norganisation directory-", o, " sector ",
                      c.model.domains.sectors[o % c.model.domains.sectors.size()],
                      " accredited OFFICIAL\n");
    }
    Compiled wide = CompileText(wide_text);
    auto wide_engine = Engine::FromModel(wide.model);
    if (HasErrors(wide.diagnostics) || !wide_engine.ok()) {
      std::fprintf(stderr, "wide policy: %s", wide.Dump().c_str());
      return 1;
    }
    std::vector<ResolvedRequest> wide_resolved(n);
    std::vector<uint8_t> wide_decisions(n);
    for (int i = 0; i < n; ++i) {
      Decision denial;
      if (!wide_engine->Resolve(reqs[i].AsRequest(), &wide_resolved[i], &denial)) return 1;
      wide_decisions[i] = wide_engine->EvaluateResolved(wide_resolved[i]).allowed;
    }
    if (DecisionFingerprint(wide_decisions) != fp) {
      std::fprintf(stderr, "wide policy decides differently\n");
      return 1;
    }
    t0 = Clock::now();
    for (int r = 0; r < reps; ++r) {
      for (int i = 0; i < n; ++i) allows += wide_engine->EvaluateResolved(wide_resolved[i]).allowed;
    }
    wide_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
              (double(n) * reps);
  }

  size_t cubes = 0;
  for (const auto& rule : c.model.rules) cubes += rule.region.size();
  std::printf("gatehouse policy engine: %zu rules (%zu cubes), N=%d "
              "seed=20240901, fingerprint %08x\n", c.model.rules.size(), cubes,
              n, fp);
  std::printf("resolved requests: %.0f decisions/s, %.1f ns/decision\n",
              1e9 / resolved_ns, resolved_ns);
  std::printf("from strings (Resolve + Evaluate): %.0f decisions/s, %.1f "
              "ns/decision\n", 1e9 / strings_ns, strings_ns);
  std::printf("wide domains (%zu organisations, same rules and decisions), resolved: %.0f "
              "decisions/s, %.1f ns/decision\n",
              c.model.domains.organisations.size() + 250, 1e9 / wide_ns, wide_ns);
  std::printf("{\"engine\":\"gatehouse\",\"n\":%d,\"fingerprint\":\"%08x\","
              "\"resolvedDecisionsPerSec\":%.0f,\"resolvedNsPerDecision\":%.2f,"
              "\"stringDecisionsPerSec\":%.0f,\"stringNsPerDecision\":%.2f,"
              "\"checksum\":%lld}\n",
              n, fp, 1e9 / resolved_ns, resolved_ns, 1e9 / strings_ns,
              strings_ns, allows);
  return 0;
}

// What the per-call gate (transport/call_gate.h) costs a call: the check
// every call on a TLS port now passes before any handler, against the
// certificate gRPC hands it. Prints figures; not a test.
//
//   build/tests/gateway/call_gate_benchmark
//
// Needs the test PKI: run after ctest has made it, or with
// GATEHOUSE_TEST_PKI_ROOT set (tests/gateway/test_pki.h).
#include <benchmark/benchmark.h>

#include "common/files.h"
#include "tests/gateway/test_pki.h"
#include "transport/call_gate.h"

namespace gatehouse {
namespace {

// A certificate seen before (the usual case: one per connection, many
// calls): a hash lookup, a revocation generation compare, a time compare.
void BM_CheckKnownCertificate(benchmark::State& state) {
  const TestPki& pki = TestPki::Get();
  v1::TlsConfig tls;
  tls.set_ca_file(pki.Path("ca.crt"));
  tls.set_crl_dir(pki.Path("crl"));
  std::shared_ptr<Revocations> revocations = *Revocations::Load(tls);
  CallGate gate(CallGate::Port::kClient, "nhs-trust-a", revocations, nullptr);
  const std::string pem = *ReadFile(pki.Path("nhs-trust-a/ehr.crt"));
  const absl::Time now = absl::Now();
  for (auto _ : state) benchmark::DoNotOptimize(gate.Check(pem, now));
}
BENCHMARK(BM_CheckKnownCertificate);

// A certificate seen for the first time (a new connection's first call):
// parsing it, its identity and its revocation.
void BM_CheckNewCertificate(benchmark::State& state) {
  const TestPki& pki = TestPki::Get();
  v1::TlsConfig tls;
  tls.set_ca_file(pki.Path("ca.crt"));
  tls.set_crl_dir(pki.Path("crl"));
  std::shared_ptr<Revocations> revocations = *Revocations::Load(tls);
  const std::string pem = *ReadFile(pki.Path("nhs-trust-a/ehr.crt"));
  const absl::Time now = absl::Now();
  for (auto _ : state) {
    CallGate gate(CallGate::Port::kClient, "nhs-trust-a", revocations, nullptr);
    benchmark::DoNotOptimize(gate.Check(pem, now));
  }
}
BENCHMARK(BM_CheckNewCertificate);

}  // namespace
}  // namespace gatehouse

BENCHMARK_MAIN();

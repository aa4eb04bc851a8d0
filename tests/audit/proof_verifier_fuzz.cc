// Fuzz target: the RFC 9162 inclusion and consistency proof verifiers on
// arbitrary sizes, indices, roots and proofs. Input layout: u64 a, u64 b,
// 32-byte leaf/root1, 32-byte root/root2, then 32-byte proof hashes. The
// verifiers must never crash, and must never accept a proof for index >= size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "audit/merkle_verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gatehouse::audit;
  if (size < 80) return 0;
  uint64_t a, b;
  std::memcpy(&a, data, 8);
  std::memcpy(&b, data + 8, 8);
  Hash h1, h2;
  std::memcpy(h1.data(), data + 16, 32);
  std::memcpy(h2.data(), data + 48, 32);
  std::vector<Hash> proof;
  for (size_t off = 80; off + 32 <= size && proof.size() < 130; off += 32) {
    Hash h;
    std::memcpy(h.data(), data + off, 32);
    proof.push_back(h);
  }
  // Small sizes too, so the interesting paths are reached.
  for (uint64_t scale : {uint64_t{0}, uint64_t{1}}) {
    uint64_t index = scale ? a : a % 64, tree = scale ? b : b % 64;
    absl::Status s = VerifyInclusion(index, tree, h1, proof, h2);
    if (s.ok() && index >= tree) abort();
    absl::Status c = VerifyConsistency(index, tree, h1, h2, proof);
    if (c.ok() && index > tree) abort();
  }
  return 0;
}

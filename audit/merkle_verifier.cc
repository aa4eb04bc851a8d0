#include "audit/merkle_verifier.h"

#include "absl/strings/str_cat.h"

namespace gatehouse::audit {
namespace {

int BitLength(uint64_t x) { return x == 0 ? 0 : 64 - __builtin_clzll(x); }

}  // namespace

size_t InclusionProofSize(uint64_t index, uint64_t size) {
  if (index >= size) return 0;
  const int inner = BitLength(index ^ (size - 1));
  const int border = __builtin_popcountll(index >> inner);
  return inner + border;
}

absl::StatusOr<Hash> RootFromInclusionProof(uint64_t index, uint64_t size,
                                            const Hash& leaf_hash,
                                            const std::vector<Hash>& proof) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof: index ", index, " is not below tree size ", size));
  }
  // RFC 9162 section 2.1.3.2, steps 2-5.
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return absl::InvalidArgumentError("inclusion proof too long");
    if ((fn & 1) || fn == sn) {
      r = HashChildren(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::InvalidArgumentError("inclusion proof too short");
  return r;
}

absl::Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                             const std::vector<Hash>& proof, const Hash& root) {
  absl::StatusOr<Hash> got = RootFromInclusionProof(index, size, leaf_hash, proof);
  if (!got.ok()) return got.status();
  if (*got != root) {
    return absl::DataLossError(absl::StrCat("inclusion proof for index ", index,
                                            " does not reproduce the root of tree size ", size));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t size1, uint64_t size2, const Hash& root1,
                               const Hash& root2, const std::vector<Hash>& proof) {
  if (size1 > size2) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistency proof: size1 ", size1, " is larger than size2 ", size2));
  }
  if (size1 == size2) {
    if (!proof.empty()) return absl::InvalidArgumentError("consistency proof for equal sizes must be empty");
    if (root1 != root2) return absl::DataLossError("roots differ for the same tree size");
    return absl::OkStatus();
  }
  if (size1 == 0) {
    if (!proof.empty()) return absl::InvalidArgumentError("consistency proof from size 0 must be empty");
    return absl::OkStatus();
  }
  // RFC 9162 section 2.1.4.2. Step 1: an empty proof proves nothing.
  if (proof.empty()) return absl::InvalidArgumentError("consistency proof is empty");
  // RFC 9162 section 2.1.4.2. Step 2: if size1 is a power of two, the proof
  // omits the old root; prepend it.
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if ((size1 & (size1 - 1)) == 0) path.push_back(root1);
  path.insert(path.end(), proof.begin(), proof.end());
  // Steps 3-4.
  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  // Steps 5-6.
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return absl::InvalidArgumentError("consistency proof too long");
    if ((fn & 1) || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  // Step 7.
  if (sn != 0) return absl::InvalidArgumentError("consistency proof too short");
  if (fr != root1) {
    return absl::DataLossError(absl::StrCat("consistency proof does not reproduce the root of size ", size1));
  }
  if (sr != root2) {
    return absl::DataLossError(absl::StrCat("consistency proof does not reproduce the root of size ", size2));
  }
  return absl::OkStatus();
}

}  // namespace gatehouse::audit

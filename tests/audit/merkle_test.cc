// Known-answer tests for RFC 6962 hashing and RFC 9162 proofs, using the
// Certificate Transparency test leaves (certificate-transparency-go
// merkletree tests, transparency-dev/merkle testonly). Recompute a value with
// coreutils, e.g. the leaf hash of the empty entry:
//   printf '\x00' | sha256sum                        -> 6e340b9c...
// and the root of the first two leaves ("" and 00):
//   ( printf '\x01'; printf '\x00' | sha256sum | xxd -r -p;
//     printf '\x00\x00' | sha256sum | xxd -r -p ) | sha256sum   -> fac54203...
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "audit/merkle_hasher.h"
#include "audit/merkle_tree.h"
#include "audit/merkle_verifier.h"
#include "gtest/gtest.h"

namespace gatehouse::audit {
namespace {

Hash H(const std::string& hex) {
  Hash h;
  EXPECT_TRUE(HashFromBytes(absl::HexStringToBytes(hex), &h)) << hex;
  return h;
}

const char* const kLeaves[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                               "606162636465666768696a6b6c6d6e6f"};

// MTH(D[n]) for n = 1..8.
const char* const kRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

MemoryTree KatTree(int n) {
  MemoryTree t;
  for (int i = 0; i < n; ++i) t.Append(HashLeaf(absl::HexStringToBytes(kLeaves[i])));
  return t;
}

MemoryTree CountingTree(uint64_t n) {
  MemoryTree t;
  for (uint64_t i = 0; i < n; ++i) t.Append(HashLeaf(std::to_string(i)));
  return t;
}

TEST(MerkleHasherTest, EmptyTreeIsSha256OfNothing) {
  // printf '' | sha256sum
  EXPECT_EQ(EmptyRoot(), H("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

TEST(MerkleHasherTest, LeafOfZeroByte) {
  // printf '\x00\x00' | sha256sum
  EXPECT_EQ(HashLeaf(std::string(1, '\0')),
            H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"));
}

TEST(MerkleHasherTest, LeafAndNodePrefixesDiffer) {
  // A leaf that looks like two children must not hash like the node.
  Hash a = HashLeaf("a"), b = HashLeaf("b");
  std::string fake = HashToBytes(a) + HashToBytes(b);
  EXPECT_NE(HashLeaf(fake), HashChildren(a, b));
}

TEST(MerkleTreeTest, RootsMatchCertificateTransparencyVectors) {
  MemoryTree t;
  CompactRange range;
  EXPECT_EQ(*TreeRoot(t, 0), EmptyRoot());
  for (int n = 1; n <= 8; ++n) {
    Hash leaf = HashLeaf(absl::HexStringToBytes(kLeaves[n - 1]));
    t.Append(leaf);
    range.Append(leaf);
    EXPECT_EQ(*TreeRoot(t, n), H(kRoots[n - 1])) << n;
    EXPECT_EQ(range.Root(), H(kRoots[n - 1])) << n;
  }
}

TEST(MerkleTreeTest, InclusionProofKnownAnswers) {
  MemoryTree t = KatTree(8);
  // Leaf 0 of 8 (certificate-transparency-go merkle_verifier_test.go).
  std::vector<Hash> want0 = {H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                             H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                             H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")};
  EXPECT_EQ(*BuildInclusionProof(t, 0, 8), want0);
  // Leaf 5 of 8.
  std::vector<Hash> want5 = {H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                             H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                             H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")};
  EXPECT_EQ(*BuildInclusionProof(t, 5, 8), want5);
  EXPECT_TRUE(VerifyInclusion(5, 8, HashLeaf(absl::HexStringToBytes(kLeaves[5])), want5,
                              H(kRoots[7])).ok());
}

TEST(MerkleTreeTest, ConsistencyProofKnownAnswers) {
  MemoryTree t = KatTree(8);
  std::vector<Hash> p3_8 = {H("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
                            H("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
                            H("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
                            H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")};
  EXPECT_EQ(*BuildConsistencyProof(t, 3, 8), p3_8);
  std::vector<Hash> p2_5 = {H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")};
  EXPECT_EQ(*BuildConsistencyProof(t, 2, 5), p2_5);
  std::vector<Hash> p6_8 = {H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                            H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")};
  EXPECT_EQ(*BuildConsistencyProof(t, 6, 8), p6_8);
  EXPECT_TRUE(VerifyConsistency(3, 8, H(kRoots[2]), H(kRoots[7]), p3_8).ok());
  EXPECT_TRUE(VerifyConsistency(2, 5, H(kRoots[1]), H(kRoots[4]), p2_5).ok());
  EXPECT_TRUE(VerifyConsistency(6, 8, H(kRoots[5]), H(kRoots[7]), p6_8).ok());
}

TEST(MerkleProofTest, EveryInclusionProofUpTo70VerifiesAndHasTheRightLength) {
  MemoryTree t = CountingTree(70);
  for (uint64_t size = 1; size <= 70; ++size) {
    Hash root = *TreeRoot(t, size);
    for (uint64_t i = 0; i < size; ++i) {
      std::vector<Hash> p = *BuildInclusionProof(t, i, size);
      EXPECT_EQ(p.size(), InclusionProofSize(i, size));
      ASSERT_TRUE(VerifyInclusion(i, size, HashLeaf(std::to_string(i)), p, root).ok())
          << i << "/" << size;
    }
  }
}

TEST(MerkleProofTest, EveryConsistencyProofUpTo50Verifies) {
  MemoryTree t = CountingTree(50);
  for (uint64_t s2 = 0; s2 <= 50; ++s2) {
    for (uint64_t s1 = 0; s1 <= s2; ++s1) {
      std::vector<Hash> p = *BuildConsistencyProof(t, s1, s2);
      ASSERT_TRUE(VerifyConsistency(s1, s2, *TreeRoot(t, s1), *TreeRoot(t, s2), p).ok())
          << s1 << "->" << s2;
    }
  }
}

TEST(MerkleProofTest, FlippedBitInAnyInclusionHashIsDataLoss) {
  MemoryTree t = CountingTree(13);
  Hash root = *TreeRoot(t, 13);
  std::vector<Hash> p = *BuildInclusionProof(t, 6, 13);
  for (size_t i = 0; i < p.size(); ++i) {
    for (int bit = 0; bit < 256; bit += 37) {
      std::vector<Hash> bad = p;
      bad[i][bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
      EXPECT_TRUE(absl::IsDataLoss(VerifyInclusion(6, 13, HashLeaf("6"), bad, root)));
    }
  }
}

TEST(MerkleProofTest, InclusionWrongIndexSizeOrLengthFails) {
  MemoryTree t = CountingTree(13);
  Hash root = *TreeRoot(t, 13);
  std::vector<Hash> p = *BuildInclusionProof(t, 6, 13);
  EXPECT_FALSE(VerifyInclusion(7, 13, HashLeaf("6"), p, root).ok());
  // The size is not bound by the hashes (sizes 9..16 share this path shape:
  // the signed checkpoint binds it), but a size with another shape fails.
  EXPECT_FALSE(VerifyInclusion(6, 8, HashLeaf("6"), p, root).ok());
  EXPECT_FALSE(VerifyInclusion(6, 7, HashLeaf("6"), p, root).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyInclusion(13, 13, HashLeaf("6"), p, root)));
  std::vector<Hash> longer = p;
  longer.push_back(p[0]);
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyInclusion(6, 13, HashLeaf("6"), longer, root)));
  std::vector<Hash> shorter(p.begin(), p.end() - 1);
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyInclusion(6, 13, HashLeaf("6"), shorter, root)));
  // Second preimage: the 64 bytes of an interior node's children offered as
  // a leaf's data. The leaf prefix makes its leaf hash differ from the node.
  std::vector<Hash> tail(p.begin() + 1, p.end());
  std::string children = HashToBytes(*t.GetNode(0, 6)) + HashToBytes(*t.GetNode(0, 7));
  EXPECT_FALSE(VerifyInclusion(3, 7, HashLeaf(children), tail, root).ok());
}

TEST(MerkleProofTest, ConsistencyTamperingFails) {
  MemoryTree t = CountingTree(21);
  Hash r7 = *TreeRoot(t, 7), r21 = *TreeRoot(t, 21);
  std::vector<Hash> p = *BuildConsistencyProof(t, 7, 21);
  ASSERT_TRUE(VerifyConsistency(7, 21, r7, r21, p).ok());
  for (size_t i = 0; i < p.size(); ++i) {
    std::vector<Hash> bad = p;
    bad[i][0] ^= 1;
    EXPECT_FALSE(VerifyConsistency(7, 21, r7, r21, bad).ok()) << i;
  }
  EXPECT_FALSE(VerifyConsistency(7, 21, r21, r7, p).ok());
  EXPECT_FALSE(VerifyConsistency(8, 21, r7, r21, p).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyConsistency(21, 7, r21, r7, p)));
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyConsistency(7, 21, r7, r21, {})));
  EXPECT_TRUE(absl::IsDataLoss(VerifyConsistency(7, 7, r7, r21, {})));
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyConsistency(0, 7, EmptyRoot(), r7, p)));
}

TEST(CompactRangeTest, FromReaderContinuesLikeTheOriginal) {
  MemoryTree t = CountingTree(37);
  for (uint64_t n = 0; n <= 37; ++n) {
    CompactRange r = *CompactRange::FromReader(t, n);
    EXPECT_EQ(r.Root(), *TreeRoot(t, n));
  }
}

}  // namespace
}  // namespace gatehouse::audit

#include "envelope/merkle.h"

#include <cstdio>
#include <vector>

#include "gtest/gtest.h"

namespace gatehouse::envelope::internal {
namespace {

Hash LeafFor(uint64_t i) {
  Hash d{};
  for (int b = 0; b < 8; ++b) d[b] = static_cast<uint8_t>(i >> (8 * b));
  return LeafHash(d);
}

// RFC 9162 2.1.1 MTH, recursively, as the reference.
Hash ReferenceRoot(const std::vector<Hash>& leaves, size_t lo, size_t hi) {
  if (hi - lo == 1) return leaves[lo];
  size_t k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return NodeHash(ReferenceRoot(leaves, lo, lo + k), ReferenceRoot(leaves, lo + k, hi));
}

std::vector<absl::string_view> Views(const std::vector<Hash>& path) {
  std::vector<absl::string_view> v;
  for (const Hash& h : path) v.emplace_back(reinterpret_cast<const char*>(h.data()), h.size());
  return v;
}

TEST(MerkleTest, RootMatchesRfc9162ForEverySizeTo70) {
  for (size_t n = 1; n <= 70; ++n) {
    std::vector<Hash> leaves;
    for (size_t i = 0; i < n; ++i) leaves.push_back(LeafFor(i));
    const MerkleTree tree(leaves);
    EXPECT_EQ(tree.root(), ReferenceRoot(leaves, 0, n)) << n;
  }
}

TEST(MerkleTest, EveryPathVerifiesForEverySizeTo70) {
  for (size_t n = 1; n <= 70; ++n) {
    std::vector<Hash> leaves;
    for (size_t i = 0; i < n; ++i) leaves.push_back(LeafFor(i));
    const MerkleTree tree(leaves);
    for (size_t i = 0; i < n; ++i) {
      std::vector<Hash> path;
      tree.AppendPath(i, &path);
      const auto views = Views(path);
      Hash root;
      ASSERT_TRUE(RootFromInclusionProof(i, n, leaves[i], views.data(), views.size(), &root));
      EXPECT_EQ(root, tree.root()) << n << " " << i;
    }
  }
}

TEST(MerkleTest, PathForAnotherIndexDoesNotReachRoot) {
  std::vector<Hash> leaves;
  for (size_t i = 0; i < 13; ++i) leaves.push_back(LeafFor(i));
  const MerkleTree tree(leaves);
  std::vector<Hash> path;
  tree.AppendPath(5, &path);
  const auto views = Views(path);
  for (uint64_t other = 0; other < 13; ++other) {
    if (other == 5) continue;
    Hash root{};
    const bool fits = RootFromInclusionProof(other, 13, leaves[5], views.data(), views.size(), &root);
    EXPECT_FALSE(fits && root == tree.root()) << other;
  }
}

TEST(MerkleTest, WrongLengthPathIsRefused) {
  std::vector<Hash> leaves;
  for (size_t i = 0; i < 8; ++i) leaves.push_back(LeafFor(i));
  const MerkleTree tree(leaves);
  std::vector<Hash> path;
  tree.AppendPath(3, &path);
  auto views = Views(path);
  Hash root;
  EXPECT_FALSE(RootFromInclusionProof(3, 8, leaves[3], views.data(), views.size() - 1, &root));
  views.push_back(views[0]);
  EXPECT_FALSE(RootFromInclusionProof(3, 8, leaves[3], views.data(), views.size(), &root));
}

TEST(MerkleTest, IndexBeyondSizeIsRefused) {
  Hash root;
  EXPECT_FALSE(RootFromInclusionProof(1, 1, LeafFor(0), nullptr, 0, &root));
  EXPECT_FALSE(RootFromInclusionProof(0, 0, LeafFor(0), nullptr, 0, &root));
}

// Known answer: a one-leaf tree's root is its leaf, H(0x00 || digest), i.e.
//   (printf '\x00'; head -c 32 /dev/zero) | b2sum -l 256
TEST(MerkleTest, OneLeafKnownAnswer) {
  const Hash leaf = LeafHash(Hash{});
  const MerkleTree tree({leaf});
  EXPECT_EQ(tree.root(), leaf);
  char hex[65];
  for (int i = 0; i < 32; ++i) std::snprintf(hex + 2 * i, 3, "%02x", leaf[i]);
  EXPECT_STREQ(hex, "d8908c165dee785924e7421a0fd0418a19d5daeec395fd505a92a0fd3117e428");
}

}  // namespace
}  // namespace gatehouse::envelope::internal

// Building RFC 6962 trees and RFC 9162 section 2.1 proofs from stored node
// hashes. The builder half of the proof code (the verifier half is
// merkle_verifier.h and needs none of this).
//
// A tree is read through NodeReader: node (level, index) is the hash of the
// perfect subtree over leaves [index * 2^level, (index + 1) * 2^level). Every
// RFC 6962 subtree hash MTH(D[a:b]) that a proof needs is a fold of at most
// log2(n) such nodes, so a proof costs O(log^2 n) node reads and never reads
// the log itself.
//
// Classes:
//   CompactRange  the right border of a growing tree (one hash per set bit of
//                 its size): appends in O(1) amortised, root in O(log n).
//                 Not thread-safe.
//   MemoryTree    every node in memory; a NodeReader for tests and tools.
//                 Not thread-safe.
//
// Example:
//   MemoryTree t;
//   for (const auto& e : entries) t.Append(HashLeaf(e));
//   ASSIGN_OR_RETURN(std::vector<Hash> proof, BuildInclusionProof(t, 3, t.size()));
#ifndef GATEHOUSE_AUDIT_MERKLE_TREE_H_
#define GATEHOUSE_AUDIT_MERKLE_TREE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/merkle_hasher.h"

namespace gatehouse::audit {

// Read access to the perfect-subtree hashes of a tree. Implementations say
// their own thread-safety.
class NodeReader {
 public:
  virtual ~NodeReader() = default;
  // Hash of node (level, index). NotFound if the subtree is not complete in
  // the stored tree; DataLoss/Unavailable on a storage error.
  virtual absl::StatusOr<Hash> GetNode(int level, uint64_t index) const = 0;
};

// MTH(D[begin:end]). REQUIRES: begin < end and begin is a multiple of the
// largest power of two <= end - begin, which holds for every range an RFC 6962
// proof or root needs (and for begin == 0).
absl::StatusOr<Hash> RangeRoot(const NodeReader& tree, uint64_t begin, uint64_t end);

// MTH(D[0:size]); EmptyRoot() for size 0.
absl::StatusOr<Hash> TreeRoot(const NodeReader& tree, uint64_t size);

// RFC 9162 section 2.1.3.1 (RFC 6962 PATH(m, D[n])), ordered leaf to root.
// InvalidArgument unless index < size.
absl::StatusOr<std::vector<Hash>> BuildInclusionProof(const NodeReader& tree, uint64_t index,
                                                      uint64_t size);

// RFC 9162 section 2.1.4.1 (RFC 6962 PROOF(m, D[n])). Empty for size1 == 0 or
// size1 == size2. InvalidArgument if size1 > size2.
absl::StatusOr<std::vector<Hash>> BuildConsistencyProof(const NodeReader& tree, uint64_t size1,
                                                        uint64_t size2);

// The right border of a tree: enough to append leaves and compute the root.
class CompactRange {
 public:
  // Called for every node completed by an Append, leaves included (level 0).
  using NodeSink = std::function<void(int level, uint64_t index, const Hash& hash)>;

  CompactRange() = default;
  // REQUIRES: border holds one hash per set bit of `size`, highest level first.
  CompactRange(uint64_t size, std::vector<Hash> border)
      : size_(size), border_(std::move(border)) {}

  // Appends one leaf hash; reports each completed node to `sink` if set.
  void Append(const Hash& leaf, const NodeSink& sink = nullptr);
  uint64_t size() const { return size_; }
  Hash Root() const;
  const std::vector<Hash>& border() const { return border_; }

  // Reads the border of a tree of `size` leaves from `tree`.
  static absl::StatusOr<CompactRange> FromReader(const NodeReader& tree, uint64_t size);

 private:
  uint64_t size_ = 0;
  std::vector<Hash> border_;
};

// A whole tree in memory (2n hashes).
class MemoryTree : public NodeReader {
 public:
  void Append(const Hash& leaf);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  absl::StatusOr<Hash> GetNode(int level, uint64_t index) const override;

 private:
  std::vector<std::vector<Hash>> levels_;
};

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_MERKLE_TREE_H_

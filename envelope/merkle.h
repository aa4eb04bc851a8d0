// The Merkle tree over a batch of records: RFC 9162 section 2.1 shape and
// inclusion proofs, with RFC 6962 leaf/node prefixes and BLAKE2b-256
// (digest.h). A batch's signature covers its root; each envelope carries its
// leaf's inclusion path.
//
// Internal to envelope/. MerkleTree is immutable after construction
// and thread-compatible; the verifier is a pure function.
//
// Example:
//   MerkleTree tree(std::move(leaf_hashes));
//   tree.AppendPath(3, &path);                      // sibling hashes, leaf to root
//   Hash root;
//   bool ok = RootFromInclusionProof(3, tree.size(), leaf, path_views, n, &root) &&
//             root == tree.root();
#ifndef GATEHOUSE_ENVELOPE_MERKLE_H_
#define GATEHOUSE_ENVELOPE_MERKLE_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "envelope/digest.h"

namespace gatehouse::envelope::internal {

class MerkleTree {
 public:
  // Builds every level bottom-up; a lone last node is carried up unchanged,
  // which gives the same root as RFC 9162's recursive definition.
  // REQUIRES: !leaves.empty().
  explicit MerkleTree(std::vector<Hash> leaves);

  uint64_t size() const { return levels_[0].size(); }
  const Hash& root() const { return levels_.back()[0]; }
  // Appends the inclusion path of leaf `index` (RFC 9162 2.1.3.1) to `*out`.
  // REQUIRES: index < size().
  void AppendPath(uint64_t index, std::vector<Hash>* out) const;

 private:
  std::vector<std::vector<Hash>> levels_;
};

// RFC 9162 section 2.1.3.2: computes the root implied by `leaf` at `index` in
// a tree of `size` leaves and the sibling hashes `path[0..n)` (each 32
// bytes). False, leaving `*root` unspecified, if the path has the wrong length
// for (index, size) or index >= size.
bool RootFromInclusionProof(uint64_t index, uint64_t size, const Hash& leaf,
                            const absl::string_view* path, size_t n, Hash* root);

}  // namespace gatehouse::envelope::internal

#endif  // GATEHOUSE_ENVELOPE_MERKLE_H_

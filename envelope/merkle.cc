#include "envelope/merkle.h"

#include <algorithm>
#include <array>

namespace gatehouse::envelope::internal {
namespace {

// NodeHash with a small per-thread memo: records of one batch opened in
// turn share most of their paths, so most of their node hashes have been
// computed moments before. A hit needs both 32-byte inputs to be equal to a
// previous call's, so it returns exactly what NodeHash would; a miss (or an
// adversary who makes the table thrash) only costs the hash.
Hash MemoNodeHash(const Hash& left, const Hash& right) {
  struct Entry {
    bool used = false;
    Hash left, right, out;
  };
  thread_local std::array<Entry, 256> memo;
  Entry& e = memo[static_cast<uint8_t>(left[0] + 31 * right[0])];
  if (e.used && e.left == left && e.right == right) return e.out;
  e.left = left;
  e.right = right;
  e.out = NodeHash(left, right);
  e.used = true;
  return e.out;
}

}  // namespace

MerkleTree::MerkleTree(std::vector<Hash> leaves) {
  levels_.push_back(std::move(leaves));
  while (levels_.back().size() > 1) {
    const std::vector<Hash>& below = levels_.back();
    std::vector<Hash> above;
    above.reserve((below.size() + 1) / 2);
    for (size_t i = 0; i + 1 < below.size(); i += 2) above.push_back(NodeHash(below[i], below[i + 1]));
    if (below.size() % 2 == 1) above.push_back(below.back());
    levels_.push_back(std::move(above));
  }
}

void MerkleTree::AppendPath(uint64_t index, std::vector<Hash>* out) const {
  for (size_t level = 0; level + 1 < levels_.size(); ++level) {
    const uint64_t sibling = index ^ 1;
    if (sibling < levels_[level].size()) out->push_back(levels_[level][sibling]);
    index >>= 1;
  }
}

bool RootFromInclusionProof(uint64_t index, uint64_t size, const Hash& leaf,
                            const absl::string_view* path, size_t n, Hash* root) {
  if (index >= size) return false;
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf;
  for (size_t i = 0; i < n; ++i) {
    if (path[i].size() != kHashBytes || sn == 0) return false;
    Hash p;
    std::copy(path[i].begin(), path[i].end(), p.begin());
    if ((fn & 1) == 1 || fn == sn) {
      r = MemoNodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = MemoNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return false;
  *root = r;
  return true;
}

}  // namespace gatehouse::envelope::internal

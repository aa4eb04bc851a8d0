#include "audit/merkle_tree.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gatehouse::audit {
namespace {

// Largest power of two strictly less than n. REQUIRES: n > 1.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = uint64_t{1} << (63 - __builtin_clzll(n - 1));
  return k;
}

// RFC 6962 section 2.1.1 PATH(m, D[offset : offset + n]).
absl::Status Path(const NodeReader& tree, uint64_t m, uint64_t offset, uint64_t n,
                  std::vector<Hash>* out) {
  if (n <= 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    RETURN_IF_ERROR(Path(tree, m, offset, k, out));
    ASSIGN_OR_RETURN(Hash h, RangeRoot(tree, offset + k, offset + n));
    out->push_back(h);
  } else {
    RETURN_IF_ERROR(Path(tree, m - k, offset + k, n - k, out));
    ASSIGN_OR_RETURN(Hash h, RangeRoot(tree, offset, offset + k));
    out->push_back(h);
  }
  return absl::OkStatus();
}

// RFC 6962 section 2.1.2 SUBPROOF(m, D[offset : offset + n], b).
absl::Status SubProof(const NodeReader& tree, uint64_t m, uint64_t offset, uint64_t n, bool b,
                      std::vector<Hash>* out) {
  if (m == n) {
    if (!b) {
      ASSIGN_OR_RETURN(Hash h, RangeRoot(tree, offset, offset + n));
      out->push_back(h);
    }
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    RETURN_IF_ERROR(SubProof(tree, m, offset, k, b, out));
    ASSIGN_OR_RETURN(Hash h, RangeRoot(tree, offset + k, offset + n));
    out->push_back(h);
  } else {
    RETURN_IF_ERROR(SubProof(tree, m - k, offset + k, n - k, false, out));
    ASSIGN_OR_RETURN(Hash h, RangeRoot(tree, offset, offset + k));
    out->push_back(h);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Hash> RangeRoot(const NodeReader& tree, uint64_t begin, uint64_t end) {
  if (begin >= end) return absl::InvalidArgumentError("empty range");
  // Split [begin, end) into perfect aligned subtrees, left to right, then fold
  // right to left: MTH = HASH(0x01 || first || MTH(rest)).
  Hash chunks[64];
  int count = 0;
  while (begin < end) {
    int level = begin == 0 ? 63 : __builtin_ctzll(begin);
    while (level > 0 && (level >= 64 || (uint64_t{1} << level) > end - begin)) --level;
    ASSIGN_OR_RETURN(chunks[count], tree.GetNode(level, begin >> level));
    ++count;
    begin += uint64_t{1} << level;
  }
  Hash h = chunks[count - 1];
  for (int i = count - 2; i >= 0; --i) h = HashChildren(chunks[i], h);
  return h;
}

absl::StatusOr<Hash> TreeRoot(const NodeReader& tree, uint64_t size) {
  if (size == 0) return EmptyRoot();
  return RangeRoot(tree, 0, size);
}

absl::StatusOr<std::vector<Hash>> BuildInclusionProof(const NodeReader& tree, uint64_t index,
                                                      uint64_t size) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("index ", index, " is not below tree size ", size));
  }
  std::vector<Hash> out;
  RETURN_IF_ERROR(Path(tree, index, 0, size, &out));
  return out;
}

absl::StatusOr<std::vector<Hash>> BuildConsistencyProof(const NodeReader& tree, uint64_t size1,
                                                        uint64_t size2) {
  if (size1 > size2) {
    return absl::InvalidArgumentError(
        absl::StrCat("size1 ", size1, " is larger than size2 ", size2));
  }
  std::vector<Hash> out;
  if (size1 == 0 || size1 == size2) return out;
  RETURN_IF_ERROR(SubProof(tree, size1, 0, size2, true, &out));
  return out;
}

void CompactRange::Append(const Hash& leaf, const NodeSink& sink) {
  Hash h = leaf;
  uint64_t index = size_;
  int level = 0;
  if (sink) sink(0, index, h);
  // Each trailing one bit of the old size is a left sibling to merge with.
  for (uint64_t s = size_; s & 1; s >>= 1) {
    h = HashChildren(border_.back(), h);
    border_.pop_back();
    ++level;
    index >>= 1;
    if (sink) sink(level, index, h);
  }
  border_.push_back(h);
  ++size_;
}

Hash CompactRange::Root() const {
  if (border_.empty()) return EmptyRoot();
  Hash h = border_.back();
  for (size_t i = border_.size() - 1; i-- > 0;) h = HashChildren(border_[i], h);
  return h;
}

absl::StatusOr<CompactRange> CompactRange::FromReader(const NodeReader& tree, uint64_t size) {
  std::vector<Hash> border;
  uint64_t begin = 0;
  for (int level = 63; level >= 0; --level) {
    if (!(size & (uint64_t{1} << level))) continue;
    ASSIGN_OR_RETURN(Hash h, tree.GetNode(level, begin >> level));
    border.push_back(h);
    begin += uint64_t{1} << level;
  }
  return CompactRange(size, std::move(border));
}

void MemoryTree::Append(const Hash& leaf) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf);
  size_t level = 0;
  uint64_t n = levels_[0].size();
  while (n % 2 == 0 && n > 0) {
    const auto& below = levels_[level];
    Hash h = HashChildren(below[below.size() - 2], below.back());
    if (levels_.size() <= level + 1) levels_.emplace_back();
    levels_[level + 1].push_back(h);
    ++level;
    n = levels_[level].size();
  }
}

absl::StatusOr<Hash> MemoryTree::GetNode(int level, uint64_t index) const {
  if (level < 0 || static_cast<size_t>(level) >= levels_.size() ||
      index >= levels_[level].size()) {
    return absl::NotFoundError(absl::StrCat("no node (", level, ", ", index, ")"));
  }
  return levels_[level][index];
}

}  // namespace gatehouse::audit

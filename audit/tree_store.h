// The audit log's Merkle tree on disk: one file per level under <dir>/tree/,
// level-NN.hashes, each a flat array of 32-byte node hashes. Node (L, i) is
// the root of the perfect subtree over leaves [i * 2^L, (i + 1) * 2^L), so a
// tree of n leaves stores under 2n hashes and any proof reads O(log^2 n) of
// them without touching the log (merkle_tree.h).
//
// The files are derived data: the log segments are the authority. They are
// fdatasynced before each checkpoint is signed, and AuditLog::Open rebuilds
// any part it cannot vouch for from the segments.
//
// Thread-safety: one writer (Append, Truncate, Sync) at a time, externally
// serialized; GetNode and size() may run concurrently with it from any
// thread and see every node whose Append has returned.
#ifndef GATEHOUSE_AUDIT_TREE_STORE_H_
#define GATEHOUSE_AUDIT_TREE_STORE_H_

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/merkle_tree.h"

namespace gatehouse::audit {

class TreeStore : public NodeReader {
 public:
  static constexpr int kMaxLevels = 64;

  // Opens or creates the level files in `dir`. Node counts come from the file
  // lengths (a partial trailing hash is ignored). Unavailable on I/O errors.
  static absl::StatusOr<std::unique_ptr<TreeStore>> Open(const std::string& dir);
  ~TreeStore() override;

  // Leaves stored.
  uint64_t size() const { return counts_[0].load(std::memory_order_acquire); }
  uint64_t count(int level) const { return counts_[level].load(std::memory_order_acquire); }

  absl::StatusOr<Hash> GetNode(int level, uint64_t index) const override;

  // Appends nodes: nodes[L] holds whole 32-byte hashes continuing level L.
  absl::Status Append(const std::array<std::string, kMaxLevels>& nodes);
  // Keeps exactly `leaves` leaves (and leaves >> L nodes on level L).
  // REQUIRES: leaves <= size().
  absl::Status Truncate(uint64_t leaves);
  // Recomputes every stored interior node over the first `leaves` leaves
  // from the level below (O(leaves) hashes, read in chunks). DataLoss at the
  // first node that does not match. With a root check against a signed
  // checkpoint this vouches for every stored leaf hash.
  absl::Status CheckConsistency(uint64_t leaves) const;
  // fdatasync of every level file.
  absl::Status Sync();

 private:
  explicit TreeStore(std::string dir) : dir_(std::move(dir)) {}
  absl::Status OpenLevel(int level);
  absl::Status ReadNodes(int level, uint64_t first, uint64_t n, std::string* out) const;

  std::string dir_;
  std::array<std::atomic<int>, kMaxLevels> fds_{};
  std::array<std::atomic<uint64_t>, kMaxLevels> counts_{};
};

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_TREE_STORE_H_

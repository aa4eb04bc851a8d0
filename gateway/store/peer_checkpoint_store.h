// PeerCheckpointStore: for each peer organisation, the checkpoint of its
// audit log this gateway last verified and cosigned. The next checkpoint a
// peer shows must extend it (the cosigner, gateway/peer_audit.h, checks
// that with a consistency proof); kept durable, so that a restart does not
// make this gateway forget a fork.
//
// Put returns only once its change is durable; on error nothing is changed.
// Errors: Unavailable if the storage cannot be read or written, or the
// store is closing (try again).
//
// Example:
//   absl::StatusOr<PeerCheckpoint> prev = store.GetPeerCheckpoint(org);
//   if (!prev.ok() && !absl::IsNotFound(prev.status())) return prev.status();
//   ... verify the new checkpoint extends *prev, cosign it ...
//   RETURN_IF_ERROR(store.PutPeerCheckpoint(org, PeerCheckpoint{size, root, note}));
//
// Implementations are thread-safe.
#ifndef GATEHOUSE_GATEWAY_STORE_PEER_CHECKPOINT_STORE_H_
#define GATEHOUSE_GATEWAY_STORE_PEER_CHECKPOINT_STORE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gatehouse {

// A peer gateway's audit checkpoint this gateway last verified and cosigned.
struct PeerCheckpoint {
  uint64_t size = 0;
  std::string root;  // 32 bytes
  std::string note;
};

class PeerCheckpointStore {
 public:
  virtual ~PeerCheckpointStore() = default;

  // The checkpoint of `org`'s audit log this gateway last cosigned; NotFound if none.
  virtual absl::StatusOr<PeerCheckpoint> GetPeerCheckpoint(const std::string& org) = 0;
  // Keeps `cp` as `org`'s, in place of any kept before (the caller checks
  // that it extends the one it replaces). Other organisations' are left
  // unchanged.
  virtual absl::Status PutPeerCheckpoint(const std::string& org, const PeerCheckpoint& cp) = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_PEER_CHECKPOINT_STORE_H_

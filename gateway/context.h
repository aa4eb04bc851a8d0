// What the gateway's services share: configuration, store, directory,
// policy, keys, audit log and metrics. Owned by Gateway; the services hold
// a pointer to it for their whole life.
#ifndef GATEHOUSE_GATEWAY_CONTEXT_H_
#define GATEHOUSE_GATEWAY_CONTEXT_H_

#include <memory>

#include "gatehouse/v1/config.pb.h"
#include "gateway/auditor.h"
#include "gateway/directory_cache.h"
#include "envelope/keyset.h"
#include "envelope/opener.h"
#include "envelope/stream.h"
#include "gateway/metrics.h"
#include "gateway/peer_client.h"
#include "gateway/policy_holder.h"
#include "gateway/refusal_log.h"
#include "gateway/seal_queue.h"
#include "gateway/store/store.h"

namespace gatehouse {

struct GatewayContext {
  const v1::GatewayConfig* config = nullptr;
  Store* store = nullptr;
  DirectoryCache* directory = nullptr;
  PolicyHolder* policy = nullptr;
  std::shared_ptr<const envelope::Keyset> keyset;
  SealQueue* seal_queue = nullptr;
  const envelope::Opener* opener = nullptr;
  const envelope::StreamSealer* stream_sealer = nullptr;
  const envelope::StreamOpener* stream_opener = nullptr;
  Auditor* auditor = nullptr;
  Metrics* metrics = nullptr;
  PeerClient* peers = nullptr;
  RefusalLog* refusals = nullptr;  // callers refused before authentication
};

// OK while records may flow at `now`: the directory in force and the live
// policy bundle are both unexpired (or within the directory's grace);
// otherwise FailedPrecondition naming which expired. Checked on every
// Submit, Deliver and delivery attempt, not only when a file loads.
inline absl::Status CheckTrustInForce(const GatewayContext& ctx, absl::Time now) {
  absl::Status s = ctx.directory->CheckInForce(now);
  if (s.ok() && ctx.policy != nullptr) s = ctx.policy->CheckInForce(now);  // null: stand-ins
  return s;
}


}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_CONTEXT_H_

// What the gateway's services share: configuration, store, directory,
// policy, keys, audit log and metrics. Owned by Gateway; the services hold
// a pointer to it for their whole life.
#ifndef GATEHOUSE_GATEWAY_CONTEXT_H_
#define GATEHOUSE_GATEWAY_CONTEXT_H_

#include <memory>

#include "gatehouse/v1/config.pb.h"
#include "gateway/auditor.h"
#include "gateway/joint_commit.h"
#include "gateway/directory_cache.h"
#include "gateway/key_holder.h"
#include "gateway/metrics.h"
#include "gateway/peer_client.h"
#include "gateway/policy_holder.h"
#include "gateway/refusal_log.h"
#include "gateway/refusal_reporter.h"
#include "gateway/record/trust.h"
#include "gateway/trust_holder.h"
#include "gateway/seal_queue.h"
#include "gateway/store/store.h"
#include "transport/call_gate.h"

namespace gatehouse {

struct GatewayContext {
  const v1::GatewayConfig* config = nullptr;
  Store* store = nullptr;
  DirectoryCache* directory = nullptr;
  PolicyHolder* policy = nullptr;
  KeyHolder* keys = nullptr;  // this gateway's own keys, reloadable
  SealQueue* seal_queue = nullptr;
  Auditor* auditor = nullptr;
  // A record's audit entry and row in one commit; null unless the store and
  // log share a database (gateway/joint_commit.h).
  JointCommit* joint = nullptr;
  Metrics* metrics = nullptr;
  PeerClient* peers = nullptr;
  RefusalLog* refusals = nullptr;  // callers refused before authentication
  RefusalReporter* reporter = nullptr;  // records refused: audit, metric, log
  const TrustHolder* trust = nullptr;   // the trust in force, published whole
  CallGate* client_gate = nullptr;  // checks the client port's callers (Watch: every event)
};

// The trust in force composed from the holders that load each part (for
// the loader that publishes it, and for stand-ins without a TrustHolder).
inline TrustSnapshot ComposeTrust(const GatewayContext& ctx) {
  TrustSnapshot t;
  t.org_id = ctx.config->org_id();
  t.directory = ctx.directory->Snapshot();
  if (ctx.policy != nullptr) ctx.policy->InForce(&t.policy, &t.shadow);  // null: stand-ins
  if (ctx.keys != nullptr) t.keyset = ctx.keys->Current()->keyset;
  return t;
}

// The trust in force now, taken once by a call and decided against
// throughout (gateway/record/trust.h): the snapshot the loader published.
inline TrustSnapshot TrustOf(const GatewayContext& ctx) {
  if (ctx.trust != nullptr) {
    if (std::shared_ptr<const TrustSnapshot> t = ctx.trust->Current()) return *t;
  }
  return ComposeTrust(ctx);
}

// OK while records may flow at `now`: the directory in force and the live
// policy bundle are both unexpired (or within the directory's grace);
// otherwise FailedPrecondition naming which expired. Checked on every
// Submit, Deliver and delivery attempt, not only when a file loads.
inline absl::Status CheckTrustInForce(const GatewayContext& ctx, absl::Time now) {
  return TrustOf(ctx).CheckInForce(now);
}


}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_CONTEXT_H_

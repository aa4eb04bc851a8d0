// Gateways watching each other's audit logs.
//
// Cosigner: every few seconds, for each peer in the directory, fetches the
// peer's latest signed checkpoint with a consistency proof from the one this
// gateway last cosigned, checks the log signature (the directory's audit key
// for that peer) and that the log only grew, then cosigns it (C2SP
// tlog-cosignature) and hands the cosignature back (a peer that already holds
// this gateway's cosignature of that checkpoint answers ALREADY_EXISTS, which
// counts as cosigned). A checkpoint that does
// not extend the last one cosigned — a rewritten, truncated or forked log —
// is never cosigned: it is audited (PEER_LOG_INCONSISTENT), counted, logged
// and reported on /readyz.
//
// CheckDeliveryProof: for a delivered record, fetches the inclusion proof of
// the receiving gateway's RECEIVED entry and verifies it against that
// gateway's signed checkpoint, and names the distinct cosigners whose
// cosignature of it verifies (VerifiedCosignerOrgs).
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_PEER_AUDIT_H_
#define GATEHOUSE_GATEWAY_PEER_AUDIT_H_

#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gatehouse/v1/exchange.pb.h"
#include "audit/checkpoint.h"
#include "audit/note.h"
#include "common/periodic.h"
#include "gateway/context.h"

namespace gatehouse {

class Cosigner {
 public:
  Cosigner(const GatewayContext* ctx, audit::NoteSigner cosigner_key)
      : ctx_(ctx), key_(std::move(cosigner_key)) {}
  ~Cosigner() { Stop(); }

  void Start();
  void Stop();

  // One round over every peer now (also what the thread does each period).
  void RunOnce();

  // Peers whose log was found inconsistent, and what was found.
  std::map<std::string, std::string> alarms() const;

 private:
  // Checks and cosigns one peer's latest checkpoint.
  absl::Status CheckPeer(const v1::Organisation& peer);
  void Alarm(const std::string& org, const std::string& detail, const std::string& note);

  const GatewayContext* const ctx_;
  const audit::NoteSigner key_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> alarms_ ABSL_GUARDED_BY(mu_);
  Periodic rounds_;
};

// The organisations whose cosigner key, as `directory` lists it, made a valid
// cosignature of `cp`: each key once however many lines it has, so repeating
// one cosignature with new timestamps adds nothing. Lines by keys the
// directory does not list, and lines that do not verify, count for nothing;
// so does `log_owner`'s own cosigner key (a log cosigning itself witnesses
// nothing). Sorted by org id. Pure.
std::vector<std::string> VerifiedCosignerOrgs(const audit::SignedCheckpoint& cp,
                                              const std::vector<v1::Organisation>& directory,
                                              const std::string& log_owner);

// Verifies the receiving gateway's audit proof for a delivered record;
// `done` gets the outcome, on a gRPC thread once the receiving gateway has
// answered (or at once if there is nothing to ask). No thread waits.
void CheckDeliveryProof(const GatewayContext& ctx, const OutboxEntry& entry,
                        std::function<void(v1::ProofCheck)> done);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_PEER_AUDIT_H_

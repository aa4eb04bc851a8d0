// The Peer API, called by other organisations' gateways (see peer.proto).
//
// Deliver, in order: the caller must be the gateway the directory lists for
// its organisation and the envelope's sender must be that organisation; the
// envelope's signature is verified before anything is unwrapped; a record id
// seen before (with another envelope) or a created time outside the replay
// window is refused; this gateway's own accreditation and inbound policy
// decide; the decision is audited (RECEIVED or REJECTED, durable before the
// answer); the envelope is stored still sealed; a signed receipt naming the
// audit entry goes back. Each refusal changes nothing but the audit log.
//
// The checkpoint calls let peers cosign this gateway's audit log and fetch
// proofs about records they sent.
//
// Thread-safe: gRPC calls it from many threads.
#ifndef GATEHOUSE_GATEWAY_PEER_SERVICE_H_
#define GATEHOUSE_GATEWAY_PEER_SERVICE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gatehouse/v1/peer.grpc.pb.h"
#include "gateway/claims.h"
#include "gateway/context.h"
#include "transport/identity.h"
#include "gateway/inbound_commit.h"
#include "gateway/rate_limiter.h"
#include "gateway/receipt.h"
#include "gateway/record/inbound.h"
#include "gateway/sealed_record.h"

namespace gatehouse {

// The unary calls use the callback API; DeliverStream is synchronous (a
// thread of gRPC's while it runs): it is for large records, few at a time,
// and it writes and reads a spool file.
using PeerServiceBase = v1::Peer::WithCallbackMethod_Deliver<
    v1::Peer::WithCallbackMethod_DeliverBatch<
        v1::Peer::WithCallbackMethod_GetCheckpoint<v1::Peer::WithCallbackMethod_PutCosignature<
            v1::Peer::WithCallbackMethod_GetInclusionProof<
                v1::Peer::WithCallbackMethod_GetAcknowledged<v1::Peer::Service>>>>>>;

class PeerService final : public PeerServiceBase {
 public:
  explicit PeerService(const GatewayContext* ctx)
      : ctx_(ctx),
        limiter_(ctx->config->deliver_rate_per_org(), ctx->config->deliver_burst_per_org()),
        listener_limiter_(ctx->config->listener_rate(), ctx->config->listener_burst()),
        commit_(ctx->auditor, ctx->store, ctx->joint) {}

  grpc::ServerUnaryReactor* Deliver(grpc::CallbackServerContext* context,
                                    const v1::DeliverRequest* request,
                                    v1::DeliverResponse* response) override;
  // gateway/peer_batch.cc.
  grpc::ServerUnaryReactor* DeliverBatch(grpc::CallbackServerContext* context,
                                         const v1::DeliverBatchRequest* request,
                                         v1::DeliverBatchResponse* response) override;
  grpc::ServerUnaryReactor* GetCheckpoint(grpc::CallbackServerContext* context,
                                          const v1::GetCheckpointRequest* request,
                                          v1::GetCheckpointResponse* response) override;
  grpc::ServerUnaryReactor* PutCosignature(grpc::CallbackServerContext* context,
                                           const v1::PutCosignatureRequest* request,
                                           v1::PutCosignatureResponse* response) override;
  grpc::ServerUnaryReactor* GetInclusionProof(grpc::CallbackServerContext* context,
                                              const v1::GetInclusionProofRequest* request,
                                              v1::GetInclusionProofResponse* response) override;
  // gateway/acknowledgements.cc.
  grpc::ServerUnaryReactor* GetAcknowledged(grpc::CallbackServerContext* context,
                                            const v1::GetAcknowledgedRequest* request,
                                            v1::GetAcknowledgedResponse* response) override;
  grpc::Status DeliverStream(grpc::ServerContext* context,
                             grpc::ServerReader<v1::DeliverChunk>* reader,
                             v1::DeliverResponse* response) override;

 private:
  using Finisher = std::function<void(const grpc::Status&)>;
  // The calling gateway, if `directory` (the call's one snapshot; the one
  // in force without it) lists it for its organisation.
  absl::StatusOr<Identity> Authenticate(grpc::ServerContextBase* context,
                                        const DirectorySnapshot& directory) const;
  absl::StatusOr<Identity> Authenticate(grpc::ServerContextBase* context) const {
    return Authenticate(context, *ctx_->directory->Snapshot());
  }
  // Authenticate, trust in force and the limits (`deliveries` of them, a
  // batch's count), with the refusals summarised, logged and counted as
  // Deliver does.
  absl::StatusOr<Identity> Admit(grpc::ServerContextBase* context, const TrustSnapshot& trust,
                                 int deliveries = 1);
  // Signs the receipts in `answers` that are held unsigned (every one a
  // commit stored), together: one signature for them all.
  absl::Status SignReceipts(const std::vector<v1::DeliverResponse*>& answers) const;
  // A delivery that passed every check, to be audited, receipted and stored.
  struct Pending {
    v1::AuditEntry entry;           // RECEIVED
    v1::DeliveryReceipt receipt;    // audit_index still to fill in
    v1::MailboxRecord record;
    std::string envelope_sha256;
    std::shared_ptr<void> claim;    // from Claim: held until stored or refused
    // The trust in force, taken once: the whole delivery is decided
    // against it (directory version, policy, keys).
    TrustSnapshot trust;
    // A refusal whose report (audit, metric, log) Deliver sends on without
    // waiting, answering once it is audited.
    struct Rejection {
      Refusal refusal;
      v1::AuditEntry base;
      std::string policy_version;
    };
    std::optional<Rejection> rejection;
    bool answer_later = false;  // Deliver's: refusals go to `rejection`
  };
  // Claims the record (sender, id) for this call until the returned token is
  // dropped: Unavailable if another call is delivering it now. Otherwise two
  // copies sent at once (a retry after the sender's deadline) would both
  // pass CheckRepeat and both be audited RECEIVED.
  absl::StatusOr<std::shared_ptr<void>> Claim(const std::string& sender_org,
                                              const std::string& record_id) {
    return delivering_.Claim(ClaimKey(sender_org, record_id),
                             absl::StrCat("record ", record_id, " from ", sender_org,
                                          " is being delivered by another call; retry"));
  }
  // Every check Deliver makes. OK with `pending` filled for a new record; OK
  // with `response` filled (and `pending` untouched) for a repeat.
  absl::Status Accept(const Identity& caller, const std::string& envelope,
                      v1::DeliverResponse* response, Pending* pending);
  // The checks on a record from `caller` whose envelope verified and
  // opened: the replay window, accreditation and inbound policy. OK with
  // `pending` filled (all but the stored envelope itself).
  absl::Status AcceptOpened(const Identity& caller, const OpenedContent& opened,
                            const std::string& envelope_sha256, const std::string& payload_sha256,
                            uint64_t payload_bytes, Pending* pending);
  // What an envelope claims, against the connection: its sender must be
  // the caller's organisation, its recipient ours, its id well formed.
  // Refusals audited.
  absl::Status CheckClaimedParties(const Identity& caller, const envelope::EnvelopeHeader& claimed,
                                   Pending* defer = nullptr);
  // A record id seen before: OK with `response` filled (the first receipt)
  // if it came with the same envelope, AlreadyExists (audited) if not,
  // NotFound if the id is new.
  absl::Status CheckRepeat(const Identity& caller, const envelope::EnvelopeHeader& header,
                           const std::string& envelope_sha256, v1::DeliverResponse* response,
                           Pending* defer = nullptr);
  // DeliverStream after authentication: spools, verifies, checks, commits.
  absl::Status AcceptStream(const Identity& caller, grpc::ServerContext* context,
                            grpc::ServerReader<v1::DeliverChunk>* reader,
                            v1::DeliverResponse* response,
                            TrustSnapshot trust);
  // Sends on the refusal Accept left in `pending` (Deliver's and
  // DeliverBatch's): `settle` runs once it is audited, on the audit log's
  // thread, and the record stays claimed until then.
  void ReportRejection(const Identity& caller, Pending* pending, Finisher settle);
  // Audits and stores `pending`, then calls `finish` with `response` holding
  // its receipt, unsigned if this call stored it.
  void Commit(Pending pending, Finisher finish, v1::DeliverResponse* response);
  // Reports a refused delivery (gateway/refusal_reporter.h) and returns the
  // status to answer: the refusal's, or Unavailable if even the refusal
  // could not be audited. `header` as claimed, `opened` once verified; either
  // may be null. With `defer` whose answer_later is set (Deliver's), the
  // report is left in defer->rejection for Deliver to send on without
  // waiting, and the refusal's status returned.
  absl::Status Reject(const Identity& caller, const envelope::EnvelopeHeader* header,
                      const OpenedContent* opened, const Refusal& refusal,
                      Pending* defer = nullptr);
  // A refusal before any decision (malformed, replayed, over a limit).
  absl::Status Reject(const Identity& caller, const envelope::EnvelopeHeader* header,
                      const OpenedContent* opened, absl::Status refused,
                      Pending* defer = nullptr) {
    return Reject(caller, header, opened, Refusal::Check(std::move(refused), ""), defer);
  }

  // Why an envelope that did not open is refused. Malformed
  // (InvalidArgument) and sealed for keys we do not hold (NotFound) keep
  // their codes, and so does Unavailable for one read back from our spool
  // (our I/O, not the sender's doing); any other failure is the envelope's
  // signature or sealing: Unauthenticated.
  static absl::Status EnvelopeRefusal(const absl::Status& s, absl::string_view what,
                                      bool from_spool);

  const GatewayContext* const ctx_;
  RateLimiter limiter_;           // Deliver calls per peer organisation
  RateLimiter listener_limiter_;  // Deliver calls on the peer port, all peers
  Claims delivering_;  // records being delivered, by (sender, record id)
  InboundCommit commit_;  // audit and the mailbox
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_PEER_SERVICE_H_

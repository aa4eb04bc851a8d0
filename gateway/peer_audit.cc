#include "gateway/peer_audit.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "audit/checkpoint.h"
#include "audit/merkle_hasher.h"
#include "audit/merkle_verifier.h"
#include "transport/grpc_status.h"
#include "common/log.h"
#include "gateway/receipt.h"

namespace gatehouse {
namespace {

constexpr int kCallTimeoutMs = 5000;

void SetDeadline(grpc::ClientContext* c) {
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(kCallTimeoutMs));
}

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

absl::StatusOr<audit::Hash> ToHash(absl::string_view bytes) {
  if (bytes.size() != audit::kHashSize) {
    return absl::InvalidArgumentError("a proof hash is not 32 bytes");
  }
  audit::Hash h;
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

absl::StatusOr<std::vector<audit::Hash>> ToHashes(
    const google::protobuf::RepeatedPtrField<std::string>& in) {
  std::vector<audit::Hash> out;
  for (const std::string& b : in) {
    ASSIGN_OR_RETURN(audit::Hash h, ToHash(b));
    out.push_back(h);
  }
  return out;
}

std::string HashBytes(const audit::Hash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

std::vector<std::string> VerifiedCosignerOrgs(const audit::SignedCheckpoint& cp,
                                              const std::vector<v1::Organisation>& directory,
                                              const std::string& log_owner) {
  std::vector<audit::NoteVerifier> keys;
  std::vector<std::string> owners;
  for (const v1::Organisation& org : directory) {
    if (org.org_id() == log_owner || org.cosigner_key().empty()) continue;
    absl::StatusOr<audit::NoteVerifier> key =
        audit::NoteVerifier::FromVerifierKey(org.cosigner_key());
    if (!key.ok() || key->type() != audit::kSigTypeCosignatureV1) continue;
    keys.push_back(*std::move(key));
    owners.push_back(org.org_id());
  }
  std::vector<const audit::NoteVerifier*> candidates;
  for (const audit::NoteVerifier& k : keys) candidates.push_back(&k);
  std::vector<std::string> out;
  for (const audit::NoteVerifier* v :
       audit::VerifiedCosigners(cp.text, cp.note.signatures, candidates)) {
    out.push_back(owners[v - keys.data()]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Cosigner::Start() {
  rounds_.Start(std::chrono::seconds(ctx_->config->cosign_interval_seconds()),
                [this] { RunOnce(); });
}

void Cosigner::Stop() { rounds_.Stop(); }

std::map<std::string, std::string> Cosigner::alarms() const {
  absl::MutexLock lock(&mu_);
  return alarms_;
}

void Cosigner::RunOnce() {
  for (const v1::Organisation& peer : ctx_->directory->All()) {
    if (peer.org_id() == ctx_->config->org_id() || peer.audit_key().empty()) continue;
    absl::Status s = CheckPeer(peer);
    if (!s.ok() && !absl::IsDataLoss(s)) {
      ctx_->metrics->CountPeerCheckpoint(peer.org_id(), "unavailable");
    }
  }
}

void Cosigner::Alarm(const std::string& org, const std::string& detail, const std::string& note) {
  {
    absl::MutexLock lock(&mu_);
    auto it = alarms_.find(org);
    if (it != alarms_.end() && it->second == detail) return;  // audited already
    alarms_[org] = detail;
  }
  ctx_->metrics->CountPeerCheckpoint(org, "inconsistent");
  LogError("peer audit log is inconsistent with the checkpoint this gateway cosigned",
           {{"peer", org}, {"detail", detail}});
  v1::AuditEntry e;
  e.set_event(v1::AUDIT_EVENT_PEER_LOG_INCONSISTENT);
  e.set_sender_org(org);
  e.set_recipient_org(ctx_->config->org_id());
  e.set_reason(absl::StrCat(detail, "; offending checkpoint: ", absl::CEscape(note)));
  ctx_->auditor->Note(std::move(e));
}

absl::Status Cosigner::CheckPeer(const v1::Organisation& peer) {
  const std::string& org = peer.org_id();
  ASSIGN_OR_RETURN(audit::NoteVerifier log_key,
                   audit::NoteVerifier::FromVerifierKey(peer.audit_key()));
  absl::StatusOr<PeerCheckpoint> prev = ctx_->store->GetPeerCheckpoint(org);
  if (!prev.ok() && !absl::IsNotFound(prev.status())) return prev.status();
  ASSIGN_OR_RETURN(std::shared_ptr<v1::Peer::Stub> stub, ctx_->peers->StubFor(peer));
  v1::GetCheckpointRequest req;
  req.set_from_size(prev.ok() ? prev->size : 0);
  v1::GetCheckpointResponse resp;
  grpc::ClientContext call;
  SetDeadline(&call);
  grpc::Status gs = stub->GetCheckpoint(&call, req, &resp);
  if (!gs.ok()) return FromGrpc(gs);

  absl::StatusOr<audit::SignedCheckpoint> cp = audit::OpenCheckpoint(resp.checkpoint(), log_key);
  if (!cp.ok()) {
    // Not signed by the key the directory lists: not the peer's log at all.
    Alarm(org, absl::StrCat("checkpoint does not verify with ", org, "'s audit key: ",
                            cp.status().message()),
          resp.checkpoint());
    return absl::DataLossError("bad checkpoint signature");
  }
  const uint64_t size = cp->checkpoint.size;
  if (prev.ok()) {
    ASSIGN_OR_RETURN(audit::Hash prev_root, ToHash(prev->root));
    absl::Status consistent;
    if (size < prev->size) {
      consistent = absl::DataLossError(absl::StrCat(
          "the log shrank from ", prev->size, " entries (cosigned) to ", size));
    } else {
      absl::StatusOr<std::vector<audit::Hash>> proof = ToHashes(resp.consistency_proof());
      consistent = proof.ok() ? audit::VerifyConsistency(prev->size, size, prev_root,
                                                         cp->checkpoint.root, *proof)
                              : proof.status();
      if (!consistent.ok()) {
        consistent = absl::DataLossError(absl::StrCat(
            "the checkpoint at ", size, " entries does not extend the one cosigned at ",
            prev->size, ": ", consistent.message()));
      }
    }
    if (!consistent.ok()) {
      Alarm(org, std::string(consistent.message()), resp.checkpoint());
      return consistent;
    }
    if (size == prev->size) return absl::OkStatus();  // nothing new to cosign
  }
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()));
  std::string cosigned =
      absl::StrCat(resp.checkpoint(), audit::FormatSignatureLine(audit::Cosign(cp->text, key_, now)));
  v1::PutCosignatureRequest put;
  put.set_cosigned_checkpoint(cosigned);
  v1::PutCosignatureResponse put_resp;
  grpc::ClientContext put_call;
  SetDeadline(&put_call);
  gs = stub->PutCosignature(&put_call, put, &put_resp);
  // ALREADY_EXISTS: the peer holds a cosignature of this checkpoint by our
  // key (one an earlier round made, whose answer was lost): it is cosigned.
  if (!gs.ok() && gs.error_code() != grpc::StatusCode::ALREADY_EXISTS) return FromGrpc(gs);
  RETURN_IF_ERROR(ctx_->store->PutPeerCheckpoint(
      org, PeerCheckpoint{size, HashBytes(cp->checkpoint.root), resp.checkpoint()}));
  {
    absl::MutexLock lock(&mu_);
    alarms_.erase(org);
  }
  ctx_->metrics->CountPeerCheckpoint(org, "cosigned");
  return absl::OkStatus();
}

namespace {

v1::ProofCheck Failed(absl::string_view why) {
  v1::ProofCheck out;
  out.set_verified(false);
  out.set_detail(std::string(why));
  return out;
}

// One proof being fetched: what the answer is checked against, and the call.
struct ProofCall {
  std::string to;
  v1::DeliveryReceipt receipt;
  std::optional<audit::NoteVerifier> log_key;
  std::shared_ptr<v1::Peer::Stub> stub;
  grpc::ClientContext call;
  v1::GetInclusionProofRequest request;
  v1::GetInclusionProofResponse response;
};

// The call for `entry`'s proof, or why there can be none.
absl::StatusOr<std::unique_ptr<ProofCall>> PrepareProof(const GatewayContext& ctx,
                                                        const OutboxEntry& entry) {
  auto p = std::make_unique<ProofCall>();
  p->to = entry.record.labels().recipient_org();
  if ((entry.state != v1::RECORD_STATE_DELIVERED &&
       entry.state != v1::RECORD_STATE_ACKNOWLEDGED) ||
      entry.receipt.receipt().empty()) {
    return absl::FailedPreconditionError(
        "the record has not been delivered, so there is no receipt to prove");
  }
  std::optional<v1::Organisation> peer = ctx.directory->Find(p->to);
  if (!peer.has_value()) {
    return absl::NotFoundError(absl::StrCat(p->to, " is no longer in the directory"));
  }
  absl::StatusOr<v1::DeliveryReceipt> receipt = VerifyReceipt(entry.receipt, *peer);
  if (!receipt.ok()) {
    return absl::Status(receipt.status().code(),
                        absl::StrCat("receipt: ", receipt.status().message()));
  }
  p->receipt = *std::move(receipt);
  absl::StatusOr<audit::NoteVerifier> log_key =
      audit::NoteVerifier::FromVerifierKey(peer->audit_key());
  if (!log_key.ok()) {
    return absl::NotFoundError(absl::StrCat("the directory has no audit key for ", p->to));
  }
  p->log_key.emplace(*std::move(log_key));
  ASSIGN_OR_RETURN(p->stub, ctx.peers->StubFor(*peer));
  p->request.set_audit_index(p->receipt.audit_index());
  SetDeadline(&p->call);
  return p;
}

// Checks the receiving gateway's answer to `p`'s call.
v1::ProofCheck CheckProofAnswer(const GatewayContext& ctx, const ProofCall& p) {
  const v1::GetInclusionProofResponse& resp = p.response;
  absl::StatusOr<audit::SignedCheckpoint> cp = audit::OpenCheckpoint(resp.checkpoint(), *p.log_key);
  if (!cp.ok()) return Failed(absl::StrCat("checkpoint: ", cp.status().message()));
  if (cp->checkpoint.size != resp.tree_size()) {
    return Failed("the proof's tree size is not the checkpoint's");
  }
  v1::AuditEntry logged;
  if (!logged.ParseFromString(resp.entry()) || logged.event() != v1::AUDIT_EVENT_RECEIVED ||
      logged.record_id() != p.receipt.record_id() ||
      logged.sender_org() != ctx.config->org_id()) {
    return Failed("the entry at the receipt's audit index is not this record's RECEIVED entry");
  }
  absl::StatusOr<std::vector<audit::Hash>> path = ToHashes(resp.hashes());
  if (!path.ok()) return Failed(path.status().message());
  absl::Status included = audit::VerifyInclusion(p.receipt.audit_index(), resp.tree_size(),
                                                 audit::HashLeaf(resp.entry()), *path,
                                                 cp->checkpoint.root);
  if (!included.ok()) return Failed(absl::StrCat("inclusion: ", included.message()));
  const std::vector<std::string> cosigners = VerifiedCosignerOrgs(*cp, ctx.directory->All(), p.to);
  v1::ProofCheck out;
  out.set_verified(true);
  out.set_leaf_index(p.receipt.audit_index());
  out.set_tree_size(resp.tree_size());
  out.set_checkpoint(resp.checkpoint());
  out.set_detail(absl::StrCat("RECEIVED entry ", p.receipt.audit_index(), " of ", p.to,
                              "'s audit log is included in its checkpoint of ",
                              resp.tree_size(), " entries, signed by ", p.log_key->name(), " and ",
                              cosigners.size(), " distinct verified cosigner(s)",
                              cosigners.empty() ? "" : " (", absl::StrJoin(cosigners, ", "),
                              cosigners.empty() ? "" : ")"));
  return out;
}

}  // namespace

void CheckDeliveryProof(const GatewayContext& ctx, const OutboxEntry& entry,
                        std::function<void(v1::ProofCheck)> done) {
  absl::StatusOr<std::unique_ptr<ProofCall>> prepared = PrepareProof(ctx, entry);
  if (!prepared.ok()) {
    done(Failed(prepared.status().message()));
    return;
  }
  ProofCall* p = prepared->release();  // owned by the callback below
  p->stub->async()->GetInclusionProof(
      &p->call, &p->request, &p->response,
      [&ctx, p, done = std::move(done)](grpc::Status gs) {
        std::unique_ptr<ProofCall> owned(p);
        if (!gs.ok()) {
          done(Failed(absl::StrCat(owned->to, ": ", GrpcCodeName(gs.error_code()), ": ",
                                   gs.error_message())));
          return;
        }
        done(CheckProofAnswer(ctx, *owned));
      });
}

}  // namespace gatehouse

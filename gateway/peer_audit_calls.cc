// The Peer API's audit calls: another gateway reads our signed checkpoint
// (with a consistency proof), cosigns it, and asks for the inclusion proof
// of the entry about a record it sent.
#include "audit/checkpoint.h"
#include "audit/note.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "gateway/peer_service.h"
#include "transport/grpc_status.h"

namespace gatehouse {
namespace {

std::string HashBytes(const audit::Hash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

grpc::ServerUnaryReactor* PeerService::GetCheckpoint(grpc::CallbackServerContext* context,
                                                     const v1::GetCheckpointRequest* request,
                                                     v1::GetCheckpointResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return AnswerNow(context, caller.status());
  const audit::AuditTrail& log = *ctx_->auditor->log();
  absl::StatusOr<audit::CheckpointNote> latest = log.LatestCheckpointNote();
  if (!latest.ok()) return AnswerNow(context, latest.status());
  response->set_checkpoint(latest->note);
  const uint64_t from = request->from_size();
  if (from > 0 && from <= latest->size) {
    absl::StatusOr<std::vector<audit::Hash>> proof = log.ConsistencyProof(from, latest->size);
    if (!proof.ok()) return AnswerNow(context, proof.status());
    for (const audit::Hash& h : *proof) response->add_consistency_proof(HashBytes(h));
  }
  return AnswerNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* PeerService::PutCosignature(grpc::CallbackServerContext* context,
                                                      const v1::PutCosignatureRequest* request,
                                                      v1::PutCosignatureResponse*) {
  std::shared_ptr<const DirectorySnapshot> directory = TrustOf(*ctx_).directory;
  absl::StatusOr<Identity> caller = Authenticate(context, *directory);
  if (!caller.ok()) return AnswerNow(context, caller.status());
  const v1::Organisation* org = directory->Find(caller->org);
  absl::StatusOr<audit::NoteVerifier> cosigner =
      audit::NoteVerifier::FromVerifierKey(org != nullptr ? org->cosigner_key() : "");
  if (!cosigner.ok()) {
    return AnswerNow(context, absl::FailedPreconditionError(absl::StrCat(
                               "the directory lists no cosigner key for ", caller->org)));
  }
  absl::Status s = ctx_->auditor->log()->AddCosignature(request->cosigned_checkpoint(), *cosigner);
  if (s.ok()) {
    LogInfo("checkpoint cosigned by peer", {{"peer", caller->org}});
  } else {
    LogWarning("cosignature refused", {{"peer", caller->org}, {"error", s.ToString()}});
  }
  return AnswerNow(context, s);
}

grpc::ServerUnaryReactor* PeerService::GetInclusionProof(
    grpc::CallbackServerContext* context, const v1::GetInclusionProofRequest* request,
    v1::GetInclusionProofResponse* response) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) return AnswerNow(context, caller.status());
  const audit::AuditTrail& log = *ctx_->auditor->log();
  const uint64_t index = request->audit_index();
  absl::StatusOr<audit::CheckpointNote> latest = log.LatestCheckpointNote();
  if (!latest.ok()) return AnswerNow(context, latest.status());
  if (index >= latest->size) {
    return AnswerNow(context, absl::NotFoundError(absl::StrCat(
                               "audit entry ", index, " is not yet covered by a signed "
                               "checkpoint (latest covers ", latest->size,
                               " entries); ask again after the next one")));
  }
  absl::StatusOr<v1::AuditEntry> entry = log.ReadEntry(index);
  // Only the record's sender may see the entry; any other is reported as missing.
  if (!entry.ok() || entry->sender_org() != caller->org) {
    return AnswerNow(context, absl::NotFoundError(absl::StrCat(
                               "no audit entry ", index, " about a record from ", caller->org)));
  }
  absl::StatusOr<std::vector<audit::Hash>> proof = log.InclusionProof(index, latest->size);
  if (!proof.ok()) return AnswerNow(context, proof.status());
  response->set_entry(entry->SerializeAsString());
  response->set_tree_size(latest->size);
  for (const audit::Hash& h : *proof) response->add_hashes(HashBytes(h));
  response->set_checkpoint(latest->note);
  return AnswerNow(context, absl::OkStatus());
}

}  // namespace gatehouse

// The inbound record path's audit+store stage: an accepted delivery's
// RECEIVED entry is made durable, the receipt is signed naming that entry's
// index, then the record is stored in the mailbox with the receipt; each
// step is started by the one before (no thread waits). Nothing is held that
// was not audited first, and no receipt is signed for an entry the log
// refused: the sender retries, and the receiver's de-duplication answers a
// copy already held with its first receipt.
//
//   admit -> verify -> decide (record/inbound.h) -> commit (this) -> answer
//
// Thread-safe if the sink, signer and store are.
#ifndef GATEHOUSE_GATEWAY_INBOUND_COMMIT_H_
#define GATEHOUSE_GATEWAY_INBOUND_COMMIT_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "gatehouse/v1/peer.pb.h"
#include "gateway/auditor.h"
#include "gateway/joint_commit.h"
#include "gateway/record/inbound.h"
#include "gateway/store/mailbox_store.h"

namespace gatehouse {

class InboundCommit {
 public:
  // Signs a receipt with this gateway's signing key (gateway/receipt.h).
  using Signer = std::function<absl::StatusOr<v1::SignedReceipt>(const v1::DeliveryReceipt&)>;

  // With `joint` (may be null), the entry and the row (with the receipt)
  // commit together (gateway/joint_commit.h); its errors are answered as
  // RetryableUnlessDuplicate says.
  InboundCommit(AuditSink* audit, MailboxStore* mailbox, Signer signer,
                JointCommit* joint = nullptr)
      : audit_(audit), mailbox_(mailbox), signer_(std::move(signer)), joint_(joint) {}

  // Audits plan.entry, signs plan.receipt with its index, stores
  // plan.record (its envelope set) under `envelope_sha256`; `done` gets
  // what the mailbox holds now and whether this call stored it (false: a
  // copy already held), or Unavailable if it could not be audited, or the
  // signer's or the store's error.
  void Commit(InboundPlan plan, const std::string& envelope_sha256,
              MailboxStore::MailboxDone done);

 private:
  AuditSink* const audit_;
  MailboxStore* const mailbox_;
  const Signer signer_;
  JointCommit* const joint_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_INBOUND_COMMIT_H_

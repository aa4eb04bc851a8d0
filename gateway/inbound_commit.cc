#include "gateway/inbound_commit.h"

#include <utility>

namespace gatehouse {

void InboundCommit::Commit(InboundPlan plan, const std::string& envelope_sha256,
                           MailboxStore::MailboxDone done) {
  if (joint_ != nullptr) {
    joint_->AddToMailbox(
        std::move(plan.entry), plan.record, envelope_sha256,
        [signer = signer_, receipt = std::move(plan.receipt)](uint64_t index) mutable {
          receipt.set_audit_index(index);
          return signer(receipt);
        },
        [done = std::move(done)](absl::StatusOr<MailboxPut> put) {
          if (!put.ok()) put = RetryableUnlessDuplicate(put.status());
          done(std::move(put));
        });
    return;
  }
  v1::AuditEntry entry = std::move(plan.entry);
  audit_->Record(std::move(entry), [this, plan = std::move(plan), envelope_sha256,
                                    done = std::move(done)](
                                       absl::StatusOr<uint64_t> index) mutable {
    if (!index.ok()) {
      done(absl::UnavailableError("this gateway cannot write its audit log; retry later"));
      return;
    }
    plan.receipt.set_audit_index(*index);
    absl::StatusOr<v1::SignedReceipt> signed_receipt = signer_(plan.receipt);
    if (!signed_receipt.ok()) {
      done(signed_receipt.status());
      return;
    }
    mailbox_->AddToMailboxAsync(plan.record, envelope_sha256, *signed_receipt, std::move(done));
  });
}

}  // namespace gatehouse

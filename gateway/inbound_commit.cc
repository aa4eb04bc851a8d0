#include "gateway/inbound_commit.h"

#include <utility>

namespace gatehouse {
namespace {

v1::SignedReceipt Unsigned(v1::DeliveryReceipt receipt, uint64_t index) {
  receipt.set_audit_index(index);
  v1::SignedReceipt held;
  held.set_receipt(receipt.SerializeAsString());
  return held;
}

}  // namespace

void InboundCommit::Commit(InboundPlan plan, const std::string& envelope_sha256,
                           MailboxStore::MailboxDone done) {
  if (joint_ != nullptr) {
    joint_->AddToMailbox(
        std::move(plan.entry), plan.record, envelope_sha256,
        [receipt = std::move(plan.receipt)](uint64_t index) {
          return absl::StatusOr<v1::SignedReceipt>(Unsigned(receipt, index));
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
    mailbox_->AddToMailboxAsync(plan.record, envelope_sha256,
                                Unsigned(std::move(plan.receipt), *index), std::move(done));
  });
}

}  // namespace gatehouse

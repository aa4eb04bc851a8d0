// The inbound record path's audit+store stage: an accepted delivery's
// RECEIVED entry is made durable and the record is stored in the mailbox
// with its receipt, naming that entry's index; with a joint commit both in
// one write, else each step started by the one before (no thread waits).
// Nothing is held that was not audited first. The receipt is stored
// unsigned: it is signed when it is answered (PeerService), alone or with
// the rest of its batch, so that a batch's receipts share one signature
// and none is signed for a record not durably held.
//
//   admit -> verify -> decide (record/inbound.h) -> commit (this) -> sign, answer
//
// Thread-safe if the sink and store are.
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
  // With `joint` (may be null), the entry and the row (with the receipt)
  // commit together (gateway/joint_commit.h); its errors are answered as
  // RetryableUnlessDuplicate says.
  InboundCommit(AuditSink* audit, MailboxStore* mailbox, JointCommit* joint = nullptr)
      : audit_(audit), mailbox_(mailbox), joint_(joint) {}

  // Audits plan.entry, stores plan.record (its envelope set) under
  // `envelope_sha256` with plan.receipt naming the entry's index, unsigned;
  // `done` gets what the mailbox holds now and whether this call stored it
  // (false: a copy already held, with the receipt it was stored with), or
  // Unavailable if it could not be audited, or the store's error.
  void Commit(InboundPlan plan, const std::string& envelope_sha256,
              MailboxStore::MailboxDone done);

 private:
  AuditSink* const audit_;
  MailboxStore* const mailbox_;
  JointCommit* const joint_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_INBOUND_COMMIT_H_

// Delivery receipts: what a receiving gateway signs when it has durably
// taken a record (peer.proto DeliveryReceipt), and the sender's check of one.
//
// Signed by the receiving gateway's primary envelope signing key, so the
// sender checks it against the verification keys the directory lists for
// the recipient. Alone, the signed message is
// "gatehouse.receipt.v1" || 0x00 || serialized receipt. A batch's receipts
// (Peer.DeliverBatch) share one signature over the root of an RFC 6962
// SHA-256 tree of them; each carries its index and inclusion path, so each
// still verifies alone (peer.proto SignedReceipt says the exact bytes).
//
// Thread-safe: pure functions; a VerifiedBatches is not shared.
//
// Example:
//   v1::SignedReceipt s = SignReceipt(keyset, receipt);            // receiver
//   ASSIGN_OR_RETURN(v1::DeliveryReceipt r, VerifyReceipt(s, council));  // sender
#ifndef GATEHOUSE_GATEWAY_RECEIPT_H_
#define GATEHOUSE_GATEWAY_RECEIPT_H_

#include <set>
#include <string>
#include <vector>

#include "envelope/sha256.h"  // Sha256: receipts name envelopes by it
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gatehouse/v1/directory.pb.h"
#include "gatehouse/v1/peer.pb.h"
#include "envelope/keyset.h"

namespace gatehouse {

// Signs `receipt` alone with `keys`' primary signing key. FailedPrecondition
// if the keyset has none.
absl::StatusOr<v1::SignedReceipt> SignReceipt(const envelope::Keyset& keys,
                                              const v1::DeliveryReceipt& receipt);

// Signs serialized receipts together, with one signature: the answer's i-th
// element is receipt i with its batch index and path. One receipt is signed
// alone (batch_size 0), as SignReceipt signs it. InvalidArgument for none.
absl::StatusOr<std::vector<v1::SignedReceipt>> SignReceipts(
    const envelope::Keyset& keys, const std::vector<std::string>& receipts);

// Batch signatures a sender has already checked, so that a batch's receipts
// cost one signature check between them rather than one each. Only ever
// holds signatures that verified. Not thread-safe: one per batch answer.
class VerifiedBatches {
 public:
  bool Contains(const std::string& key) const { return verified_.count(key) > 0; }
  void Add(std::string key) { verified_.insert(std::move(key)); }

 private:
  std::set<std::string> verified_;
};

// Checks the signature against `signer`'s directory verification keys and
// that the receipt is signed by the organisation it names as receiver; a
// batch receipt's path must lead to the root its signature covers. With
// `verified`, a batch signature it holds is not checked again. Unauthenticated
// if not; InvalidArgument if it does not parse.
absl::StatusOr<v1::DeliveryReceipt> VerifyReceipt(const v1::SignedReceipt& signed_receipt,
                                                  const v1::Organisation& signer,
                                                  VerifiedBatches* verified = nullptr);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECEIPT_H_

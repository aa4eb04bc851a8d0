// Delivery receipts: what a receiving gateway signs when it has durably
// taken a record (peer.proto DeliveryReceipt), and the sender's check of one.
//
// Signed message: "gatehouse.receipt.v1" || 0x00 || serialized receipt, by
// the receiving gateway's primary envelope signing key, so the sender checks
// it against the verification keys the directory lists for the recipient.
//
// Thread-safe: pure functions.
//
// Example:
//   v1::SignedReceipt s = SignReceipt(keyset, receipt);            // receiver
//   ASSIGN_OR_RETURN(v1::DeliveryReceipt r, VerifyReceipt(s, council));  // sender
#ifndef GATEHOUSE_GATEWAY_RECEIPT_H_
#define GATEHOUSE_GATEWAY_RECEIPT_H_

#include <string>

#include "envelope/sha256.h"  // Sha256: receipts name envelopes by it
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gatehouse/v1/directory.pb.h"
#include "gatehouse/v1/peer.pb.h"
#include "envelope/keyset.h"

namespace gatehouse {

// Signs `receipt` with `keys`' primary signing key. FailedPrecondition if
// the keyset has none.
absl::StatusOr<v1::SignedReceipt> SignReceipt(const envelope::Keyset& keys,
                                              const v1::DeliveryReceipt& receipt);

// Checks the signature against `signer`'s directory verification keys and
// that the receipt is signed by the organisation it names as receiver.
// Unauthenticated if not; InvalidArgument if it does not parse.
absl::StatusOr<v1::DeliveryReceipt> VerifyReceipt(const v1::SignedReceipt& signed_receipt,
                                                  const v1::Organisation& signer);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECEIPT_H_

#include "gateway/receipt.h"

#include <openssl/sha.h>
#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gatehouse {
namespace {

constexpr absl::string_view kReceiptDomain("gatehouse.receipt.v1\0", 21);

std::string SignedMessage(absl::string_view receipt_bytes) {
  return absl::StrCat(kReceiptDomain, receipt_bytes);
}

}  // namespace

absl::StatusOr<v1::SignedReceipt> SignReceipt(const envelope::Keyset& keys,
                                              const v1::DeliveryReceipt& receipt) {
  const envelope::Keyset::Key* key = keys.Primary(v1::KEY_PURPOSE_SIGNING);
  if (key == nullptr) {
    return absl::FailedPreconditionError("the keyset has no primary signing key");
  }
  v1::SignedReceipt out;
  out.set_receipt(receipt.SerializeAsString());
  out.set_key_id(std::string(envelope::AsStringView(key->id)));
  const std::string message = SignedMessage(out.receipt());
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), key->secret.data(envelope::SecretKeyAccess()));
  out.set_signature(std::string(reinterpret_cast<const char*>(sig), sizeof(sig)));
  return out;
}

absl::StatusOr<v1::DeliveryReceipt> VerifyReceipt(const v1::SignedReceipt& signed_receipt,
                                                  const v1::Organisation& signer) {
  ASSIGN_OR_RETURN(std::vector<envelope::VerifyingKey> keys,
                   envelope::VerifyingKeysFromDirectory(signer));
  if (signed_receipt.signature().size() != crypto_sign_BYTES) {
    return absl::UnauthenticatedError("the receipt's signature is not 64 bytes");
  }
  const std::string message = SignedMessage(signed_receipt.receipt());
  bool verified = false;
  for (const envelope::VerifyingKey& k : keys) {
    if (envelope::AsStringView(k.id) != signed_receipt.key_id()) continue;
    verified = crypto_sign_verify_detached(
                   reinterpret_cast<const unsigned char*>(signed_receipt.signature().data()),
                   reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                   k.public_key.data()) == 0;
    break;
  }
  if (!verified) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the receipt is not signed by a key the directory lists for ", signer.org_id()));
  }
  v1::DeliveryReceipt receipt;
  if (!receipt.ParseFromString(signed_receipt.receipt())) {
    return absl::InvalidArgumentError("the receipt does not parse");
  }
  if (receipt.receiver_org() != signer.org_id()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the receipt names ", receipt.receiver_org(), " but is signed by ", signer.org_id()));
  }
  return receipt;
}

}  // namespace gatehouse

#include "gateway/receipt.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "audit/merkle_hasher.h"
#include "audit/merkle_tree.h"
#include "audit/merkle_verifier.h"
#include "common/status_macros.h"

namespace gatehouse {
namespace {

constexpr absl::string_view kReceiptDomain("gatehouse.receipt.v1\0", 21);
constexpr absl::string_view kBatchDomain("gatehouse.receipt-batch.v1\0", 27);
// A batch never holds more (Peer.DeliverBatch takes at most 256); the bound
// keeps a forged batch_size from asking for a long path.
constexpr uint64_t kMaxBatchReceipts = 1 << 16;

std::string SignedMessage(absl::string_view receipt_bytes) {
  return absl::StrCat(kReceiptDomain, receipt_bytes);
}

audit::Hash ReceiptLeaf(absl::string_view receipt_bytes) {
  return audit::HashLeaf(SignedMessage(receipt_bytes));
}

std::string BatchMessage(uint64_t size, const audit::Hash& root) {
  std::string be(8, '\0');
  for (int i = 7; i >= 0; --i, size >>= 8) be[i] = static_cast<char>(size & 0xff);
  return absl::StrCat(kBatchDomain, be, audit::HashToBytes(root));
}

std::string Sign(const envelope::Keyset::Key& key, const std::string& message) {
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), key.secret.data(envelope::SecretKeyAccess()));
  return std::string(reinterpret_cast<const char*>(sig), sizeof(sig));
}

absl::StatusOr<const envelope::Keyset::Key*> SigningKey(const envelope::Keyset& keys) {
  const envelope::Keyset::Key* key = keys.Primary(v1::KEY_PURPOSE_SIGNING);
  if (key == nullptr) {
    return absl::FailedPreconditionError("the keyset has no primary signing key");
  }
  return key;
}

// The message a receipt's signature covers: the receipt's own, or its
// batch's, from the root its path leads to.
absl::StatusOr<std::string> MessageSigned(const v1::SignedReceipt& s) {
  if (s.batch_size() == 0) {
    if (s.batch_index() != 0 || s.batch_path_size() != 0) {
      return absl::UnauthenticatedError("a receipt signed alone carries a batch path");
    }
    return SignedMessage(s.receipt());
  }
  if (s.batch_size() > kMaxBatchReceipts) {
    return absl::UnauthenticatedError("the receipt's batch is impossibly large");
  }
  std::vector<audit::Hash> path(s.batch_path_size());
  for (int i = 0; i < s.batch_path_size(); ++i) {
    if (!audit::HashFromBytes(s.batch_path(i), &path[i])) {
      return absl::UnauthenticatedError("the receipt's batch path has a hash not 32 bytes");
    }
  }
  absl::StatusOr<audit::Hash> root = audit::RootFromInclusionProof(
      s.batch_index(), s.batch_size(), ReceiptLeaf(s.receipt()), path);
  if (!root.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("the receipt's batch path is malformed: ", root.status().message()));
  }
  return BatchMessage(s.batch_size(), *root);
}

}  // namespace

absl::StatusOr<v1::SignedReceipt> SignReceipt(const envelope::Keyset& keys,
                                              const v1::DeliveryReceipt& receipt) {
  ASSIGN_OR_RETURN(std::vector<v1::SignedReceipt> one,
                   SignReceipts(keys, {receipt.SerializeAsString()}));
  return std::move(one[0]);
}

absl::StatusOr<std::vector<v1::SignedReceipt>> SignReceipts(
    const envelope::Keyset& keys, const std::vector<std::string>& receipts) {
  if (receipts.empty()) return absl::InvalidArgumentError("no receipts to sign");
  if (receipts.size() > kMaxBatchReceipts) {
    return absl::InvalidArgumentError("too many receipts to sign together");
  }
  ASSIGN_OR_RETURN(const envelope::Keyset::Key* key, SigningKey(keys));
  std::vector<v1::SignedReceipt> out(receipts.size());
  const std::string key_id(envelope::AsStringView(key->id));
  if (receipts.size() == 1) {
    out[0].set_receipt(receipts[0]);
    out[0].set_key_id(key_id);
    out[0].set_signature(Sign(*key, SignedMessage(receipts[0])));
    return out;
  }
  audit::MemoryTree tree;
  for (const std::string& r : receipts) tree.Append(ReceiptLeaf(r));
  ASSIGN_OR_RETURN(audit::Hash root, audit::TreeRoot(tree, tree.size()));
  const std::string signature = Sign(*key, BatchMessage(tree.size(), root));
  for (size_t i = 0; i < receipts.size(); ++i) {
    ASSIGN_OR_RETURN(std::vector<audit::Hash> path,
                     audit::BuildInclusionProof(tree, i, tree.size()));
    v1::SignedReceipt& s = out[i];
    s.set_receipt(receipts[i]);
    s.set_key_id(key_id);
    s.set_signature(signature);
    s.set_batch_size(tree.size());
    s.set_batch_index(i);
    for (const audit::Hash& h : path) s.add_batch_path(audit::HashToBytes(h));
  }
  return out;
}

absl::StatusOr<v1::DeliveryReceipt> VerifyReceipt(const v1::SignedReceipt& signed_receipt,
                                                  const v1::Organisation& signer,
                                                  VerifiedBatches* verified) {
  if (signed_receipt.signature().size() != crypto_sign_BYTES) {
    return absl::UnauthenticatedError("the receipt's signature is not 64 bytes");
  }
  ASSIGN_OR_RETURN(const std::string message, MessageSigned(signed_receipt));
  // What a batch signature is remembered by: who signed which message how.
  const std::string seen_key =
      signed_receipt.batch_size() == 0
          ? std::string()
          : absl::StrCat(signer.org_id(), "\n", signed_receipt.key_id(), "\n",
                         signed_receipt.signature(), message);
  if (verified == nullptr || seen_key.empty() || !verified->Contains(seen_key)) {
    ASSIGN_OR_RETURN(std::vector<envelope::VerifyingKey> keys,
                     envelope::VerifyingKeysFromDirectory(signer));
    bool ok = false;
    for (const envelope::VerifyingKey& k : keys) {
      if (envelope::AsStringView(k.id) != signed_receipt.key_id()) continue;
      ok = crypto_sign_verify_detached(
               reinterpret_cast<const unsigned char*>(signed_receipt.signature().data()),
               reinterpret_cast<const unsigned char*>(message.data()), message.size(),
               k.public_key.data()) == 0;
      break;
    }
    if (!ok) {
      return absl::UnauthenticatedError(absl::StrCat(
          "the receipt is not signed by a key the directory lists for ", signer.org_id()));
    }
    if (verified != nullptr && !seen_key.empty()) verified->Add(seen_key);
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

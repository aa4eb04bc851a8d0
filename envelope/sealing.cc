#include "envelope/sealing.h"

#include <sodium.h>

#include "envelope/domain.h"

namespace gatehouse::envelope::internal {
namespace {

const uint8_t* U8(absl::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

}  // namespace

absl::Status WrapDataKey(const SecretKey& data_key, const RecipientKey& recipient, uint8_t* out) {
  if (crypto_box_seal(out, data_key.data(SecretKeyAccess()), data_key.size(),
                      recipient.public_key.data()) != 0) {
    return absl::InvalidArgumentError("recipient encryption key is not a valid X25519 key");
  }
  return absl::OkStatus();
}

absl::Status UnwrapDataKey(absl::string_view wrapped, const Keyset::Key& key, SecretKey* data_key) {
  data_key->resize(kDataKeyBytes);
  if (wrapped.size() != kWrappedKeyBytes ||
      crypto_box_seal_open(data_key->mutable_data(SecretKeyAccess()), U8(wrapped), wrapped.size(),
                           key.public_key.data(), key.secret.data(SecretKeyAccess())) != 0) {
    *data_key = SecretKey();
    return absl::UnauthenticatedError("wrapped data key does not open");
  }
  return absl::OkStatus();
}

void Sign(const Keyset::Key& signing_key, absl::string_view message, uint8_t* signature) {
  crypto_sign_detached(signature, nullptr, U8(message), message.size(),
                       signing_key.secret.data(SecretKeyAccess()));
}

bool Verify(const PublicKey& key, absl::string_view message, absl::string_view signature) {
  return signature.size() == crypto_sign_BYTES &&
         crypto_sign_verify_detached(U8(signature), U8(message), message.size(), key.data()) == 0;
}

void EncryptPayload(const SecretKey& data_key, absl::string_view ad, const uint8_t* nonce,
                    absl::string_view plaintext, uint8_t* out) {
  crypto_aead_xchacha20poly1305_ietf_encrypt(out, nullptr, U8(plaintext), plaintext.size(),
                                             U8(ad), ad.size(), nullptr, nonce,
                                             data_key.data(SecretKeyAccess()));
}

absl::Status DecryptPayload(const SecretKey& data_key, absl::string_view ad,
                            absl::string_view nonce, absl::string_view ciphertext,
                            std::string* plaintext) {
  if (ciphertext.size() < kAeadTagBytes || nonce.size() != kNonceBytes) {
    return absl::InvalidArgumentError("ciphertext too short");
  }
  plaintext->resize(ciphertext.size() - kAeadTagBytes);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<uint8_t*>(plaintext->data()), nullptr, nullptr, U8(ciphertext),
          ciphertext.size(), U8(ad), ad.size(), U8(nonce), data_key.data(SecretKeyAccess())) != 0) {
    plaintext->clear();
    return absl::UnauthenticatedError("payload does not decrypt");
  }
  return absl::OkStatus();
}

bool CommitmentMatches(const SecretKey& data_key, const std::array<uint8_t, kHashBytes>& c) {
  const Hash expected = KeyCommitment(data_key);
  return sodium_memcmp(expected.data(), c.data(), c.size()) == 0;
}

void PayloadAd(absl::string_view header, std::string* ad) {
  ad->assign(kPayloadTag.data(), kPayloadTag.size());
  ad->append(header.data(), header.size());
}

}  // namespace gatehouse::envelope::internal

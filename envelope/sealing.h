// The libsodium calls shared by Sealer, BatchSealer, Opener and the stream
// codec: wrap and unwrap a data key, sign and verify, and the payload AEAD.
//
// Internal to envelope/. Pure functions; thread-safe.
#ifndef GATEHOUSE_ENVELOPE_SEALING_H_
#define GATEHOUSE_ENVELOPE_SEALING_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "envelope/digest.h"
#include "envelope/key_id.h"
#include "envelope/keyset.h"
#include "envelope/secret_key.h"

namespace gatehouse::envelope::internal {

// crypto_box_seal(data key, recipient): writes kWrappedKeyBytes to `out`.
// InvalidArgument if the recipient key is not a valid X25519 public key.
absl::Status WrapDataKey(const SecretKey& data_key, const RecipientKey& recipient, uint8_t* out);

// crypto_box_seal_open with an encryption key of ours. Unauthenticated if
// the wrapped key does not open (wrong key, or tampered).
absl::Status UnwrapDataKey(absl::string_view wrapped, const Keyset::Key& key, SecretKey* data_key);

// Ed25519 detached signature (64 bytes) over `message`.
void Sign(const Keyset::Key& signing_key, absl::string_view message, uint8_t* signature);
bool Verify(const PublicKey& key, absl::string_view message, absl::string_view signature);

// XChaCha20-Poly1305-IETF; `ad` is kPayloadTag || header. Encrypt writes
// plaintext.size() + 16 bytes to `out` (which may not overlap `plaintext`
// unless equal to it).
void EncryptPayload(const SecretKey& data_key, absl::string_view ad, const uint8_t* nonce,
                    absl::string_view plaintext, uint8_t* out);
// Unauthenticated if the tag does not verify; `*plaintext` is then cleared.
absl::Status DecryptPayload(const SecretKey& data_key, absl::string_view ad,
                            absl::string_view nonce, absl::string_view ciphertext,
                            std::string* plaintext);

// Constant-time comparison of a commitment in a header with the data key.
bool CommitmentMatches(const SecretKey& data_key, const std::array<uint8_t, kHashBytes>& c);

// The payload's associated data: kPayloadTag || header, into `*ad`.
void PayloadAd(absl::string_view header, std::string* ad);

}  // namespace gatehouse::envelope::internal

#endif  // GATEHOUSE_ENVELOPE_SEALING_H_

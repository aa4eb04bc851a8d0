// Key ids and public keys: what the directory publishes and what the
// envelope header names.
//
// A key id is the first 8 bytes of
//   BLAKE2b-128("gatehouse/v1/key-id\0" || purpose byte || public key)
// (docs/envelope.md, "Key ids"), so a directory entry cannot claim an id for
// a key it does not carry. Value types; thread-compatible.
//
// Example:
//   KeyId id = DeriveKeyId(KeyPurposeByte::kSigning, public_key);
//   std::string hex = KeyIdToHex(id);   // "3f9a0c..." (16 hex digits)
#ifndef GATEHOUSE_ENVELOPE_KEY_ID_H_
#define GATEHOUSE_ENVELOPE_KEY_ID_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse::envelope {

inline constexpr size_t kKeyIdBytes = 8;
inline constexpr size_t kPublicKeyBytes = 32;

using KeyId = std::array<uint8_t, kKeyIdBytes>;
using PublicKey = std::array<uint8_t, kPublicKeyBytes>;

// The byte mixed into the key id, so that an X25519 and an Ed25519 key with
// the same 32 bytes get different ids.
enum class KeyPurposeByte : uint8_t { kEncryption = 1, kSigning = 2 };

KeyId DeriveKeyId(KeyPurposeByte purpose, const PublicKey& public_key);

// 16 lower-case hex digits.
std::string KeyIdToHex(const KeyId& id);
// InvalidArgument unless `hex` is exactly 16 lower-case hex digits.
absl::StatusOr<KeyId> KeyIdFromHex(absl::string_view hex);

// InvalidArgument unless `bytes` is exactly 8 bytes.
absl::StatusOr<KeyId> KeyIdFromBytes(absl::string_view bytes);

// InvalidArgument unless `bytes` is exactly 32 bytes.
absl::StatusOr<PublicKey> PublicKeyFromBytes(absl::string_view bytes);

inline absl::string_view AsStringView(const uint8_t* p, size_t n) {
  return absl::string_view(reinterpret_cast<const char*>(p), n);
}
template <size_t N>
absl::string_view AsStringView(const std::array<uint8_t, N>& a) {
  return AsStringView(a.data(), N);
}

// An X25519 key that records are sealed to, as the directory publishes it.
struct RecipientKey {
  KeyId id;
  PublicKey public_key;
};

// An Ed25519 key whose signatures are accepted, as the directory publishes it.
struct VerifyingKey {
  KeyId id;
  PublicKey public_key;
};

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_KEY_ID_H_

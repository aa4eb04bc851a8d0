#include "envelope/key_id.h"

#include <sodium.h>

#include "absl/status/status.h"
#include "envelope/domain.h"

namespace gatehouse::envelope {

KeyId DeriveKeyId(KeyPurposeByte purpose, const PublicKey& public_key) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 16);
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(kKeyIdTag.data()),
                            kKeyIdTag.size());
  const uint8_t p = static_cast<uint8_t>(purpose);
  crypto_generichash_update(&state, &p, 1);
  crypto_generichash_update(&state, public_key.data(), public_key.size());
  uint8_t out[16];
  crypto_generichash_final(&state, out, sizeof out);
  KeyId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = out[i];
  return id;
}

std::string KeyIdToHex(const KeyId& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * id.size());
  for (uint8_t b : id) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

absl::StatusOr<KeyId> KeyIdFromHex(absl::string_view hex) {
  if (hex.size() != 2 * kKeyIdBytes) {
    return absl::InvalidArgumentError("key id must be 16 hex digits");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  KeyId id;
  for (size_t i = 0; i < id.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError("key id must be lower-case hex digits");
    }
    id[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

absl::StatusOr<KeyId> KeyIdFromBytes(absl::string_view bytes) {
  if (bytes.size() != kKeyIdBytes) return absl::InvalidArgumentError("key id must be 8 bytes");
  KeyId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(bytes[i]);
  return id;
}

absl::StatusOr<PublicKey> PublicKeyFromBytes(absl::string_view bytes) {
  if (bytes.size() != kPublicKeyBytes) {
    return absl::InvalidArgumentError("public key must be 32 bytes");
  }
  PublicKey key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(bytes[i]);
  return key;
}

}  // namespace gatehouse::envelope

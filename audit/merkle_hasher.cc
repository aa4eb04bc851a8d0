#include "audit/merkle_hasher.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/escaping.h"

namespace gatehouse::audit {

Hash EmptyRoot() {
  Hash h;
  crypto_hash_sha256(h.data(), nullptr, 0);
  return h;
}

Hash HashLeaf(absl::string_view data) {
  static const uint8_t kLeafPrefix = 0x00;
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, &kLeafPrefix, 1);
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  Hash h;
  crypto_hash_sha256_final(&st, h.data());
  return h;
}

Hash HashChildren(const Hash& left, const Hash& right) {
  uint8_t buf[1 + 2 * kHashSize];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), kHashSize);
  std::memcpy(buf + 1 + kHashSize, right.data(), kHashSize);
  Hash h;
  crypto_hash_sha256(h.data(), buf, sizeof(buf));
  return h;
}

bool HashFromBytes(absl::string_view bytes, Hash* out) {
  if (bytes.size() != kHashSize) return false;
  std::memcpy(out->data(), bytes.data(), kHashSize);
  return true;
}

std::string HashToHex(const Hash& h) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

}  // namespace gatehouse::audit

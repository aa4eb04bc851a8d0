// RFC 6962 section 2.1 Merkle tree hashing with SHA-256 (libsodium's
// crypto_hash_sha256), with the domain separation that stops a leaf being
// passed off as an interior node (second-preimage attack):
//
//   MTH({})      = SHA-256()                         (the empty tree)
//   leaf hash    = SHA-256(0x00 || entry bytes)
//   node hash    = SHA-256(0x01 || left || right)
//
// Thread-safe: pure functions.
//
// Example:
//   Hash leaf = HashLeaf("");      // 6e340b9cffb37a989ca544e6bb780a2c...
//   Hash root = HashChildren(leaf, leaf);
#ifndef GATEHOUSE_AUDIT_MERKLE_HASHER_H_
#define GATEHOUSE_AUDIT_MERKLE_HASHER_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace gatehouse::audit {

constexpr size_t kHashSize = 32;
using Hash = std::array<uint8_t, kHashSize>;

// SHA-256 of the empty string: the root of a tree with no leaves.
Hash EmptyRoot();

// SHA-256(0x00 || data).
Hash HashLeaf(absl::string_view data);

// SHA-256(0x01 || left || right).
Hash HashChildren(const Hash& left, const Hash& right);

// Raw bytes <-> Hash. FromBytes returns false (leaving *out unchanged) unless
// `bytes` is exactly 32 bytes long.
bool HashFromBytes(absl::string_view bytes, Hash* out);
inline std::string HashToBytes(const Hash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}
std::string HashToHex(const Hash& h);

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_MERKLE_HASHER_H_

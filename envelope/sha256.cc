#include "envelope/sha256.h"

#include <sodium.h>

#include "absl/strings/escaping.h"

namespace gatehouse {

std::string Sha256(absl::string_view bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string HexSha256(absl::string_view bytes) { return absl::BytesToHexString(Sha256(bytes)); }

}  // namespace gatehouse

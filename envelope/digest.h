// The hashes the envelope format signs and commits to (docs/envelope.md,
// "Digests"): the commitment to a data key, the record digest, and the
// Merkle tree hashes of a batch. All BLAKE2b-256 (libsodium
// crypto_generichash), each input led by its domain tag.
//
// Internal to envelope/. Pure functions; thread-safe.
#ifndef GATEHOUSE_ENVELOPE_DIGEST_H_
#define GATEHOUSE_ENVELOPE_DIGEST_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "envelope/secret_key.h"

namespace gatehouse::envelope::internal {

inline constexpr size_t kHashBytes = 32;
using Hash = std::array<uint8_t, kHashBytes>;

inline constexpr size_t kDataKeyBytes = 32;
inline constexpr size_t kWrappedKeyBytes = 80;  // crypto_box_SEALBYTES + 32
inline constexpr size_t kNonceBytes = 24;
inline constexpr size_t kSignatureBytes = 64;
inline constexpr size_t kAeadTagBytes = 16;

// BLAKE2b-256 keyed with the data key, over kKeyCommitmentTag. Binds the
// header (which carries it) to exactly one data key.
Hash KeyCommitment(const SecretKey& data_key);

// BLAKE2b-256(kRecordDigestTag || u32 len(header) || header || wrapped_key ||
// nonce || u64 len(ciphertext) || ciphertext).
Hash RecordDigest(absl::string_view header, absl::string_view wrapped_key,
                  absl::string_view nonce, absl::string_view ciphertext);

// RFC 6962 domain separation with BLAKE2b-256: leaf = H(0x00 || record
// digest), node = H(0x01 || left || right).
Hash LeafHash(const Hash& record_digest);
Hash NodeHash(const Hash& left, const Hash& right);

// The message a per-record signature covers: kRecordSignatureTag || digest.
std::string RecordSignedMessage(const Hash& digest);
// The message a batch signature covers: kBatchSignatureTag || u64 size || root.
std::string BatchSignedMessage(uint64_t tree_size, const Hash& root);

}  // namespace gatehouse::envelope::internal

#endif  // GATEHOUSE_ENVELOPE_DIGEST_H_

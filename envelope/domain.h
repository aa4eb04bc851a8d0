// Domain-separation tags: every hash, signature and associated-data input in
// the envelope format starts with one of these, so bytes made for one purpose
// are never accepted for another (docs/envelope.md, "Domain tags"). Each tag
// ends in a NUL byte, so no tag is a prefix of another.
//
// Constants only; thread-safe.
#ifndef GATEHOUSE_ENVELOPE_DOMAIN_H_
#define GATEHOUSE_ENVELOPE_DOMAIN_H_

#include "absl/strings/string_view.h"

namespace gatehouse::envelope {

// Key ids: BLAKE2b-128(tag || purpose || public key)[0..8).
inline constexpr absl::string_view kKeyIdTag{"gatehouse/v1/key-id\0", 20};
// Commitment to the data key: BLAKE2b-256 keyed with the data key, over tag.
inline constexpr absl::string_view kKeyCommitmentTag{"gatehouse/v1/envelope/key-commitment\0",
                                                     37};
// XChaCha20-Poly1305 associated data: tag || header.
inline constexpr absl::string_view kPayloadTag{"gatehouse/v1/envelope/payload\0", 30};
// Record digest: BLAKE2b-256(tag || header || wrapped key || nonce || ciphertext).
inline constexpr absl::string_view kRecordDigestTag{"gatehouse/v1/envelope/record\0", 29};
// Per-record signature: Ed25519(tag || record digest).
inline constexpr absl::string_view kRecordSignatureTag{
    "gatehouse/v1/envelope/record-signature\0", 39};
// Batch signature: Ed25519(tag || u64 tree size || Merkle root).
inline constexpr absl::string_view kBatchSignatureTag{"gatehouse/v1/envelope/batch-signature\0",
                                                      38};
// Streamed record: digest over the preamble and every chunk frame, then
// Ed25519(tag || digest).
inline constexpr absl::string_view kStreamDigestTag{"gatehouse/v1/envelope/stream\0", 29};
inline constexpr absl::string_view kStreamSignatureTag{
    "gatehouse/v1/envelope/stream-signature\0", 39};
// Secretstream associated data for every chunk: tag || BLAKE2b-256(header).
inline constexpr absl::string_view kStreamChunkTag{"gatehouse/v1/envelope/stream-chunk\0", 35};
// Signed directory: Ed25519(tag || key id || issued || not after || directory).
inline constexpr absl::string_view kDirectoryTag{"gatehouse/v1/directory\0", 23};

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_DOMAIN_H_

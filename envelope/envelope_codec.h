// The envelope's wire encoding: gatehouse.v1.Envelope (and the streamed
// record's EnvelopeStreamPreamble) in the one protobuf encoding the C++
// serializer produces. The decoder is strict and allocation-free: it returns
// views into the input and refuses any other encoding of the same message
// (docs/envelope.md, "Envelope encoding").
//
// Nothing here checks a signature: a decoded envelope is unauthenticated.
// Stateless functions; thread-safe.
//
// Example:
//   EnvelopeParts parts;
//   RETURN_IF_ERROR(DecodeEnvelope(bytes, &parts));
//   // parts.header, parts.ciphertext ... point into `bytes`.
#ifndef GATEHOUSE_ENVELOPE_ENVELOPE_CODEC_H_
#define GATEHOUSE_ENVELOPE_ENVELOPE_CODEC_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envelope/header.h"

namespace gatehouse::envelope {

inline constexpr uint32_t kEnvelopeVersion = 1;
// Largest envelope Decode accepts; larger records are streamed.
inline constexpr size_t kMaxEnvelopeBytes = (64u << 20) + 4096;
// Largest batch: 2^20 records, so an inclusion path has at most 20 hashes.
inline constexpr uint64_t kMaxBatchRecords = uint64_t{1} << 20;
inline constexpr size_t kMaxPathLength = 20;

// Views of one envelope's fields.
struct EnvelopeParts {
  absl::string_view header;
  absl::string_view wrapped_key;
  absl::string_view nonce;
  absl::string_view ciphertext;
  absl::string_view signature;
  bool has_batch = false;
  uint64_t leaf_index = 0;
  uint64_t tree_size = 0;
  size_t path_length = 0;
  std::array<absl::string_view, kMaxPathLength> path;
};

// Appends the canonical encoding of `parts` (version 1) to `*out`.
void AppendEnvelope(const EnvelopeParts& parts, std::string* out);

// Parses `bytes` into views of it. InvalidArgument if it is not the
// canonical encoding of a version-1 envelope whose fields have their fixed
// sizes (wrapped key 80, nonce 24, ciphertext >= 16, signature 64, each path
// hash 32, 1 <= tree size <= kMaxBatchRecords, leaf index < tree size);
// ResourceExhausted if larger than kMaxEnvelopeBytes. On failure `*out` is
// unspecified.
absl::Status DecodeEnvelope(absl::string_view bytes, EnvelopeParts* out);

// The header of an envelope, NOT authenticated: for routing and logging
// before Opener::Open. Errors as DecodeEnvelope and DecodeHeader.
absl::StatusOr<EnvelopeHeader> PeekHeader(absl::string_view envelope);

// The first frame of a streamed record.
struct StreamPreambleParts {
  absl::string_view header;
  absl::string_view wrapped_key;
  absl::string_view stream_header;
  uint32_t chunk_size = 0;
};
void AppendStreamPreamble(const StreamPreambleParts& parts, std::string* out);
// InvalidArgument unless canonical, version 1, with fixed sizes (wrapped key
// 80, stream header 24, 1 <= chunk size <= 8 MiB).
absl::Status DecodeStreamPreamble(absl::string_view bytes, StreamPreambleParts* out);

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_ENVELOPE_CODEC_H_

// StreamSealer and StreamOpener: large records (up to many GiB) sealed and
// opened in chunks with bounded memory, under the same scheme as Sealer
// (docs/envelope.md, "Streamed records"): a header with mode STREAM and the
// commitment to the data key, the data key sealed to the recipient, the
// payload under crypto_secretstream_xchacha20poly1305 (which refuses
// reordered, dropped, duplicated or truncated chunks), and one Ed25519
// signature over a digest of everything, written last.
//
// The opener reads the sealed record twice: first to verify the signature
// (nothing is unwrapped before it verifies), then to decrypt into the sink.
// It also re-hashes the second pass, so a source changed between passes is
// refused; plaintext written to the sink before such a refusal must be
// discarded, so treat the sink's contents as valid only when Open returns OK.
//
// Memory: two buffers of about one chunk (default 1 MiB, at most 8 MiB).
// Thread-safe: Seal and Open are const; each call needs its own source/sink.
//
// Example:
//   ASSIGN_OR_RETURN(auto sealer, StreamSealer::Create(keyset));
//   RETURN_IF_ERROR(sealer->Seal(labels, to, &plain_in, &sealed_out));
//   ASSIGN_OR_RETURN(auto opener, StreamOpener::Create(council_keyset));
//   ASSIGN_OR_RETURN(EnvelopeHeader h, opener->Open(&sealed_in, parties, keys, &plain_out));
#ifndef GATEHOUSE_ENVELOPE_STREAM_H_
#define GATEHOUSE_ENVELOPE_STREAM_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "envelope/byte_stream.h"
#include "envelope/header.h"
#include "envelope/key_id.h"
#include "envelope/keyset.h"
#include "envelope/opener.h"

namespace gatehouse::envelope {

inline constexpr size_t kDefaultChunkBytes = 1u << 20;
inline constexpr size_t kMaxChunkBytes = 8u << 20;

// The header a streamed record claims, read from its start WITHOUT
// verifying anything (as PeekHeader for the other modes): for routing and
// for refusing early, never for trusting. InvalidArgument if the preamble
// is malformed. Reads only the preamble; rewind the source before opening.
absl::StatusOr<EnvelopeHeader> PeekStreamHeader(ByteSource* sealed);

class StreamSealer {
 public:
  // InvalidArgument if the keyset has no primary signing key or chunk_size
  // is 0 or over kMaxChunkBytes.
  static absl::StatusOr<std::unique_ptr<StreamSealer>> Create(
      std::shared_ptr<const Keyset> keyset, size_t chunk_size = kDefaultChunkBytes);

  // Reads `plaintext` to its end and writes the sealed record to `out`.
  // InvalidArgument as Sealer::Seal; Unavailable if reading or writing
  // fails (what was written to `out` must then be discarded).
  absl::Status Seal(const RecordLabels& labels, const RecipientKey& recipient,
                    ByteSource* plaintext, ByteSink* out) const;

 private:
  StreamSealer(std::shared_ptr<const Keyset> keyset, const Keyset::Key* signing, size_t chunk)
      : keyset_(std::move(keyset)), signing_key_(*signing), chunk_size_(chunk) {}
  std::shared_ptr<const Keyset> keyset_;
  Keyset::Key signing_key_;  // a copy: later changes to the keyset do not affect it
  size_t chunk_size_;
};

class StreamOpener {
 public:
  // InvalidArgument if the keyset has no encryption key.
  static absl::StatusOr<std::unique_ptr<StreamOpener>> Create(std::shared_ptr<const Keyset> keyset);

  // Verifies `sealed` (reading it to the end), rewinds it, and decrypts it
  // into `plaintext`; returns the authenticated header. Errors as
  // Opener::Open, plus: InvalidArgument for bad framing; Unauthenticated if
  // a chunk does not decrypt, the final chunk is missing, or the source
  // changed between the passes; Unavailable on I/O errors.
  absl::StatusOr<EnvelopeHeader> Open(ByteSource* sealed, const ExpectedParties& parties,
                                      absl::Span<const VerifyingKey> sender_keys,
                                      ByteSink* plaintext) const;

 private:
  explicit StreamOpener(std::shared_ptr<const Keyset> keyset) : keyset_(std::move(keyset)) {}
  std::shared_ptr<const Keyset> keyset_;
};

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_STREAM_H_

// The envelope header: the labels and parties of one record, the key ids
// and the commitment to its data key, in canonical bytes
// (docs/envelope.md, "Header"). The header is authenticated twice: as the
// payload's AEAD associated data and under the sending gateway's signature.
//
// Value types and pure functions; thread-compatible.
//
// Example:
//   ASSIGN_OR_RETURN(std::string bytes, EncodeHeader(header));
//   ASSIGN_OR_RETURN(EnvelopeHeader back, DecodeHeader(bytes));  // == header
#ifndef GATEHOUSE_ENVELOPE_HEADER_H_
#define GATEHOUSE_ENVELOPE_HEADER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envelope/key_id.h"

namespace gatehouse::envelope {

inline constexpr uint8_t kHeaderVersion = 1;
inline constexpr size_t kCommitmentBytes = 32;
// Limits, so that a header is small and a decoder's work is bounded.
inline constexpr size_t kMaxRecordIdBytes = 128;
inline constexpr size_t kMaxLabelBytes = 256;
inline constexpr size_t kMaxCaveats = 32;

// How the record is signed; part of the signed header, so an envelope cannot
// be presented under another mode.
enum class EnvelopeMode : uint8_t {
  kRecord = 1,  // one signature per record
  kBatch = 2,   // one signature over a Merkle root; envelope carries its path
  kStream = 3,  // payload in secretstream chunks; signature after the last
};

// What the sending gateway says about a record. Supplied by the caller of
// Seal; record_id, sender_org, recipient_org, record_type and classification
// must be non-empty.
struct RecordLabels {
  std::string record_id;
  std::string sender_org;
  std::string recipient_org;
  std::string record_type;
  std::string classification;
  // Any order on input; sealed sorted, and duplicates are refused.
  std::vector<std::string> caveats;
  std::string purpose;
  int64_t created_unix_ms = 0;
  std::string content_type;

  bool operator==(const RecordLabels&) const;
};

// The whole header: the labels plus what the sealer fills in.
struct EnvelopeHeader {
  EnvelopeMode mode = EnvelopeMode::kRecord;
  RecordLabels labels;
  KeyId sender_key_id{};     // Ed25519 key that signs
  KeyId recipient_key_id{};  // X25519 key the data key is sealed to
  std::array<uint8_t, kCommitmentBytes> key_commitment{};

  bool operator==(const EnvelopeHeader&) const;
};

// The fields of a header other than the labels; lets a sealer encode a
// header without copying the caller's labels.
struct HeaderKeys {
  EnvelopeMode mode = EnvelopeMode::kRecord;
  KeyId sender_key_id{};
  KeyId recipient_key_id{};
  std::array<uint8_t, kCommitmentBytes> key_commitment{};
};
absl::Status AppendHeader(const HeaderKeys& keys, const RecordLabels& labels, std::string* out);

// Appends the canonical bytes of `header` to `*out`. Caveats are written
// sorted. InvalidArgument (and `*out` unchanged) if a required field is empty,
// a field is over its limit, or caveats repeat.
absl::Status AppendHeader(const EnvelopeHeader& header, std::string* out);
absl::StatusOr<std::string> EncodeHeader(const EnvelopeHeader& header);

// Parses canonical header bytes. InvalidArgument for anything AppendHeader
// would not have written: wrong version or mode, truncation, trailing bytes,
// empty required fields, over-long fields, unsorted or repeated caveats.
absl::StatusOr<EnvelopeHeader> DecodeHeader(absl::string_view bytes);

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_HEADER_H_

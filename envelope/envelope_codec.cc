#include "envelope/envelope_codec.h"

#include "envelope/digest.h"
#include "envelope/wire.h"

namespace gatehouse::envelope {
namespace {

using internal::PutBytesField;
using internal::PutRepeatedBytesField;
using internal::PutVarint;
using internal::PutVarintField;
using internal::StrictProtoReader;
using internal::VarintSize;

constexpr uint32_t kMaxChunkSize = 8u << 20;

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(std::string("malformed envelope: ") + std::string(what));
}

size_t VarintFieldSize(int number, uint64_t v) {
  return v == 0 ? 0 : VarintSize(static_cast<uint64_t>(number) << 3) + VarintSize(v);
}

// A required bytes field of exactly `size` bytes (or at least `size` when
// `at_least`).
bool RequiredBytes(StrictProtoReader* r, int number, size_t size, bool at_least,
                   absl::string_view* v) {
  if (r->Bytes(number, v) != StrictProtoReader::kPresent) return false;
  return at_least ? v->size() >= size : v->size() == size;
}

absl::Status DecodeBatchProof(absl::string_view bytes, EnvelopeParts* out) {
  StrictProtoReader r(bytes);
  uint64_t v = 0;
  switch (r.Varint(1, &v)) {
    case StrictProtoReader::kMalformed: return Malformed("batch leaf index");
    case StrictProtoReader::kPresent: out->leaf_index = v; break;
    case StrictProtoReader::kAbsent: out->leaf_index = 0; break;
  }
  if (r.Varint(2, &out->tree_size) != StrictProtoReader::kPresent ||
      out->tree_size > kMaxBatchRecords || out->leaf_index >= out->tree_size) {
    return Malformed("batch tree size");
  }
  out->path_length = 0;
  absl::string_view hash;
  for (;;) {
    const StrictProtoReader::Result res = r.Bytes(3, &hash, /*allow_empty=*/true);
    if (res == StrictProtoReader::kAbsent) break;
    if (res == StrictProtoReader::kMalformed || hash.size() != internal::kHashBytes ||
        out->path_length == kMaxPathLength) {
      return Malformed("batch path");
    }
    out->path[out->path_length++] = hash;
  }
  if (!r.done()) return Malformed("trailing batch fields");
  return absl::OkStatus();
}

}  // namespace

void AppendEnvelope(const EnvelopeParts& p, std::string* out) {
  PutVarintField(out, 1, kEnvelopeVersion);
  PutBytesField(out, 2, p.header);
  PutBytesField(out, 3, p.wrapped_key);
  PutBytesField(out, 4, p.nonce);
  PutBytesField(out, 5, p.ciphertext);
  PutBytesField(out, 6, p.signature);
  if (!p.has_batch) return;
  const size_t proof_size = VarintFieldSize(1, p.leaf_index) + VarintFieldSize(2, p.tree_size) +
                            p.path_length * (1 + 1 + internal::kHashBytes);
  PutVarint(out, (7 << 3) | 2);
  PutVarint(out, proof_size);
  PutVarintField(out, 1, p.leaf_index);
  PutVarintField(out, 2, p.tree_size);
  for (size_t i = 0; i < p.path_length; ++i) PutRepeatedBytesField(out, 3, p.path[i]);
}

absl::Status DecodeEnvelope(absl::string_view bytes, EnvelopeParts* out) {
  if (bytes.size() > kMaxEnvelopeBytes) {
    return absl::ResourceExhaustedError("envelope larger than the 64 MiB limit; stream it");
  }
  StrictProtoReader r(bytes);
  uint64_t version = 0;
  if (r.Varint(1, &version) != StrictProtoReader::kPresent || version != kEnvelopeVersion) {
    return absl::InvalidArgumentError("unsupported envelope version");
  }
  if (!RequiredBytes(&r, 2, 1, true, &out->header)) return Malformed("header");
  if (!RequiredBytes(&r, 3, internal::kWrappedKeyBytes, false, &out->wrapped_key)) {
    return Malformed("wrapped key");
  }
  if (!RequiredBytes(&r, 4, internal::kNonceBytes, false, &out->nonce)) return Malformed("nonce");
  if (!RequiredBytes(&r, 5, internal::kAeadTagBytes, true, &out->ciphertext)) {
    return Malformed("ciphertext");
  }
  if (!RequiredBytes(&r, 6, internal::kSignatureBytes, false, &out->signature)) {
    return Malformed("signature");
  }
  absl::string_view batch;
  switch (r.Bytes(7, &batch)) {
    case StrictProtoReader::kMalformed: return Malformed("batch proof");
    case StrictProtoReader::kAbsent: out->has_batch = false; break;
    case StrictProtoReader::kPresent:
      out->has_batch = true;
      if (absl::Status s = DecodeBatchProof(batch, out); !s.ok()) return s;
      break;
  }
  if (!r.done()) return Malformed("trailing or unknown fields");
  return absl::OkStatus();
}

absl::StatusOr<EnvelopeHeader> PeekHeader(absl::string_view envelope) {
  EnvelopeParts parts;
  if (absl::Status s = DecodeEnvelope(envelope, &parts); !s.ok()) return s;
  return DecodeHeader(parts.header);
}

void AppendStreamPreamble(const StreamPreambleParts& p, std::string* out) {
  PutVarintField(out, 1, kEnvelopeVersion);
  PutBytesField(out, 2, p.header);
  PutBytesField(out, 3, p.wrapped_key);
  PutBytesField(out, 4, p.stream_header);
  PutVarintField(out, 5, p.chunk_size);
}

absl::Status DecodeStreamPreamble(absl::string_view bytes, StreamPreambleParts* out) {
  StrictProtoReader r(bytes);
  uint64_t version = 0, chunk_size = 0;
  if (r.Varint(1, &version) != StrictProtoReader::kPresent || version != kEnvelopeVersion) {
    return absl::InvalidArgumentError("unsupported stream version");
  }
  if (!RequiredBytes(&r, 2, 1, true, &out->header) ||
      !RequiredBytes(&r, 3, internal::kWrappedKeyBytes, false, &out->wrapped_key) ||
      !RequiredBytes(&r, 4, 24, false, &out->stream_header) ||
      r.Varint(5, &chunk_size) != StrictProtoReader::kPresent || chunk_size > kMaxChunkSize ||
      !r.done()) {
    return absl::InvalidArgumentError("malformed stream preamble");
  }
  out->chunk_size = static_cast<uint32_t>(chunk_size);
  return absl::OkStatus();
}

}  // namespace gatehouse::envelope

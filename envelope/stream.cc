#include "envelope/stream.h"

#include <sodium.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envelope/digest.h"
#include "envelope/domain.h"
#include "envelope/envelope_codec.h"
#include "envelope/sealer.h"
#include "envelope/sealing.h"
#include "envelope/wire.h"

namespace gatehouse::envelope {
namespace {

using internal::Hash;

constexpr size_t kMaxPreambleBytes = 1 << 16;
constexpr size_t kChunkOverhead = crypto_secretstream_xchacha20poly1305_ABYTES;

// BLAKE2b-256 over kStreamDigestTag and every byte of the record up to and
// including the end marker.
class StreamDigest {
 public:
  StreamDigest() {
    crypto_generichash_init(&state_, nullptr, 0, internal::kHashBytes);
    Update(kStreamDigestTag);
  }
  void Update(absl::string_view s) {
    crypto_generichash_update(&state_, reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  Hash Final() {
    Hash h;
    crypto_generichash_final(&state_, h.data(), h.size());
    return h;
  }

 private:
  crypto_generichash_state state_;
};

std::string SignedMessage(const Hash& digest) {
  std::string m(kStreamSignatureTag);
  m.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return m;
}

// kStreamChunkTag || BLAKE2b-256(header): every chunk's associated data.
std::string ChunkAd(absl::string_view header) {
  Hash h;
  crypto_generichash(h.data(), h.size(), reinterpret_cast<const uint8_t*>(header.data()),
                     header.size(), nullptr, 0);
  std::string ad(kStreamChunkTag);
  ad.append(reinterpret_cast<const char*>(h.data()), h.size());
  return ad;
}

std::string U32(uint32_t v) {
  std::string s;
  internal::PutU32(&s, v);
  return s;
}

// Writes `bytes` to `out` and into the digest.
absl::Status Emit(ByteSink* out, StreamDigest* digest, absl::string_view bytes) {
  digest->Update(bytes);
  return out->Write(bytes);
}

absl::StatusOr<uint32_t> ReadU32(ByteSource* in, StreamDigest* digest) {
  char b[4];
  auto got = ReadFull(in, b, 4);
  if (!got.ok()) return got.status();
  if (*got != 4) return absl::InvalidArgumentError("streamed record truncated");
  digest->Update(absl::string_view(b, 4));
  return (uint32_t{static_cast<uint8_t>(b[0])} << 24) | (uint32_t{static_cast<uint8_t>(b[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[2])} << 8) | uint32_t{static_cast<uint8_t>(b[3])};
}

absl::Status ReadExactly(ByteSource* in, StreamDigest* digest, char* buf, size_t n) {
  auto got = ReadFull(in, buf, n);
  if (!got.ok()) return got.status();
  if (*got != n) return absl::InvalidArgumentError("streamed record truncated");
  if (digest != nullptr) digest->Update(absl::string_view(buf, n));
  return absl::OkStatus();
}

// What the first pass learns and the second pass relies on.
struct Verified {
  std::string preamble;  // the exact bytes
  StreamPreambleParts parts;  // views into `preamble`
  EnvelopeHeader header;
  Hash digest;
};

// Reads the preamble frame; checks it, the header and (if given) the parties.
absl::Status ReadPreamble(ByteSource* in, StreamDigest* digest, const ExpectedParties* parties,
                          Verified* v) {
  auto len = ReadU32(in, digest);
  if (!len.ok()) return len.status();
  if (*len == 0 || *len > kMaxPreambleBytes) {
    return absl::InvalidArgumentError("stream preamble length out of range");
  }
  v->preamble.resize(*len);
  if (absl::Status s = ReadExactly(in, digest, v->preamble.data(), *len); !s.ok()) return s;
  if (absl::Status s = DecodeStreamPreamble(v->preamble, &v->parts); !s.ok()) return s;
  auto header = DecodeHeader(v->parts.header);
  if (!header.ok()) return header.status();
  if (header->mode != EnvelopeMode::kStream) {
    return absl::InvalidArgumentError("not a streamed record");
  }
  if (parties != nullptr && (header->labels.sender_org != parties->sender_org ||
                             header->labels.recipient_org != parties->recipient_org)) {
    return absl::InvalidArgumentError("streamed record is not between the expected parties");
  }
  v->header = *std::move(header);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EnvelopeHeader> PeekStreamHeader(ByteSource* sealed) {
  Verified v;
  StreamDigest digest;
  if (absl::Status s = ReadPreamble(sealed, &digest, nullptr, &v); !s.ok()) return s;
  return std::move(v.header);
}

absl::StatusOr<std::unique_ptr<StreamSealer>> StreamSealer::Create(
    std::shared_ptr<const Keyset> keyset, size_t chunk_size) {
  if (keyset == nullptr) return absl::InvalidArgumentError("no keyset");
  const Keyset::Key* signing = keyset->Primary(v1::KEY_PURPOSE_SIGNING);
  if (signing == nullptr) return absl::InvalidArgumentError("keyset has no primary signing key");
  if (chunk_size == 0 || chunk_size > kMaxChunkBytes) {
    return absl::InvalidArgumentError("chunk size out of range");
  }
  return std::unique_ptr<StreamSealer>(new StreamSealer(std::move(keyset), signing, chunk_size));
}

absl::Status StreamSealer::Seal(const RecordLabels& labels, const RecipientKey& recipient,
                                ByteSource* plaintext, ByteSink* out) const {
  if (absl::Status s = CheckSealInput(*keyset_, labels, ""); !s.ok()) return s;
  const SecretKey data_key = SecretKey::Random(internal::kDataKeyBytes);
  EnvelopeHeader header;
  header.mode = EnvelopeMode::kStream;
  header.labels = labels;
  header.sender_key_id = signing_key_.id;
  header.recipient_key_id = recipient.id;
  header.key_commitment = internal::KeyCommitment(data_key);
  auto header_bytes = EncodeHeader(header);
  if (!header_bytes.ok()) return header_bytes.status();

  uint8_t wrapped[internal::kWrappedKeyBytes];
  if (absl::Status s = internal::WrapDataKey(data_key, recipient, wrapped); !s.ok()) return s;
  crypto_secretstream_xchacha20poly1305_state state;
  uint8_t stream_header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&state, stream_header,
                                                  data_key.data(SecretKeyAccess()));
  StreamPreambleParts parts;
  parts.header = *header_bytes;
  parts.wrapped_key = AsStringView(wrapped, sizeof wrapped);
  parts.stream_header = AsStringView(stream_header, sizeof stream_header);
  parts.chunk_size = static_cast<uint32_t>(chunk_size_);
  std::string preamble;
  AppendStreamPreamble(parts, &preamble);

  StreamDigest digest;
  if (absl::Status s = Emit(out, &digest, U32(static_cast<uint32_t>(preamble.size()))); !s.ok()) return s;
  if (absl::Status s = Emit(out, &digest, preamble); !s.ok()) return s;

  const std::string ad = ChunkAd(*header_bytes);
  // Read one chunk ahead, so the last chunk can be tagged FINAL.
  std::vector<char> cur(chunk_size_), next(chunk_size_);
  std::vector<char> frame(4 + chunk_size_ + kChunkOverhead);
  auto cur_len = ReadFull(plaintext, cur.data(), chunk_size_);
  if (!cur_len.ok()) return cur_len.status();
  for (;;) {
    size_t next_len = 0;
    if (*cur_len == chunk_size_) {
      auto got = ReadFull(plaintext, next.data(), chunk_size_);
      if (!got.ok()) return got.status();
      next_len = *got;
    }
    const bool last = next_len == 0;
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(
        &state, reinterpret_cast<uint8_t*>(frame.data() + 4), &clen,
        reinterpret_cast<const uint8_t*>(cur.data()), *cur_len,
        reinterpret_cast<const uint8_t*>(ad.data()), ad.size(),
        last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
             : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    const std::string len = U32(static_cast<uint32_t>(clen));
    std::copy(len.begin(), len.end(), frame.begin());
    if (absl::Status s = Emit(out, &digest, absl::string_view(frame.data(), 4 + clen)); !s.ok()) return s;
    if (last) break;
    std::swap(cur, next);
    *cur_len = next_len;
  }
  sodium_memzero(cur.data(), cur.size());
  sodium_memzero(next.data(), next.size());
  if (absl::Status s = Emit(out, &digest, U32(0)); !s.ok()) return s;
  uint8_t signature[internal::kSignatureBytes];
  internal::Sign(signing_key_, SignedMessage(digest.Final()), signature);
  return out->Write(AsStringView(signature, sizeof signature));
}

absl::StatusOr<std::unique_ptr<StreamOpener>> StreamOpener::Create(
    std::shared_ptr<const Keyset> keyset) {
  if (keyset == nullptr || keyset->Primary(v1::KEY_PURPOSE_ENCRYPTION) == nullptr) {
    return absl::InvalidArgumentError("keyset has no encryption key");
  }
  return std::unique_ptr<StreamOpener>(new StreamOpener(std::move(keyset)));
}

absl::StatusOr<EnvelopeHeader> StreamOpener::Open(ByteSource* sealed,
                                                  const ExpectedParties& parties,
                                                  absl::Span<const VerifyingKey> sender_keys,
                                                  ByteSink* plaintext) const {
  // Pass 1: framing, header, parties, signature. Nothing is unwrapped.
  Verified v;
  StreamDigest digest;
  if (absl::Status s = ReadPreamble(sealed, &digest, &parties, &v); !s.ok()) return s;
  const VerifyingKey* signer = nullptr;
  for (const VerifyingKey& k : sender_keys) {
    if (k.id == v.header.sender_key_id) signer = &k;
  }
  if (signer == nullptr) {
    return absl::UnauthenticatedError(absl::StrCat("signing key ", KeyIdToHex(v.header.sender_key_id),
                                                   " is not a key of ", parties.sender_org));
  }
  const size_t max_frame = v.parts.chunk_size + kChunkOverhead;
  std::vector<char> frame(max_frame);
  for (;;) {
    auto len = ReadU32(sealed, &digest);
    if (!len.ok()) return len.status();
    if (*len == 0) break;
    if (*len < kChunkOverhead || *len > max_frame) {
      return absl::InvalidArgumentError("stream chunk length out of range");
    }
    if (absl::Status s = ReadExactly(sealed, &digest, frame.data(), *len); !s.ok()) return s;
  }
  v.digest = digest.Final();
  char signature[internal::kSignatureBytes];
  if (absl::Status s = ReadExactly(sealed, nullptr, signature, sizeof signature); !s.ok()) return s;
  char extra;
  auto more = sealed->Read(&extra, 1);
  if (!more.ok()) return more.status();
  if (*more != 0) return absl::InvalidArgumentError("bytes after the stream signature");
  if (!internal::Verify(signer->public_key, SignedMessage(v.digest),
                        absl::string_view(signature, sizeof signature))) {
    return absl::UnauthenticatedError("stream signature does not verify");
  }

  // Pass 2: the same bytes again, now decrypted.
  if (absl::Status s = sealed->Rewind(); !s.ok()) return s;
  Verified again;
  StreamDigest digest2;
  if (absl::Status s = ReadPreamble(sealed, &digest2, &parties, &again); !s.ok()) return s;
  if (again.preamble != v.preamble) {
    return absl::UnauthenticatedError("streamed record changed between passes");
  }
  const Keyset::Key* ours = keyset_->FindEncryptionKey(v.header.recipient_key_id);
  if (ours == nullptr) {
    return absl::NotFoundError(absl::StrCat("sealed to key ", KeyIdToHex(v.header.recipient_key_id),
                                            ", which this gateway does not hold"));
  }
  SecretKey data_key;
  if (absl::Status s = internal::UnwrapDataKey(v.parts.wrapped_key, *ours, &data_key); !s.ok()) return s;
  if (!internal::CommitmentMatches(data_key, v.header.key_commitment)) {
    return absl::UnauthenticatedError("data key does not match the header's commitment");
  }
  crypto_secretstream_xchacha20poly1305_state state;
  if (crypto_secretstream_xchacha20poly1305_init_pull(
          &state, reinterpret_cast<const uint8_t*>(again.parts.stream_header.data()),
          data_key.data(SecretKeyAccess())) != 0) {
    return absl::UnauthenticatedError("bad stream header");
  }
  const std::string ad = ChunkAd(again.parts.header);
  std::vector<char> plain(v.parts.chunk_size);
  bool final_seen = false;
  for (;;) {
    auto len = ReadU32(sealed, &digest2);
    if (!len.ok()) return len.status();
    if (*len == 0) break;
    if (final_seen || *len < kChunkOverhead || *len > max_frame) {
      return absl::UnauthenticatedError("streamed record changed between passes");
    }
    if (absl::Status s = ReadExactly(sealed, &digest2, frame.data(), *len); !s.ok()) return s;
    unsigned long long plen = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(
            &state, reinterpret_cast<uint8_t*>(plain.data()), &plen, &tag,
            reinterpret_cast<const uint8_t*>(frame.data()), *len,
            reinterpret_cast<const uint8_t*>(ad.data()), ad.size()) != 0) {
      return absl::UnauthenticatedError("stream chunk does not decrypt");
    }
    final_seen = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    if (absl::Status s = plaintext->Write(absl::string_view(plain.data(), plen)); !s.ok()) return s;
  }
  sodium_memzero(plain.data(), plain.size());
  if (!final_seen) return absl::UnauthenticatedError("stream ends without its final chunk");
  if (digest2.Final() != v.digest) {
    return absl::UnauthenticatedError("streamed record changed between passes");
  }
  return v.header;
}

}  // namespace gatehouse::envelope

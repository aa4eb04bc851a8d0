#include "envelope/sealer.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "envelope/digest.h"
#include "envelope/domain.h"
#include "envelope/envelope_codec.h"
#include "envelope/sealing.h"

namespace gatehouse::envelope {

using internal::Hash;

absl::Status CheckSealInput(const Keyset& keyset, const RecordLabels& labels,
                            absl::string_view payload) {
  if (labels.sender_org != keyset.org_id()) {
    return absl::InvalidArgumentError(absl::StrCat("sender_org ", labels.sender_org,
                                                   " is not this keyset's org ", keyset.org_id()));
  }
  if (payload.size() > kMaxPayloadBytes) {
    return absl::ResourceExhaustedError("payload larger than 64 MiB; stream it");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Sealer>> Sealer::Create(std::shared_ptr<const Keyset> keyset) {
  if (keyset == nullptr) return absl::InvalidArgumentError("no keyset");
  const Keyset::Key* signing = keyset->Primary(v1::KEY_PURPOSE_SIGNING);
  if (signing == nullptr) return absl::InvalidArgumentError("keyset has no primary signing key");
  return std::unique_ptr<Sealer>(new Sealer(std::move(keyset), signing));
}

absl::StatusOr<std::string> Sealer::Seal(const RecordLabels& labels, const RecipientKey& recipient,
                                         absl::string_view payload) const {
  if (absl::Status s = CheckSealInput(*keyset_, labels, payload); !s.ok()) return s;
  const SecretKey data_key = SecretKey::Random(internal::kDataKeyBytes);
  EnvelopeHeader header;
  header.mode = EnvelopeMode::kRecord;
  header.labels = labels;
  header.sender_key_id = signing_key_.id;
  header.recipient_key_id = recipient.id;
  header.key_commitment = internal::KeyCommitment(data_key);

  // ad = kPayloadTag || header; the header is its suffix.
  std::string ad(kPayloadTag);
  if (absl::Status s = AppendHeader(header, &ad); !s.ok()) return s;
  const absl::string_view header_bytes = absl::string_view(ad).substr(kPayloadTag.size());

  uint8_t wrapped[internal::kWrappedKeyBytes];
  if (absl::Status s = internal::WrapDataKey(data_key, recipient, wrapped); !s.ok()) return s;
  uint8_t nonce[internal::kNonceBytes];
  randombytes_buf(nonce, sizeof nonce);
  std::string ciphertext(payload.size() + internal::kAeadTagBytes, '\0');
  internal::EncryptPayload(data_key, ad, nonce, payload,
                           reinterpret_cast<uint8_t*>(ciphertext.data()));

  const absl::string_view wrapped_view = AsStringView(wrapped, sizeof wrapped);
  const absl::string_view nonce_view = AsStringView(nonce, sizeof nonce);
  const Hash digest = internal::RecordDigest(header_bytes, wrapped_view, nonce_view, ciphertext);
  uint8_t signature[internal::kSignatureBytes];
  internal::Sign(signing_key_, internal::RecordSignedMessage(digest), signature);

  EnvelopeParts parts;
  parts.header = header_bytes;
  parts.wrapped_key = wrapped_view;
  parts.nonce = nonce_view;
  parts.ciphertext = ciphertext;
  parts.signature = AsStringView(signature, sizeof signature);
  std::string out;
  out.reserve(ciphertext.size() + header_bytes.size() + 200);
  AppendEnvelope(parts, &out);
  return out;
}

}  // namespace gatehouse::envelope

#include "envelope/opener.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "envelope/digest.h"
#include "envelope/envelope_codec.h"
#include "envelope/merkle.h"
#include "envelope/sealing.h"

namespace gatehouse::envelope {
namespace {

using internal::Hash;

template <size_t N>
uint8_t* Put(uint8_t* out, const std::array<uint8_t, N>& a) {
  return std::copy(a.begin(), a.end(), out);
}
uint8_t* Put(uint8_t* out, absl::string_view s) { return std::copy(s.begin(), s.end(), out); }

const VerifyingKey* FindSigner(absl::Span<const VerifyingKey> keys, const KeyId& id) {
  for (const VerifyingKey& k : keys) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Opener>> Opener::Create(std::shared_ptr<const Keyset> keyset,
                                                       OpenerOptions options) {
  if (keyset == nullptr || keyset->Primary(v1::KEY_PURPOSE_ENCRYPTION) == nullptr) {
    return absl::InvalidArgumentError("keyset has no encryption key");
  }
  return std::unique_ptr<Opener>(new Opener(std::move(keyset), options));
}

Opener::~Opener() {
  std::lock_guard<std::mutex> lock(mu_);
  ClearDataKeysLocked();
}

bool Opener::BatchVerified(const BatchKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return verified_batches_.contains(key);
}

void Opener::RememberBatch(const BatchKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (verified_batches_.size() >= options_.verified_batch_cache_entries) verified_batches_.clear();
  verified_batches_.insert(key);
}

bool Opener::CachedDataKey(const WrappedKey& key, DataKey* data_key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = data_keys_.find(key);
  if (it == data_keys_.end()) return false;
  *data_key = it->second;
  return true;
}

void Opener::RememberDataKey(const WrappedKey& key, const DataKey& data_key) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (data_keys_.size() >= options_.data_key_cache_entries) ClearDataKeysLocked();
  data_keys_.insert_or_assign(key, data_key);
}

void Opener::ClearDataKeysLocked() const {
  // SecretKey wipes itself when destroyed; the commitments are not secret.
  data_keys_.clear();
}

absl::StatusOr<OpenedRecord> Opener::Open(absl::string_view envelope,
                                          const ExpectedParties& parties,
                                          absl::Span<const VerifyingKey> sender_keys) const {
  // 1. Encoding and header.
  EnvelopeParts parts;
  if (absl::Status s = DecodeEnvelope(envelope, &parts); !s.ok()) return s;
  auto header = DecodeHeader(parts.header);
  if (!header.ok()) return header.status();
  const bool batch = header->mode == EnvelopeMode::kBatch;
  if (header->mode == EnvelopeMode::kStream) {
    return absl::InvalidArgumentError("a streamed record is opened with StreamOpener");
  }
  if (batch != parts.has_batch) {
    return absl::InvalidArgumentError("batch proof present or absent contrary to header mode");
  }

  // 2. Parties.
  if (header->labels.sender_org != parties.sender_org) {
    return absl::InvalidArgumentError(absl::StrCat("envelope sender ", header->labels.sender_org,
                                                   " is not the expected ", parties.sender_org));
  }
  if (header->labels.recipient_org != parties.recipient_org) {
    return absl::InvalidArgumentError(absl::StrCat("envelope recipient ",
                                                   header->labels.recipient_org,
                                                   " is not the expected ", parties.recipient_org));
  }

  // 3. Signature, before anything is unwrapped.
  const VerifyingKey* signer = FindSigner(sender_keys, header->sender_key_id);
  if (signer == nullptr) {
    return absl::UnauthenticatedError(absl::StrCat("signing key ", KeyIdToHex(header->sender_key_id),
                                                   " is not a key of ", parties.sender_org));
  }
  const Hash digest =
      internal::RecordDigest(parts.header, parts.wrapped_key, parts.nonce, parts.ciphertext);
  if (!batch) {
    if (!internal::Verify(signer->public_key, internal::RecordSignedMessage(digest),
                          parts.signature)) {
      return absl::UnauthenticatedError("envelope signature does not verify");
    }
  } else {
    Hash root;
    if (!internal::RootFromInclusionProof(parts.leaf_index, parts.tree_size,
                                          internal::LeafHash(digest), parts.path.data(),
                                          parts.path_length, &root)) {
      return absl::UnauthenticatedError("inclusion path does not fit the batch");
    }
    BatchKey key;
    uint8_t* p = Put(key.data(), signer->public_key);
    for (int shift = 56; shift >= 0; shift -= 8) *p++ = static_cast<uint8_t>(parts.tree_size >> shift);
    p = Put(p, root);
    Put(p, parts.signature);
    if (!BatchVerified(key)) {
      if (!internal::Verify(signer->public_key, internal::BatchSignedMessage(parts.tree_size, root),
                            parts.signature)) {
        return absl::UnauthenticatedError("batch signature does not verify for this record");
      }
      RememberBatch(key);
    }
  }

  // 4. Unwrap, check the commitment, decrypt.
  const Keyset::Key* ours = keyset_->FindEncryptionKey(header->recipient_key_id);
  if (ours == nullptr) {
    return absl::NotFoundError(absl::StrCat("sealed to key ", KeyIdToHex(header->recipient_key_id),
                                            ", which this gateway does not hold"));
  }
  DataKey data_key;
  WrappedKey wrapped_key;
  Put(Put(wrapped_key.data(), header->recipient_key_id), parts.wrapped_key);
  if (!batch || !CachedDataKey(wrapped_key, &data_key)) {
    if (absl::Status s = internal::UnwrapDataKey(parts.wrapped_key, *ours, &data_key.key); !s.ok()) {
      return s;
    }
    data_key.commitment = internal::KeyCommitment(data_key.key);
    if (batch) RememberDataKey(wrapped_key, data_key);
  }
  if (sodium_memcmp(data_key.commitment.data(), header->key_commitment.data(),
                    kCommitmentBytes) != 0) {
    return absl::UnauthenticatedError("data key does not match the header's commitment");
  }
  thread_local std::string ad;
  internal::PayloadAd(parts.header, &ad);
  OpenedRecord record;
  if (absl::Status s =
          internal::DecryptPayload(data_key.key, ad, parts.nonce, parts.ciphertext, &record.payload);
      !s.ok()) {
    return s;
  }
  record.header = *std::move(header);
  return record;
}

}  // namespace gatehouse::envelope

#include "envelope/batch_sealer.h"

#include <sodium.h>

#include "envelope/domain.h"
#include "envelope/envelope_codec.h"
#include "envelope/merkle.h"
#include "envelope/sealer.h"
#include "envelope/sealing.h"

namespace gatehouse::envelope {

using internal::Hash;

absl::StatusOr<std::unique_ptr<BatchSealer>> BatchSealer::Create(
    std::shared_ptr<const Keyset> keyset, BatchSealerOptions options) {
  if (keyset == nullptr) return absl::InvalidArgumentError("no keyset");
  const Keyset::Key* signing = keyset->Primary(v1::KEY_PURPOSE_SIGNING);
  if (signing == nullptr) return absl::InvalidArgumentError("keyset has no primary signing key");
  if (options.max_batch_records == 0 || options.max_batch_records > kMaxBatchRecords ||
      options.max_records_per_data_key == 0 || options.epoch <= absl::ZeroDuration() ||
      !options.clock) {
    return absl::InvalidArgumentError("batch sealer options out of range");
  }
  return std::unique_ptr<BatchSealer>(new BatchSealer(std::move(keyset), signing, std::move(options)));
}

BatchSealer::~BatchSealer() { sodium_memzero(arena_.data(), arena_.size()); }

absl::StatusOr<BatchSealer::EpochKey*> BatchSealer::KeyFor(const RecipientKey& recipient) {
  const absl::Time now = options_.clock();
  auto it = epoch_keys_.find(recipient.id);
  if (it != epoch_keys_.end()) {
    EpochKey& k = it->second;
    if (k.used < options_.max_records_per_data_key && now >= k.started &&
        now - k.started < options_.epoch) {
      return &k;
    }
  }
  EpochKey fresh;
  fresh.data_key = SecretKey::Random(internal::kDataKeyBytes);
  if (absl::Status s = internal::WrapDataKey(fresh.data_key, recipient, fresh.wrapped.data());
      !s.ok()) {
    return s;
  }
  fresh.commitment = internal::KeyCommitment(fresh.data_key);
  fresh.started = now;
  EpochKey& slot = epoch_keys_[recipient.id];
  slot = fresh;
  return &slot;
}

absl::Status BatchSealer::Add(const RecordLabels& labels, const RecipientKey& recipient,
                              absl::string_view payload) {
  if (pending_.size() >= options_.max_batch_records) {
    return absl::ResourceExhaustedError("batch is full; call Finish");
  }
  if (absl::Status s = CheckSealInput(*keyset_, labels, payload); !s.ok()) return s;
  auto key = KeyFor(recipient);
  if (!key.ok()) return key.status();
  EpochKey& epoch = **key;

  HeaderKeys keys;
  keys.mode = EnvelopeMode::kBatch;
  keys.sender_key_id = signing_key_.id;
  keys.recipient_key_id = recipient.id;
  keys.key_commitment = epoch.commitment;

  const size_t start = arena_.size();
  arena_.append(kPayloadTag.data(), kPayloadTag.size());
  if (absl::Status s = AppendHeader(keys, labels, &arena_); !s.ok()) {
    arena_.resize(start);
    return s;
  }
  Pending p;
  p.header_offset = start + kPayloadTag.size();
  p.header_size = arena_.size() - p.header_offset;
  p.ciphertext_offset = arena_.size();
  p.ciphertext_size = payload.size() + internal::kAeadTagBytes;
  p.wrapped = epoch.wrapped;
  if (pending_.empty()) randombytes_buf(nonce_base_.data(), nonce_base_.size());
  p.nonce = nonce_base_;
  uint64_t carry = pending_.size();
  for (size_t i = p.nonce.size(); i-- > p.nonce.size() - 8 && carry != 0;) {
    carry += p.nonce[i];
    p.nonce[i] = static_cast<uint8_t>(carry);
    carry >>= 8;
  }
  arena_.resize(arena_.size() + p.ciphertext_size);
  const absl::string_view ad(arena_.data() + start, p.ciphertext_offset - start);
  internal::EncryptPayload(epoch.data_key, ad, p.nonce.data(), payload,
                           reinterpret_cast<uint8_t*>(arena_.data() + p.ciphertext_offset));
  ++epoch.used;
  leaves_.push_back(internal::LeafHash(internal::RecordDigest(
      absl::string_view(arena_.data() + p.header_offset, p.header_size), AsStringView(p.wrapped),
      AsStringView(p.nonce), absl::string_view(arena_.data() + p.ciphertext_offset, p.ciphertext_size))));
  pending_.push_back(p);
  return absl::OkStatus();
}

void BatchSealer::Finish(std::vector<std::string>* out) {
  if (pending_.empty()) return;
  const uint64_t n = pending_.size();
  const internal::MerkleTree tree(std::move(leaves_));
  uint8_t signature[internal::kSignatureBytes];
  internal::Sign(signing_key_, internal::BatchSignedMessage(n, tree.root()), signature);

  std::vector<Hash> path;
  EnvelopeParts parts;
  parts.signature = AsStringView(signature, sizeof signature);
  parts.has_batch = true;
  parts.tree_size = n;
  out->resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    const Pending& p = pending_[i];
    path.clear();
    tree.AppendPath(i, &path);
    parts.header = absl::string_view(arena_.data() + p.header_offset, p.header_size);
    parts.wrapped_key = AsStringView(p.wrapped);
    parts.nonce = AsStringView(p.nonce);
    parts.ciphertext = absl::string_view(arena_.data() + p.ciphertext_offset, p.ciphertext_size);
    parts.leaf_index = i;
    parts.path_length = path.size();
    for (size_t j = 0; j < path.size(); ++j) parts.path[j] = AsStringView(path[j]);
    std::string& env = (*out)[i];
    env.clear();
    env.reserve(p.header_size + p.ciphertext_size + 240 + path.size() * 34);
    AppendEnvelope(parts, &env);
  }
  pending_.clear();
  leaves_ = std::vector<Hash>();
  arena_.clear();
}

std::vector<std::string> BatchSealer::Finish() {
  std::vector<std::string> out;
  Finish(&out);
  return out;
}

}  // namespace gatehouse::envelope

#include "envelope/digest.h"

#include <sodium.h>

#include <algorithm>

#include "envelope/domain.h"
#include "envelope/wire.h"

namespace gatehouse::envelope::internal {
namespace {

void Update(crypto_generichash_state* st, absl::string_view s) {
  crypto_generichash_update(st, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

Hash KeyCommitment(const SecretKey& data_key) {
  Hash out;
  crypto_generichash(out.data(), out.size(),
                     reinterpret_cast<const uint8_t*>(kKeyCommitmentTag.data()),
                     kKeyCommitmentTag.size(), data_key.data(SecretKeyAccess()), data_key.size());
  return out;
}

Hash RecordDigest(absl::string_view header, absl::string_view wrapped_key,
                  absl::string_view nonce, absl::string_view ciphertext) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, kHashBytes);
  Update(&st, kRecordDigestTag);
  uint8_t len[8];
  for (int i = 0; i < 4; ++i) len[i] = static_cast<uint8_t>(header.size() >> (24 - 8 * i));
  crypto_generichash_update(&st, len, 4);
  Update(&st, header);
  Update(&st, wrapped_key);
  Update(&st, nonce);
  const uint64_t n = ciphertext.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (56 - 8 * i));
  crypto_generichash_update(&st, len, 8);
  Update(&st, ciphertext);
  Hash out;
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

Hash LeafHash(const Hash& record_digest) {
  uint8_t in[1 + kHashBytes];
  in[0] = 0x00;
  std::copy(record_digest.begin(), record_digest.end(), in + 1);
  Hash out;
  crypto_generichash(out.data(), out.size(), in, sizeof in, nullptr, 0);
  return out;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  uint8_t in[1 + 2 * kHashBytes];
  in[0] = 0x01;
  std::copy(left.begin(), left.end(), in + 1);
  std::copy(right.begin(), right.end(), in + 1 + kHashBytes);
  Hash out;
  crypto_generichash(out.data(), out.size(), in, sizeof in, nullptr, 0);
  return out;
}

std::string RecordSignedMessage(const Hash& digest) {
  std::string m(kRecordSignatureTag);
  m.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return m;
}

std::string BatchSignedMessage(uint64_t tree_size, const Hash& root) {
  std::string m(kBatchSignatureTag);
  PutU64(&m, tree_size);
  m.append(reinterpret_cast<const char*>(root.data()), root.size());
  return m;
}

}  // namespace gatehouse::envelope::internal

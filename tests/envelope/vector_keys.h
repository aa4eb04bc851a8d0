// Keysets for the JSON test vectors, derived at runtime from the
// organisation's name (docs/envelope.md, "Test vectors"):
//   seed = BLAKE2b-256("gatehouse/v1/test-vector-key\0" || org || purpose byte)
//   X25519 key pair = crypto_box_seed_keypair(seed)
//   Ed25519 key pair = crypto_sign_seed_keypair(seed)
// so any implementation can check the vectors and no key bytes are
// committed. Anyone can derive these keys: they are for vectors only.
//
// Header-only, shared by tests/envelope and tools/envelope_vectors.
#ifndef GATEHOUSE_TESTS_ENVELOPE_VECTOR_KEYS_H_
#define GATEHOUSE_TESTS_ENVELOPE_VECTOR_KEYS_H_

#include <sodium.h>

#include <string>

#include "absl/status/statusor.h"
#include "envelope/keyset.h"

namespace gatehouse::envelope::testing {

inline std::string VectorSeed(const std::string& org, uint8_t purpose) {
  std::string in("gatehouse/v1/test-vector-key", 28);
  in.push_back('\0');
  in += org;
  in.push_back(static_cast<char>(purpose));
  unsigned char seed[32];
  crypto_generichash(seed, sizeof seed, reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                     nullptr, 0);
  return std::string(reinterpret_cast<const char*>(seed), sizeof seed);
}

// `with_encryption` false for the directory authority.
inline absl::StatusOr<Keyset> VectorKeyset(const std::string& org, bool with_encryption = true) {
  v1::KeysetFile file;
  file.set_org_id(org);
  unsigned char pk[32], sk[64];
  if (with_encryption) {
    const std::string seed = VectorSeed(org, 1);
    crypto_box_seed_keypair(pk, sk, reinterpret_cast<const unsigned char*>(seed.data()));
    v1::KeysetKey* k = file.add_keys();
    k->set_purpose(v1::KEY_PURPOSE_ENCRYPTION);
    k->set_status(v1::KEY_STATUS_PRIMARY);
    PublicKey p;
    std::copy(pk, pk + 32, p.begin());
    k->set_public_key(std::string(reinterpret_cast<const char*>(pk), 32));
    k->set_private_key(std::string(reinterpret_cast<const char*>(sk), 32));
    k->set_key_id(KeyIdToHex(DeriveKeyId(KeyPurposeByte::kEncryption, p)));
  }
  const std::string seed = VectorSeed(org, 2);
  crypto_sign_seed_keypair(pk, sk, reinterpret_cast<const unsigned char*>(seed.data()));
  v1::KeysetKey* k = file.add_keys();
  k->set_purpose(v1::KEY_PURPOSE_SIGNING);
  k->set_status(v1::KEY_STATUS_PRIMARY);
  PublicKey p;
  std::copy(pk, pk + 32, p.begin());
  k->set_public_key(std::string(reinterpret_cast<const char*>(pk), 32));
  k->set_private_key(seed);
  k->set_key_id(KeyIdToHex(DeriveKeyId(KeyPurposeByte::kSigning, p)));
  sodium_memzero(sk, sizeof sk);
  return Keyset::FromProto(file);
}

}  // namespace gatehouse::envelope::testing

#endif  // GATEHOUSE_TESTS_ENVELOPE_VECTOR_KEYS_H_

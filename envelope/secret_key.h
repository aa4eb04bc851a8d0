// SecretKey: secret key bytes (an X25519 secret key, an Ed25519 secret key,
// a data key) that are wiped when the object dies. The bytes are reachable
// only through SecretKeyAccess, a token whose every use can be found with
// `grep -rn SecretKeyAccess`.
//
// Thread-compatible value type.
//
// Example:
//   SecretKey key = SecretKey::Random(32);
//   crypto_aead_...(..., key.data(SecretKeyAccess()));
#ifndef GATEHOUSE_ENVELOPE_SECRET_KEY_H_
#define GATEHOUSE_ENVELOPE_SECRET_KEY_H_

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gatehouse::envelope {

// Grants access to secret key bytes. Construct it only where key material
// must be handed to libsodium or written to a keyset file.
class SecretKeyAccess {
 public:
  explicit SecretKeyAccess() = default;
};

class SecretKey {
 public:
  static constexpr size_t kMaxBytes = 64;

  SecretKey() = default;
  // REQUIRES: n <= kMaxBytes.
  SecretKey(const uint8_t* p, size_t n) : size_(n) { std::memcpy(bytes_.data(), p, n); }
  // `n` fresh random bytes. REQUIRES: n <= kMaxBytes.
  static SecretKey Random(size_t n) {
    SecretKey k;
    k.size_ = n;
    randombytes_buf(k.bytes_.data(), n);
    return k;
  }
  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  ~SecretKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

  size_t size() const { return size_; }
  const uint8_t* data(SecretKeyAccess) const { return bytes_.data(); }
  uint8_t* mutable_data(SecretKeyAccess) { return bytes_.data(); }
  // REQUIRES: n <= kMaxBytes.
  void resize(size_t n) { size_ = n; }

 private:
  std::array<uint8_t, kMaxBytes> bytes_{};
  size_t size_ = 0;
};

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_SECRET_KEY_H_

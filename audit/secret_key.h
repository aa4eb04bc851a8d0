// SecretKey: the audit library's secret key bytes (a log key's or a cosigner
// key's libsodium Ed25519 secret key, seed || public key). Move-only: a key
// is never copied, and the bytes are wiped (sodium_memzero) when the object
// dies and when they are moved out of it. The bytes are reachable only
// through SecretKeyAccess, a token whose every use can be found with
// `grep -rn SecretKeyAccess` (the same word as envelope/secret_key.h, so one
// grep finds every place either library's key bytes are touched).
//
// The audit library may not depend on the envelope library, and common/
// links no libsodium (docs: DESIGN.md "Components and folders"), so this is
// the audit library's own type.
//
// Thread-compatible value type.
//
// Example:
//   SecretKey sk(crypto_sign_SECRETKEYBYTES);
//   crypto_sign_keypair(pk, sk.mutable_data(SecretKeyAccess()));
//   crypto_sign_detached(sig, nullptr, m, n, sk.data(SecretKeyAccess()));
#ifndef GATEHOUSE_AUDIT_SECRET_KEY_H_
#define GATEHOUSE_AUDIT_SECRET_KEY_H_

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gatehouse::audit {

// Grants access to secret key bytes. Construct it only where key material
// must be handed to libsodium or written to a key file.
class SecretKeyAccess {
 public:
  explicit SecretKeyAccess() = default;
};

class SecretKey {
 public:
  static constexpr size_t kMaxBytes = 64;

  SecretKey() = default;
  // `n` zero bytes, to be filled through mutable_data(). REQUIRES: n <= kMaxBytes.
  explicit SecretKey(size_t n) : size_(n) {}

  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  // Takes the bytes; `other` is left empty and wiped.
  SecretKey(SecretKey&& other) noexcept { TakeFrom(other); }
  SecretKey& operator=(SecretKey&& other) noexcept {
    if (this != &other) {
      Wipe();
      TakeFrom(other);
    }
    return *this;
  }
  ~SecretKey() { Wipe(); }

  size_t size() const { return size_; }
  const uint8_t* data(SecretKeyAccess) const { return bytes_.data(); }
  uint8_t* mutable_data(SecretKeyAccess) { return bytes_.data(); }

 private:
  void Wipe() {
    sodium_memzero(bytes_.data(), bytes_.size());
    size_ = 0;
  }
  void TakeFrom(SecretKey& other) {
    std::memcpy(bytes_.data(), other.bytes_.data(), bytes_.size());
    size_ = other.size_;
    other.Wipe();
  }

  std::array<uint8_t, kMaxBytes> bytes_{};
  size_t size_ = 0;
};

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_SECRET_KEY_H_

#include "policy/sealed_key.h"

#include <sodium.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gatehouse::policy {
namespace {

constexpr size_t kLines = 6;
constexpr uint64_t kMaxMemLimit = uint64_t{1} << 30;  // what a file may ask of us

// True, with the bytes in *out, if `hex` is exactly `bytes` bytes in
// lowercase hex (as written here).
bool HexField(absl::string_view hex, size_t bytes, std::string* out) {
  std::string raw = absl::HexStringToBytes(hex);
  if (raw.size() != bytes || absl::BytesToHexString(raw) != hex) return false;
  *out = std::move(raw);
  return true;
}

absl::Status BadLine(absl::string_view source, int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      source, " is not a sealed officer key from policyc keygen --passphrase-file: line ", line,
      " is not ", what));
}

// The Argon2id key that seals, or ResourceExhausted.
absl::StatusOr<std::string> DeriveKey(absl::string_view passphrase, const std::string& salt,
                                      uint64_t ops, uint64_t mem) {
  std::string key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES, '\0');
  if (crypto_pwhash(reinterpret_cast<unsigned char*>(key.data()), key.size(), passphrase.data(),
                    passphrase.size(), reinterpret_cast<const unsigned char*>(salt.data()), ops,
                    static_cast<size_t>(mem), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError(
        "not enough memory to open the sealed key (Argon2id needs its memory limit)");
  }
  return key;
}

std::string HeaderLines(absl::string_view public_key, uint64_t ops, uint64_t mem) {
  return absl::StrCat(kSealedKeyHeader, "\n", absl::BytesToHexString(public_key), "\n", ops,
                      " ", mem, "\n");
}

}  // namespace

bool LooksSealed(absl::string_view text) {
  return absl::StartsWith(absl::StripLeadingAsciiWhitespace(text), kSealedKeyHeader);
}

absl::StatusOr<std::string> SealOfficerKey(absl::string_view secret_key,
                                           absl::string_view passphrase) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    return absl::InvalidArgumentError("an officer's secret key is 64 bytes");
  }
  if (passphrase.size() < kMinPassphraseBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the passphrase is too short: at least ", kMinPassphraseBytes, " characters"));
  }
  const uint64_t ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  const uint64_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  std::string salt(crypto_pwhash_SALTBYTES, '\0');
  std::string nonce(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, '\0');
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(nonce.data(), nonce.size());
  auto key = DeriveKey(passphrase, salt, ops, mem);
  if (!key.ok()) return key.status();
  // libsodium's secret key ends with its public key.
  const std::string head = HeaderLines(secret_key.substr(32), ops, mem);
  std::string sealed(secret_key.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long sealed_len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(sealed.data()), &sealed_len,
      reinterpret_cast<const unsigned char*>(secret_key.data()), secret_key.size(),
      reinterpret_cast<const unsigned char*>(head.data()), head.size(), nullptr,
      reinterpret_cast<const unsigned char*>(nonce.data()),
      reinterpret_cast<const unsigned char*>(key->data()));
  sodium_memzero(key->data(), key->size());
  sealed.resize(sealed_len);
  return absl::StrCat(head, absl::BytesToHexString(salt), "\n", absl::BytesToHexString(nonce),
                      "\n", absl::BytesToHexString(sealed), "\n");
}

absl::StatusOr<SealedOfficerKey> ParseSealedOfficerKey(absl::string_view text,
                                                       absl::string_view source) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  while (!lines.empty() && absl::StripAsciiWhitespace(lines.back()).empty()) lines.pop_back();
  for (absl::string_view& l : lines) l = absl::StripTrailingAsciiWhitespace(l);
  if (lines.size() != kLines || lines[0] != kSealedKeyHeader) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, " is not a sealed officer key from policyc keygen --passphrase-file (",
        kLines, " lines, the first '", kSealedKeyHeader, "')"));
  }
  SealedOfficerKey k;
  if (!HexField(lines[1], crypto_sign_PUBLICKEYBYTES, &k.public_key)) {
    return BadLine(source, 2, "a public key (64 hex digits)");
  }
  std::vector<absl::string_view> limits = absl::StrSplit(lines[2], ' ');
  if (limits.size() != 2 || !absl::SimpleAtoi(limits[0], &k.ops_limit) ||
      !absl::SimpleAtoi(limits[1], &k.mem_limit) ||
      k.ops_limit < crypto_pwhash_OPSLIMIT_MIN || k.ops_limit > crypto_pwhash_OPSLIMIT_MAX ||
      k.mem_limit < crypto_pwhash_MEMLIMIT_MIN || k.mem_limit > kMaxMemLimit) {
    return BadLine(source, 3, "two Argon2id limits within bounds (at most 1 GiB)");
  }
  if (!HexField(lines[3], crypto_pwhash_SALTBYTES, &k.salt)) {
    return BadLine(source, 4, "a salt (32 hex digits)");
  }
  if (!HexField(lines[4], crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &k.nonce)) {
    return BadLine(source, 5, "a nonce (48 hex digits)");
  }
  if (!HexField(lines[5], crypto_sign_SECRETKEYBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES,
                &k.sealed)) {
    return BadLine(source, 6, "a sealed key (160 hex digits)");
  }
  k.additional_data = HeaderLines(k.public_key, k.ops_limit, k.mem_limit);
  return k;
}

absl::StatusOr<std::string> OpenSealedOfficerKey(const SealedOfficerKey& sealed,
                                                 absl::string_view passphrase) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  auto key = DeriveKey(passphrase, sealed.salt, sealed.ops_limit, sealed.mem_limit);
  if (!key.ok()) return key.status();
  std::string secret(crypto_sign_SECRETKEYBYTES, '\0');
  unsigned long long secret_len = 0;
  const int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      reinterpret_cast<unsigned char*>(secret.data()), &secret_len, nullptr,
      reinterpret_cast<const unsigned char*>(sealed.sealed.data()), sealed.sealed.size(),
      reinterpret_cast<const unsigned char*>(sealed.additional_data.data()),
      sealed.additional_data.size(), reinterpret_cast<const unsigned char*>(sealed.nonce.data()),
      reinterpret_cast<const unsigned char*>(key->data()));
  sodium_memzero(key->data(), key->size());
  if (rc != 0 || secret_len != crypto_sign_SECRETKEYBYTES) {
    sodium_memzero(secret.data(), secret.size());
    return absl::PermissionDeniedError(
        "the passphrase is not the one this key was sealed with (or the file was altered)");
  }
  std::string derived(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_ed25519_sk_to_pk(reinterpret_cast<unsigned char*>(derived.data()),
                               reinterpret_cast<const unsigned char*>(secret.data()));
  if (derived != sealed.public_key) {
    sodium_memzero(secret.data(), secret.size());
    return absl::InvalidArgumentError("the sealed secret key is not the file's public key's");
  }
  return secret;
}

}  // namespace gatehouse::policy

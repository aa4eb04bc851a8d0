// An officer's secret key sealed under a passphrase, so that it can rest on
// a machine the officer does not alone control (the workbench's) and still
// sign only when the officer types the passphrase. `policyc keygen
// --passphrase-file` writes it to NAME.sealed; `policyc sign` and the
// workbench (`--officer-sealed-key`) open it.
//
// The file is text, one field a line:
//   gatehouse-sealed-officer-key v1
//   <the public key, 64 hex digits>
//   <argon2id ops limit> <argon2id memory limit in bytes>
//   <salt, 32 hex digits>
//   <nonce, 48 hex digits>
//   <the 64-byte secret key sealed with XChaCha20-Poly1305, 160 hex digits>
// The key that seals is Argon2id(passphrase, salt) with the limits given
// (libsodium's crypto_pwhash); the first three lines are the sealing's
// additional data, so that neither the public key nor the limits can be
// changed without the seal failing. The public key is readable without the
// passphrase: the workbench matches it to an officer's NAME.pub.
//
// Stateless functions; thread-safe.
//
// Example:
//   ASSIGN_OR_RETURN(std::string text, SealOfficerKey(pair.secret_key, passphrase));
//   ASSIGN_OR_RETURN(SealedOfficerKey sealed, ParseSealedOfficerKey(text, "alice.sealed"));
//   ASSIGN_OR_RETURN(std::string secret, OpenSealedOfficerKey(sealed, passphrase));
#ifndef GATEHOUSE_POLICY_SEALED_KEY_H_
#define GATEHOUSE_POLICY_SEALED_KEY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse::policy {

// The first line of a sealed key file.
inline constexpr char kSealedKeyHeader[] = "gatehouse-sealed-officer-key v1";

// The shortest passphrase SealOfficerKey takes, in bytes.
inline constexpr size_t kMinPassphraseBytes = 12;

struct SealedOfficerKey {
  std::string public_key;  // raw 32 bytes
  uint64_t ops_limit = 0;
  uint64_t mem_limit = 0;
  std::string salt, nonce, sealed;  // raw
  std::string additional_data;     // the file's first three lines
};

// True if `text` starts as a sealed key file does (whatever follows).
bool LooksSealed(absl::string_view text);

// `secret_key` (64 bytes, as GenerateOfficerKey makes) sealed under
// `passphrase` with libsodium's interactive Argon2id limits (64 MiB, a
// fraction of a second: the workbench opens it while the officer waits), as
// file text.
// InvalidArgument if the passphrase is shorter than kMinPassphraseBytes or
// the key is not 64 bytes.
absl::StatusOr<std::string> SealOfficerKey(absl::string_view secret_key,
                                           absl::string_view passphrase);

// Reads a sealed key file. InvalidArgument naming `source` and the line
// that is wrong; limits outside libsodium's bounds (or above 1 GiB of
// memory) are refused before any work is done. Never quotes the text.
absl::StatusOr<SealedOfficerKey> ParseSealedOfficerKey(absl::string_view text,
                                                       absl::string_view source);

// The 64-byte secret key. PermissionDenied ("the passphrase is not the one
// this key was sealed with") if the passphrase is wrong or the file was
// altered; ResourceExhausted if the memory for Argon2id cannot be had;
// InvalidArgument if the opened key's public half is not the file's.
absl::StatusOr<std::string> OpenSealedOfficerKey(const SealedOfficerKey& sealed,
                                                 absl::string_view passphrase);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_SEALED_KEY_H_

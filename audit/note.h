// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys: the
// envelope that carries checkpoints and cosignatures.
//
//   <text ending in \n>
//   \n
//   — <key name> base64(4-byte big-endian key id || signature)\n   (one or more)
//
// Keys are written as the Go sumdb/note "vkey"/"skey" strings that C2SP refers
// to:  <name>+<8 hex key id>+base64(type || 32-byte Ed25519 public key)
// and  PRIVATE+KEY+<name>+<8 hex key id>+base64(type || 32-byte seed).
// The type byte is 0x01 for a log's Ed25519 note key and 0x04 for a C2SP
// tlog-cosignature (timestamped Ed25519) cosigner key; the key id is always
// SHA-256(name || 0x0A || type || public key)[:4].
//
// Thread-safety: NoteSigner and NoteVerifier are immutable after creation and
// safe to share between threads. Free functions are pure. NoteSigner holds its
// secret key in a wiped, move-only SecretKey (secret_key.h), so a NoteSigner
// is move-only too: share one through a pointer, never a copy.
//
// Example:
//   ASSIGN_OR_RETURN(NoteSigner signer, NoteSigner::FromPrivateKey(skey));
//   std::string note = SignNote(text, {&signer});
//   ASSIGN_OR_RETURN(NoteVerifier v, NoteVerifier::FromVerifierKey(vkey));
//   ASSIGN_OR_RETURN(Note opened, OpenNote(note, {&v}));
#ifndef GATEHOUSE_AUDIT_NOTE_H_
#define GATEHOUSE_AUDIT_NOTE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "audit/secret_key.h"

namespace gatehouse::audit {

// Signature type identifier bytes (c2sp.org/signed-note, "Signature types").
constexpr uint8_t kSigTypeEd25519 = 0x01;
constexpr uint8_t kSigTypeCosignatureV1 = 0x04;

// Largest note accepted by ParseNote, and the most signature lines.
constexpr size_t kMaxNoteSize = 1 << 20;
constexpr size_t kMaxNoteSignatures = 64;

struct NoteSignature {
  std::string name;     // key name
  uint32_t key_id = 0;  // first 4 bytes of the decoded signature, big-endian
  std::string signature;  // the bytes after the key id
};

struct Note {
  std::string text;  // includes the final newline
  std::vector<NoteSignature> signatures;
};

// SHA-256(name || 0x0A || type || public_key)[:4] as a big-endian uint32.
uint32_t NoteKeyId(absl::string_view name, uint8_t type, absl::string_view public_key);

// Splits a note into text and signature lines, enforcing the format rules:
// valid UTF-8, no control characters but newline, text ends with a newline,
// at least one well-formed signature line, at most kMaxNoteSignatures.
// Verifies nothing. InvalidArgument on any violation.
absl::StatusOr<Note> ParseNote(absl::string_view note);

// Parses one signature line "— name base64(id || sig)", without its final
// newline, by the rules ParseNote applies to each. InvalidArgument if it is
// not one.
absl::StatusOr<NoteSignature> ParseSignatureLine(absl::string_view line);

// Formats one signature line "— name base64(id || sig)\n".
std::string FormatSignatureLine(const NoteSignature& sig);

// Holds an Ed25519 secret key. The key never leaves this class except through
// PrivateKeyString(SecretKeyAccess), which only writing a new key file calls.
// Move-only; the key is wiped when the signer dies.
class NoteSigner {
 public:
  // Parses "PRIVATE+KEY+name+id+base64(type||seed)". InvalidArgument if the
  // string is malformed or the id does not match the derived public key.
  static absl::StatusOr<NoteSigner> FromPrivateKey(absl::string_view skey);
  // A fresh key of `type` for `name`. InvalidArgument for a bad name.
  static absl::StatusOr<NoteSigner> Generate(absl::string_view name, uint8_t type);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  uint8_t type() const { return type_; }
  std::string public_key() const;
  // "name+id+base64(type||pub)", for verifiers.
  std::string VerifierKeyString() const;
  // "PRIVATE+KEY+...": secret. Only for writing a new key file; the caller
  // should wipe the string when written.
  std::string PrivateKeyString(SecretKeyAccess) const;

  // Ed25519 signature over `message` (64 bytes).
  std::string SignRaw(absl::string_view message) const;
  // A type-0x01 note signature over `text`.
  NoteSignature SignNoteText(absl::string_view text) const;

 private:
  NoteSigner() = default;
  std::string name_;
  uint8_t type_ = kSigTypeEd25519;
  uint32_t key_id_ = 0;
  SecretKey secret_;  // libsodium Ed25519 secret key: seed || public, 64 bytes
};

class NoteVerifier {
 public:
  // Parses "name+id+base64(type||pub)". InvalidArgument if malformed or the id
  // does not match.
  static absl::StatusOr<NoteVerifier> FromVerifierKey(absl::string_view vkey);
  static NoteVerifier FromPublicKey(absl::string_view name, uint8_t type,
                                    absl::string_view public_key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  uint8_t type() const { return type_; }
  const std::string& public_key() const { return public_key_; }
  std::string VerifierKeyString() const;
  // True iff `sig` is a valid Ed25519 signature over `message`.
  bool VerifyRaw(absl::string_view message, absl::string_view sig) const;

 private:
  std::string name_;
  uint8_t type_ = kSigTypeEd25519;
  uint32_t key_id_ = 0;
  std::string public_key_;
};

// Text plus one signature line per signer (type 0x01 signers only).
// REQUIRES: text ends with '\n'.
std::string SignNote(absl::string_view text, const std::vector<const NoteSigner*>& signers);

// Parses `note` and checks it against known type-0x01 `verifiers`: signatures
// from unknown keys (name or id differs) are ignored; a known key's signature
// that fails is DataLoss (the whole note is rejected); no verified known
// signature at all is Unauthenticated. Returns the parsed note on success.
absl::StatusOr<Note> OpenNote(absl::string_view note,
                              const std::vector<const NoteVerifier*>& verifiers);

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_NOTE_H_

// Keyset: one organisation's gateway keys (X25519 to be sealed to, Ed25519 to
// sign with), or the directory authority's signing keys. Each key has an id
// derived from its public key; one key of each purpose is primary and older
// keys are kept, so keys rotate without a flag day (docs/envelope.md,
// "Rotation"):
//   - encryption: RotateEncryptionKey makes a new primary at once; the old key
//     stays and still opens records sealed to it until RemoveKey.
//   - signing: AddSigningKey makes an enabled (published, not signing) key;
//     after the directory carries it, PromoteSigningKey makes it primary and
//     the old primary stops signing.
//
// Thread-compatible: const methods may be called from many threads; share a
// loaded keyset as std::shared_ptr<const Keyset>.
//
// Example:
//   ASSIGN_OR_RETURN(Keyset keys, Keyset::LoadFromFile("/etc/gatehouse/keys.json"));
//   v1::Organisation entry = keys.PublicEntry();   // for the directory
#ifndef GATEHOUSE_ENVELOPE_KEYSET_H_
#define GATEHOUSE_ENVELOPE_KEYSET_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gatehouse/v1/directory.pb.h"
#include "gatehouse/v1/envelope.pb.h"
#include "envelope/key_id.h"
#include "envelope/secret_key.h"

namespace gatehouse::envelope {

class Keyset {
 public:
  // One key. `secret` is the X25519 secret key (32 bytes) or the libsodium
  // Ed25519 secret key (64 bytes: seed || public key).
  struct Key {
    KeyId id{};
    v1::KeyPurpose purpose = v1::KEY_PURPOSE_UNSPECIFIED;
    v1::KeyStatus status = v1::KEY_STATUS_UNSPECIFIED;
    PublicKey public_key{};
    SecretKey secret;
    int64_t created_unix_ms = 0;
  };

  enum class Kind {
    kGateway,             // a primary encryption key and a primary signing key
    kDirectoryAuthority,  // a primary signing key only
  };

  // Fresh random keys for `org_id`. InvalidArgument if org_id is empty.
  static absl::StatusOr<Keyset> Generate(absl::string_view org_id, Kind kind, absl::Time now);

  // Validates a parsed keyset file: sizes, ids match public keys, private
  // keys match public keys, exactly one primary per purpose present, ids
  // unique. InvalidArgument on any failure.
  static absl::StatusOr<Keyset> FromProto(const v1::KeysetFile& file);

  // Reads a keyset file (protobuf JSON, unknown fields refused).
  // InvalidArgument if the file is readable, writable or executable by group
  // or others, is not a regular file, or does not validate; NotFound if it
  // does not exist.
  static absl::StatusOr<Keyset> LoadFromFile(const std::string& path);

  // Writes the keyset as protobuf JSON with mode 0600, atomically (a
  // temporary file in the same directory, fsynced, then renamed). On failure
  // the existing file is unchanged.
  absl::Status SaveToFile(const std::string& path) const;

  // The file form, including private keys.
  v1::KeysetFile ToProto() const;

  // New primary X25519 key; the old primary becomes enabled. Returns its id.
  // InvalidArgument if this keyset has no encryption keys (an authority's).
  absl::StatusOr<KeyId> RotateEncryptionKey(absl::Time now);
  // New enabled Ed25519 key (published by PublicEntry, not yet signing).
  absl::StatusOr<KeyId> AddSigningKey(absl::Time now);
  // Makes the signing key `id` primary; the old primary becomes enabled and
  // no longer signs. NotFound if no signing key has that id.
  absl::Status PromoteSigningKey(const KeyId& id);
  // Removes a key that is not primary. NotFound if absent; InvalidArgument if
  // it is primary. Records sealed to a removed encryption key no longer open.
  absl::Status RemoveKey(const KeyId& id);

  const std::string& org_id() const { return org_id_; }
  const std::vector<Key>& keys() const { return keys_; }

  // The primary key of a purpose, or nullptr if the keyset has none.
  const Key* Primary(v1::KeyPurpose purpose) const;
  // The encryption key with `id` (primary or enabled), or nullptr.
  const Key* FindEncryptionKey(const KeyId& id) const;

  // The public half, for the directory: org_id, encryption_key (the primary)
  // and verification_keys (every signing key, primary first).
  v1::Organisation PublicEntry() const;
  // The same, as the types Sealer and Opener take.
  std::optional<RecipientKey> PrimaryRecipientKey() const;
  std::vector<VerifyingKey> VerifyingKeys() const;

 private:
  Keyset() = default;
  Key* Find(const KeyId& id);

  std::string org_id_;
  std::vector<Key> keys_;
};

// The public keys an organisation's directory entry publishes.
// InvalidArgument if a key is not 32 bytes; NotFound if there is none.
absl::StatusOr<RecipientKey> RecipientKeyFromDirectory(const v1::Organisation& org);
absl::StatusOr<std::vector<VerifyingKey>> VerifyingKeysFromDirectory(const v1::Organisation& org);

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_KEYSET_H_

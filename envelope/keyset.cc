#include "envelope/keyset.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace gatehouse::envelope {
namespace {

constexpr size_t kMaxKeysetFileBytes = 1 << 20;

KeyPurposeByte PurposeByte(v1::KeyPurpose p) {
  return p == v1::KEY_PURPOSE_ENCRYPTION ? KeyPurposeByte::kEncryption : KeyPurposeByte::kSigning;
}

Keyset::Key NewKey(v1::KeyPurpose purpose, v1::KeyStatus status, absl::Time now) {
  Keyset::Key key;
  key.purpose = purpose;
  key.status = status;
  key.created_unix_ms = absl::ToUnixMillis(now);
  if (purpose == v1::KEY_PURPOSE_ENCRYPTION) {
    key.secret.resize(crypto_box_SECRETKEYBYTES);
    crypto_box_keypair(key.public_key.data(), key.secret.mutable_data(SecretKeyAccess()));
  } else {
    key.secret.resize(crypto_sign_SECRETKEYBYTES);
    crypto_sign_keypair(key.public_key.data(), key.secret.mutable_data(SecretKeyAccess()));
  }
  key.id = DeriveKeyId(PurposeByte(purpose), key.public_key);
  return key;
}

// Rebuilds the in-memory key from the file form and checks that the private
// key belongs to the public key.
absl::StatusOr<Keyset::Key> KeyFromProto(const v1::KeysetKey& k) {
  Keyset::Key key;
  key.purpose = k.purpose();
  key.status = k.status();
  key.created_unix_ms = k.created_unix_ms();
  if (key.purpose != v1::KEY_PURPOSE_ENCRYPTION && key.purpose != v1::KEY_PURPOSE_SIGNING) {
    return absl::InvalidArgumentError(absl::StrCat("key ", k.key_id(), ": unknown purpose"));
  }
  if (key.status != v1::KEY_STATUS_PRIMARY && key.status != v1::KEY_STATUS_ENABLED) {
    return absl::InvalidArgumentError(absl::StrCat("key ", k.key_id(), ": unknown status"));
  }
  auto pub = PublicKeyFromBytes(k.public_key());
  if (!pub.ok()) return absl::InvalidArgumentError(absl::StrCat("key ", k.key_id(), ": ", pub.status().message()));
  key.public_key = *pub;
  if (k.private_key().size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat("key ", k.key_id(), ": private key must be 32 bytes"));
  }
  const auto* priv = reinterpret_cast<const uint8_t*>(k.private_key().data());
  PublicKey derived;
  if (key.purpose == v1::KEY_PURPOSE_ENCRYPTION) {
    key.secret = SecretKey(priv, 32);
    crypto_scalarmult_base(derived.data(), priv);
  } else {
    key.secret.resize(crypto_sign_SECRETKEYBYTES);
    crypto_sign_seed_keypair(derived.data(), key.secret.mutable_data(SecretKeyAccess()), priv);
  }
  if (sodium_memcmp(derived.data(), key.public_key.data(), derived.size()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("key ", k.key_id(), ": private key does not match public key"));
  }
  key.id = DeriveKeyId(PurposeByte(key.purpose), key.public_key);
  if (KeyIdToHex(key.id) != k.key_id()) {
    return absl::InvalidArgumentError(absl::StrCat("key ", k.key_id(), ": id does not match public key"));
  }
  return key;
}

absl::StatusOr<std::string> ReadPrivateFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string msg = absl::StrCat("cannot open keyset ", path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::InvalidArgumentError(msg);
  }
  struct stat st;
  std::string text;
  absl::Status status;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = absl::InvalidArgumentError(absl::StrCat("keyset ", path, " is not a regular file"));
  } else if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    status = absl::InvalidArgumentError(absl::StrCat(
        "keyset ", path, " is accessible by group or others (mode ", mode, "); chmod 600 it"));
  } else if (static_cast<size_t>(st.st_size) > kMaxKeysetFileBytes) {
    status = absl::InvalidArgumentError(absl::StrCat("keyset ", path, " is too large"));
  } else {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 && text.size() <= kMaxKeysetFileBytes) {
      text.append(buf, static_cast<size_t>(n));
    }
    if (n < 0) status = absl::InvalidArgumentError(absl::StrCat("cannot read keyset ", path));
  }
  close(fd);
  if (!status.ok()) {
    sodium_memzero(text.data(), text.size());
    return status;
  }
  return text;
}

}  // namespace

absl::StatusOr<Keyset> Keyset::Generate(absl::string_view org_id, Kind kind, absl::Time now) {
  if (org_id.empty()) return absl::InvalidArgumentError("org id is empty");
  Keyset ks;
  ks.org_id_ = std::string(org_id);
  if (kind == Kind::kGateway) {
    ks.keys_.push_back(NewKey(v1::KEY_PURPOSE_ENCRYPTION, v1::KEY_STATUS_PRIMARY, now));
  }
  ks.keys_.push_back(NewKey(v1::KEY_PURPOSE_SIGNING, v1::KEY_STATUS_PRIMARY, now));
  return ks;
}

absl::StatusOr<Keyset> Keyset::FromProto(const v1::KeysetFile& file) {
  if (file.org_id().empty()) return absl::InvalidArgumentError("keyset has no org id");
  Keyset ks;
  ks.org_id_ = file.org_id();
  absl::flat_hash_set<std::string> ids;
  int primaries[3] = {0, 0, 0};
  int present[3] = {0, 0, 0};
  for (const v1::KeysetKey& k : file.keys()) {
    auto key = KeyFromProto(k);
    if (!key.ok()) return key.status();
    if (!ids.insert(k.key_id()).second) {
      return absl::InvalidArgumentError(absl::StrCat("key id ", k.key_id(), " repeated"));
    }
    ++present[key->purpose];
    if (key->status == v1::KEY_STATUS_PRIMARY) ++primaries[key->purpose];
    ks.keys_.push_back(std::move(*key));
  }
  if (present[v1::KEY_PURPOSE_SIGNING] == 0) {
    return absl::InvalidArgumentError("keyset has no signing key");
  }
  for (int p : {1, 2}) {
    if (present[p] > 0 && primaries[p] != 1) {
      return absl::InvalidArgumentError("keyset must have exactly one primary key per purpose");
    }
  }
  return ks;
}

absl::StatusOr<Keyset> Keyset::LoadFromFile(const std::string& path) {
  auto text = ReadPrivateFile(path);
  if (!text.ok()) return text.status();
  v1::KeysetFile file;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(*text, &file, options);
  sodium_memzero(text->data(), text->size());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("keyset ", path, " is not valid JSON for KeysetFile"));
  }
  auto ks = FromProto(file);
  for (v1::KeysetKey& k : *file.mutable_keys()) sodium_memzero(k.mutable_private_key()->data(), k.private_key().size());
  if (!ks.ok()) return absl::InvalidArgumentError(absl::StrCat("keyset ", path, ": ", ks.status().message()));
  return ks;
}

v1::KeysetFile Keyset::ToProto() const {
  v1::KeysetFile file;
  file.set_org_id(org_id_);
  for (const Key& key : keys_) {
    v1::KeysetKey* k = file.add_keys();
    k->set_key_id(KeyIdToHex(key.id));
    k->set_purpose(key.purpose);
    k->set_status(key.status);
    k->set_public_key(std::string(AsStringView(key.public_key)));
    // Both secret forms start with the 32 bytes the file keeps: the X25519
    // secret key, or the Ed25519 seed.
    k->set_private_key(std::string(AsStringView(key.secret.data(SecretKeyAccess()), 32)));
    k->set_created_unix_ms(key.created_unix_ms);
  }
  return file;
}

absl::Status Keyset::SaveToFile(const std::string& path) const {
  v1::KeysetFile file = ToProto();
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(file, &json, options).ok()) {
    return absl::InternalError("cannot encode keyset");
  }
  for (v1::KeysetKey& k : *file.mutable_keys()) sodium_memzero(k.mutable_private_key()->data(), k.private_key().size());
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = mkstemp(tmp.data());  // mode 0600
  absl::Status status;
  if (fd < 0) {
    status = absl::InvalidArgumentError(absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  } else {
    size_t done = 0;
    while (done < json.size()) {
      const ssize_t n = write(fd, json.data() + done, json.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    if (done != json.size() || fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
      status = absl::UnavailableError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
    }
    close(fd);
    if (status.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
      status = absl::UnavailableError(absl::StrCat("cannot rename to ", path, ": ", std::strerror(errno)));
    }
    if (!status.ok()) unlink(tmp.c_str());
  }
  sodium_memzero(json.data(), json.size());
  return status;
}

const Keyset::Key* Keyset::Primary(v1::KeyPurpose purpose) const {
  for (const Key& k : keys_) {
    if (k.purpose == purpose && k.status == v1::KEY_STATUS_PRIMARY) return &k;
  }
  return nullptr;
}

const Keyset::Key* Keyset::FindEncryptionKey(const KeyId& id) const {
  for (const Key& k : keys_) {
    if (k.purpose == v1::KEY_PURPOSE_ENCRYPTION && k.id == id) return &k;
  }
  return nullptr;
}

Keyset::Key* Keyset::Find(const KeyId& id) {
  for (Key& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

absl::StatusOr<KeyId> Keyset::RotateEncryptionKey(absl::Time now) {
  if (Primary(v1::KEY_PURPOSE_ENCRYPTION) == nullptr) {
    return absl::InvalidArgumentError("keyset has no encryption keys");
  }
  for (Key& k : keys_) {
    if (k.purpose == v1::KEY_PURPOSE_ENCRYPTION) k.status = v1::KEY_STATUS_ENABLED;
  }
  keys_.push_back(NewKey(v1::KEY_PURPOSE_ENCRYPTION, v1::KEY_STATUS_PRIMARY, now));
  return keys_.back().id;
}

absl::StatusOr<KeyId> Keyset::AddSigningKey(absl::Time now) {
  keys_.push_back(NewKey(v1::KEY_PURPOSE_SIGNING, v1::KEY_STATUS_ENABLED, now));
  return keys_.back().id;
}

absl::Status Keyset::PromoteSigningKey(const KeyId& id) {
  Key* key = Find(id);
  if (key == nullptr || key->purpose != v1::KEY_PURPOSE_SIGNING) {
    return absl::NotFoundError(absl::StrCat("no signing key ", KeyIdToHex(id)));
  }
  for (Key& k : keys_) {
    if (k.purpose == v1::KEY_PURPOSE_SIGNING) k.status = v1::KEY_STATUS_ENABLED;
  }
  key->status = v1::KEY_STATUS_PRIMARY;
  return absl::OkStatus();
}

absl::Status Keyset::RemoveKey(const KeyId& id) {
  Key* key = Find(id);
  if (key == nullptr) return absl::NotFoundError(absl::StrCat("no key ", KeyIdToHex(id)));
  if (key->status == v1::KEY_STATUS_PRIMARY) {
    return absl::InvalidArgumentError(absl::StrCat("key ", KeyIdToHex(id), " is primary; rotate first"));
  }
  keys_.erase(keys_.begin() + (key - keys_.data()));
  return absl::OkStatus();
}

v1::Organisation Keyset::PublicEntry() const {
  v1::Organisation org;
  org.set_org_id(org_id_);
  if (const Key* enc = Primary(v1::KEY_PURPOSE_ENCRYPTION)) {
    org.set_encryption_key(std::string(AsStringView(enc->public_key)));
  }
  for (const VerifyingKey& v : VerifyingKeys()) {
    org.add_verification_keys(std::string(AsStringView(v.public_key)));
  }
  return org;
}

std::optional<RecipientKey> Keyset::PrimaryRecipientKey() const {
  const Key* enc = Primary(v1::KEY_PURPOSE_ENCRYPTION);
  if (enc == nullptr) return std::nullopt;
  return RecipientKey{enc->id, enc->public_key};
}

std::vector<VerifyingKey> Keyset::VerifyingKeys() const {
  std::vector<VerifyingKey> out;
  if (const Key* primary = Primary(v1::KEY_PURPOSE_SIGNING)) {
    out.push_back({primary->id, primary->public_key});
  }
  for (const Key& k : keys_) {
    if (k.purpose == v1::KEY_PURPOSE_SIGNING && k.status != v1::KEY_STATUS_PRIMARY) {
      out.push_back({k.id, k.public_key});
    }
  }
  return out;
}

absl::StatusOr<RecipientKey> RecipientKeyFromDirectory(const v1::Organisation& org) {
  if (org.encryption_key().empty()) {
    return absl::NotFoundError(absl::StrCat("directory lists no encryption key for ", org.org_id()));
  }
  auto key = PublicKeyFromBytes(org.encryption_key());
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat(org.org_id(), " encryption key: ", key.status().message()));
  return RecipientKey{DeriveKeyId(KeyPurposeByte::kEncryption, *key), *key};
}

absl::StatusOr<std::vector<VerifyingKey>> VerifyingKeysFromDirectory(const v1::Organisation& org) {
  if (org.verification_keys().empty()) {
    return absl::NotFoundError(absl::StrCat("directory lists no verification key for ", org.org_id()));
  }
  std::vector<VerifyingKey> out;
  for (const std::string& bytes : org.verification_keys()) {
    auto key = PublicKeyFromBytes(bytes);
    if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat(org.org_id(), " verification key: ", key.status().message()));
    out.push_back({DeriveKeyId(KeyPurposeByte::kSigning, *key), *key});
  }
  return out;
}

}  // namespace gatehouse::envelope

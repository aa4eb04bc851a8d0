#include "envelope/signed_directory.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "envelope/digest.h"
#include "envelope/domain.h"
#include "envelope/sealing.h"
#include "envelope/wire.h"

namespace gatehouse::envelope {
namespace {

constexpr size_t kMaxDirectoryBytes = 16u << 20;
constexpr absl::Duration kClockSkew = absl::Minutes(5);

// kDirectoryTag || key id (8) || u64 issued ms || u64 not_after ms || directory.
std::string SignedMessage(const KeyId& key_id, int64_t issued_ms, int64_t not_after_ms,
                          absl::string_view directory) {
  std::string m(kDirectoryTag);
  m.append(reinterpret_cast<const char*>(key_id.data()), key_id.size());
  internal::PutU64(&m, static_cast<uint64_t>(issued_ms));
  internal::PutU64(&m, static_cast<uint64_t>(not_after_ms));
  m.append(directory.data(), directory.size());
  return m;
}

}  // namespace

absl::Status ValidateDirectory(const v1::Directory& directory) {
  absl::flat_hash_set<std::string> ids;
  for (const v1::Organisation& org : directory.organisations()) {
    if (org.org_id().empty()) return absl::InvalidArgumentError("directory entry without org_id");
    if (!ids.insert(org.org_id()).second) {
      return absl::InvalidArgumentError(absl::StrCat("org ", org.org_id(), " listed twice"));
    }
    if (!org.encryption_key().empty() && org.encryption_key().size() != kPublicKeyBytes) {
      return absl::InvalidArgumentError(absl::StrCat("org ", org.org_id(), ": encryption key is not 32 bytes"));
    }
    for (const std::string& k : org.verification_keys()) {
      if (k.size() != kPublicKeyBytes) {
        return absl::InvalidArgumentError(absl::StrCat("org ", org.org_id(), ": verification key is not 32 bytes"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::SignedDirectory> SignDirectory(const v1::Directory& directory,
                                                  const Keyset& authority, absl::Time issued,
                                                  absl::Time not_after) {
  if (absl::Status s = ValidateDirectory(directory); !s.ok()) return s;
  if (not_after <= issued) return absl::InvalidArgumentError("expiry is not after issue time");
  const Keyset::Key* key = authority.Primary(v1::KEY_PURPOSE_SIGNING);
  if (key == nullptr) return absl::InvalidArgumentError("authority keyset has no signing key");
  v1::SignedDirectory out;
  out.set_directory(directory.SerializeAsString());
  out.set_key_id(std::string(AsStringView(key->id)));
  out.set_issued_unix_ms(absl::ToUnixMillis(issued));
  out.set_not_after_unix_ms(absl::ToUnixMillis(not_after));
  uint8_t signature[internal::kSignatureBytes];
  internal::Sign(*key, SignedMessage(key->id, out.issued_unix_ms(), out.not_after_unix_ms(), out.directory()),
                 signature);
  out.set_signature(std::string(AsStringView(signature, sizeof signature)));
  return out;
}

absl::StatusOr<v1::Directory> VerifySignedDirectory(absl::string_view signed_bytes,
                                                    absl::Span<const VerifyingKey> authority_keys,
                                                    absl::Time now) {
  if (signed_bytes.size() > kMaxDirectoryBytes) {
    return absl::InvalidArgumentError("signed directory larger than 16 MiB");
  }
  v1::SignedDirectory sd;
  if (!sd.ParseFromArray(signed_bytes.data(), static_cast<int>(signed_bytes.size())) ||
      sd.SerializeAsString() != signed_bytes) {
    return absl::InvalidArgumentError("not a canonical SignedDirectory");
  }
  if (sd.signature().empty() || sd.key_id().empty()) {
    return absl::UnauthenticatedError("directory is not signed");
  }
  if (sd.key_id().size() != kKeyIdBytes) {
    return absl::UnauthenticatedError("directory signed by a malformed key id");
  }
  KeyId key_id;
  std::copy(sd.key_id().begin(), sd.key_id().end(), key_id.begin());
  const VerifyingKey* signer = nullptr;
  for (const VerifyingKey& k : authority_keys) {
    if (k.id == key_id) signer = &k;
  }
  if (signer == nullptr) {
    return absl::UnauthenticatedError(absl::StrCat("directory signed by unknown key ", KeyIdToHex(key_id)));
  }
  if (!internal::Verify(signer->public_key,
                        SignedMessage(key_id, sd.issued_unix_ms(), sd.not_after_unix_ms(), sd.directory()),
                        sd.signature())) {
    return absl::UnauthenticatedError("directory signature does not verify");
  }
  // Only now, with the times authenticated, judge them.
  if (now >= absl::FromUnixMillis(sd.not_after_unix_ms())) {
    return absl::UnauthenticatedError(absl::StrCat("directory expired at ",
                                                   absl::FormatTime(absl::FromUnixMillis(sd.not_after_unix_ms()))));
  }
  if (absl::FromUnixMillis(sd.issued_unix_ms()) > now + kClockSkew) {
    return absl::UnauthenticatedError("directory issued in the future");
  }
  v1::Directory directory;
  if (!directory.ParseFromString(sd.directory())) {
    return absl::InvalidArgumentError("signed directory content does not parse");
  }
  if (absl::Status s = ValidateDirectory(directory); !s.ok()) return s;
  return directory;
}

absl::Status DirectoryHolder::Update(absl::string_view signed_bytes, absl::Time now) {
  auto directory = VerifySignedDirectory(signed_bytes, authority_keys_, now);
  if (!directory.ok()) return directory.status();
  v1::SignedDirectory sd;
  sd.ParseFromArray(signed_bytes.data(), static_cast<int>(signed_bytes.size()));
  absl::MutexLock lock(&mu_);
  if (current_ != nullptr) {
    if (directory->version() < current_->version()) {
      return absl::InvalidArgumentError(absl::StrCat("directory version ", directory->version(),
                                                     " is older than the current ", current_->version()));
    }
    if (directory->version() == current_->version() && sd.directory() != current_bytes_) {
      return absl::InvalidArgumentError(absl::StrCat("directory version ", directory->version(),
                                                     " differs from the current one of that version"));
    }
  }
  current_ = std::make_shared<const v1::Directory>(*std::move(directory));
  current_bytes_ = sd.directory();
  not_after_ = absl::FromUnixMillis(sd.not_after_unix_ms());
  return absl::OkStatus();
}

std::shared_ptr<const v1::Directory> DirectoryHolder::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::Time DirectoryHolder::not_after() const {
  absl::MutexLock lock(&mu_);
  return not_after_;
}

}  // namespace gatehouse::envelope

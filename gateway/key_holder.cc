#include "gateway/key_holder.h"

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status_macros.h"

namespace gatehouse {

absl::StatusOr<std::shared_ptr<const KeyMaterial>> KeyMaterial::Build(envelope::Keyset keyset) {
  auto m = std::make_shared<KeyMaterial>();
  m->keyset = std::make_shared<const envelope::Keyset>(std::move(keyset));
  ASSIGN_OR_RETURN(m->opener, envelope::Opener::Create(m->keyset));
  ASSIGN_OR_RETURN(m->stream_sealer, envelope::StreamSealer::Create(m->keyset));
  ASSIGN_OR_RETURN(m->stream_opener, envelope::StreamOpener::Create(m->keyset));
  return std::shared_ptr<const KeyMaterial>(std::move(m));
}

std::string KeyMaterial::Describe() const {
  auto describe = [this](v1::KeyPurpose purpose, absl::string_view name) {
    const envelope::Keyset::Key* primary = keyset->Primary(purpose);
    int others = 0;
    for (const envelope::Keyset::Key& k : keyset->keys()) others += k.purpose == purpose;
    return absl::StrCat(name, " ", primary ? envelope::KeyIdToHex(primary->id) : "none", " (+",
                        primary ? others - 1 : others, " other)");
  };
  return absl::StrCat(keyset->org_id(), ": ", describe(v1::KEY_PURPOSE_ENCRYPTION, "encryption"),
                      ", ", describe(v1::KEY_PURPOSE_SIGNING, "signing"));
}

absl::StatusOr<std::unique_ptr<KeyHolder>> KeyHolder::Load(const std::string& path,
                                                           const std::string& org_id) {
  std::unique_ptr<KeyHolder> h(new KeyHolder(path, org_id));
  const std::string stamp = FileStamp(path);
  ASSIGN_OR_RETURN(envelope::Keyset keyset, h->Read());
  ASSIGN_OR_RETURN(std::shared_ptr<const KeyMaterial> m, KeyMaterial::Build(std::move(keyset)));
  std::lock_guard<std::mutex> lock(h->mu_);
  h->current_ = std::move(m);
  h->stamp_ = stamp;
  return h;
}

absl::StatusOr<envelope::Keyset> KeyHolder::Read() const {
  absl::StatusOr<envelope::Keyset> keyset = envelope::Keyset::LoadFromFile(path_);
  if (!keyset.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("keysetFile '", path_, "': ", keyset.status().message()));
  }
  if (keyset->org_id() != org_id_) {
    return absl::InvalidArgumentError(absl::StrCat("keysetFile '", path_, "' belongs to ",
                                                   keyset->org_id(), ", not ", org_id_));
  }
  return keyset;
}

std::shared_ptr<const KeyMaterial> KeyHolder::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::optional<KeyHolder::Reload> KeyHolder::ReloadIfChanged(
    const std::function<absl::Status(const envelope::Keyset&)>& check) {
  const std::string stamp = FileStamp(path_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stamp == stamp_) return std::nullopt;
    stamp_ = stamp;
  }
  absl::StatusOr<envelope::Keyset> keyset = Read();
  absl::Status ok = keyset.status();
  if (ok.ok()) ok = check(*keyset);
  absl::StatusOr<std::shared_ptr<const KeyMaterial>> m =
      ok.ok() ? KeyMaterial::Build(*std::move(keyset)) : ok;
  if (!m.ok()) return Reload{false, std::string(m.status().message())};
  std::lock_guard<std::mutex> lock(mu_);
  current_ = *m;
  return Reload{true, (*m)->Describe()};
}

}  // namespace gatehouse

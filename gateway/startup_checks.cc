#include "gateway/startup_checks.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "audit/posix_file.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "transport/identity.h"
#include "transport/tls.h"

namespace gatehouse {

absl::Status CheckOwnCertificate(const v1::GatewayConfig& config) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(config.tls().cert_file()));
  absl::StatusOr<Identity> id = IdentityFromCertificatePem(pem);
  if (!id.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls.certFile '", config.tls().cert_file(), "': ", id.status().message()));
  }
  if (id->uri != GatewayUri(config.org_id())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls.certFile names ", id->uri, " but this gateway is ", GatewayUri(config.org_id())));
  }
  return absl::OkStatus();
}

// A secret key file: refused if group or others may read it.
absl::StatusOr<std::string> ReadSecretFile(absl::string_view field, const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, " '", path, "' does not exist"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " '", path, "' may be read by group or others; chmod 600 it"));
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4096));
  return std::string(absl::StripAsciiWhitespace(text));
}

absl::StatusOr<audit::NoteSigner> LoadNoteKey(absl::string_view field, const std::string& path,
                                              uint8_t type) {
  ASSIGN_OR_RETURN(std::string text, ReadSecretFile(field, path));
  absl::StatusOr<audit::NoteSigner> signer = audit::NoteSigner::FromPrivateKey(text);
  if (!signer.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " '", path, "': ", signer.status().message()));
  }
  if (signer->type() != type) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " '", path, "' is not a ",
        type == audit::kSigTypeCosignatureV1 ? "cosigner key (auditctl keygen --cosigner)"
                                             : "log key (auditctl keygen)"));
  }
  return signer;
}

absl::Status CheckOwnKeys(const v1::Organisation& entry, const envelope::Keyset& keys) {
  absl::StatusOr<envelope::RecipientKey> enc = envelope::RecipientKeyFromDirectory(entry);
  if (!enc.ok() || keys.FindEncryptionKey(enc->id) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the directory's encryption key for ", entry.org_id(),
        " is not one this gateway's keyset holds; publish `ghkey export` of keysetFile"));
  }
  const envelope::Keyset::Key* signing = keys.Primary(v1::KEY_PURPOSE_SIGNING);
  bool listed = false;
  absl::StatusOr<std::vector<envelope::VerifyingKey>> verifying =
      envelope::VerifyingKeysFromDirectory(entry);
  for (const envelope::VerifyingKey& k : verifying.ok() ? *verifying
                                                        : std::vector<envelope::VerifyingKey>{}) {
    listed |= signing != nullptr && k.id == signing->id;
  }
  if (!listed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the directory does not list this gateway's primary signing key for ", entry.org_id()));
  }
  return absl::OkStatus();
}

absl::Status CheckOwnEntry(const v1::Organisation& entry, const envelope::Keyset& keys,
                           const audit::NoteSigner& log_key, const audit::NoteSigner& cosigner) {
  RETURN_IF_ERROR(CheckOwnKeys(entry, keys));
  if (entry.audit_key() != log_key.VerifierKeyString()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the directory's auditKey for ", entry.org_id(), " is not audit.keyFile's public key (",
        log_key.VerifierKeyString(), ")"));
  }
  if (entry.cosigner_key() != cosigner.VerifierKeyString()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the directory's cosignerKey for ", entry.org_id(),
        " is not audit.cosignerKeyFile's public key (", cosigner.VerifierKeyString(), ")"));
  }
  return absl::OkStatus();
}

absl::Status WritePortsFile(const std::string& path, int client_port, int peer_port,
                            int admin_port, int health_port) {
  return audit::WriteFileAtomically(
      path,
      absl::StrCat("{\"clientPort\": ", client_port, ", \"peerPort\": ", peer_port,
                   ", \"adminPort\": ", admin_port, ", \"healthPort\": ", health_port, "}\n"),
      0600);
}

// Every file the gateway keeps is 0600 and every directory 0700 (new ones
// by the umask set at start): the store, its WAL, the audit log, spools and
// floors hold who exchanged what with whom. Ones left looser by an older
// version or by hand are tightened, and said so.
absl::Status TightenModes(const std::string& dir) {
  std::error_code ec;
  auto tighten = [](const std::filesystem::path& p, mode_t want) -> absl::Status {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return absl::OkStatus();
    if ((st.st_mode & 07777 & ~want) == 0) return absl::OkStatus();
    if (chmod(p.c_str(), st.st_mode & want) != 0) {
      return absl::UnavailableError(absl::StrCat("cannot chmod ", p.string(), " to ",
                                                 want == 0700 ? "0700" : "0600"));
    }
    LogWarning("tightened a file mode", {{"path", p.string()}});
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(tighten(dir, 0700));
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    RETURN_IF_ERROR(tighten(it->path(), it->is_directory() ? 0700 : 0600));
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot read ", dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace gatehouse

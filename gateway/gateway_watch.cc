// The gateway's watcher: re-reads the directory, policy bundles, keyset,
// certificate and CRLs when they change, and follows the directory's and
// policy's expiry. A bad file is refused, audited, logged and counted, and
// the last good one stays.
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "envelope/signed_directory.h"
#include "gateway/config.h"
#include "gateway/floor_file.h"
#include "gateway/gateway.h"
#include "gateway/startup_checks.h"
#include "transport/grpc_status.h"
#include "transport/tls.h"

namespace gatehouse {

absl::StatusOr<v1::Directory> Gateway::ReadDirectory(const std::string& path,
                                                     int64_t* not_after_ms,
                                                     bool allow_expired) const {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  v1::SignedDirectory signed_directory;
  absl::Time at = absl::Now();
  if (allow_expired && signed_directory.ParseFromString(bytes) &&
      signed_directory.not_after_unix_ms() > 0 &&
      absl::FromUnixMillis(signed_directory.not_after_unix_ms()) <= at) {
    // Verified as of just before its expiry: the signature over the expiry
    // is checked all the same, and DirectoryCache refuses its use.
    at = absl::FromUnixMillis(signed_directory.not_after_unix_ms()) - absl::Milliseconds(1);
  }
  ASSIGN_OR_RETURN(v1::Directory directory,
                   envelope::VerifySignedDirectory(bytes, authority_keys_, at));
  signed_directory.ParseFromString(bytes);  // verified above
  *not_after_ms = signed_directory.not_after_unix_ms();
  RETURN_IF_ERROR(ValidateDirectoryEntries(directory));
  bool listed = false;
  for (const v1::Organisation& o : directory.organisations()) listed |= o.org_id() == config_.org_id();
  if (!listed) {
    return absl::InvalidArgumentError(
        absl::StrCat("it does not list this gateway's organisation ", config_.org_id()));
  }
  return directory;
}

void Gateway::ReloadNow() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  ReloadDirectoryIfChanged();
  ReloadPolicyIfChanged();
  ReloadKeysIfChanged();
  CheckCertificateIfChanged();
  ReloadRevocationsIfChanged();
  CheckDirectoryInForce();
  UpdateHealth();
}

void Gateway::WatchFiles() {
  const absl::Duration period = absl::Seconds(config_.directory_refresh_seconds());
  absl::Time next_refusal_flush = absl::Now() + absl::Seconds(config_.refusal_summary_seconds());
  while (true) {
    {
      absl::MutexLock lock(&watch_mu_);
      if (watch_mu_.AwaitWithTimeout(absl::Condition(&watch_stopping_), period)) return;
    }
    ReloadNow();
    if (absl::Now() >= next_refusal_flush) {
      refusals_->Flush();
      next_refusal_flush = absl::Now() + absl::Seconds(config_.refusal_summary_seconds());
    }
    auditor_->RetryHeld();
  }
}

void Gateway::CheckDirectoryInForce() {
  absl::Status in_force = CheckTrustInForce(ctx_, absl::Now());
  {
    absl::MutexLock lock(&watch_mu_);
    if (in_force.ok() == !directory_expired_) return;
    directory_expired_ = !in_force.ok();
  }
  if (!in_force.ok()) {
    LogError("directory or policy expired: Submit and Deliver refused, outbox paused",
             {{"error", std::string(in_force.message())}});
    AuditEvent(directory_->CheckInForce(absl::Now()).ok() ? v1::AUDIT_EVENT_POLICY_REFUSED
                                                          : v1::AUDIT_EVENT_DIRECTORY_EXPIRED,
               std::string(in_force.message()), "FAILED_PRECONDITION");
  } else {
    LogInfo("directory and policy in force again: Submit, Deliver and the outbox resume",
            {{"version", absl::StrCat(directory_->version())}});
    sender_->Kick();
  }
}

void Gateway::ReloadRevocationsIfChanged() {
  bool changed = false;
  absl::Status s = revocations_->ReloadIfChanged(&changed);
  absl::MutexLock lock(&watch_mu_);
  if (!s.ok()) {
    // Tried again every refresh; said once a distinct error.
    if (std::string(s.message()) != revocation_error_) {
      revocation_error_ = std::string(s.message());
      LogError("CRLs refused; the ones in force stay", {{"error", revocation_error_}});
    }
  } else if (changed) {
    revocation_error_.clear();
    LogInfo("CRLs reloaded", {{"revoked", absl::StrCat(revocations_->size())}});
  }
}

void Gateway::ReloadDirectoryIfChanged() {
  const std::string& path = config_.directory_file();
  std::string stamp = FileStamp(path);
  {
    absl::MutexLock lock(&watch_mu_);
    if (stamp == directory_stamp_) return;
    directory_stamp_ = stamp;
  }
  int64_t not_after_ms = 0;
  absl::StatusOr<v1::Directory> loaded = ReadDirectory(path, &not_after_ms);
  if (loaded.ok() && loaded->version() < directory_->version()) {
    loaded = absl::InvalidArgumentError(absl::StrCat(
        "its version ", loaded->version(), " is older than the one in use (",
        directory_->version(), ")"));
  } else if (loaded.ok() && loaded->version() == directory_->version() &&
             !directory_->SameAs(*loaded)) {
    loaded = absl::InvalidArgumentError(absl::StrCat(
        "it says something else under the version in use (", loaded->version(),
        "); a changed directory needs a new version"));
  }
  metrics_.CountReload("directory", loaded.ok());
  if (!loaded.ok()) {
    {
      absl::MutexLock lock(&watch_mu_);
      directory_error_ = std::string(loaded.status().message());
    }
    LogError("directory refused; keeping the last good one",
             {{"file", path}, {"error", loaded.status().ToString()}});
    AuditEvent(v1::AUDIT_EVENT_DIRECTORY_REFUSED,
               absl::StrCat("directory refused, version ", directory_->version(), " stays: ",
                            loaded.status().message()),
               GrpcCodeName(static_cast<grpc::StatusCode>(loaded.status().code())));
    return;
  }
  const uint64_t version = loaded->version();
  directory_->Replace(*std::move(loaded), absl::FromUnixMillis(not_after_ms));
  PublishTrust();
  if (absl::Status s = WriteFloor(directory_floor_file_, static_cast<int64_t>(version)); !s.ok()) {
    LogError("directory version not recorded; an older one could be loaded after a restart",
             {{"error", s.ToString()}});
  }
  {
    absl::MutexLock lock(&watch_mu_);
    directory_error_.clear();
    directory_loaded_unix_ = absl::ToUnixSeconds(absl::Now());
    directory_not_after_ms_ = not_after_ms;
  }
  LogInfo("directory loaded", {{"file", path}, {"version", absl::StrCat(version)}});
  AuditEvent(v1::AUDIT_EVENT_DIRECTORY_LOADED, absl::StrCat("directory version ", version));
  sender_->Kick();
}

void Gateway::ReloadPolicyIfChanged() {
  for (const PolicyHolder::Reload& r : policy_->ReloadIfChanged()) {
    metrics_.CountReload(r.which, r.loaded);
    {
      absl::MutexLock lock(&watch_mu_);
      policy_error_ = r.loaded ? "" : r.error;
    }
    if (r.loaded) {
      PublishTrust();
      LogInfo("policy loaded", {{"which", r.which}, {"version", r.version}});
      AuditEvent(v1::AUDIT_EVENT_POLICY_LOADED,
                 absl::StrCat(r.which, " version ", r.version, " sha256 ", r.sha256));
    } else {
      LogError("policy refused; keeping the last good one",
               {{"which", r.which}, {"error", r.error}});
      AuditEvent(v1::AUDIT_EVENT_POLICY_REFUSED,
                 absl::StrCat(r.which, " refused, version ", r.version, " stays: ", r.error));
    }
  }
}

void Gateway::CheckCertificateIfChanged() {
  const v1::TlsConfig& tls = config_.tls();
  std::string stamp = FileStamp(tls.cert_file()) + "|" + FileStamp(tls.key_file());
  {
    absl::MutexLock lock(&watch_mu_);
    if (stamp == cert_stamp_) return;
    cert_stamp_ = stamp;
  }
  // gRPC's file watcher serves the new files itself (and keeps the old pair
  // if the key does not match the certificate); this check makes a bad
  // replacement visible, audited and on /readyz.
  absl::Status ok = CheckOwnCertificate(config_);
  if (ok.ok()) {
    absl::StatusOr<CertificateValidity> v = ReadCertificateValidity(tls.cert_file());
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    if (!v.ok()) {
      ok = v.status();
    } else if (now < v->not_before || now > v->not_after) {
      ok = absl::InvalidArgumentError("the new certificate is outside its validity period");
    }
  }
  if (ok.ok()) ok = CheckTlsFiles(tls);
  metrics_.CountReload("certificate", ok.ok());
  {
    absl::MutexLock lock(&watch_mu_);
    cert_error_ = ok.ok() ? "" : std::string(ok.message());
  }
  if (ok.ok()) {
    LogInfo("certificate reloaded", {{"file", tls.cert_file()}});
    AuditEvent(v1::AUDIT_EVENT_CONFIG_LOADED, absl::StrCat("certificate ", tls.cert_file(),
                                                           " reloaded"));
  } else {
    LogError("certificate refused", {{"file", tls.cert_file()}, {"error", ok.ToString()}});
    AuditEvent(v1::AUDIT_EVENT_CERTIFICATE_REFUSED,
               absl::StrCat("this gateway's replaced certificate is not usable: ", ok.message()),
               "INVALID_ARGUMENT");
  }
}

void Gateway::ReloadKeysIfChanged() {
  std::optional<KeyHolder::Reload> r = keys_->ReloadIfChanged([this](const envelope::Keyset& k) {
    std::shared_ptr<const DirectorySnapshot> directory = directory_->Snapshot();
    const v1::Organisation* own = directory->Find(config_.org_id());
    if (own == nullptr) return absl::InvalidArgumentError("the directory does not list us");
    return CheckOwnKeys(*own, k);
  });
  if (!r.has_value()) return;
  absl::Status rekeyed = absl::OkStatus();
  if (r->loaded) {
    PublishTrust();
    rekeyed = seal_queue_->Rekey(keys_->Current()->keyset);
  }
  const bool ok = r->loaded && rekeyed.ok();
  const std::string detail = rekeyed.ok() ? r->detail : std::string(rekeyed.message());
  metrics_.CountReload("keyset", ok);
  {
    absl::MutexLock lock(&watch_mu_);
    keys_error_ = ok ? "" : detail;
  }
  if (ok) {
    LogInfo("keyset reloaded", {{"file", config_.keyset_file()}, {"keys", detail}});
    AuditEvent(v1::AUDIT_EVENT_CONFIG_LOADED, absl::StrCat("keyset reloaded: ", detail));
  } else {
    LogError("keyset refused; the keys in force stay",
             {{"file", config_.keyset_file()}, {"error", detail}});
    AuditEvent(v1::AUDIT_EVENT_KEYSET_REFUSED,
               absl::StrCat("keyset refused, the keys in force stay: ", detail),
               "INVALID_ARGUMENT");
  }
}

}  // namespace gatehouse

#include "gateway/gateway.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "audit/note.h"
#include "audit/posix_file.h"
#include "gateway/floor_file.h"
#include "envelope/signed_directory.h"
#include "transport/grpc_status.h"
#include "common/status_macros.h"
#include "gateway/config.h"
#include "transport/identity.h"
#include "common/log.h"
#include "gateway/store/sqlite_store.h"
#include "gateway/stream_spool.h"
#include "transport/tls.h"

namespace gatehouse {
namespace {

// Room for the labels and framing around the largest payload.
constexpr int64_t kMessageOverhead = 64 << 10;

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

// The directory's entry for us must publish the keys we hold, or peers
// could neither seal to us nor check what we sign.
absl::Status CheckOwnEntry(const v1::Organisation& entry, const envelope::Keyset& keys,
                           const audit::NoteSigner& log_key, const audit::NoteSigner& cosigner) {
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

int64_t NowUnix() { return absl::ToUnixSeconds(absl::Now()); }

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

}  // namespace

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

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const v1::GatewayConfig& config) {
  std::unique_ptr<Gateway> gw(new Gateway(config));
  const v1::GatewayConfig& c = gw->config_;
  umask(077);  // every file the gateway makes is its own alone
  RETURN_IF_ERROR(CheckTlsFiles(c.tls()));
  RETURN_IF_ERROR(CheckOwnCertificate(c));

  // Keys.
  absl::StatusOr<envelope::Keyset> keyset = envelope::Keyset::LoadFromFile(c.keyset_file());
  if (!keyset.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("keysetFile '", c.keyset_file(), "': ", keyset.status().message()));
  }
  if (keyset->org_id() != c.org_id()) {
    return absl::InvalidArgumentError(absl::StrCat("keysetFile '", c.keyset_file(),
                                                   "' belongs to ", keyset->org_id(),
                                                   ", not ", c.org_id()));
  }
  gw->keyset_ = std::make_shared<const envelope::Keyset>(*std::move(keyset));
  ASSIGN_OR_RETURN(gw->seal_queue_, SealQueue::Create(gw->keyset_));
  ASSIGN_OR_RETURN(gw->opener_, envelope::Opener::Create(gw->keyset_));
  ASSIGN_OR_RETURN(gw->stream_sealer_, envelope::StreamSealer::Create(gw->keyset_));
  ASSIGN_OR_RETURN(gw->stream_opener_, envelope::StreamOpener::Create(gw->keyset_));
  ASSIGN_OR_RETURN(audit::NoteSigner log_key,
                   LoadNoteKey("audit.keyFile", c.audit().key_file(), audit::kSigTypeEd25519));
  ASSIGN_OR_RETURN(audit::NoteSigner cosigner_key,
                   LoadNoteKey("audit.cosignerKeyFile", c.audit().cosigner_key_file(),
                               audit::kSigTypeCosignatureV1));

  // The signed directory.
  {
    ASSIGN_OR_RETURN(std::string text, ReadFile(c.directory_authority_file()));
    v1::Organisation authority;
    RETURN_IF_ERROR(ParseJsonStrict(text, "directoryAuthorityFile", &authority));
    absl::StatusOr<std::vector<envelope::VerifyingKey>> keys =
        envelope::VerifyingKeysFromDirectory(authority);
    if (!keys.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("directoryAuthorityFile '",
                                                     c.directory_authority_file(),
                                                     "': ", keys.status().message()));
    }
    gw->authority_keys_ = *std::move(keys);
  }
  std::string stamp = FileStamp(c.directory_file());
  int64_t not_after_ms = 0;
  // The same rule as while running: an expired directory (genuinely signed)
  // is in force but pauses sending and receiving records (DirectoryCache).
  absl::StatusOr<v1::Directory> directory =
      gw->ReadDirectory(c.directory_file(), &not_after_ms, /*allow_expired=*/true);
  if (!directory.ok()) {
    return absl::Status(directory.status().code(),
                        absl::StrCat("directoryFile '", c.directory_file(),
                                     "' refused: ", directory.status().message()));
  }
  gw->directory_ = std::make_unique<DirectoryCache>(
      *std::move(directory), absl::FromUnixMillis(not_after_ms),
      absl::Seconds(c.directory_expiry_grace_seconds()));
  RETURN_IF_ERROR(CheckOwnEntry(*gw->directory_->Find(c.org_id()), *gw->keyset_, log_key,
                                cosigner_key));
  {
    absl::MutexLock lock(&gw->watch_mu_);
    gw->directory_stamp_ = stamp;
    gw->directory_loaded_unix_ = NowUnix();
    gw->directory_not_after_ms_ = not_after_ms;
    gw->cert_stamp_ = FileStamp(c.tls().cert_file()) + "|" + FileStamp(c.tls().key_file());
  }

  // Revocation: every trust anchor's CRL, checked on every handshake.
  ASSIGN_OR_RETURN(std::unique_ptr<Revocations> revocations, Revocations::Load(c.tls()));
  gw->revocations_ = std::move(revocations);

  // The policy.
  ASSIGN_OR_RETURN(gw->policy_, PolicyHolder::Load(c.policy()));

  // Durable state: the store and the audit log.
  std::error_code ec;
  std::filesystem::create_directories(c.data_dir(), ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create dataDir ", c.data_dir(), ": ", ec.message()));
  }
  RETURN_IF_ERROR(TightenModes(c.data_dir()));
  if (!c.audit().dir().empty()) {
    std::filesystem::create_directories(c.audit().dir(), ec);
    RETURN_IF_ERROR(TightenModes(c.audit().dir()));
  }
  // One gateway a data directory, before anything in it is read or changed:
  // a second one started by mistake stops here (and the spool sweep below
  // cannot remove files a running gateway still needs).
  absl::StatusOr<int> lock = audit::LockFile(c.data_dir() + "/LOCK", 0600);
  if (absl::IsFailedPrecondition(lock.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "dataDir ", c.data_dir(), " is in use by another gateway (", lock.status().message(), ")"));
  }
  if (!lock.ok()) return lock.status();
  gw->data_lock_fd_ = *lock;
  if (absl::Status floor = gw->policy_->KeepIssuedFloor(c.data_dir() + "/policy.issued");
      !floor.ok()) {
    return absl::Status(floor.code(), absl::StrCat("policy bundle '", c.policy().bundle_file(),
                                                   "' refused: ", floor.message()));
  }
  // The newest directory version used, kept across restarts likewise.
  gw->directory_floor_file_ = c.data_dir() + "/directory.version";
  const int64_t version = static_cast<int64_t>(gw->directory_->version());
  RETURN_IF_ERROR(KeepFloor(gw->directory_floor_file_, version, [&](int64_t used) {
    return absl::FailedPreconditionError(absl::StrCat(
        "directoryFile '", c.directory_file(), "' refused: its version ", version,
        " is older than the one this gateway last used (", used, ", in ",
        gw->directory_floor_file_, "); an older signed directory is not loaded again"));
  }));
  RETURN_IF_ERROR(PrepareSpool(c.data_dir()));
  ASSIGN_OR_RETURN(gw->store_, SqliteStore::Open(c.data_dir() + "/gatehouse.db"));
  audit::AuditLogOptions audit_options;
  audit_options.signer = std::make_shared<const audit::NoteSigner>(std::move(log_key));
  audit_options.checkpoint_every_entries = c.audit().checkpoint_every_entries();
  audit_options.checkpoint_interval = absl::Milliseconds(c.audit().checkpoint_interval_ms());
  absl::StatusOr<std::unique_ptr<audit::AuditLog>> log =
      audit::AuditLog::Open(c.audit().dir(), audit_options);
  if (!log.ok()) {
    return absl::Status(log.status().code(), absl::StrCat("audit log '", c.audit().dir(),
                                                          "': ", log.status().message()));
  }
  gw->audit_log_ = *std::move(log);
  SweepSpool(c.data_dir(), *gw->store_);
  gw->auditor_ = std::make_unique<Auditor>(gw->audit_log_.get(), c.org_id(),
                                           &gw->metrics_.audit_append_seconds());
  gw->refusals_ = std::make_unique<RefusalLog>(gw->auditor_.get(), &gw->metrics_, c.org_id());

  const int64_t max_message = c.max_payload_bytes() + kMessageOverhead;
  const absl::Duration max_age = absl::Seconds(c.max_connection_age_seconds());
  gw->peers_ = std::make_unique<PeerClient>(c.tls(), max_message, gw->revocations_, max_age);
  GatewayContext& ctx = gw->ctx_;
  ctx.config = &gw->config_;
  ctx.store = gw->store_.get();
  ctx.directory = gw->directory_.get();
  ctx.policy = gw->policy_.get();
  ctx.keyset = gw->keyset_;
  ctx.seal_queue = gw->seal_queue_.get();
  ctx.opener = gw->opener_.get();
  ctx.stream_sealer = gw->stream_sealer_.get();
  ctx.stream_opener = gw->stream_opener_.get();
  ctx.auditor = gw->auditor_.get();
  ctx.metrics = &gw->metrics_;
  ctx.peers = gw->peers_.get();
  ctx.refusals = gw->refusals_.get();

  gw->AuditEvent(v1::AUDIT_EVENT_GATEWAY_STARTED,
                 absl::StrCat("audit log recovery: ", gw->audit_log_->recovery_report().ToString()));
  gw->AuditEvent(v1::AUDIT_EVENT_CONFIG_LOADED,
                 absl::StrCat("profile ", c.profile().empty() ? "default" : c.profile(),
                              "; policy needs ", c.policy().min_signatures(),
                              " officer signature(s); purpose ",
                              c.require_purpose() ? "required" : "optional", "; end user ",
                              c.require_end_user() ? "required" : "optional"));
  gw->AuditEvent(v1::AUDIT_EVENT_DIRECTORY_LOADED,
                 absl::StrCat("directory version ", gw->directory_->version()));
  gw->CheckDirectoryInForce();  // audits an expired one at once
  {
    std::shared_ptr<const LoadedPolicy> p = gw->policy_->live();
    gw->AuditEvent(v1::AUDIT_EVENT_POLICY_LOADED,
                   absl::StrCat("policy ", p->name, " version ", p->version, " sha256 ", p->sha256));
    if (std::shared_ptr<const LoadedPolicy> sh = gw->policy_->shadow()) {
      gw->AuditEvent(v1::AUDIT_EVENT_POLICY_LOADED,
                     absl::StrCat("shadow policy ", sh->name, " version ", sh->version,
                                  " sha256 ", sh->sha256, " (decisions recorded, not enforced)"));
    }
  }

  gw->sender_ = std::make_unique<OutboxSender>(&gw->ctx_);
  gw->exchange_ = std::make_unique<ExchangeService>(&gw->ctx_, gw->sender_.get());
  gw->peer_ = std::make_unique<PeerService>(&gw->ctx_);
  gw->cosigner_ = std::make_unique<Cosigner>(&gw->ctx_, std::move(cosigner_key));

  grpc::EnableDefaultHealthCheckService(true);
  // Health without a client certificate, for orchestrators' probes: its own
  // plain-text port (loopback unless configured), serving nothing else. Its
  // builder is made before reflection is switched on, so it has none.
  grpc::ServerBuilder health_builder;
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // Every call on the TLS ports is checked by a CallGate before any
  // service (ours, health, reflection) sees it.
  ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::ServerCredentials> client_creds,
      MakeServerCredentials(c.tls(), gw->revocations_,
                            std::make_shared<CallGate>(CallGate::Port::kClient, c.org_id(),
                                                       gw->revocations_, gw->refusals_.get())));
  ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::ServerCredentials> peer_creds,
      MakeServerCredentials(c.tls(), gw->revocations_,
                            std::make_shared<CallGate>(CallGate::Port::kPeer, c.org_id(),
                                                       gw->revocations_, gw->refusals_.get())));
  // Connections are closed after max_connection_age (with a grace for calls
  // in flight) so that they handshake again against what is in force.
  auto limit_age = [&c](grpc::ServerBuilder& b) {
    b.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, c.max_connection_age_seconds() * 1000);
    b.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                         c.max_connection_age_grace_seconds() * 1000);
  };

  grpc::ServerBuilder client_builder;
  limit_age(client_builder);
  client_builder.AddListeningPort(c.client_listen(), client_creds, &gw->client_port_);
  client_builder.SetMaxReceiveMessageSize(static_cast<int>(max_message));
  client_builder.SetMaxSendMessageSize(static_cast<int>(max_message) * 4);
  client_builder.RegisterService(gw->exchange_.get());
  gw->client_server_ = client_builder.BuildAndStart();
  if (gw->client_server_ == nullptr || gw->client_port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on clientListen ", c.client_listen()));
  }

  grpc::ServerBuilder peer_builder;
  limit_age(peer_builder);
  peer_builder.AddListeningPort(c.peer_listen(), peer_creds, &gw->peer_port_);
  peer_builder.SetMaxReceiveMessageSize(static_cast<int>(max_message));
  peer_builder.RegisterService(gw->peer_.get());
  gw->peer_server_ = peer_builder.BuildAndStart();
  if (gw->peer_server_ == nullptr || gw->peer_port_ == 0) {
    gw->client_server_->Shutdown();
    return absl::UnavailableError(absl::StrCat("cannot listen on peerListen ", c.peer_listen()));
  }

  if (c.health_listen() != "off") {
    health_builder.AddListeningPort(c.health_listen(), grpc::InsecureServerCredentials(),
                                    &gw->health_port_);
    gw->health_server_ = health_builder.BuildAndStart();
    if (gw->health_server_ == nullptr || gw->health_port_ == 0) {
      gw->client_server_->Shutdown();
      gw->peer_server_->Shutdown();
      return absl::UnavailableError(
          absl::StrCat("cannot listen on healthListen ", c.health_listen()));
    }
  }

  if (!c.admin_listen().empty()) {
    Gateway* raw = gw.get();
    absl::StatusOr<std::unique_ptr<AdminServer>> admin = AdminServer::Start(
        c.admin_listen(), [raw](absl::string_view path) { return raw->Admin(path); });
    if (!admin.ok()) {
      gw->client_server_->Shutdown();
      gw->peer_server_->Shutdown();
      return admin.status();
    }
    gw->admin_ = *std::move(admin);
  }
  gw->sender_->Start();
  gw->cosigner_->Start();
  gw->UpdateHealth();
  gw->watcher_ = std::thread([raw = gw.get()] { raw->WatchFiles(); });
  if (!c.ports_file().empty()) {
    RETURN_IF_ERROR(WritePortsFile(c.ports_file(), gw->client_port_, gw->peer_port_,
                                   gw->admin_port(), gw->health_port_));
  }
  LogInfo("gateway started", {{"org_id", c.org_id()},
                              {"client_port", absl::StrCat(gw->client_port_)},
                              {"peer_port", absl::StrCat(gw->peer_port_)},
                              {"audit_entries", absl::StrCat(gw->audit_log_->Size())}});
  return gw;
}

void Gateway::AuditEvent(v1::AuditEvent event, const std::string& reason,
                         const std::string& status_code) {
  v1::AuditEntry e;
  e.set_event(event);
  e.set_reason(reason);
  e.set_status_code(status_code);
  if (policy_ != nullptr) {
    if (std::shared_ptr<const LoadedPolicy> p = policy_->live()) e.set_policy_version(p->version);
  }
  auditor_->Note(std::move(e));
}

void Gateway::Shutdown(absl::Duration grace) {
  if (stopped_) return;
  stopped_ = true;
  auto deadline = absl::ToChronoTime(absl::Now() + grace);
  if (client_server_) client_server_->Shutdown(deadline);
  if (peer_server_) peer_server_->Shutdown(deadline);
  if (health_server_) health_server_->Shutdown(deadline);
  // Records still being sealed go on to the audit log and the outbox.
  if (seal_queue_) seal_queue_->Stop();
  if (sender_) sender_->Stop();
  if (cosigner_) cosigner_->Stop();
  {
    absl::MutexLock lock(&watch_mu_);
    watch_stopping_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
  if (admin_) admin_->Stop();
  if (refusals_) refusals_->Flush();
  if (audit_log_) {
    if (absl::Status s = audit_log_->Close(); !s.ok()) {
      LogError("audit log close failed", {{"error", s.ToString()}});
    }
  }
  if (auditor_ && auditor_->held() > 0) {
    LogError("audit entries refused for want of space were never written",
             {{"count", absl::StrCat(auditor_->held())}});
  }
  LogInfo("gateway stopped", {{"org_id", config_.org_id()}});
}

Gateway::~Gateway() {
  Shutdown(absl::Seconds(5));
  if (data_lock_fd_ >= 0) close(data_lock_fd_);  // releases the flock, last
}

void Gateway::WatchFiles() {
  const absl::Duration period = absl::Seconds(config_.directory_refresh_seconds());
  absl::Time next_refusal_flush = absl::Now() + absl::Seconds(config_.refusal_summary_seconds());
  while (true) {
    {
      absl::MutexLock lock(&watch_mu_);
      if (watch_mu_.AwaitWithTimeout(absl::Condition(&watch_stopping_), period)) return;
    }
    ReloadDirectoryIfChanged();
    ReloadPolicyIfChanged();
    CheckCertificateIfChanged();
    ReloadRevocationsIfChanged();
    CheckDirectoryInForce();
    UpdateHealth();
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

void Gateway::UpdateHealth() {
  bool ready = true;
  for (const auto& [name, problem] : ReadinessChecks()) ready &= problem.empty();
  for (grpc::Server* s : {client_server_.get(), peer_server_.get(), health_server_.get()}) {
    if (s != nullptr && s->GetHealthCheckService() != nullptr) {
      s->GetHealthCheckService()->SetServingStatus(ready);
    }
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
  if (absl::Status s = WriteFloor(directory_floor_file_, static_cast<int64_t>(version)); !s.ok()) {
    LogError("directory version not recorded; an older one could be loaded after a restart",
             {{"error", s.ToString()}});
  }
  {
    absl::MutexLock lock(&watch_mu_);
    directory_error_.clear();
    directory_loaded_unix_ = NowUnix();
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
    const int64_t now = NowUnix();
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

std::vector<std::pair<std::string, std::string>> Gateway::ReadinessChecks() {
  std::vector<std::pair<std::string, std::string>> checks;
  absl::StatusOr<CertificateValidity> cert = ReadCertificateValidity(config_.tls().cert_file());
  int64_t now = NowUnix();
  if (!cert.ok()) {
    checks.push_back({"certificate", std::string(cert.status().message())});
  } else if (now < cert->not_before || now > cert->not_after) {
    checks.push_back({"certificate", "outside its validity period"});
  } else {
    checks.push_back({"certificate", ""});
  }
  {
    absl::MutexLock lock(&watch_mu_);
    std::string problem;
    if (directory_loaded_unix_ == 0) {
      problem = "not loaded";
    } else if (absl::Status in_force = directory_->CheckInForce(absl::Now()); !in_force.ok()) {
      problem = std::string(in_force.message());
    } else if (directory_->not_after() <= absl::Now()) {
      problem = absl::StrCat("the directory in use expired at ",
                             absl::FormatTime(directory_->not_after()),
                             "; in use under its grace (directoryExpiryGraceSeconds) until ",
                             absl::FormatTime(directory_->not_after() + directory_->grace()),
                             ": publish a freshly signed one");
    }
    checks.push_back({"directory", problem});
  }
  absl::StatusOr<int64_t> depth = store_->OutboxDepth();
  checks.push_back({"store", depth.ok() ? "" : std::string(depth.status().message())});
  {
    absl::Status policy = policy_->CheckInForce(absl::Now());
    checks.push_back({"policy", policy.ok() ? "" : std::string(policy.message())});
  }
  // Writable: no append has failed (the log refuses every append after a
  // write failure until it is reopened) and its directory is writable.
  std::string audit_problem;
  if (auditor_->failures() > 0) {
    audit_problem = absl::StrCat(auditor_->failures(), " audit append(s) failed; restart the "
                                 "gateway once the disk is fixed");
  } else if (access(config_.audit().dir().c_str(), W_OK) != 0) {
    audit_problem = "the audit directory is not writable";
  }
  checks.push_back({"audit", audit_problem});
  return checks;
}

AdminServer::Response Gateway::Admin(absl::string_view path) {
  if (path == "/healthz") return {200, "ok\n"};
  if (path == "/readyz") {
    std::string body;
    bool ready = true;
    for (const auto& [name, problem] : ReadinessChecks()) {
      ready &= problem.empty();
      absl::StrAppend(&body, name, ": ", problem.empty() ? "ok" : problem, "\n");
    }
    {
      absl::MutexLock lock(&watch_mu_);
      if (!directory_error_.empty()) {
        absl::StrAppend(&body, "warning: the last directory reload was refused (",
                        directory_error_, "); serving the last good one\n");
      }
      if (!policy_error_.empty()) {
        absl::StrAppend(&body, "warning: the last policy reload was refused (", policy_error_,
                        "); enforcing the last good one\n");
      }
      if (!cert_error_.empty()) {
        absl::StrAppend(&body, "warning: the replaced certificate is not usable (", cert_error_,
                        ")\n");
      }
    }
    for (const auto& [peer, detail] : cosigner_->alarms()) {
      absl::StrAppend(&body, "ALERT: ", peer, "'s audit log is inconsistent with what this "
                      "gateway cosigned: ", detail, "\n");
    }
    return {ready ? 200 : 503, body};
  }
  if (path == "/metrics") {
    std::vector<Gauge> gauges;
    if (absl::StatusOr<int64_t> d = store_->OutboxDepth(); d.ok()) {
      gauges.push_back({"gatehouse_outbox_depth", "Records queued for delivery.",
                        static_cast<double>(*d), ""});
    }
    if (absl::StatusOr<int64_t> d = store_->HeldMailboxRecords(); d.ok()) {
      gauges.push_back({"gatehouse_mailbox_depth", "Records waiting for our systems.",
                        static_cast<double>(*d), ""});
    }
    if (absl::StatusOr<CertificateValidity> v = ReadCertificateValidity(config_.tls().cert_file());
        v.ok()) {
      gauges.push_back({"gatehouse_certificate_expiry_timestamp_seconds",
                        "When the gateway's certificate expires, Unix seconds.",
                        static_cast<double>(v->not_after), ""});
    }
    gauges.push_back({"gatehouse_audit_entries", "Entries in this gateway's audit log.",
                      static_cast<double>(audit_log_->Size()), ""});
    gauges.push_back({"gatehouse_audit_pending", "Audit entries handed over, not yet durable.",
                      static_cast<double>(auditor_->pending()), ""});
    // Group commits: entries (or writes) over commits is the group size, and
    // seconds over commits the time one commit takes.
    const audit::AuditLogStats audit_stats = audit_log_->stats();
    gauges.push_back({"gatehouse_audit_batches_total",
                      "Audit group commits since start (one fdatasync each).",
                      static_cast<double>(audit_stats.batches), "", true});
    gauges.push_back({"gatehouse_audit_sync_seconds_total",
                      "Time in the audit log's fdatasync since start.",
                      static_cast<double>(audit_stats.sync_nanos) / 1e9, "", true});
    const StoreStats store_stats = store_->Stats();
    gauges.push_back({"gatehouse_store_commits_total", "Store group commits since start.",
                      static_cast<double>(store_stats.commits), "", true});
    gauges.push_back({"gatehouse_store_commit_seconds_total",
                      "Time in store group commits since start (writes and sync).",
                      static_cast<double>(store_stats.commit_nanos) / 1e9, "", true});
    if (seal_queue_ != nullptr) {
      // Records over batches: how many records one signature serves.
      gauges.push_back({"gatehouse_sealed_records", "Records sealed since start (batch mode).",
                        static_cast<double>(seal_queue_->records()), ""});
      gauges.push_back({"gatehouse_seal_batches", "Signed batches since start.",
                        static_cast<double>(seal_queue_->batches()), ""});
    }
    {
      absl::MutexLock lock(&watch_mu_);
      gauges.push_back({"gatehouse_directory_loaded_timestamp_seconds",
                        "When the directory in use was loaded, Unix seconds.",
                        static_cast<double>(directory_loaded_unix_), ""});
      gauges.push_back({"gatehouse_directory_in_force",
                        "1 while the directory in use may be used (unexpired, or in its "
                        "grace); 0 while records are refused and the outbox is paused.",
                        directory_expired_ ? 0.0 : 1.0, ""});
    }
    gauges.push_back({"gatehouse_directory_expiry_timestamp_seconds",
                      "When the directory in use expires, Unix seconds.",
                      static_cast<double>(absl::ToUnixSeconds(directory_->not_after())), ""});
    gauges.push_back({"gatehouse_directory_expiry_grace_seconds",
                      "How long after its expiry the directory is still used (config).",
                      absl::ToDoubleSeconds(directory_->grace()), ""});
    gauges.push_back({"gatehouse_refusals_pending",
                      "Calls refused before authentication, not yet summarised in the audit log.",
                      static_cast<double>(refusals_->Pending()), ""});
    return {200, metrics_.Render(gauges), "text/plain; version=0.0.4; charset=utf-8"};
  }
  return {404, "not found; try /metrics, /readyz or /healthz\n"};
}

}  // namespace gatehouse

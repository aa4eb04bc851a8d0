#include "gateway/gateway.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "audit/posix_file.h"
#include "audit/audit_log.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "gateway/config.h"
#include "gateway/floor_file.h"
#include "gateway/startup_checks.h"
#include "gateway/open_store.h"
#include "gateway/stream_spool.h"
#include "transport/tls.h"

namespace gatehouse {
namespace {

// Room for the labels and framing around the largest payload.
constexpr int64_t kMessageOverhead = 64 << 10;

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const v1::GatewayConfig& config) {
  std::unique_ptr<Gateway> gw(new Gateway(config));
  umask(077);  // every file the gateway makes is its own alone
  RETURN_IF_ERROR(CheckTlsFiles(gw->config_.tls()));
  RETURN_IF_ERROR(CheckOwnCertificate(gw->config_));
  OwnKeys keys;
  RETURN_IF_ERROR(gw->LoadTrust(&keys));
  RETURN_IF_ERROR(gw->OpenDurableState(&keys));
  gw->Wire(&keys);
  gw->AuditStart();
  RETURN_IF_ERROR(gw->Listen());
  gw->sender_->Start();
  gw->cosigner_->Start();
  gw->acknowledgements_->Start();
  gw->StartServiceLevels();
  gw->UpdateHealth();
  gw->watcher_ = std::thread([raw = gw.get()] { raw->WatchFiles(); });
  const v1::GatewayConfig& c = gw->config_;
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

absl::Status Gateway::LoadTrust(OwnKeys* own) {
  const v1::GatewayConfig& c = config_;
  ASSIGN_OR_RETURN(keys_, KeyHolder::Load(c.keyset_file(), c.org_id()));
  ASSIGN_OR_RETURN(seal_queue_, SealQueue::Create(keys_->Current()->keyset));
  ASSIGN_OR_RETURN(audit::NoteSigner log_key,
                   LoadNoteKey("audit.keyFile", c.audit().key_file(), audit::kSigTypeEd25519));
  ASSIGN_OR_RETURN(audit::NoteSigner cosigner_key,
                   LoadNoteKey("audit.cosignerKeyFile", c.audit().cosigner_key_file(),
                               audit::kSigTypeCosignatureV1));
  own->log_key.emplace(std::move(log_key));
  own->cosigner_key.emplace(std::move(cosigner_key));

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
    authority_keys_ = *std::move(keys);
  }
  std::string stamp = FileStamp(c.directory_file());
  int64_t not_after_ms = 0;
  // The same rule as while running: an expired directory (genuinely signed)
  // is in force but pauses sending and receiving records (DirectoryCache).
  absl::StatusOr<v1::Directory> directory =
      ReadDirectory(c.directory_file(), &not_after_ms, /*allow_expired=*/true);
  if (!directory.ok()) {
    return absl::Status(directory.status().code(),
                        absl::StrCat("directoryFile '", c.directory_file(),
                                     "' refused: ", directory.status().message()));
  }
  directory_ = std::make_unique<DirectoryCache>(*std::move(directory),
                                                absl::FromUnixMillis(not_after_ms),
                                                absl::Seconds(c.directory_expiry_grace_seconds()));
  RETURN_IF_ERROR(CheckOwnEntry(*directory_->Find(c.org_id()), *keys_->Current()->keyset,
                                *own->log_key, *own->cosigner_key));
  {
    absl::MutexLock lock(&watch_mu_);
    directory_stamp_ = stamp;
    directory_loaded_unix_ = absl::ToUnixSeconds(absl::Now());
    directory_not_after_ms_ = not_after_ms;
    cert_stamp_ = FileStamp(c.tls().cert_file()) + "|" + FileStamp(c.tls().key_file());
  }
  // Revocation: every trust anchor's CRL, checked on every call.
  ASSIGN_OR_RETURN(std::unique_ptr<Revocations> revocations, Revocations::Load(c.tls()));
  revocations_ = std::move(revocations);
  ASSIGN_OR_RETURN(policy_, PolicyHolder::Load(c.policy()));
  return absl::OkStatus();
}

absl::Status Gateway::OpenDurableState(OwnKeys* own) {
  const v1::GatewayConfig& c = config_;
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
  data_lock_fd_ = *lock;
  RETURN_IF_ERROR(KeepFloors());
  RETURN_IF_ERROR(PrepareSpool(c.data_dir()));
  ASSIGN_OR_RETURN(store_, OpenStore(c));
  ASSIGN_OR_RETURN(audit_log_,
                   OpenAuditLog(c, store_.get(),
                                std::make_shared<const audit::NoteSigner>(*std::move(own->log_key))));
  SweepSpool(c.data_dir(), *store_);
  return absl::OkStatus();
}

absl::Status Gateway::KeepFloors() {
  const v1::GatewayConfig& c = config_;
  // The newest policy bundle and directory version used, kept across
  // restarts: an older signed one is not loaded again.
  if (absl::Status floor = policy_->KeepIssuedFloor(c.data_dir() + "/policy.issued");
      !floor.ok()) {
    return absl::Status(floor.code(), absl::StrCat("policy bundle '", c.policy().bundle_file(),
                                                   "' refused: ", floor.message()));
  }
  directory_floor_file_ = c.data_dir() + "/directory.version";
  const int64_t version = static_cast<int64_t>(directory_->version());
  return KeepFloor(directory_floor_file_, version, [&](int64_t used) {
    return absl::FailedPreconditionError(absl::StrCat(
        "directoryFile '", c.directory_file(), "' refused: its version ", version,
        " is older than the one this gateway last used (", used, ", in ",
        directory_floor_file_, "); an older signed directory is not loaded again"));
  });
}

void Gateway::Wire(OwnKeys* own) {
  const v1::GatewayConfig& c = config_;
  auditor_ = std::make_unique<Auditor>(audit_log_.get(), c.org_id(),
                                       &metrics_.audit_append_seconds());
  refusals_ = std::make_unique<RefusalLog>(auditor_.get(), &metrics_, c.org_id());
  reporter_ = std::make_unique<RefusalReporter>(auditor_.get(), &metrics_);
  const int64_t max_message = c.max_payload_bytes() + kMessageOverhead;
  const absl::Duration max_age = absl::Seconds(c.max_connection_age_seconds());
  peers_ = std::make_unique<PeerClient>(c.tls(), max_message, revocations_, max_age);
  ctx_.config = &config_;
  ctx_.store = store_.get();
  ctx_.directory = directory_.get();
  ctx_.policy = policy_.get();
  ctx_.keys = keys_.get();
  ctx_.seal_queue = seal_queue_.get();
  ctx_.auditor = auditor_.get();
  joint_ = MakeJointCommit(store_.get(), audit_log_.get(), auditor_.get());
  ctx_.joint = joint_.get();
  ctx_.metrics = &metrics_;
  ctx_.peers = peers_.get();
  ctx_.refusals = refusals_.get();
  ctx_.reporter = reporter_.get();
  PublishTrust();
  ctx_.trust = &trust_;
  sender_ = std::make_unique<OutboxSender>(&ctx_);
  exchange_ = std::make_unique<ExchangeService>(&ctx_, sender_.get());
  peer_ = std::make_unique<PeerService>(&ctx_);
  cosigner_ = std::make_unique<Cosigner>(&ctx_, *std::move(own->cosigner_key));
  acknowledgements_ = std::make_unique<AcknowledgementPoller>(&ctx_);
  service_levels_ = std::make_unique<ServiceLevels>(c.org_id(), c.service_levels());
  auditor_->SetObserver([levels = service_levels_.get()](uint64_t index,
                                                         const v1::AuditEntry& entry) {
    levels->Add(index, entry);
  });
}

void Gateway::StartServiceLevels() {
  // Entries appended from now on reach it through the Auditor; those
  // before, it reads back from the log (a failure leaves the figures short,
  // never the gateway down: logged).
  absl::Status loaded = service_levels_->Load(*audit_log_, audit_log_->Size(),
                                              absl::Now());
  if (!loaded.ok()) {
    LogWarning("service levels: the audit log was not read back in full",
               {{"error", loaded.ToString()}});
  }
  service_levels_->Start();
}

void Gateway::PublishTrust() { trust_.Publish(ComposeTrust(ctx_)); }

void Gateway::AuditStart() {
  const v1::GatewayConfig& c = config_;
  AuditEvent(v1::AUDIT_EVENT_GATEWAY_STARTED,
             absl::StrCat("audit log recovery: ", audit_log_->RecoverySummary()));
  AuditEvent(v1::AUDIT_EVENT_CONFIG_LOADED,
             absl::StrCat("profile ", c.profile().empty() ? "default" : c.profile(),
                          "; policy needs ", c.policy().min_signatures(),
                          " officer signature(s); purpose ",
                          c.require_purpose() ? "required" : "optional", "; end user ",
                          c.require_end_user() ? "required" : "optional"));
  AuditEvent(v1::AUDIT_EVENT_CONFIG_LOADED,
             absl::StrCat("keyset ", keys_->Current()->Describe()));
  AuditEvent(v1::AUDIT_EVENT_DIRECTORY_LOADED,
             absl::StrCat("directory version ", directory_->version()));
  CheckDirectoryInForce();  // audits an expired one at once
  std::shared_ptr<const LoadedPolicy> p = policy_->live();
  AuditEvent(v1::AUDIT_EVENT_POLICY_LOADED,
             absl::StrCat("policy ", p->name, " version ", p->version, " sha256 ", p->sha256));
  if (std::shared_ptr<const LoadedPolicy> sh = policy_->shadow()) {
    AuditEvent(v1::AUDIT_EVENT_POLICY_LOADED,
               absl::StrCat("shadow policy ", sh->name, " version ", sh->version, " sha256 ",
                            sh->sha256, " (decisions recorded, not enforced)"));
  }
}

absl::Status Gateway::Listen() {
  const v1::GatewayConfig& c = config_;
  grpc::EnableDefaultHealthCheckService(true);
  // Health without a client certificate, for orchestrators' probes: its own
  // plain-text port (loopback unless configured), serving nothing else. Its
  // builder is made before reflection is switched on, so it has none.
  grpc::ServerBuilder health_builder;
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  const int max_message = static_cast<int>(c.max_payload_bytes() + kMessageOverhead);
  ASSIGN_OR_RETURN(client_server_, Serve(CallGate::Port::kClient, c.client_listen(), max_message,
                                         exchange_.get(), &client_port_));
  absl::StatusOr<std::unique_ptr<grpc::Server>> peer =
      Serve(CallGate::Port::kPeer, c.peer_listen(), max_message, peer_.get(), &peer_port_);
  if (!peer.ok()) {
    client_server_->Shutdown();
    return peer.status();
  }
  peer_server_ = *std::move(peer);
  absl::Status more = absl::OkStatus();
  if (c.health_listen() != "off") {
    health_builder.AddListeningPort(c.health_listen(), grpc::InsecureServerCredentials(),
                                    &health_port_);
    health_server_ = health_builder.BuildAndStart();
    if (health_server_ == nullptr || health_port_ == 0) {
      more = absl::UnavailableError(absl::StrCat("cannot listen on healthListen ",
                                                 c.health_listen()));
    }
  }
  if (more.ok() && !c.admin_listen().empty()) {
    absl::StatusOr<std::unique_ptr<AdminServer>> admin = AdminServer::Start(
        c.admin_listen(), [this](absl::string_view path) { return Admin(path); });
    if (admin.ok()) admin_ = *std::move(admin);
    more = admin.status();
  }
  if (!more.ok()) {
    client_server_->Shutdown();
    peer_server_->Shutdown();
  }
  return more;
}

absl::StatusOr<std::unique_ptr<grpc::Server>> Gateway::Serve(CallGate::Port port,
                                                              const std::string& address,
                                                              int max_message,
                                                              grpc::Service* service,
                                                              int* bound_port) {
  const v1::GatewayConfig& c = config_;
  // Every call on the TLS ports is checked by a CallGate before any
  // service (ours, health, reflection) sees it.
  auto gate = std::make_shared<CallGate>(port, c.org_id(), revocations_, refusals_.get());
  // Watch checks its caller again before every event with the same gate.
  if (port == CallGate::Port::kClient) {
    client_gate_ = gate;
    ctx_.client_gate = gate.get();
  }
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
                   MakeServerCredentials(c.tls(), revocations_, gate));
  grpc::ServerBuilder b;
  // Connections are closed after max_connection_age (with a grace for calls
  // in flight) so that they handshake again against what is in force.
  b.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, c.max_connection_age_seconds() * 1000);
  b.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                       c.max_connection_age_grace_seconds() * 1000);
  b.AddListeningPort(address, creds, bound_port);
  b.SetMaxReceiveMessageSize(max_message);
  // Fetch answers with several records a page.
  if (port == CallGate::Port::kClient) b.SetMaxSendMessageSize(max_message * 4);
  b.RegisterService(service);
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  if (server == nullptr || *bound_port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", port == CallGate::Port::kClient ? "clientListen " : "peerListen ",
        address));
  }
  return server;
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
  if (acknowledgements_) acknowledgements_->Stop();
  if (service_levels_) service_levels_->Stop();
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

}  // namespace gatehouse

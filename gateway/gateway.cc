#include "gateway/gateway.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gateway/config.h"
#include "gateway/identity.h"
#include "gateway/log.h"
#include "gateway/sqlite_store.h"
#include "gateway/tls.h"

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

// Size and modification time, to notice a replaced file.
std::string FileStamp(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "";
  return absl::StrCat(st.st_size, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_ino);
}

int64_t NowUnix() { return absl::ToUnixSeconds(absl::Now()); }

absl::Status WritePortsFile(const std::string& path, int client_port, int peer_port,
                            int admin_port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "{\"clientPort\": " << client_port << ", \"peerPort\": " << peer_port
        << ", \"adminPort\": " << admin_port << "}\n";
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const v1::GatewayConfig& config) {
  std::unique_ptr<Gateway> gw(new Gateway(config));
  const v1::GatewayConfig& c = gw->config_;
  RETURN_IF_ERROR(CheckTlsFiles(c.tls()));
  RETURN_IF_ERROR(CheckOwnCertificate(c));
  std::string stamp = FileStamp(c.directory_file());
  ASSIGN_OR_RETURN(v1::Directory directory, LoadDirectory(c.directory_file()));
  gw->directory_ = std::make_unique<DirectoryCache>(std::move(directory));
  if (!gw->directory_->Find(c.org_id()).has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the directory does not list this gateway's organisation ", c.org_id()));
  }
  {
    absl::MutexLock lock(&gw->watch_mu_);
    gw->directory_stamp_ = stamp;
    gw->directory_loaded_unix_ = NowUnix();
  }

  std::error_code ec;
  std::filesystem::create_directories(c.data_dir(), ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create dataDir ", c.data_dir(), ": ", ec.message()));
  }
  chmod(c.data_dir().c_str(), 0700);
  ASSIGN_OR_RETURN(gw->store_, SqliteStore::Open(c.data_dir() + "/gatehouse.db"));

  const int64_t max_message = c.max_payload_bytes() + kMessageOverhead;
  gw->peers_ = std::make_unique<PeerClient>(c.tls(), max_message);
  gw->sender_ = std::make_unique<OutboxSender>(gw->store_.get(), gw->directory_.get(),
                                               gw->peers_.get(), c.retry(), &gw->metrics_);
  gw->exchange_ = std::make_unique<ExchangeService>(&gw->config_, gw->store_.get(),
                                                    gw->directory_.get(), gw->sender_.get(),
                                                    &gw->metrics_);
  gw->peer_ = std::make_unique<PeerService>(&gw->config_, gw->store_.get(),
                                            gw->directory_.get(), &gw->metrics_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
                   MakeServerCredentials(c.tls()));

  grpc::ServerBuilder client_builder;
  client_builder.AddListeningPort(c.client_listen(), creds, &gw->client_port_);
  client_builder.SetMaxReceiveMessageSize(static_cast<int>(max_message));
  client_builder.SetMaxSendMessageSize(static_cast<int>(max_message) * 4);
  client_builder.RegisterService(gw->exchange_.get());
  gw->client_server_ = client_builder.BuildAndStart();
  if (gw->client_server_ == nullptr || gw->client_port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on clientListen ", c.client_listen()));
  }

  grpc::ServerBuilder peer_builder;
  peer_builder.AddListeningPort(c.peer_listen(), creds, &gw->peer_port_);
  peer_builder.SetMaxReceiveMessageSize(static_cast<int>(max_message));
  peer_builder.RegisterService(gw->peer_.get());
  gw->peer_server_ = peer_builder.BuildAndStart();
  if (gw->peer_server_ == nullptr || gw->peer_port_ == 0) {
    gw->client_server_->Shutdown();
    return absl::UnavailableError(absl::StrCat("cannot listen on peerListen ", c.peer_listen()));
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
  gw->watcher_ = std::thread([raw = gw.get()] { raw->WatchDirectory(); });
  if (!c.ports_file().empty()) {
    RETURN_IF_ERROR(WritePortsFile(c.ports_file(), gw->client_port_, gw->peer_port_,
                                   gw->admin_port()));
  }
  LogInfo("gateway started", {{"org_id", c.org_id()},
                              {"client_port", absl::StrCat(gw->client_port_)},
                              {"peer_port", absl::StrCat(gw->peer_port_)}});
  return gw;
}

void Gateway::Shutdown(absl::Duration grace) {
  if (stopped_) return;
  stopped_ = true;
  auto deadline = absl::ToChronoTime(absl::Now() + grace);
  if (client_server_) client_server_->Shutdown(deadline);
  if (peer_server_) peer_server_->Shutdown(deadline);
  if (sender_) sender_->Stop();
  {
    absl::MutexLock lock(&watch_mu_);
    watch_stopping_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
  if (admin_) admin_->Stop();
  LogInfo("gateway stopped", {{"org_id", config_.org_id()}});
}

Gateway::~Gateway() { Shutdown(absl::Seconds(5)); }

void Gateway::WatchDirectory() {
  const absl::Duration period = absl::Seconds(config_.directory_refresh_seconds());
  while (true) {
    {
      absl::MutexLock lock(&watch_mu_);
      if (watch_mu_.AwaitWithTimeout(absl::Condition(&watch_stopping_), period)) return;
    }
    ReloadDirectoryIfChanged();
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
  absl::StatusOr<v1::Directory> loaded = LoadDirectory(path);
  if (loaded.ok() && !DirectoryCache(*loaded).Find(config_.org_id()).has_value()) {
    loaded = absl::InvalidArgumentError(
        absl::StrCat("it does not list this gateway's organisation ", config_.org_id()));
  }
  metrics_.CountReload("directory", loaded.ok());
  absl::MutexLock lock(&watch_mu_);
  if (!loaded.ok()) {
    directory_error_ = std::string(loaded.status().message());
    LogError("directory refused; keeping the last good one",
             {{"file", path}, {"error", loaded.status().ToString()}});
    return;
  }
  directory_->Replace(*std::move(loaded));
  directory_error_.clear();
  directory_loaded_unix_ = NowUnix();
  LogInfo("directory loaded", {{"file", path}});
  sender_->Kick();
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
    checks.push_back({"directory", directory_loaded_unix_ > 0 ? "" : "not loaded"});
  }
  absl::StatusOr<int64_t> depth = store_->OutboxDepth();
  checks.push_back({"store", depth.ok() ? "" : std::string(depth.status().message())});
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
    }
    return {ready ? 200 : 503, body};
  }
  if (path == "/metrics") {
    std::vector<Gauge> gauges;
    if (absl::StatusOr<int64_t> d = store_->OutboxDepth(); d.ok()) {
      gauges.push_back({"gatehouse_outbox_depth", "Records queued for delivery.",
                        static_cast<double>(*d), ""});
    }
    if (absl::StatusOr<int64_t> d = store_->MailboxDepth(""); d.ok()) {
      gauges.push_back({"gatehouse_mailbox_depth", "Records waiting for our systems.",
                        static_cast<double>(*d), ""});
    }
    if (absl::StatusOr<CertificateValidity> v = ReadCertificateValidity(config_.tls().cert_file());
        v.ok()) {
      gauges.push_back({"gatehouse_certificate_expiry_timestamp_seconds",
                        "When the gateway's certificate expires, Unix seconds.",
                        static_cast<double>(v->not_after), ""});
    }
    {
      absl::MutexLock lock(&watch_mu_);
      gauges.push_back({"gatehouse_directory_loaded_timestamp_seconds",
                        "When the directory in use was loaded, Unix seconds.",
                        static_cast<double>(directory_loaded_unix_), ""});
    }
    return {200, metrics_.Render(gauges), "text/plain; version=0.0.4; charset=utf-8"};
  }
  return {404, "not found; try /metrics, /readyz or /healthz\n"};
}

}  // namespace gatehouse

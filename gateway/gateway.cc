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

absl::Status WritePortsFile(const std::string& path, int client_port, int peer_port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "{\"clientPort\": " << client_port << ", \"peerPort\": " << peer_port << "}\n";
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
  ASSIGN_OR_RETURN(v1::Directory directory, LoadDirectory(c.directory_file()));
  gw->directory_ = std::make_unique<DirectoryCache>(std::move(directory));
  if (!gw->directory_->Find(c.org_id()).has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the directory does not list this gateway's organisation ", c.org_id()));
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
                                               gw->peers_.get(), c.retry());
  gw->exchange_ = std::make_unique<ExchangeService>(&gw->config_, gw->store_.get(),
                                                    gw->directory_.get(), gw->sender_.get());
  gw->peer_ = std::make_unique<PeerService>(&gw->config_, gw->store_.get(),
                                            gw->directory_.get());

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

  gw->sender_->Start();
  if (!c.ports_file().empty()) {
    RETURN_IF_ERROR(WritePortsFile(c.ports_file(), gw->client_port_, gw->peer_port_));
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
  LogInfo("gateway stopped", {{"org_id", config_.org_id()}});
}

Gateway::~Gateway() { Shutdown(absl::Seconds(5)); }

}  // namespace gatehouse

#include "tests/gateway/gateway_harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gatehouse/v1/config.pb.h"
#include "gateway/identity.h"
#include "gateway/tls.h"

namespace gatehouse {
namespace fs = std::filesystem;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

Cluster::Cluster() : dir_(MakeTempDir()), orgs_{"nhs-trust-a", "council-a", "police-a"} {
  const TestPki& pki = TestPki::Get();
  for (const std::string& org : orgs_) {
    client_port_[org] = FreePort();
    peer_port_[org] = FreePort();
    fs::create_directories(TlsDir(org) + "/crl");
    for (auto [from, to] : {std::pair<std::string, std::string>{org + "/gateway.crt", "gateway.crt"},
                            {org + "/gateway.key", "gateway.key"},
                            {"ca.crt", "ca.crt"}}) {
      fs::copy_file(pki.Path(from), TlsDir(org) + "/" + to);
    }
    for (const auto& crl : fs::directory_iterator(pki.Path("crl"))) {
      fs::copy_file(crl.path(), TlsDir(org) + "/crl/" + crl.path().filename().string());
    }
  }
  WriteDirectory();
}

Cluster::~Cluster() {
  for (auto& [org, pid] : pids_) {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void Cluster::WriteDirectory() {
  std::ofstream out(dir_ + "/directory.json.tmp");
  out << "{\"organisations\": [";
  const char* sectors[] = {"health", "social_care", "police"};
  const char* levels[] = {"OFFICIAL-SENSITIVE", "OFFICIAL-SENSITIVE", "SECRET"};
  for (size_t i = 0; i < orgs_.size(); ++i) {
    const std::string& org = orgs_[i];
    std::string address = address_override_.count(org)
                              ? address_override_[org]
                              : "127.0.0.1:" + std::to_string(peer_port_[org]);
    out << (i ? "," : "") << "{\"orgId\": \"" << org << "\", \"sector\": \"" << sectors[i]
        << "\", \"accreditation\": \"" << levels[i] << "\", \"gatewayAddress\": \"" << address
        << "\", \"gatewayIdentity\": \"" << GatewayUri(org) << "\"}";
  }
  out << "]}\n";
  out.close();
  fs::rename(dir_ + "/directory.json.tmp", dir_ + "/directory.json");
}

void Cluster::SetAddress(const std::string& org, const std::string& address) {
  address_override_[org] = address;
  WriteDirectory();
}

std::string Cluster::Log(const std::string& org) {
  std::ifstream in(dir_ + "/" + org + ".log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Cluster::Start(const std::string& org, const std::string& extra_json) {
  extra_[org] = extra_json;
  std::string ports = dir_ + "/" + org + ".ports";
  fs::remove(ports);
  {
    std::ofstream cfg(ConfigPath(org));
    cfg << "{\"orgId\": \"" << org << "\", \"clientListen\": \"127.0.0.1:" << client_port_[org]
        << "\", \"peerListen\": \"127.0.0.1:" << peer_port_[org] << "\", \"tls\": {"
        << "\"certFile\": \"tls-" << org << "/gateway.crt\", \"keyFile\": \"tls-" << org
        << "/gateway.key\", \"caFile\": \"tls-" << org << "/ca.crt\", \"crlDir\": \"tls-" << org
        << "/crl\", \"refreshIntervalSeconds\": 1}, \"dataDir\": \"data-" << org
        << "\", \"directoryFile\": \"directory.json\", \"portsFile\": \"" << org << ".ports\", "
        << "\"retry\": {\"initialBackoffMs\": 100, \"maxBackoffMs\": 500, "
        << "\"deliverTimeoutMs\": 3000}" << (extra_json.empty() ? "" : ", ") << extra_json
        << "}\n";
  }
  pid_t pid = fork();
  if (pid == 0) {
    int log = open((dir_ + "/" + org + ".log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(log, STDERR_FILENO);
    execl(GATEHOUSED_PATH, "gatehoused", "--config", ConfigPath(org).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  pids_[org] = pid;
  for (int i = 0; i < 150; ++i) {
    if (fs::exists(ports)) return true;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pids_[org] = 0;
      std::fprintf(stderr, "gateway %s exited:\n%s\n", org.c_str(), Log(org).c_str());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fprintf(stderr, "gateway %s did not start:\n%s\n", org.c_str(), Log(org).c_str());
  return false;
}

int Cluster::Stop(const std::string& org) {
  pid_t pid = pids_[org];
  if (pid <= 0) return -1;
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  pids_[org] = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void Cluster::Kill(const std::string& org) {
  pid_t pid = pids_[org];
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  pids_[org] = 0;
}

namespace {

std::shared_ptr<grpc::Channel> Channel(int port, const TestPki& pki, const std::string& cert,
                                       const std::string& expected_uri) {
  v1::TlsConfig tls;
  tls.set_cert_file(pki.Path(cert + ".crt"));
  tls.set_key_file(pki.Path(cert + ".key"));
  tls.set_ca_file(pki.Path("ca.crt"));
  auto creds = MakeChannelCredentials(tls, expected_uri);
  if (!creds.ok()) {
    std::fprintf(stderr, "credentials: %s\n", creds.status().ToString().c_str());
    std::abort();
  }
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  // A fresh connection per client, so a certificate test is a real handshake.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // Gateways are killed and restarted in tests: reconnect promptly.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), *creds, args);
}

}  // namespace

std::unique_ptr<v1::Exchange::Stub> Cluster::Client(const std::string& org,
                                                    const std::string& cert,
                                                    const TestPki& pki) {
  return v1::Exchange::NewStub(Channel(client_port_[org], pki, cert, GatewayUri(org)));
}

std::shared_ptr<grpc::Channel> Cluster::ClientChannel(const std::string& org,
                                                     const std::string& cert) {
  return Channel(client_port_[org], TestPki::Get(), cert, GatewayUri(org));
}

std::unique_ptr<v1::Peer::Stub> Cluster::PeerClient(const std::string& org,
                                                    const std::string& cert) {
  return v1::Peer::NewStub(Channel(peer_port_[org], TestPki::Get(), cert, GatewayUri(org)));
}

int64_t Cluster::Count(const std::string& org, const std::string& table,
                       const std::string& where) {
  std::string path = dir_ + "/data-" + org + "/gatehouse.db";
  if (!fs::exists(path)) return 0;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  sqlite3_busy_timeout(db, 5000);
  std::string sql = "SELECT COUNT(*) FROM " + table + " WHERE " + where;
  sqlite3_stmt* stmt = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    n = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

int Cluster::AdminPort(const std::string& org) {
  std::ifstream in(dir_ + "/" + org + ".ports");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  size_t at = text.find("\"adminPort\": ");
  return at == std::string::npos ? 0 : std::atoi(text.c_str() + at + 13);
}

std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return "";
  }
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t sp = resp.find(' ');
  size_t body = resp.find("\r\n\r\n");
  if (sp == std::string::npos || body == std::string::npos) return "";
  return resp.substr(sp + 1, 3) + "\n" + resp.substr(body + 4);
}

v1::SubmitRequest SampleSubmit(const std::string& payload) {
  v1::SubmitRequest req;
  v1::Labels* l = req.mutable_labels();
  l->set_recipient_org("council-a");
  l->set_record_type("discharge_summary");
  l->set_classification("OFFICIAL-SENSITIVE");
  l->add_caveats("PERSONAL");
  l->add_caveats("MEDICAL");
  l->set_purpose("direct_care");
  l->set_content_type("application/fhir+json");
  req.set_payload(payload);
  return req;
}

}  // namespace gatehouse

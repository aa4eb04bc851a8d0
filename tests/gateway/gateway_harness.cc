#include "tests/gateway/gateway_harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gatehouse/v1/config.pb.h"
#include "audit/audit_log.h"
#include "audit/note.h"
#include "transport/parsed_call.h"
#include "gateway/config.h"
#include "gateway/record/labels.h"
#include "envelope/sealer.h"
#include "envelope/signed_directory.h"
#include "gatehouse/v1/peer.pb.h"
#include "transport/identity.h"
#include "transport/tls.h"
#include "google/protobuf/util/json_util.h"
#include "policy/bundle.h"
#include "policy/compiler.h"
#include "policy/model.h"

namespace gatehouse {
namespace fs = std::filesystem;

ReservedPort ReservePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    perror("ReservePort");
    abort();
  }
  return ReservedPort{ntohs(addr.sin_port), fd};
}

namespace {

void WriteFileAtomically(const std::string& path, const std::string& bytes, int mode = 0644) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  chmod(tmp.c_str(), mode);
  fs::rename(tmp, path);
}

void Die(absl::string_view what, const absl::Status& s) {
  std::fprintf(stderr, "harness: %s: %s\n", std::string(what).c_str(), s.ToString().c_str());
  std::abort();
}

}  // namespace

const char kTestPolicy[] = R"(policy "harness"
classifications OFFICIAL < OFFICIAL-SENSITIVE < SECRET < "TOP SECRET"
caveats PERSONAL, MEDICAL, CHILD
sectors health, council, police
record types discharge_summary, care_plan, safeguarding_referral, intelligence_report
purposes direct_care, safeguarding, investigation, research

organisation nhs-trust-a sector health accredited OFFICIAL-SENSITIVE
organisation council-a sector council accredited OFFICIAL-SENSITIVE
organisation police-a sector police accredited SECRET

forbid medical-stays-in-health
  "MEDICAL detail goes outside health only to protect someone."
  when caveats include MEDICAL
    and recipient sector is not health
  unless purpose is safeguarding

permit health-council-care
  "The trust shares discharge summaries and care plans with the council for care."
  when sender sector is health
    and recipient sector is council
    and record type in (discharge_summary, care_plan)
    and purpose is direct_care
  then encrypt

permit care-plans-to-health
  "The council shares care plans with the trust."
  when sender sector is council
    and recipient sector is health
    and record type is care_plan
    and purpose is direct_care
  then encrypt

permit safeguarding-referral
  "Any partner may refer a person at risk to any other partner."
  when record type is safeguarding_referral
    and purpose is safeguarding
  then encrypt

permit police-intelligence
  "The force shares intelligence with partners accredited to hold it."
  when sender sector is police
    and record type is intelligence_report
    and purpose is investigation
  then encrypt
)";

Cluster::Cluster() : dir_(MakeTempDir()), orgs_{"nhs-trust-a", "council-a", "police-a"} {
  const TestPki& pki = TestPki::Get();
  const absl::Time now = absl::Now();
  absl::StatusOr<envelope::Keyset> authority =
      envelope::Keyset::Generate("directory-authority", envelope::Keyset::Kind::kDirectoryAuthority, now);
  if (!authority.ok()) Die("authority keyset", authority.status());
  authority_ = std::make_unique<envelope::Keyset>(*std::move(authority));
  {
    std::string json;
    google::protobuf::util::MessageToJsonString(authority_->PublicEntry(), &json);
    WriteFileAtomically(dir_ + "/authority.json", json);
  }
  for (int i = 0; i < 2; ++i) {
    policy::OfficerKeyPair k = policy::GenerateOfficerKey();
    officer_secret_.push_back(k.secret_key);
    WriteFileAtomically(dir_ + "/officer" + std::to_string(i) + ".pub",
                        absl::BytesToHexString(k.public_key) + "\n");
  }
  for (const std::string& org : orgs_) {
    for (int* port : {&client_port_[org], &peer_port_[org]}) {
      ReservedPort r = ReservePort();
      *port = r.port;
      reserved_fds_.push_back(r.fd);
    }
    fs::create_directories(TlsDir(org) + "/crl");
    for (auto [from, to] : {std::pair<std::string, std::string>{org + "/gateway.crt", "gateway.crt"},
                            {org + "/gateway.key", "gateway.key"},
                            {"ca.crt", "ca.crt"}}) {
      fs::copy_file(pki.Path(from), TlsDir(org) + "/" + to);
    }
    for (const auto& crl : fs::directory_iterator(pki.Path("crl"))) {
      fs::copy_file(crl.path(), TlsDir(org) + "/crl/" + crl.path().filename().string());
    }
    const std::string keys = dir_ + "/keys-" + org;
    fs::create_directories(keys);
    absl::StatusOr<envelope::Keyset> keyset =
        envelope::Keyset::Generate(org, envelope::Keyset::Kind::kGateway, now);
    if (!keyset.ok()) Die("keyset", keyset.status());
    if (absl::Status s = keyset->SaveToFile(keys + "/keyset.json"); !s.ok()) Die("save", s);
    entries_[org] = keyset->PublicEntry();
    absl::StatusOr<audit::NoteSigner> log_key =
        audit::NoteSigner::Generate("gatehouse.test/" + org + "/audit", audit::kSigTypeEd25519);
    absl::StatusOr<audit::NoteSigner> cosigner =
        audit::NoteSigner::Generate("gatehouse.test/" + org, audit::kSigTypeCosignatureV1);
    if (!log_key.ok() || !cosigner.ok()) Die("note keys", log_key.status());
    WriteFileAtomically(keys + "/audit.key", log_key->PrivateKeyString(audit::SecretKeyAccess()) + "\n", 0600);
    WriteFileAtomically(keys + "/cosigner.key", cosigner->PrivateKeyString(audit::SecretKeyAccess()) + "\n", 0600);
    entries_[org].set_audit_key(log_key->VerifierKeyString());
    entries_[org].set_cosigner_key(cosigner->VerifierKeyString());
  }
  WriteDirectory();
  WritePolicy(kTestPolicy);
}

Cluster::~Cluster() {
  for (auto& [org, pid] : pids_) {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  for (int fd : reserved_fds_) close(fd);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

v1::Directory Cluster::MakeDirectory() {
  v1::Directory directory;
  directory.set_version(++directory_version_);
  const char* sectors[] = {"health", "social_care", "police"};
  const char* levels[] = {"OFFICIAL-SENSITIVE", "OFFICIAL-SENSITIVE", "SECRET"};
  for (size_t i = 0; i < orgs_.size(); ++i) {
    const std::string& org = orgs_[i];
    v1::Organisation* o = directory.add_organisations();
    *o = entries_[org];
    o->set_sector(sectors[i]);
    o->set_accreditation(accreditation_.count(org) ? accreditation_[org] : levels[i]);
    o->set_gateway_address(address_override_.count(org)
                               ? address_override_[org]
                               : "127.0.0.1:" + std::to_string(peer_port_[org]));
    o->set_gateway_identity(GatewayUri(org));
  }
  return directory;
}

void Cluster::WriteDirectory() { WriteSignedDirectory(MakeDirectory()); }

void Cluster::WriteSignedDirectory(const v1::Directory& directory, absl::Time not_after) {
  if (not_after == absl::InfiniteFuture()) not_after = absl::Now() + absl::Hours(24);
  absl::StatusOr<v1::SignedDirectory> signed_directory = envelope::SignDirectory(
      directory, *authority_, absl::Now() - absl::Minutes(1), not_after);
  if (!signed_directory.ok()) Die("sign directory", signed_directory.status());
  WriteRawDirectory(signed_directory->SerializeAsString());
}

void Cluster::WriteRawDirectory(const std::string& bytes) {
  WriteFileAtomically(dir_ + "/directory.signed", bytes);
}

std::string Cluster::MakePolicyBundle(const std::string& text, int signatures,
                                      const std::string& version, int required) {
  std::vector<policy::Diagnostic> diags;
  policy::Model model = policy::CompilePolicy({{"test.ghp", text}}, &diags);
  for (const policy::Diagnostic& d : diags) {
    if (d.severity == policy::Severity::kError) {
      std::fprintf(stderr, "harness policy: %s\n",
                   policy::FormatDiagnostic({{"test.ghp", text}}, d).c_str());
      std::abort();
    }
  }
  absl::StatusOr<std::string> bundle = policy::MakeBundle(policy::ToProto(model), required, version);
  if (!bundle.ok()) Die("bundle", bundle.status());
  for (int i = 0; i < signatures; ++i) {
    bundle = policy::SignBundle(*bundle, officer_secret_[i], "officer" + std::to_string(i));
    if (!bundle.ok()) Die("sign bundle", bundle.status());
  }
  return *bundle;
}

void Cluster::WritePolicy(const std::string& text, int signatures, const std::string& version,
                          const std::string& file) {
  WriteFileAtomically(dir_ + "/" + file,
                      MakePolicyBundle(text, signatures, version, std::max(1, signatures)));
}

void Cluster::WriteRawPolicy(const std::string& bytes, const std::string& file) {
  WriteFileAtomically(dir_ + "/" + file, bytes);
}

envelope::RecordLabels EnvelopeLabels(const v1::Labels& labels, const std::string& record_id,
                                      const std::string& from, const std::string& to,
                                      int64_t created_unix_ms) {
  v1::Labels addressed = labels;
  addressed.set_recipient_org(to);
  return EnvelopeLabelsOf(addressed, record_id, from, created_unix_ms);
}

std::string Cluster::SealAs(const std::string& from, const std::string& to,
                            const v1::Labels& labels, const std::string& payload,
                            const std::string& record_id, int64_t created_unix_ms,
                            const std::string& sender_system) {
  absl::StatusOr<envelope::Keyset> keys =
      envelope::Keyset::LoadFromFile(dir_ + "/keys-" + from + "/keyset.json");
  if (!keys.ok()) Die("load keyset", keys.status());
  absl::StatusOr<std::unique_ptr<envelope::Sealer>> sealer =
      envelope::Sealer::Create(std::make_shared<const envelope::Keyset>(*std::move(keys)));
  if (!sealer.ok()) Die("sealer", sealer.status());
  absl::StatusOr<envelope::RecipientKey> recipient =
      envelope::RecipientKeyFromDirectory(entries_[to]);
  if (!recipient.ok()) Die("recipient key", recipient.status());
  v1::SealedContent content;
  content.set_sender_system(sender_system);
  content.set_recipient_system(labels.recipient_system());
  content.set_originator(labels.originator());
  content.set_end_user(labels.end_user());
  content.set_payload(payload);
  absl::StatusOr<std::string> sealed =
      (*sealer)->Seal(EnvelopeLabels(labels, record_id, from, to, created_unix_ms), *recipient,
                      content.SerializeAsString());
  if (!sealed.ok()) Die("seal", sealed.status());
  return *sealed;
}

absl::StatusOr<audit::VerifyReport> Cluster::VerifyAuditLog(const std::string& org) {
  absl::StatusOr<std::string> text = ReadFile(dir_ + "/keys-" + org + "/audit.key");
  if (!text.ok()) return text.status();
  absl::StatusOr<audit::NoteSigner> signer =
      audit::NoteSigner::FromPrivateKey(absl::StripAsciiWhitespace(*text));
  if (!signer.ok()) return signer.status();
  absl::StatusOr<audit::NoteVerifier> verifier =
      audit::NoteVerifier::FromVerifierKey(signer->VerifierKeyString());
  if (!verifier.ok()) return verifier.status();
  std::vector<audit::NoteVerifier> cosigners;
  for (const std::string& other : orgs_) {
    if (other == org) continue;
    absl::StatusOr<audit::NoteVerifier> c =
        audit::NoteVerifier::FromVerifierKey(entries_[other].cosigner_key());
    if (c.ok()) cosigners.push_back(*c);
  }
  audit::VerifyOptions options;
  options.log_key = &*verifier;
  for (const audit::NoteVerifier& c : cosigners) options.cosigners.push_back(&c);
  return audit::VerifyLog(AuditDir(org), options);
}

std::vector<v1::AuditEntry> Cluster::AuditEntries(const std::string& org) {
  std::vector<v1::AuditEntry> out;
  audit::AuditLogOptions options;
  options.create_if_missing = false;
  // Reading needs the log's lock: only while the gateway is stopped.
  absl::StatusOr<std::unique_ptr<audit::AuditLog>> log = audit::AuditLog::Open(AuditDir(org), options);
  if (!log.ok()) return out;
  for (uint64_t i = 0; i < (*log)->Size(); ++i) {
    absl::StatusOr<v1::AuditEntry> e = (*log)->ReadEntry(i);
    if (e.ok()) out.push_back(*std::move(e));
  }
  return out;
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

void Cluster::Signal(const std::string& org, int sig) {
  auto it = pids_.find(org);
  if (it != pids_.end()) kill(it->second, sig);
}

bool Cluster::Start(const std::string& name, const std::string& extra_json) {
  const std::string org = OrgOf(name);
  extra_[name] = extra_json;
  if (client_port_.count(name) == 0) {  // a further replica: ports of its own
    for (int* port : {&client_port_[name], &peer_port_[name]}) {
      ReservedPort r = ReservePort();
      *port = r.port;
      reserved_fds_.push_back(r.fd);
    }
  }
  std::string ports = dir_ + "/" + name + ".ports";
  fs::remove(ports);
  {
    std::ofstream cfg(ConfigPath(name));
    cfg << "{\"orgId\": \"" << org << "\", \"clientListen\": \"127.0.0.1:" << client_port_[name]
        << "\", \"peerListen\": \"127.0.0.1:" << peer_port_[name] << "\", \"tls\": {"
        << "\"certFile\": \"tls-" << org << "/gateway.crt\", \"keyFile\": \"tls-" << org
        << "/gateway.key\", \"caFile\": \"tls-" << org << "/ca.crt\", \"crlDir\": \"tls-" << org
        << "/crl\", \"refreshIntervalSeconds\": 1}, \"dataDir\": \"data-" << name
        << "\", \"directoryFile\": \"directory.signed\", \"portsFile\": \"" << name << ".ports\", "
        << "\"directoryAuthorityFile\": \"authority.json\", \"keysetFile\": \"keys-" << org
        << "/keyset.json\", "
        << (extra_json.find("\"directoryRefreshSeconds\"") == std::string::npos
                ? "\"directoryRefreshSeconds\": 1, "
                : "")
        << "\"cosignIntervalSeconds\": 1, "
        << "\"audit\": {\"keyFile\": \"keys-" << org << "/audit.key\", \"cosignerKeyFile\": "
        << "\"keys-" << org << "/cosigner.key\", \"checkpointIntervalMs\": 200}, "
        << (extra_json.find("\"policy\"") == std::string::npos
                ? "\"policy\": {\"bundleFile\": \"policy.bundle\", \"officerKeyFiles\": "
                  "[\"officer0.pub\", \"officer1.pub\"]}, "
                : "")
        // Records addressed to the whole organisation go to its first system
        // (the harness's Fetch clients); other systems see only their own.
        << (extra_json.find("\"orgRecipientSystems\"") == std::string::npos
                ? absl::StrCat("\"orgRecipientSystems\": [\"",
                               org == "nhs-trust-a" ? "ehr" : org == "council-a" ? "care" : "rms",
                               "\"], ")
                : "")
        << "\"retry\": {\"initialBackoffMs\": 100, \"maxBackoffMs\": 500, "
        << "\"deliverTimeoutMs\": 3000}" << (extra_json.empty() ? "" : ", ") << extra_json
        << "}\n";
  }
  pid_t pid = fork();
  if (pid == 0) {
    int log = open((dir_ + "/" + name + ".log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(log, STDERR_FILENO);
    execl(GATEHOUSED_PATH, "gatehoused", "--config", ConfigPath(name).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  pids_[name] = pid;
  // Up to 60 s: a gateway starts in about a second, but under a sanitizer on
  // a loaded CI machine one restart once took over 15 s.
  for (int i = 0; i < 600; ++i) {
    if (fs::exists(ports)) return true;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pids_[name] = 0;
      std::fprintf(stderr, "gateway %s exited:\n%s\n", name.c_str(), Log(name).c_str());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fprintf(stderr, "gateway %s did not start:\n%s\n", name.c_str(), Log(name).c_str());
  return false;
}

int Cluster::RunAnother(const std::string& org, std::string* log) {
  const std::string log_path = dir_ + "/" + org + ".another.log";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDERR_FILENO);
    execl(GATEHOUSED_PATH, "gatehoused", "--config", ConfigPath(org).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 600 && !exited; ++i) {
    exited = waitpid(pid, &status, WNOHANG) == pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  std::ifstream in(log_path);
  log->assign(std::istreambuf_iterator<char>(in), {});
  if (!exited) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
  return v1::Exchange::NewStub(Channel(client_port_[org], pki, cert, GatewayUri(OrgOf(org))));
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

int Cluster::PortFromFile(const std::string& org, const std::string& key) {
  std::ifstream in(dir_ + "/" + org + ".ports");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const std::string field = "\"" + key + "\": ";
  size_t at = text.find(field);
  return at == std::string::npos ? 0 : std::atoi(text.c_str() + at + field.size());
}

std::string Cluster::IssueCertificate(const std::string& uri) {
  const TestPki& pki = TestPki::Get();
  static int serial = 0;
  const std::string name = absl::StrCat("bad/issued-", getpid(), "-", ++serial);
  const std::string sh = absl::StrCat(
      "set -e; cd ", pki.dir(), "; ",
      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ", name, ".key; ",
      "openssl req -new -key ", name, ".key -subj /CN=issued -out ", name, ".csr; ",
      "printf 'basicConstraints=critical,CA:FALSE\\nextendedKeyUsage=serverAuth,clientAuth\\n"
      "subjectAltName=URI:", uri, "\\n' > ", name, ".ext; ",
      "openssl ca -batch -config ", pki.Path("ca/openssl.cnf"), " -in ", name, ".csr -extfile ",
      name, ".ext -out ", name, ".crt; chmod 600 ", name, ".key");
  if (std::system(("(" + sh + ") >/dev/null 2>&1").c_str()) != 0) {
    Die("issue certificate", absl::InternalError(sh));
  }
  return name;
}

void Cluster::RevokeFor(const std::string& org, const std::string& cert) {
  const TestPki& pki = TestPki::Get();
  const std::string cnf = pki.Path("ca/openssl.cnf");
  const std::string crl_dir = TlsDir(org) + "/crl";
  // Revoked in the CA's database (so later CRLs list it), and a new CRL put
  // in place of `org`'s; other clusters keep the CRL files they copied.
  const std::string sh = absl::StrCat(
      "set -e; openssl ca -batch -config ", cnf, " -revoke ", pki.Path(cert + ".crt"), "; ",
      "openssl ca -batch -config ", cnf, " -gencrl -out ", crl_dir, "/new.pem; ",
      "for f in ", crl_dir, "/*.r0; do mv ", crl_dir, "/new.pem \"$f\"; done");
  if (std::system(("(" + sh + ") >/dev/null 2>&1").c_str()) != 0) {
    Die("revoke certificate", absl::InternalError(sh));
  }
}

absl::StatusOr<std::string> ListServices(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub generic(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call = generic.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  grpc::Slice req("\x3a\x01*", 3);
  call->Write(grpc::ByteBuffer(&req, 1), reinterpret_cast<void*>(2));
  cq.Next(&tag, &ok);
  grpc::ByteBuffer resp;
  call->Read(&resp, reinterpret_cast<void*>(3));
  cq.Next(&tag, &ok);
  const bool got = ok;
  const std::string bytes = got ? BufferBytes(resp) : std::string();
  call->WritesDone(reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  if (!got) return absl::UnavailableError("no response message");
  return bytes;
}

absl::Status Details(const grpc::Status& s) {
  google::rpc::Status rpc;
  if (s.error_details().empty() || !rpc.ParseFromString(s.error_details())) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  }
  return FromRpcStatus(rpc);
}

grpc::Status RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                          const std::string& method, const std::string& request,
                          std::string* response) {
  grpc::GenericStub generic(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice body(request);
  grpc::ByteBuffer sent(&body, 1), received;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, method, grpc::StubOptions(), &sent, &received,
                    [&](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  *response = s.ok() ? BufferBytes(received) : std::string();
  return s;
}

grpc::Status RawStreamCall(const std::shared_ptr<grpc::Channel>& channel,
                           const std::string& method, const std::vector<std::string>& requests,
                           std::vector<std::string>* responses, size_t max_responses) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> call(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          channel.get(),
          grpc::internal::RpcMethod(method.c_str(), grpc::internal::RpcMethod::BIDI_STREAMING),
          &ctx));
  bool open = true;
  for (size_t i = 0; open && i < requests.size(); ++i) {
    grpc::Slice body(requests[i]);
    open = call->Write(grpc::ByteBuffer(&body, 1));
  }
  if (open) call->WritesDone();
  responses->clear();
  grpc::ByteBuffer received;
  while (responses->size() < max_responses && call->Read(&received)) {
    responses->push_back(BufferBytes(received));
  }
  if (responses->size() >= max_responses) ctx.TryCancel();
  return call->Finish();
}

absl::StatusOr<std::string> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& service) {
  // HealthCheckRequest: field 1 (service), a string; empty: the whole server.
  std::string encoded;
  if (!service.empty()) {
    encoded = std::string("\x0a") + static_cast<char>(service.size()) + service;
  }
  std::string bytes;
  grpc::Status s = RawUnaryCall(channel, "/grpc.health.v1.Health/Check", encoded, &bytes);
  if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  return bytes;
}

int RunCommand(const std::string& command, std::string* out) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
  l->set_purpose("direct_care");
  l->set_content_type("application/fhir+json");
  req.set_payload(payload);
  return req;
}

}  // namespace gatehouse

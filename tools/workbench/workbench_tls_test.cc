// The workbench over mutual TLS (tls_stream.h), on a real loopback port with
// the dev PKI (certs/gen-dev-pki.sh, tests/gateway/test_pki.h). The server
// presents nhs-trust-a's gateway certificate (it names 127.0.0.1); the
// officers' CA is the PKI's CA, so any certificate it issued stands for an
// officer's (here a system's: the PKI has no officers), and its CRL
// (DIR/crl) is the officers' CRL: it lists bad/revoked. Without a
// certificate, with one from another CA or with a revoked one, the
// connection is closed before any HTTP; one revoked after its connection
// was made is answered 403 and nothing else.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/gateway/test_pki.h"
#include "tools/workbench/json_body.h"
#include "tools/workbench/request_guard.h"
#include "tools/workbench/static_files.h"
#include "tools/workbench/tls_stream.h"
#include "tools/workbench/workbench_api.h"
#include "tools/workbench/workbench_server.h"

namespace gatehouse::workbench {
namespace {

const TestPki& Pki() { return TestPki::Get(); }

TlsFiles ServerFiles(const TestPki& pki = Pki()) {
  return {pki.Path("nhs-trust-a/gateway.crt"), pki.Path("nhs-trust-a/gateway.key"),
          pki.Path("ca.crt"), pki.Path("crl")};
}

absl::StatusOr<std::unique_ptr<WorkbenchServer>> StartServer(const TlsFiles& tls) {
  auto files = StaticFiles::Load(kCodeMirrorDir);
  if (!files.ok()) return files.status();
  auto api = Api::Create("");
  if (!api.ok()) return api.status();
  WorkbenchOptions options;
  options.listen = "127.0.0.1:0";
  options.tls = tls;
  return WorkbenchServer::Start(options, *std::move(api), *std::move(files));
}

// One TLS 1.2 connection to 127.0.0.1:`port` presenting `cert`, its
// handshake complete before any request is written. Under TLS 1.2 the
// client's handshake ends only with the server's Finished, which the server
// sends once it has checked the client's certificate; under 1.3 it could
// still be checking when SSL_connect returns.
class RawConnection {
 public:
  RawConnection(int port, const TestPki& pki, const std::string& cert, const std::string& key)
      : ctx_(SSL_CTX_new(TLS_client_method())) {
    SSL_CTX_set_max_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx_, pki.Path("ca.crt").c_str(), nullptr) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx_, pki.Path(cert).c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, pki.Path(key).c_str(), SSL_FILETYPE_PEM) != 1) {
      return;
    }
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval ten_seconds{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &ten_seconds, sizeof ten_seconds);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    handshake_done_ = SSL_connect(ssl_) == 1;
  }
  ~RawConnection() {
    SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
    SSL_CTX_free(ctx_);
  }

  bool handshake_done() const { return handshake_done_; }

  // Writes `request`, then reads until the server closes the connection:
  // all it answered ("" if the write failed).
  std::string Exchange(const std::string& request) {
    if (!handshake_done_ ||
        SSL_write(ssl_, request.data(), static_cast<int>(request.size())) <= 0) {
      return "";
    }
    std::string answer;
    char buf[4096];
    for (int n; (n = SSL_read(ssl_, buf, sizeof buf)) > 0;) answer.append(buf, n);
    return answer;
  }

 private:
  SSL_CTX* const ctx_;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool handshake_done_ = false;
};

std::string GetPage(int port) {
  return absl::StrCat("GET / HTTP/1.1\r\nHost: 127.0.0.1:", port,
                      "\r\nConnection: keep-alive\r\n\r\n");
}

// How many HTTP answers `stream` holds.
int Answers(const std::string& stream) {
  int n = 0;
  for (size_t at = stream.find("HTTP/1.1 "); at != std::string::npos;
       at = stream.find("HTTP/1.1 ", at + 1)) {
    ++n;
  }
  return n;
}

class WorkbenchTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = StartServer(ServerFiles());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A client that checks the server against `pki`'s CA and presents `cert`
  // ("" for none).
  std::unique_ptr<httplib::SSLClient> Client(const std::string& cert, const std::string& key,
                                             const TestPki& pki = Pki()) {
    auto c = cert.empty() ? std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port())
                          : std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port(),
                                                                 pki.Path(cert), pki.Path(key));
    c->set_ca_cert_path(pki.Path("ca.crt").c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(10, 0);
    return c;
  }
  std::unique_ptr<httplib::SSLClient> Officer() {
    return Client("nhs-trust-a/ehr.crt", "nhs-trust-a/ehr.key");
  }
  httplib::Result Check(httplib::SSLClient& c, const std::string& origin) {
    httplib::Headers h{{kTokenHeader, server_->token()}};
    if (!origin.empty()) h.emplace("Origin", origin);
    return c.Post("/api/check", h,
                  ToJson(Object({{"source", Str("policy \"p\"\nclassifications OFFICIAL\n")}})),
                  "application/json");
  }

  std::unique_ptr<WorkbenchServer> server_;
};

TEST_F(WorkbenchTlsTest, AnOfficersCertificateIsServedThePageAndTheApi) {
  auto officer = Officer();
  auto page = officer->Get("/");
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_EQ(page->status, 200);
  EXPECT_TRUE(absl::StrContains(page->body, server_->token()));
  auto check = Check(*officer, absl::StrCat("https://127.0.0.1:", server_->port()));
  ASSERT_TRUE(check) << httplib::to_string(check.error());
  EXPECT_EQ(check->status, 200) << check->body;
}

TEST_F(WorkbenchTlsTest, APostFromAnotherOriginIsRefusedOverTlsToo) {
  auto officer = Officer();
  auto plain_origin = Check(*officer, absl::StrCat("http://127.0.0.1:", server_->port()));
  ASSERT_TRUE(plain_origin);
  EXPECT_EQ(plain_origin->status, 403) << plain_origin->body;
  auto evil = Check(*officer, "https://evil.example");
  ASSERT_TRUE(evil);
  EXPECT_EQ(evil->status, 403) << evil->body;
}

TEST_F(WorkbenchTlsTest, NoClientCertificateIsRefusedAndTheNextOfficerIsServed) {
  auto anonymous = Client("", "");
  auto refused = anonymous->Get("/");
  EXPECT_FALSE(refused && refused->status == 200) << "served without a client certificate";
  auto page = Officer()->Get("/");
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_EQ(page->status, 200);
}

TEST_F(WorkbenchTlsTest, ACertificateFromAnotherCaIsRefused) {
  auto stranger = Client("bad/untrusted.crt", "bad/untrusted.key");
  auto refused = stranger->Get("/");
  EXPECT_FALSE(refused && refused->status == 200) << "served a certificate of another CA";
}

TEST_F(WorkbenchTlsTest, ARevokedCertificateIsRefusedAtTheHandshakeAndTheNextOfficerIsServed) {
  auto revoked = Client("bad/revoked.crt", "bad/revoked.key");
  auto refused = revoked->Get("/");
  EXPECT_FALSE(refused) << "answered HTTP " << refused->status
                        << " to a revoked certificate: " << refused->body;
  RawConnection raw(server_->port(), Pki(), "bad/revoked.crt", "bad/revoked.key");
  EXPECT_FALSE(raw.handshake_done()) << "the handshake let a revoked certificate in";
  EXPECT_EQ(raw.Exchange(GetPage(server_->port())), "");
  auto page = Officer()->Get("/");
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_EQ(page->status, 200);
  EXPECT_TRUE(absl::StrContains(page->body, server_->token()));
}

TEST_F(WorkbenchTlsTest, PlainHttpToTheTlsPortGetsNoPage) {
  httplib::Client plain("127.0.0.1", server_->port());
  plain.set_read_timeout(10, 0);
  auto refused = plain.Get("/");
  EXPECT_FALSE(refused && refused->status == 200) << "served over plain HTTP";
}

// A PKI of the test's own, since it revokes a certificate while the
// workbench runs.
class WorkbenchRevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = StartServer(ServerFiles(pki_));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(std::filesystem::path(pki_.dir()).parent_path());
  }

  // Revokes `cert` with the PKI's CA and publishes the new CRL in place of
  // the old (same name, new file), as an operator would.
  void Revoke(const std::string& cert) {
    const std::string ca = "openssl ca -batch -config " + pki_.Path("ca/openssl.cnf");
    ASSERT_EQ(Run(ca + " -revoke " + pki_.Path(cert)), 0);
    ASSERT_EQ(Run(ca + " -gencrl -out " + pki_.Path("new.crl")), 0);
    for (const auto& e : std::filesystem::directory_iterator(pki_.Path("crl"))) {
      std::filesystem::rename(pki_.Path("new.crl"), e.path());
      return;
    }
    FAIL() << "no CRL in " << pki_.Path("crl");
  }

  static int Run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

  const TestPki pki_ = TestPki::Fresh();
  std::unique_ptr<WorkbenchServer> server_;
};

TEST_F(WorkbenchRevocationTest, ACertificateRevokedAfterItsConnectionWasMadeIsRefusedThere) {
  const int port = server_->port();
  // Served, and one answer a connection: a keep-alive connection ends after it.
  RawConnection first(port, pki_, "nhs-trust-a/ehr.crt", "nhs-trust-a/ehr.key");
  ASSERT_TRUE(first.handshake_done());
  const std::string served = first.Exchange(GetPage(port));
  EXPECT_TRUE(absl::StartsWith(served, "HTTP/1.1 200")) << served.substr(0, 200);
  EXPECT_TRUE(absl::StrContains(served, server_->token()));
  EXPECT_TRUE(absl::StrContains(served, "Connection: close")) << served.substr(0, 400);
  EXPECT_EQ(Answers(served), 1);

  // Let in while its certificate was good; its request comes after the CRL
  // that revokes it.
  RawConnection open(port, pki_, "nhs-trust-a/ehr.crt", "nhs-trust-a/ehr.key");
  ASSERT_TRUE(open.handshake_done());
  Revoke("nhs-trust-a/ehr.crt");
  const std::string refused = open.Exchange(GetPage(port));
  EXPECT_TRUE(absl::StartsWith(refused, "HTTP/1.1 403")) << refused.substr(0, 200);
  EXPECT_TRUE(absl::StrContains(refused, "has been revoked")) << refused;
  EXPECT_TRUE(absl::StrContains(refused, "ehr")) << refused;
  EXPECT_FALSE(absl::StrContains(refused, server_->token())) << "the page was served";
  EXPECT_EQ(Answers(refused), 1) << "the connection served on after the refusal";

  // A new connection with it is refused at the handshake; another officer is served.
  RawConnection again(port, pki_, "nhs-trust-a/ehr.crt", "nhs-trust-a/ehr.key");
  EXPECT_FALSE(again.handshake_done());
  EXPECT_EQ(again.Exchange(GetPage(port)), "");
  RawConnection other(port, pki_, "nhs-trust-a/pas.crt", "nhs-trust-a/pas.key");
  EXPECT_TRUE(absl::StartsWith(other.Exchange(GetPage(port)), "HTTP/1.1 200"));
}

TEST_F(WorkbenchRevocationTest, AFileThatIsNoCrlOnReloadLeavesTheListsInForce) {
  const int port = server_->port();
  {
    std::ofstream junk(pki_.Path("crl/half-written.r0"));
    junk << "-----BEGIN X509 CRL-----\n";
  }
  RawConnection revoked(port, pki_, "bad/revoked.crt", "bad/revoked.key");
  EXPECT_FALSE(revoked.handshake_done()) << "a refused reload dropped the CRLs in force";
  RawConnection officer(port, pki_, "nhs-trust-a/ehr.crt", "nhs-trust-a/ehr.key");
  EXPECT_TRUE(absl::StartsWith(officer.Exchange(GetPage(port)), "HTTP/1.1 200"));
}

// Start refusals: WorkbenchServer::Start is what gatehouse-workbench runs.
TEST(WorkbenchTls, MutualTlsWithoutACrlDirectoryRefusesToStart) {
  TlsFiles files = ServerFiles();
  files.crl_dir.clear();
  auto server = StartServer(files);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(server.status().message(), "needs --crl-dir")) << server.status();
}

TEST(WorkbenchTls, ACrlDirectoryWithoutTlsRefusesToStart) {
  TlsFiles files;
  files.crl_dir = Pki().Path("crl");
  auto server = StartServer(files);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(server.status().message(), "--crl-dir is for mutual TLS"))
      << server.status();
}

TEST(WorkbenchTls, ACrlFromAnotherCaRefusesToStart) {
  TlsFiles files = ServerFiles();
  files.crl_dir = TestPki::Other().Path("crl");
  auto server = StartServer(files);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(server.status().message(), files.crl_dir)) << server.status();
  EXPECT_TRUE(absl::StrContains(server.status().message(), "is not signed by a CA in --client-ca"))
      << server.status();
}

TEST(WorkbenchTls, ACrlDirectoryWithNoCrlRefusesToStart) {
  const std::string empty = MakeTempDir();
  TlsFiles files = ServerFiles();
  files.crl_dir = empty;
  auto server = StartServer(files);
  std::filesystem::remove_all(empty);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(server.status().message(), "holds no CRL")) << server.status();
}

TEST(WorkbenchTls, AMissingOrMismatchedFileIsNamedAndNothingServes) {
  TlsFiles files = ServerFiles();
  files.key = Pki().Path("nhs-trust-a/no-such.key");
  auto missing = TlsContext::Create(files);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "no-such.key"))
      << missing.status();
  files.key = Pki().Path("council-a/gateway.key");  // another certificate's key
  EXPECT_EQ(TlsContext::Create(files).status().code(), absl::StatusCode::kInvalidArgument);
  files = ServerFiles();
  files.client_ca.clear();
  auto two = TlsContext::Create(files);
  EXPECT_TRUE(absl::StrContains(two.status().message(), "--client-ca")) << two.status();
}

TEST(WorkbenchTls, AnAddressThatIsNotLoopbackNeedsMutualTls) {
  auto plain = ParseListen("10.1.2.3:8470", /*mutual_tls=*/false);
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(plain.status().message(), "--client-ca")) << plain.status();
  EXPECT_TRUE(ParseListen("10.1.2.3:8470", /*mutual_tls=*/true).ok());
  EXPECT_TRUE(ParseListen("127.0.0.1:8470", /*mutual_tls=*/false).ok());
}

}  // namespace
}  // namespace gatehouse::workbench

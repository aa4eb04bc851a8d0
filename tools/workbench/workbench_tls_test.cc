// The workbench over mutual TLS (tls_stream.h), on a real loopback port with
// the dev PKI (certs/gen-dev-pki.sh, tests/gateway/test_pki.h). The server
// presents nhs-trust-a's gateway certificate (it names 127.0.0.1); the
// officers' CA is the PKI's CA, so any certificate it issued stands for an
// officer's (here a system's: the PKI has no officers). Without one, or
// with one from another CA, the connection is closed before any HTTP.
#include <httplib.h>

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

TlsFiles ServerFiles() {
  return {Pki().Path("nhs-trust-a/gateway.crt"), Pki().Path("nhs-trust-a/gateway.key"),
          Pki().Path("ca.crt")};
}

class WorkbenchTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto files = StaticFiles::Load(kCodeMirrorDir);
    ASSERT_TRUE(files.ok()) << files.status();
    auto api = Api::Create("");
    ASSERT_TRUE(api.ok()) << api.status();
    WorkbenchOptions options;
    options.listen = "127.0.0.1:0";
    options.tls = ServerFiles();
    auto server = WorkbenchServer::Start(options, *std::move(api), *std::move(files));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A client that checks the server against the PKI's CA and presents
  // `cert` ("" for none).
  std::unique_ptr<httplib::SSLClient> Client(const std::string& cert, const std::string& key) {
    auto c = cert.empty()
                 ? std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port())
                 : std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port(),
                                                        Pki().Path(cert), Pki().Path(key));
    c->set_ca_cert_path(Pki().Path("ca.crt").c_str());
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

TEST_F(WorkbenchTlsTest, PlainHttpToTheTlsPortGetsNoPage) {
  httplib::Client plain("127.0.0.1", server_->port());
  plain.set_read_timeout(10, 0);
  auto refused = plain.Get("/");
  EXPECT_FALSE(refused && refused->status == 200) << "served over plain HTTP";
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

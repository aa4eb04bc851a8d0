// The transport, checked from outside: a real TLS scanner (Debian's sslscan)
// against a running gateway, a client without a certificate, and a client
// with gRPC's stock TLS settings (as Python's and Node's defaults).
#include <cstdio>
#include <regex>
#include <sstream>
#include <string>

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/gateway_harness.h"

namespace gatehouse {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(TransportIntegrationTest, ScannerFindsOnlyTls12And13WithAeadCiphers) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start("nhs-trust-a"));
  for (int port : {cluster.client_port("nhs-trust-a"), cluster.peer_port("nhs-trust-a")}) {
    std::string report =
        RunCommand("sslscan --no-colour --no-heartbleed 127.0.0.1:" + std::to_string(port) + " 2>&1");
    ASSERT_THAT(report, HasSubstr("SSL/TLS Protocols")) << report;
    EXPECT_THAT(report, HasSubstr("SSLv2     disabled"));
    EXPECT_THAT(report, HasSubstr("SSLv3     disabled"));
    EXPECT_THAT(report, HasSubstr("TLSv1.0   disabled"));
    EXPECT_THAT(report, HasSubstr("TLSv1.1   disabled"));
    EXPECT_THAT(report, HasSubstr("TLSv1.3   enabled"));
    std::istringstream lines(report);
    std::string line;
    int accepted = 0;
    std::regex cipher_line("^(Preferred|Accepted)\\s+(\\S+)\\s+\\d+ bits\\s+(\\S+)");
    std::regex aead("GCM|CHACHA20|CCM");
    std::smatch m;
    while (std::getline(lines, line)) {
      if (!std::regex_search(line, m, cipher_line)) continue;
      ++accepted;
      EXPECT_TRUE(m[2] == "TLSv1.2" || m[2] == "TLSv1.3") << line;
      EXPECT_TRUE(std::regex_search(m[3].str(), aead)) << "not an AEAD suite: " << line;
    }
    EXPECT_GT(accepted, 0) << report;
  }
}

// A caller that presents no certificate is told so on every call
// (UNAUTHENTICATED, reason CERTIFICATE_MISSING) and nothing is served.
TEST(TransportIntegrationTest, ClientWithoutCertificateIsToldAndGetsNothing) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start("nhs-trust-a"));
  // Trusts the gateway, presents nothing.
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      TestPki::Get().Path("ca.crt"), 1);
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  options.set_verify_server_certs(true);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  auto channel = grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(cluster.client_port("nhs-trust-a")),
      grpc::experimental::TlsCredentials(options));
  auto stub = v1::Exchange::NewStub(channel);
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *stub, SampleSubmit(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_THAT(s.error_message(), StartsWith("CERTIFICATE_MISSING: "));
  v1::StatusResponse status;
  s = Call(&v1::Exchange::Stub::Status, *stub, v1::StatusRequest(), &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(cluster.Count("nhs-trust-a", "outbox"), 0);
}

// grpc::SslCredentials with the CA, a key and a certificate, as
// grpc.ssl_channel_credentials(root, key, chain) in Python: no target-name
// override, no custom verifier; the host dialled must be in the gateway's
// certificate.
std::unique_ptr<v1::Exchange::Stub> StockClient(const std::string& target, const std::string& cert) {
  const TestPki& pki = TestPki::Get();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(pki.Path("ca.crt")).value();
  options.pem_private_key = ReadFile(pki.Path(cert + ".key")).value();
  options.pem_cert_chain = ReadFile(pki.Path(cert + ".crt")).value();
  return v1::Exchange::NewStub(grpc::CreateChannel(target, grpc::SslCredentials(options)));
}

TEST(TransportIntegrationTest, StockClientVerifiesTheGatewayByTheAddressItDials) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start("nhs-trust-a"));
  const std::string port = std::to_string(cluster.client_port("nhs-trust-a"));
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto stub = StockClient(host + ":" + port, "nhs-trust-a/ehr");
    v1::StatusResponse status;
    grpc::Status s = Call(&v1::Exchange::Stub::Status, *stub, v1::StatusRequest(), &status);
    ASSERT_TRUE(s.ok()) << host << ": " << s.error_message();
    v1::SubmitResponse resp;
    s = Call(&v1::Exchange::Stub::Submit, *stub, SampleSubmit(), &resp);
    EXPECT_TRUE(s.ok()) << host << ": " << s.error_message();
  }
  EXPECT_EQ(cluster.Count("nhs-trust-a", "outbox"), 2);
}

TEST(TransportIntegrationTest, StockClientWithDnsNamesButNoPsnUriGetsNothing) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start("nhs-trust-a"));
  auto stub = StockClient("127.0.0.1:" + std::to_string(cluster.client_port("nhs-trust-a")),
                          "bad/dnsonly");
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *stub, SampleSubmit(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_FALSE(resp.has_receipt());
  EXPECT_EQ(cluster.Count("nhs-trust-a", "outbox"), 0);
}

}  // namespace
}  // namespace gatehouse

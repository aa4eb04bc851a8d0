#include "transport/identity.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "gateway/config.h"
#include "tests/gateway/test_pki.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

TEST(IdentityTest, ParsesSystemUri) {
  absl::StatusOr<Identity> id = ParseIdentityUri("psn://org/nhs-trust-a/system/ehr");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->kind, Identity::Kind::kSystem);
  EXPECT_EQ(id->org, "nhs-trust-a");
  EXPECT_EQ(id->system, "ehr");
}

TEST(IdentityTest, ParsesGatewayUri) {
  absl::StatusOr<Identity> id = ParseIdentityUri("psn://org/police-a/gateway");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->kind, Identity::Kind::kGateway);
  EXPECT_EQ(id->org, "police-a");
  EXPECT_EQ(id->system, "");
}

TEST(IdentityTest, RejectsMalformedUris) {
  for (const char* uri : {"", "https://org/a/gateway", "psn://org/a", "psn://org//gateway",
                          "psn://org/A/gateway", "psn://org/a/system/", "psn://org/a/system/b/c",
                          "psn://org/a/gateway/x", "psn://orgs/a/gateway", "psn://org/a b/gateway",
                          "psn://org/a/system/../b"}) {
    EXPECT_EQ(ParseIdentityUri(uri).status().code(), absl::StatusCode::kInvalidArgument) << uri;
  }
}

TEST(IdentityTest, NoPsnUriIsUnauthenticated) {
  EXPECT_EQ(IdentityFromSanUris({}).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(IdentityFromSanUris({"https://example.org/"}).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(IdentityTest, TwoPsnUrisAreAmbiguous) {
  absl::StatusOr<Identity> id = IdentityFromSanUris(
      {"psn://org/nhs-trust-a/system/ehr", "psn://org/police-a/system/rms"});
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(id.status().message().find("ambiguous"), std::string::npos);
}

TEST(IdentityTest, MalformedPsnUriIsUnauthenticated) {
  EXPECT_EQ(IdentityFromSanUris({"psn://org/x"}).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(IdentityTest, OtherSchemesBesideOnePsnUriAreIgnored) {
  absl::StatusOr<Identity> id =
      IdentityFromSanUris({"https://example.org/", "psn://org/council-a/gateway"});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->org, "council-a");
}

TEST(IdentityTest, ReadsIdentityFromGeneratedCertificates) {
  const TestPki& pki = TestPki::Get();
  absl::StatusOr<std::string> pem = ReadFile(pki.Path("nhs-trust-a/ehr.crt"));
  ASSERT_TRUE(pem.ok());
  absl::StatusOr<Identity> id = IdentityFromCertificatePem(*pem);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->uri, "psn://org/nhs-trust-a/system/ehr");

  pem = ReadFile(pki.Path("bad/nosan.crt"));
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(IdentityFromCertificatePem(*pem).status().code(),
            absl::StatusCode::kUnauthenticated);
  pem = ReadFile(pki.Path("bad/twosans.crt"));
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(IdentityFromCertificatePem(*pem).status().code(),
            absl::StatusCode::kUnauthenticated);
}

// A stock gRPC client checks the host it dialled against the DNS and IP
// SANs; the gateway's identity still comes from its psn:// URI alone.
TEST(IdentityTest, GatewayCertificateNamesLocalhostAndLoopbackButIdentityIsTheUri) {
  absl::StatusOr<std::string> pem = ReadFile(TestPki::Get().Path("nhs-trust-a/gateway.crt"));
  ASSERT_TRUE(pem.ok()) << pem.status();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_host(cert.get(), "psn", 0, 0, nullptr), 1);

  absl::StatusOr<Identity> id = IdentityFromCertificatePem(*pem);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->kind, Identity::Kind::kGateway);
  EXPECT_EQ(id->org, "nhs-trust-a");
  EXPECT_EQ(id->uri, "psn://org/nhs-trust-a/gateway");
}

TEST(IdentityTest, DnsAndIpNamesWithoutAPsnUriAreUnauthenticated) {
  absl::StatusOr<std::string> pem = ReadFile(TestPki::Get().Path("bad/dnsonly.crt"));
  ASSERT_TRUE(pem.ok()) << pem.status();
  absl::StatusOr<Identity> id = IdentityFromCertificatePem(*pem);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(id.status().message().find("no psn:// SAN URI"), std::string::npos)
      << id.status();
}

TEST(IdentityTest, GarbagePemIsUnauthenticated) {
  EXPECT_EQ(IdentityFromCertificatePem("not a certificate").status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace gatehouse

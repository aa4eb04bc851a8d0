#include "transport/identity.h"

#include <cstdlib>
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

TEST(IdentityTest, GarbagePemIsUnauthenticated) {
  EXPECT_EQ(IdentityFromCertificatePem("not a certificate").status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace gatehouse

#include "gateway/config.h"

#include <string>

#include "gtest/gtest.h"

namespace gatehouse {
namespace {

constexpr const char* kGood = R"({"orgId": "nhs-trust-a", "clientListen": "127.0.0.1:0",
  "peerListen": "127.0.0.1:0", "dataDir": "d", "directoryFile": "dir.json"})";

TEST(ConfigTest, ParsesAndFillsDefaults) {
  absl::StatusOr<v1::GatewayConfig> c = ParseGatewayConfig(kGood);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->org_id(), "nhs-trust-a");
  EXPECT_EQ(c->max_payload_bytes(), kDefaultMaxPayloadBytes);
  EXPECT_EQ(c->retry().initial_backoff_ms(), 200);
  EXPECT_EQ(c->retry().max_backoff_ms(), 30000);
}

TEST(ConfigTest, UnknownFieldIsNamed) {
  absl::StatusOr<v1::GatewayConfig> c = ParseGatewayConfig(
      R"({"orgId": "nhs-trust-a", "clientListne": "127.0.0.1:0"})");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("clientListne"), std::string::npos) << c.status();
}

TEST(ConfigTest, MistypedFieldIsNamed) {
  absl::StatusOr<v1::GatewayConfig> c = ParseGatewayConfig(
      R"({"orgId": "nhs-trust-a", "maxPayloadBytes": "lots"})");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("max_payload_bytes"), std::string::npos) << c.status();
}

TEST(ConfigTest, NestedUnknownFieldIsNamed) {
  absl::StatusOr<v1::GatewayConfig> c = ParseGatewayConfig(
      R"({"orgId": "nhs-trust-a", "tls": {"certFlie": "x"}})");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("certFlie"), std::string::npos) << c.status();
}

TEST(ConfigTest, InvalidOrgIdIsRefused) {
  absl::StatusOr<v1::GatewayConfig> c = ParseGatewayConfig(
      R"({"orgId": "NHS Trust", "clientListen": "a", "peerListen": "b", "dataDir": "d",
          "directoryFile": "f"})");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("orgId"), std::string::npos);
}

TEST(ConfigTest, MissingRequiredFieldIsNamed) {
  absl::StatusOr<v1::GatewayConfig> c =
      ParseGatewayConfig(R"({"orgId": "nhs-trust-a", "clientListen": "a"})");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("peerListen"), std::string::npos);
}

TEST(ConfigTest, NegativeLimitIsRefused) {
  absl::StatusOr<v1::GatewayConfig> c = ParseGatewayConfig(
      R"({"orgId": "a", "clientListen": "a", "peerListen": "b", "dataDir": "d",
          "directoryFile": "f", "maxPayloadBytes": -1})");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConfigTest, ServiceLevelObjectivesAreCheckedAndDefaulted) {
  const std::string base = std::string(kGood).substr(0, std::string(kGood).size() - 1);
  absl::StatusOr<v1::GatewayConfig> c = ParseGatewayConfig(base + "}");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->service_levels().window_hours(), 24);
  EXPECT_EQ(c->service_levels().grace_seconds(), 60);
  c = ParseGatewayConfig(base + R"(, "serviceLevels": {"objectives": ["delivery:60s:99%"],
      "peerObjectives": {"council-a": {"objectives": ["availability:99.95%"]}}}})");
  ASSERT_TRUE(c.ok()) << c.status();
  for (const char* bad : {R"({"objectives": ["delivery:soon:99%"]})",
                          R"({"peerObjectives": {"council-a": {"objectives": ["uptime:99%"]}}})",
                          R"({"graceSeconds": -1})"}) {
    c = ParseGatewayConfig(base + ", \"serviceLevels\": " + bad + "}");
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(c.status().message().find("serviceLevels"), std::string::npos) << c.status();
  }
  c = ParseGatewayConfig(base + R"(, "serviceLevels": {"objectives": ["uptime:99%"]}})");
  EXPECT_NE(c.status().message().find("serviceLevels.objectives"), std::string::npos)
      << c.status();
}

TEST(ConfigTest, NotJsonIsRefused) {
  EXPECT_EQ(ParseGatewayConfig("orgId: a").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadGatewayConfig("/nonexistent/gateway.json").status().code(),
            absl::StatusCode::kNotFound);
}

constexpr const char* kOrg = R"({"orgId": "council-a", "sector": "social_care",
  "accreditation": "OFFICIAL-SENSITIVE", "gatewayAddress": "127.0.0.1:1",
  "gatewayIdentity": "psn://org/council-a/gateway"})";

TEST(DirectoryTest, ParsesAValidDirectory) {
  absl::StatusOr<v1::Directory> d =
      ParseDirectory(std::string(R"({"organisations": [)") + kOrg + "]}");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->organisations_size(), 1);
}

TEST(DirectoryTest, DuplicateOrgIsRefused) {
  absl::StatusOr<v1::Directory> d =
      ParseDirectory(std::string(R"({"organisations": [)") + kOrg + "," + kOrg + "]}");
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("twice"), std::string::npos);
}

TEST(DirectoryTest, GatewayIdentityOfAnotherOrgIsRefused) {
  absl::StatusOr<v1::Directory> d = ParseDirectory(
      R"({"organisations": [{"orgId": "council-a", "sector": "social_care",
          "accreditation": "OFFICIAL", "gatewayAddress": "127.0.0.1:1",
          "gatewayIdentity": "psn://org/police-a/gateway"}]})");
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("gatewayIdentity"), std::string::npos);
}

TEST(DirectoryTest, MissingAddressIsRefused) {
  absl::StatusOr<v1::Directory> d = ParseDirectory(
      R"({"organisations": [{"orgId": "council-a", "sector": "social_care",
          "accreditation": "OFFICIAL", "gatewayIdentity": "psn://org/council-a/gateway"}]})");
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("gatewayAddress"), std::string::npos);
}

TEST(DirectoryTest, UnknownFieldIsNamed) {
  absl::StatusOr<v1::Directory> d = ParseDirectory(R"({"organizations": []})");
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("organizations"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse

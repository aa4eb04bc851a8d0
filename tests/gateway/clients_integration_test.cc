// The example clients in examples/, run as their authors run them against
// real gateways with stock TLS settings: examples/python/test_client.py with
// Debian's python3-grpcio, examples/node/test_client.mjs with @grpc/grpc-js
// from examples/node/node_modules (scripts/setup.sh installs both).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tests/gateway/gateway_harness.h"

namespace gatehouse {
namespace {

// The two arguments every client test takes after --pki: nhs-trust-a's
// gateway dialled by name, council-a's by address (the gateway
// certificates carry both).
std::string GatewayArguments(Cluster& cluster) {
  return " --sender localhost:" + std::to_string(cluster.client_port("nhs-trust-a")) +
         " --recipient 127.0.0.1:" + std::to_string(cluster.client_port("council-a"));
}

TEST(ClientsIntegrationTest, PythonClientWithStockSettingsSubmitsFetchesAcksAndReadsErrors) {
  Cluster cluster;
  // Asks often, so the clients see their records turn ACKNOWLEDGED soon.
  ASSERT_TRUE(cluster.Start("nhs-trust-a", R"("acknowledgementPollMs": 200)"));
  ASSERT_TRUE(cluster.Start("council-a"));
  const std::string command = std::string(GATEHOUSE_PYTHON) + " -B " + GATEHOUSE_SOURCE_DIR +
                              "/examples/python/test_client.py --pki " + TestPki::Get().dir() +
                              GatewayArguments(cluster) + " --directory " + cluster.dir() +
                              "/directory.signed";
  std::string out;
  EXPECT_EQ(RunCommand(command, &out), 0)
      << command << "\n" << out
      << "\n(needs python3-grpcio, python3-grpc-tools and python3-nacl: scripts/setup.sh)";
  EXPECT_NE(out.find("Ran 8 tests"), std::string::npos) << out;
  if (std::getenv("GATEHOUSE_SHOW_CLIENT_OUTPUT") != nullptr) std::fputs(out.c_str(), stderr);
}

TEST(ClientsIntegrationTest, NodeClientWithStockSettingsSubmitsFetchesAcksAndReadsErrors) {
  const std::string node = GATEHOUSE_NODE;
  const std::string client_dir = std::string(GATEHOUSE_SOURCE_DIR) + "/examples/node";
  // Missing pieces fail, never skip: CI must run this client.
  ASSERT_TRUE(node.find("NOTFOUND") == std::string::npos && !node.empty())
      << "no node or nodejs found when CMake configured: run scripts/setup.sh, then "
         "re-run cmake";
  for (const char* package : {"@grpc/grpc-js", "@grpc/proto-loader"}) {
    ASSERT_TRUE(std::filesystem::exists(client_dir + "/node_modules/" + package))
        << client_dir << "/node_modules has no " << package
        << ": run scripts/setup.sh (it runs npm ci --prefix examples/node)";
  }
  Cluster cluster;
  // Asks often, so the clients see their records turn ACKNOWLEDGED soon.
  ASSERT_TRUE(cluster.Start("nhs-trust-a", R"("acknowledgementPollMs": 200)"));
  ASSERT_TRUE(cluster.Start("council-a"));
  const std::string command = node + " " + client_dir + "/test_client.mjs --pki " +
                              TestPki::Get().dir() + GatewayArguments(cluster) +
                              " --directory " + cluster.dir() + "/directory.signed";
  std::string out;
  EXPECT_EQ(RunCommand(command, &out), 0) << command << "\n" << out;
  EXPECT_NE(out.find("7 of 7 checks passed"), std::string::npos) << out;
  if (std::getenv("GATEHOUSE_SHOW_CLIENT_OUTPUT") != nullptr) std::fputs(out.c_str(), stderr);
}

}  // namespace
}  // namespace gatehouse

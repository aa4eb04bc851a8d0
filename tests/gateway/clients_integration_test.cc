// The example clients in clients/, run as their authors run them against
// real gateways: clients/python/test_client.py with Debian's python3-grpcio
// and stock TLS settings (scripts/setup.sh installs them).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "tests/gateway/gateway_harness.h"

namespace gatehouse {
namespace {

// Runs `command`; its exit status, its output in *out.
int RunCommand(const std::string& command, std::string* out) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  return pclose(p);
}

TEST(ClientsIntegrationTest, PythonClientWithStockSettingsSubmitsFetchesAcksAndReadsErrors) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster.Start("council-a"));
  // Dialled by name and by address: the gateway certificates carry both.
  const std::string command = std::string(GATEHOUSE_PYTHON) + " -B " + GATEHOUSE_SOURCE_DIR +
                              "/clients/python/test_client.py --pki " + TestPki::Get().dir() +
                              " --sender localhost:" +
                              std::to_string(cluster.client_port("nhs-trust-a")) +
                              " --recipient 127.0.0.1:" +
                              std::to_string(cluster.client_port("council-a"));
  std::string out;
  EXPECT_EQ(RunCommand(command, &out), 0)
      << command << "\n" << out
      << "\n(needs python3-grpcio and python3-grpc-tools: scripts/setup.sh)";
  EXPECT_NE(out.find("Ran 3 tests"), std::string::npos) << out;
  if (std::getenv("GATEHOUSE_SHOW_CLIENT_OUTPUT") != nullptr) std::fputs(out.c_str(), stderr);
}

}  // namespace
}  // namespace gatehouse

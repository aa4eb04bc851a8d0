#include "tests/gateway/test_pki.h"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace gatehouse {

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "gatehouse-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  return tmpl;
}

TestPki TestPki::Make() {
  std::string dir = MakeTempDir() + "/pki";
  std::string cmd = std::string(GATEHOUSE_SOURCE_DIR) + "/certs/gen-dev-pki.sh " + dir +
                    " >/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "failed: %s\n", cmd.c_str());
    std::abort();
  }
  return TestPki(dir);
}

// ctest makes both PKIs once for the whole run (the test_pki fixture) and
// names them in the environment; a test binary run by hand makes its own.
const TestPki& TestPki::Get() {
  static const TestPki* pki = [] {
    const char* root = std::getenv("GATEHOUSE_TEST_PKI_ROOT");
    return root ? new TestPki(std::string(root) + "/main") : new TestPki(Make());
  }();
  return *pki;
}

const TestPki& TestPki::Other() {
  static const TestPki* pki = [] {
    const char* root = std::getenv("GATEHOUSE_TEST_PKI_ROOT");
    return root ? new TestPki(std::string(root) + "/other") : new TestPki(Make());
  }();
  return *pki;
}

}  // namespace gatehouse

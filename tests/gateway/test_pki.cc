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

const TestPki& TestPki::Get() {
  static const TestPki* pki = new TestPki(Make());
  return *pki;
}

const TestPki& TestPki::Other() {
  static const TestPki* pki = new TestPki(Make());
  return *pki;
}

}  // namespace gatehouse

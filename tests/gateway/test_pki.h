// A development PKI for tests, made by certs/gen-dev-pki.sh: once per ctest
// run (the test_pki fixture: $GATEHOUSE_TEST_PKI_ROOT/main and .../other),
// or once per test binary run by hand.
//
// Thread-safe after the first Get().
#ifndef GATEHOUSE_TESTS_GATEWAY_TEST_PKI_H_
#define GATEHOUSE_TESTS_GATEWAY_TEST_PKI_H_

#include <string>

namespace gatehouse {

class TestPki {
 public:
  // The PKI the tests normally use.
  static const TestPki& Get();
  // A second, unrelated PKI (its own trust anchor), for replacement tests.
  static const TestPki& Other();
  // A new PKI of the caller's own, for a test that changes it (revokes a
  // certificate); in a fresh temporary directory.
  static TestPki Fresh() { return Make(); }

  const std::string& dir() const { return dir_; }
  // dir()/relative.
  std::string Path(const std::string& relative) const { return dir_ + "/" + relative; }

 private:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}
  static TestPki Make();
  std::string dir_;
};

// A fresh empty temporary directory.
std::string MakeTempDir();

}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_GATEWAY_TEST_PKI_H_

// The gateway's own CRL check: what it refuses to start with, and that a CRL
// replaced while it runs takes effect (OpenSSL's own lookup would not).
#include "gateway/revocation.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/config.h"
#include "gtest/gtest.h"
#include "tests/gateway/test_pki.h"

namespace gatehouse {
namespace {

namespace fs = std::filesystem;

// A PKI of this test's own, since it revokes certificates.
class RevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = TestPki::Fresh().dir();
    tls_.set_ca_file(pki_ + "/ca.crt");
    tls_.set_crl_dir(pki_ + "/crl");
  }
  void TearDown() override { fs::remove_all(fs::path(pki_).parent_path()); }

  static int Run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }
  std::string Pem(const std::string& cert) { return *ReadFile(pki_ + "/" + cert + ".crt"); }
  // Revokes `cert` and replaces the CRL directory's one file with the new CRL.
  void Revoke(const std::string& cert) {
    const std::string cnf = pki_ + "/ca/openssl.cnf";
    ASSERT_EQ(Run("openssl ca -batch -config " + cnf + " -revoke " + pki_ + "/" + cert + ".crt"), 0);
    ASSERT_EQ(Run("openssl ca -batch -config " + cnf + " -gencrl -out " + pki_ + "/new.crl"), 0);
    for (const auto& e : fs::directory_iterator(tls_.crl_dir())) {
      fs::rename(pki_ + "/new.crl", e.path());  // same name, new contents
      return;
    }
  }

  std::string pki_;
  v1::TlsConfig tls_;
};

TEST_F(RevocationTest, ACrlReplacedWhileRunningTakesEffect) {
  absl::StatusOr<std::unique_ptr<Revocations>> r = Revocations::Load(tls_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE((*r)->Revoked(Pem("bad/revoked")));
  EXPECT_FALSE((*r)->Revoked(Pem("nhs-trust-a/ehr")));
  EXPECT_TRUE((*r)->Revoked("not a certificate")) << "what cannot be read is refused";
  bool changed = true;
  ASSERT_TRUE((*r)->ReloadIfChanged(&changed).ok());
  EXPECT_FALSE(changed) << "nothing changed";

  Revoke("nhs-trust-a/ehr");
  ASSERT_TRUE((*r)->ReloadIfChanged(&changed).ok());
  EXPECT_TRUE(changed);
  EXPECT_TRUE((*r)->Revoked(Pem("nhs-trust-a/ehr")));
  EXPECT_TRUE((*r)->Revoked(Pem("bad/revoked")));
  EXPECT_FALSE((*r)->Revoked(Pem("nhs-trust-a/pas")));
}

TEST_F(RevocationTest, ABadCrlOnReloadIsRefusedAndTheListsInForceStay) {
  absl::StatusOr<std::unique_ptr<Revocations>> r = Revocations::Load(tls_);
  ASSERT_TRUE(r.ok()) << r.status();
  const size_t before = (*r)->size();
  std::ofstream(tls_.crl_dir() + "/junk") << "not a CRL";
  absl::Status s = (*r)->ReloadIfChanged();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("is not a CRL"), std::string::npos) << s;
  EXPECT_EQ((*r)->size(), before);
  EXPECT_TRUE((*r)->Revoked(Pem("bad/revoked")));
  // Tried again next time: once the file is gone, all is well.
  fs::remove(tls_.crl_dir() + "/junk");
  EXPECT_TRUE((*r)->ReloadIfChanged().ok());
}

TEST_F(RevocationTest, NoCrlAForeignCrlOrAnExpiredCrlRefusesTheStart) {
  // An empty directory: revocation would be off.
  const std::string empty = pki_ + "/empty-crl";
  fs::create_directories(empty);
  v1::TlsConfig none = tls_;
  none.set_crl_dir(empty);
  absl::Status s = Revocations::Load(none).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("holds no CRL from the trust anchor"), std::string::npos) << s;
  // Another CA's CRL does not count.
  v1::TlsConfig foreign = tls_;
  foreign.set_crl_dir(TestPki::Get().Path("crl"));
  s = Revocations::Load(foreign).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("is not signed by a CA in tls.caFile"), std::string::npos) << s;
  // The dev CRL is good for 3650 days; later than that it has expired.
  s = Revocations::Load(tls_, absl::Now() + absl::Hours(24 * 4000)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("has expired"), std::string::npos) << s;
  EXPECT_EQ(Revocations::Load(v1::TlsConfig()).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gatehouse

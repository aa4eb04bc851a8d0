// The gateway's own CRL check: what it refuses to start with, and that a CRL
// replaced while it runs takes effect (OpenSSL's own lookup would not).
#include "x509/revocation.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/error_details.h"
#include "transport/call_gate.h"
#include "gateway/config.h"
#include "gateway/directory_cache.h"
#include "gateway/metrics.h"
#include "gateway/refusal_log.h"
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

// Per-call authentication (call_gate.h): a certificate revoked or expired
// after its connection was made is refused on its next call.
TEST_F(RevocationTest, CallGateRefusesACertificateRevokedAfterItWasAccepted) {
  std::shared_ptr<Revocations> r = *Revocations::Load(tls_);
  Metrics metrics;
  RefusalLog refusals(nullptr, &metrics, "nhs-trust-a");
  CallGate gate(CallGate::Port::kClient, "nhs-trust-a", r, &refusals);
  const absl::Time now = absl::Now();
  absl::StatusOr<Identity> id = gate.Check(Pem("nhs-trust-a/ehr"), now);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->uri, "psn://org/nhs-trust-a/system/ehr");

  Revoke("nhs-trust-a/ehr");
  ASSERT_TRUE(r->ReloadIfChanged().ok());
  id = gate.Check(Pem("nhs-trust-a/ehr"), now);  // the cached answer is not reused
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(id.status().message().find("revoked"), std::string::npos) << id.status();
  EXPECT_TRUE(gate.Check(Pem("nhs-trust-a/pas"), now).ok());
  EXPECT_EQ(refusals.Pending(), 1);
}

TEST_F(RevocationTest, CallGateRefusesACertificateThatExpiredWhileInUse) {
  std::shared_ptr<Revocations> r = *Revocations::Load(tls_);
  CallGate gate(CallGate::Port::kClient, "nhs-trust-a", r, nullptr);
  absl::StatusOr<CertificateFacts> facts = ReadCertificateFacts(Pem("nhs-trust-a/ehr"));
  ASSERT_TRUE(facts.ok());
  EXPECT_TRUE(gate.Check(Pem("nhs-trust-a/ehr"), facts->not_after - absl::Seconds(1)).ok());
  absl::Status s = gate.Check(Pem("nhs-trust-a/ehr"), facts->not_after + absl::Seconds(1)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("expired at"), std::string::npos) << s;
  s = gate.Check(Pem("nhs-trust-a/ehr"), facts->not_before - absl::Seconds(1)).status();
  EXPECT_NE(s.message().find("not valid until"), std::string::npos) << s;
  s = gate.Check(Pem("bad/expired"), absl::Now()).status();
  EXPECT_NE(s.message().find("expired at"), std::string::npos) << s;
}

TEST_F(RevocationTest, CallGateRefusesIdentitiesThePortDoesNotAccept) {
  std::shared_ptr<Revocations> r = *Revocations::Load(tls_);
  CallGate client(CallGate::Port::kClient, "nhs-trust-a", r, nullptr);
  CallGate peer(CallGate::Port::kPeer, "council-a", r, nullptr);
  const absl::Time now = absl::Now();
  struct Case {
    CallGate* gate;
    const char* cert;
    const char* why;
  };
  for (const Case& c : {Case{&client, "bad/nosan", "no psn:// SAN URI"},
                        Case{&client, "bad/twosans", "more than one psn:// SAN URI"},
                        Case{&client, "nhs-trust-a/gateway", "the client port is for systems"},
                        Case{&client, "council-a/care", "this gateway serves nhs-trust-a"},
                        Case{&peer, "nhs-trust-a/ehr", "the peer port is for gateways"},
                        Case{&peer, "bad/revoked", "revoked"}}) {
    absl::Status s = c.gate->Check(Pem(c.cert), now).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << c.cert;
    EXPECT_NE(s.message().find(c.why), std::string::npos) << c.cert << ": " << s;
  }
  EXPECT_EQ(client.Check("", now).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(client.Check("not a certificate", now).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(peer.Check(Pem("nhs-trust-a/gateway"), now).ok());
}

// 100,000 refused calls from one certificate are one summary line with the
// count, not 100,000 audit entries; memory stays bounded whatever the
// number of distinct callers.
TEST_F(RevocationTest, RefusalFloodIsSummarisedOnceAnInterval) {
  std::shared_ptr<Revocations> r = *Revocations::Load(tls_);
  Metrics metrics;
  RefusalLog refusals(nullptr, &metrics, "council-a");
  CallGate peer(CallGate::Port::kPeer, "council-a", r, &refusals);
  const std::string pem = Pem("nhs-trust-a/ehr");
  for (int i = 0; i < 100000; ++i) {
    ASSERT_FALSE(peer.Check(pem, absl::Now()).ok());
  }
  EXPECT_EQ(refusals.Pending(), 100000);
  EXPECT_EQ(refusals.Flush(), 1);  // one (port, caller, reason)
  EXPECT_EQ(refusals.Pending(), 0);
  for (int i = 0; i < 5000; ++i) refusals.Refused("peer", absl::StrCat("caller-", i), "why");
  EXPECT_EQ(refusals.Pending(), 5000);
  EXPECT_LE(refusals.Flush(), 1025);
}

// A certificate from another CA is refused whatever it claims, and
// certificates from other CAs count as one caller in the audit summary: a
// stranger making many of them cannot multiply the entries, nor have one
// audited under an identity it does not own.
TEST_F(RevocationTest, CertificatesFromAnotherAuthorityAreRefusedAndSummarisedAsOne) {
  std::shared_ptr<Revocations> r = *Revocations::Load(tls_);
  Metrics metrics;
  RefusalLog refusals(nullptr, &metrics, "nhs-trust-a");
  CallGate client(CallGate::Port::kClient, "nhs-trust-a", r, &refusals);
  CallGate peer(CallGate::Port::kPeer, "nhs-trust-a", r, &refusals);
  absl::StatusOr<Identity> id = client.Check(Pem("bad/untrusted"), absl::Now());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(id.status().message().find("not issued by a trusted authority"), std::string::npos)
      << id.status();
  EXPECT_EQ(ErrorInfoOf(id.status())->reason(), "CERTIFICATE_UNTRUSTED");
  EXPECT_FALSE(peer.Check(Pem("bad/untrusted-gateway"), absl::Now()).ok());
  EXPECT_FALSE(client.Check(Pem("bad/untrusted-gateway"), absl::Now()).ok());
  EXPECT_EQ(refusals.Pending(), 3);
  EXPECT_EQ(refusals.Flush(), 2);  // one caller, on each of the two ports
  // What the chain carries is never trusted itself: the rogue root sent
  // along does not make its certificate good.
  EXPECT_FALSE(r->Trusted(Pem("bad/untrusted"), Pem("bad/rogue-ca/ca")).ok());
  EXPECT_TRUE(r->Trusted(Pem("nhs-trust-a/ehr")).ok());
}

// The directory's expiry is a rule of every use, with the grace configured.
TEST(DirectoryCacheTest, ExpiredDirectoryIsNotInForceUntilANewerOneReplacesIt) {
  v1::Directory d;
  d.set_version(7);
  const absl::Time t = absl::FromUnixSeconds(1800000000);
  DirectoryCache plain(d, t);
  EXPECT_TRUE(plain.CheckInForce(t - absl::Seconds(1)).ok());
  absl::Status s = plain.CheckInForce(t);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("version 7) expired at"), std::string::npos) << s;
  DirectoryCache graced(d, t, absl::Minutes(10));
  EXPECT_TRUE(graced.CheckInForce(t + absl::Minutes(9)).ok());
  EXPECT_FALSE(graced.CheckInForce(t + absl::Minutes(10)).ok());
  d.set_version(8);
  plain.Replace(d, t + absl::Hours(1));
  EXPECT_TRUE(plain.CheckInForce(t).ok());
}

// A call decides everything against the one snapshot it took: a reload in
// the middle of it publishes a new version without changing the old one.
TEST(DirectoryCacheTest, ASnapshotTakenBeforeAReloadKeepsItsVersion) {
  v1::Directory d;
  d.set_version(1);
  v1::Organisation* o = d.add_organisations();
  o->set_org_id("council-a");
  o->set_accreditation("OFFICIAL-SENSITIVE");
  DirectoryCache cache(d);
  std::shared_ptr<const DirectorySnapshot> during = cache.Snapshot();
  d.set_version(2);
  d.mutable_organisations(0)->set_accreditation("SECRET");
  d.add_organisations()->set_org_id("police-a");
  cache.Replace(d);
  EXPECT_EQ(during->version(), 1u);
  ASSERT_NE(during->Find("council-a"), nullptr);
  EXPECT_EQ(during->Find("council-a")->accreditation(), "OFFICIAL-SENSITIVE");
  EXPECT_EQ(during->Find("police-a"), nullptr);
  EXPECT_EQ(cache.Snapshot()->version(), 2u);
  EXPECT_EQ(cache.Snapshot()->Find("council-a")->accreditation(), "SECRET");
  ASSERT_NE(cache.Snapshot()->Find("police-a"), nullptr);
}

}  // namespace
}  // namespace gatehouse

// Signed bundles: a good bundle loads; too few signatures, a duplicate
// signer, an unknown signer, a tampered payload, a lowered signature
// requirement, an expired bundle or a moved expiry each fail with a clear
// error. A bundle without an expiry still loads. Officer key files are read
// by one reader.
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "policy/bundle.h"
#include "policy/compiler.h"
#include "policy/describe.h"
#include "policy/model.h"
#include "tests/policy/test_util.h"

namespace gatehouse::policy::testing {
namespace {

gatehouse::v1::CompiledPolicy SmallPolicy() {
  Compiled c = CompileText(R"(policy "p"
classifications OFFICIAL
sectors health
record types summary
purposes care
organisation trust-a sector health accredited OFFICIAL
organisation trust-b sector health accredited OFFICIAL
permit P1 when purpose is care
)");
  EXPECT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  return ToProto(c.model);
}

// What `policyc show` lists: a defensive forbid read back from a bundle is
// marked as such (the compiled rules do not carry the marking; the source
// the bundle carries does), and an ordinary forbid and a permit are not.
TEST(PolicyBundleShow, ADefensiveForbidReadFromABundleIsMarkedDefensive) {
  Compiled c = CompileText(R"(policy "p"
classifications OFFICIAL < SECRET
sectors health
record types summary
purposes care
organisation trust-a sector health accredited OFFICIAL
organisation trust-b sector health accredited SECRET
permit P1 when purpose is care
forbid F1 when sender is trust-b and recipient is trust-a and classification is SECRET
defensive forbid F2-no-write-down
  when recipient accreditation below classification
)");
  ASSERT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  auto model = FromProto(ToProto(c.model));
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ(model->rules.size(), 3u);
  EXPECT_FALSE(model->rules[2].defensive);  // not in the compiled rules
  AttachRuleTexts(&*model);
  EXPECT_EQ(DescribeRuleKind(model->rules[0]), "permit");
  EXPECT_EQ(DescribeRuleKind(model->rules[1]), "forbid");
  EXPECT_EQ(DescribeRuleKind(model->rules[2]), "defensive forbid");
}

class PolicyBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = GenerateOfficerKey();
    bob_ = GenerateOfficerKey();
    trust_.officer_keys = {alice_.public_key, bob_.public_key};
    auto b = MakeBundle(SmallPolicy(), 2, "v1");
    ASSERT_TRUE(b.ok());
    unsigned_ = *b;
  }
  std::string SignedByBoth() {
    auto a = SignBundle(unsigned_, alice_.secret_key, "alice");
    EXPECT_TRUE(a.ok());
    auto ab = SignBundle(*a, bob_.secret_key, "bob");
    EXPECT_TRUE(ab.ok());
    return *ab;
  }
  OfficerKeyPair alice_, bob_;
  BundleTrust trust_;
  std::string unsigned_;
};

TEST_F(PolicyBundleTest, TwoOfficersSignAndTheEngineLoads) {
  const std::string b = SignedByBoth();
  auto payload = VerifyBundle(b, trust_);
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(payload->version(), "v1");
  auto engine = Engine::FromBundle(b, trust_);
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_TRUE(engine->Evaluate({"trust-a", "trust-b", "summary", "OFFICIAL", "care", "", {}}).allowed);
}

TEST_F(PolicyBundleTest, OneSignatureOfTwoRequiredIsRejected) {
  auto a = SignBundle(unsigned_, alice_.secret_key, "alice");
  ASSERT_TRUE(a.ok());
  auto v = VerifyBundle(*a, trust_);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(v.status().message().find("2 distinct signatures are required"), std::string::npos)
      << v.status();
  EXPECT_FALSE(Engine::FromBundle(*a, trust_).ok());
}

TEST_F(PolicyBundleTest, UnsignedBundleIsRejected) {
  EXPECT_EQ(VerifyBundle(unsigned_, trust_).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(PolicyBundleTest, SameOfficerSigningTwiceIsRefusedAndRejected) {
  auto a = SignBundle(unsigned_, alice_.secret_key, "alice");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(SignBundle(*a, alice_.secret_key, "alice again").status().code(),
            absl::StatusCode::kAlreadyExists);
  // Forge the duplicate by hand: copy the signature entry.
  gatehouse::v1::SignedPolicyBundle b;
  ASSERT_TRUE(b.ParseFromString(*a));
  *b.add_signatures() = b.signatures(0);
  auto v = VerifyBundle(b.SerializeAsString(), trust_);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(v.status().message().find("twice"), std::string::npos) << v.status();
}

TEST_F(PolicyBundleTest, SignatureByUntrustedKeyIsRejected) {
  const OfficerKeyPair mallory = GenerateOfficerKey();
  auto a = SignBundle(unsigned_, alice_.secret_key, "alice");
  auto am = SignBundle(*a, mallory.secret_key, "mallory");
  ASSERT_TRUE(am.ok());
  auto v = VerifyBundle(*am, trust_);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(v.status().message().find("not a trusted"), std::string::npos) << v.status();
}

TEST_F(PolicyBundleTest, TamperedPolicyIsRejected) {
  gatehouse::v1::SignedPolicyBundle b;
  ASSERT_TRUE(b.ParseFromString(SignedByBoth()));
  gatehouse::v1::PolicyBundlePayload payload;
  ASSERT_TRUE(payload.ParseFromString(b.payload()));
  gatehouse::v1::CompiledPolicy compiled;
  ASSERT_TRUE(compiled.ParseFromString(payload.compiled_policy()));
  compiled.mutable_rules(0)->set_forbid(true);  // flip a permit to forbid
  payload.set_compiled_policy(compiled.SerializeAsString());
  b.set_payload(payload.SerializeAsString());
  auto v = VerifyBundle(b.SerializeAsString(), trust_);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(v.status().message().find("altered"), std::string::npos) << v.status();
}

TEST_F(PolicyBundleTest, LoweringRequiredSignaturesBreaksSignatures) {
  auto a = SignBundle(unsigned_, alice_.secret_key, "alice");
  gatehouse::v1::SignedPolicyBundle b;
  ASSERT_TRUE(b.ParseFromString(*a));
  gatehouse::v1::PolicyBundlePayload payload;
  ASSERT_TRUE(payload.ParseFromString(b.payload()));
  payload.set_required_signatures(1);
  b.set_payload(payload.SerializeAsString());
  EXPECT_FALSE(VerifyBundle(b.SerializeAsString(), trust_).ok());
}

TEST_F(PolicyBundleTest, GatewayFloorRaisesTheRequirement) {
  auto one = MakeBundle(SmallPolicy(), 1, "v1");
  auto a = SignBundle(*one, alice_.secret_key, "alice");
  ASSERT_TRUE(VerifyBundle(*a, trust_).ok());
  BundleTrust strict = trust_;
  strict.min_signatures = 2;
  EXPECT_EQ(VerifyBundle(*a, strict).status().code(), absl::StatusCode::kUnauthenticated);
}

// Finding 8: a bundle carries a signed expiry, and an expired one is not
// loaded (by VerifyBundle, and so by Engine::FromBundle) however validly
// signed.
TEST_F(PolicyBundleTest, ExpiredBundleIsRefused) {
  const absl::Time issued = absl::FromUnixSeconds(1700000000);  // 2023-11-14
  const absl::Time not_after = issued + absl::Hours(24 * 90);
  auto b = MakeBundle(SmallPolicy(), 1, "v1", issued, not_after);
  ASSERT_TRUE(b.ok()) << b.status();
  auto a = SignBundle(*b, alice_.secret_key, "alice");
  ASSERT_TRUE(a.ok());
  auto fresh = VerifyBundle(*a, trust_, not_after - absl::Milliseconds(1));
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(BundleNotAfter(*fresh), not_after);
  for (absl::Time now : {not_after, not_after + absl::Hours(1)}) {
    auto v = VerifyBundle(*a, trust_, now);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_NE(v.status().message().find("expired at 2024-02-12T22:13:20Z"), std::string::npos) << v.status();
    EXPECT_NE(v.status().message().find("sign a fresh one"), std::string::npos) << v.status();
  }
  // Loading with the real clock: long expired.
  auto engine = Engine::FromBundle(*a, trust_);
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kUnauthenticated) << engine.status();
  // And the per-call check a gateway makes with the not_after it kept.
  EXPECT_TRUE(CheckBundleExpiry(not_after, not_after - absl::Seconds(1)).ok());
  EXPECT_EQ(CheckBundleExpiry(not_after, not_after).code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(PolicyBundleTest, TamperedExpiryBreaksTheSignature) {
  const absl::Time issued = absl::FromUnixSeconds(1800000000);
  auto b = MakeBundle(SmallPolicy(), 1, "v1", issued, issued + absl::Hours(24));
  ASSERT_TRUE(b.ok()) << b.status();
  auto a = SignBundle(*b, alice_.secret_key, "alice");
  ASSERT_TRUE(a.ok());
  const int64_t later = absl::ToUnixMillis(issued + absl::Hours(24 * 3650));
  for (int64_t forged : {later, int64_t{0}}) {  // moved, or removed
    gatehouse::v1::SignedPolicyBundle sb;
    ASSERT_TRUE(sb.ParseFromString(*a));
    gatehouse::v1::PolicyBundlePayload payload;
    ASSERT_TRUE(payload.ParseFromString(sb.payload()));
    payload.set_expires_unix_ms(forged);
    sb.set_payload(payload.SerializeAsString());
    auto v = VerifyBundle(sb.SerializeAsString(), trust_, issued + absl::Hours(1));
    EXPECT_EQ(v.status().code(), absl::StatusCode::kUnauthenticated) << forged;
    EXPECT_NE(v.status().message().find("altered"), std::string::npos) << v.status();
  }
}

TEST_F(PolicyBundleTest, BundleWithoutExpiryStillLoads) {
  // As made before bundles had an expiry: no field 5 in the payload.
  auto b = MakeBundle(SmallPolicy(), 1, "v1");
  ASSERT_TRUE(b.ok());
  gatehouse::v1::SignedPolicyBundle sb;
  ASSERT_TRUE(sb.ParseFromString(*b));
  gatehouse::v1::PolicyBundlePayload payload;
  ASSERT_TRUE(payload.ParseFromString(sb.payload()));
  EXPECT_EQ(payload.expires_unix_ms(), 0);
  payload.clear_expires_unix_ms();
  EXPECT_EQ(sb.payload(), payload.SerializeAsString());  // nothing on the wire
  auto a = SignBundle(*b, alice_.secret_key, "alice");
  ASSERT_TRUE(a.ok());
  auto v = VerifyBundle(*a, trust_, absl::Now() + absl::Hours(24 * 365 * 100));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(BundleNotAfter(*v), absl::InfiniteFuture());
  EXPECT_TRUE(CheckBundleExpiry(BundleNotAfter(*v), absl::Now()).ok());
  EXPECT_TRUE(Engine::FromBundle(*a, trust_).ok());
}

TEST_F(PolicyBundleTest, ExpiryNotAfterIssueIsRefusedWhenMade) {
  const absl::Time issued = absl::FromUnixSeconds(1800000000);
  EXPECT_EQ(MakeBundle(SmallPolicy(), 1, "v", issued, issued).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeBundle(SmallPolicy(), 1, "v", issued, issued - absl::Hours(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PolicyBundleTest, GarbageIsInvalidArgument) {
  EXPECT_EQ(VerifyBundle("\xff\xff\xff not a bundle", trust_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeBundle(SmallPolicy(), 0, "v").status().code(), absl::StatusCode::kInvalidArgument);
  // More signatures than any gateway would accept: refused when made, not
  // only when loaded.
  EXPECT_EQ(MakeBundle(SmallPolicy(), kMaxRequiredSignatures + 1, "v").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MakeBundle(SmallPolicy(), kMaxRequiredSignatures, "v").ok());
  EXPECT_EQ(SignBundle(unsigned_, "short", "x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PolicyBundleTest, SignatureWithoutASignerNameIsRefused) {
  for (const char* name : {"", "  \t"}) {
    auto s = SignBundle(unsigned_, alice_.secret_key, name);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << "'" << name << "'";
  }
}

// Issue 20, point 8: verify did not list who signed. InspectBundle reads
// every signature, good or bad, trusted or not, and the digest that is
// signed, without judging the bundle.
TEST_F(PolicyBundleTest, InspectListsEverySignerAndWhetherEachVerifies) {
  const std::string b = SignedByBoth();
  BundleTrust only_alice;
  only_alice.officer_keys = {alice_.public_key};
  auto c = InspectBundle(b, only_alice);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->signers.size(), 2u);
  EXPECT_EQ(c->signers[0].name, "alice");
  EXPECT_EQ(c->signers[0].fingerprint, KeyFingerprint(alice_.public_key));
  EXPECT_EQ(c->signers[0].public_key, alice_.public_key);
  EXPECT_TRUE(c->signers[0].verifies);
  EXPECT_TRUE(c->signers[0].trusted);
  EXPECT_EQ(c->signers[1].name, "bob");
  EXPECT_TRUE(c->signers[1].verifies);
  EXPECT_FALSE(c->signers[1].trusted);
  EXPECT_EQ(c->digest.size(), 64u);
  EXPECT_EQ(c->compiled.name(), "p");
  // A tampered payload: both signatures are reported bad, the digest moves.
  gatehouse::v1::SignedPolicyBundle tampered;
  ASSERT_TRUE(tampered.ParseFromString(b));
  gatehouse::v1::PolicyBundlePayload payload;
  ASSERT_TRUE(payload.ParseFromString(tampered.payload()));
  payload.set_version("v2");
  tampered.set_payload(payload.SerializeAsString());
  auto t = InspectBundle(tampered.SerializeAsString(), only_alice);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->signers[0].verifies);
  EXPECT_FALSE(t->signers[1].verifies);
  EXPECT_NE(t->digest, c->digest);
  EXPECT_FALSE(InspectBundle("not a bundle").ok());
}

// The one reader of officer key files (policyc, the gateway and the
// workbench): what `policyc keygen` writes is read back; anything else is
// refused with the source named and the text never quoted.
TEST(OfficerKeyFile, WhatKeygenWritesIsReadBackInEitherCase) {
  const OfficerKeyPair k = GenerateOfficerKey();
  const std::string hex = absl::BytesToHexString(k.public_key);
  auto lower = ParseOfficerPublicKey(hex + "\n", "alice.pub");
  ASSERT_TRUE(lower.ok()) << lower.status();
  EXPECT_EQ(*lower, k.public_key);
  auto upper = ParseOfficerPublicKey("  " + absl::AsciiStrToUpper(hex) + "\r\n", "alice.pub");
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_EQ(*upper, k.public_key);
  auto secret = ParseOfficerSecretKey(absl::BytesToHexString(k.secret_key) + "\n", "alice.key");
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, k.secret_key);
}

TEST(OfficerKeyFile, ShortOddNonHexOrTheOtherKeyIsRefusedNamingTheSource) {
  const OfficerKeyPair k = GenerateOfficerKey();
  const std::string pub = absl::BytesToHexString(k.public_key);
  const std::string sec = absl::BytesToHexString(k.secret_key);
  for (const std::string& bad :
       {std::string(), pub.substr(0, 62), pub.substr(0, 63), pub + "0", pub + "00",
        "zz" + pub.substr(2), pub.substr(0, 32) + " " + pub.substr(32), sec}) {
    auto key = ParseOfficerPublicKey(bad, "keys/alice.pub");
    ASSERT_FALSE(key.ok()) << "accepted '" << bad << "'";
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(key.status().message(),
              "keys/alice.pub is not an officer's public key from policyc keygen (64 hex digits)");
  }
  // A public key where the secret one belongs (the wrong file to --key).
  auto secret = ParseOfficerSecretKey(pub, "alice.key");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().message(),
            "alice.key is not an officer's secret key from policyc keygen (128 hex digits)");
}

}  // namespace
}  // namespace gatehouse::policy::testing

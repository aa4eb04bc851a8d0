// Signing here (approval.h SignHere, /api/approve/sign): officers whose
// sealed keys the workbench was started with sign by passphrase on the
// page, without the command line. Two of them make a bundle a gateway's
// trust accepts; a wrong passphrase, an officer without a sealed key here,
// an unknown officer and a second signature each sign nothing; guessing
// locks the key. Sealed keys that fit no officer are refused at start.
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "policy/bundle.h"
#include "policy/sealed_key.h"
#include "tools/workbench/api_test_util.h"
#include "tools/workbench/approval.h"
#include "tools/workbench/json_body.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

using testing::Field;
using testing::Parsed;

constexpr char kAlicePass[] = "alice's long passphrase";
constexpr char kBobPass[] = "bob's other passphrase";

std::string Hex(const policy::OfficerKeyPair& k) {
  return absl::BytesToHexString(k.public_key) + "\n";
}

// alice, bob and carol, two of whom must sign; alice's and bob's sealed
// keys are here, carol signs with policyc only.
struct SealedBoard {
  policy::OfficerKeyPair alice = policy::GenerateOfficerKey();
  policy::OfficerKeyPair bob = policy::GenerateOfficerKey();
  policy::OfficerKeyPair carol = policy::GenerateOfficerKey();
  Officers officers = *MakeOfficers({"alice.pub", "bob.pub", "carol.pub"},
                                    {Hex(alice), Hex(bob), Hex(carol)}, 2);
  SealedBoard() {
    const absl::Status s = AddSealedKeys(
        {"alice.sealed", "bob.sealed"},
        {*policy::SealOfficerKey(alice.secret_key, kAlicePass),
         *policy::SealOfficerKey(bob.secret_key, kBobPass)},
        &officers);
    EXPECT_TRUE(s.ok()) << s;
  }
};

std::string BundleOf(const ApiAnswer& a) {
  std::string bytes;
  EXPECT_TRUE(absl::Base64Unescape(Field(Parsed(a), "bundle").string_value(), &bytes)) << a.json;
  return bytes;
}

ApiAnswer Sign(const Api& api, const std::string& collected, const std::string& officer,
               const std::string& passphrase) {
  return api.Handle("/api/approve/sign",
                    ToJson(Object({{"bundle", Str(absl::Base64Escape(collected))},
                                   {"officer", Str(officer)},
                                   {"passphrase", Str(passphrase)}})));
}

class WorkbenchSignHere : public ::testing::Test {
 protected:
  void SetUp() override {
    const ApiAnswer a = api_.Handle(
        "/api/approve/compile",
        ToJson(Object({{"source", Str(testing::Example("northshire.ghp"))},
                       {"version", Str("2026-12.2")}})));
    ASSERT_EQ(a.http_status, 200) << a.json;
    unsigned_ = BundleOf(a);
    const auto review = Parsed(a);
    const auto& officers = Field(review, "officers").list_value().values();
    ASSERT_EQ(officers.size(), 3);
    EXPECT_TRUE(Field(officers[0].struct_value(), "sign_here").bool_value());   // alice
    EXPECT_TRUE(Field(officers[1].struct_value(), "sign_here").bool_value());   // bob
    EXPECT_FALSE(Field(officers[2].struct_value(), "sign_here").bool_value());  // carol
  }
  SealedBoard board_;
  Api api_ = *Api::Create("", board_.officers);
  std::string unsigned_;
};

TEST_F(WorkbenchSignHere, TwoOfficersByPassphraseMakeABundleTheGatewayTrustAccepts) {
  const ApiAnswer one = Sign(api_, unsigned_, "alice", kAlicePass);
  ASSERT_EQ(one.http_status, 200) << one.json;
  const auto first = Parsed(one);
  EXPECT_EQ(Field(first, "signed").number_value(), 1);
  EXPECT_FALSE(Field(first, "ready").bool_value());
  const ApiAnswer two = Sign(api_, BundleOf(one), "bob", kBobPass);
  ASSERT_EQ(two.http_status, 200) << two.json;
  EXPECT_TRUE(Field(Parsed(two), "ready").bool_value()) << two.json;
  policy::BundleTrust trust;  // a gateway's: the two .pub files, a floor of 2
  trust.officer_keys = {board_.alice.public_key, board_.bob.public_key};
  trust.min_signatures = 2;
  EXPECT_TRUE(policy::VerifyBundle(BundleOf(two), trust).ok());
  EXPECT_FALSE(absl::StrContains(two.json, kAlicePass));
}

TEST_F(WorkbenchSignHere, WrongPassphraseNoSealedKeyUnknownOrSignedAlreadySignNothing) {
  const ApiAnswer wrong = Sign(api_, unsigned_, "alice", kBobPass);
  EXPECT_EQ(wrong.http_status, 403);
  EXPECT_TRUE(absl::StrContains(wrong.json, "passphrase is not the one")) << wrong.json;
  EXPECT_FALSE(absl::StrContains(wrong.json, "\"bundle\"")) << wrong.json;
  const ApiAnswer carol = Sign(api_, unsigned_, "carol", "carol's passphrase");
  EXPECT_EQ(carol.http_status, 400);
  EXPECT_TRUE(absl::StrContains(carol.json, "sign with policyc")) << carol.json;
  EXPECT_EQ(Sign(api_, unsigned_, "mallory", kAlicePass).http_status, 404);
  const ApiAnswer once = Sign(api_, unsigned_, "alice", kAlicePass);
  ASSERT_EQ(once.http_status, 200) << once.json;  // the wrong one before did not lock
  const ApiAnswer twice = Sign(api_, BundleOf(once), "alice", kAlicePass);
  EXPECT_EQ(twice.http_status, 409) << twice.json;
  const ApiAnswer garbage = api_.Handle(
      "/api/approve/sign", ToJson(Object({{"bundle", Str("bm90IGEgYnVuZGxl")},
                                          {"officer", Str("alice")},
                                          {"passphrase", Str(kAlicePass)}})));
  EXPECT_EQ(garbage.http_status, 400) << garbage.json;
}

TEST_F(WorkbenchSignHere, GuessingLocksThatOfficersKeyAndNoOneElses) {
  for (int i = 0; i < kMaxWrongPassphrases; ++i) {
    EXPECT_EQ(Sign(api_, unsigned_, "alice", "guess number " + std::to_string(i)).http_status,
              403);
  }
  const ApiAnswer locked = Sign(api_, unsigned_, "alice", kAlicePass);
  EXPECT_EQ(locked.http_status, 403);
  EXPECT_TRUE(absl::StrContains(locked.json, "locked")) << locked.json;
  EXPECT_EQ(Sign(api_, unsigned_, "bob", kBobPass).http_status, 200);
}

TEST(WorkbenchSealedKeys, AKeyOfNoOfficerASecondKeyOrAMalformedFileIsRefusedAndNothingAdded) {
  SealedBoard board;
  const policy::OfficerKeyPair stranger = policy::GenerateOfficerKey();
  Officers officers = *MakeOfficers({"carol.pub"}, {Hex(board.carol)}, 1);
  absl::Status s = AddSealedKeys(
      {"carol.sealed", "stranger.sealed"},
      {*policy::SealOfficerKey(board.carol.secret_key, kAlicePass),
       *policy::SealOfficerKey(stranger.secret_key, kAlicePass)},
      &officers);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "stranger.sealed")) << s;
  EXPECT_EQ(officers.keys[0].sealed, nullptr);  // carol's, before it, not kept either
  const std::string carol = *policy::SealOfficerKey(board.carol.secret_key, kAlicePass);
  s = AddSealedKeys({"a.sealed", "b.sealed"}, {carol, carol}, &officers);
  EXPECT_TRUE(absl::StrContains(s.message(), "second sealed key of officer carol")) << s;
  s = AddSealedKeys({"c.sealed"}, {Hex(board.carol)}, &officers);
  EXPECT_TRUE(absl::StrContains(s.message(), "c.sealed is not a sealed officer key")) << s;
  EXPECT_EQ(officers.keys[0].sealed, nullptr);
  EXPECT_TRUE(AddSealedKeys({"carol.sealed"}, {carol}, &officers).ok());
  EXPECT_NE(officers.keys[0].sealed, nullptr);
}

}  // namespace
}  // namespace gatehouse::workbench

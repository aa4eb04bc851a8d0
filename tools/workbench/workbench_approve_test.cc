// Approve through the API (approval.h, /api/approve/*): officers' keys made
// here, each officer signing as `policyc sign` does (policy::SignBundle) on
// "their own machine", the workbench only merging and checking. Every
// refusal leaves the bundle being collected as it was.
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "policy/bundle.h"
#include "policy/engine.h"
#include "tools/workbench/api_test_util.h"
#include "tools/workbench/approval.h"
#include "tools/workbench/json_body.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

using testing::Field;
using testing::Parsed;

std::string Northshire() { return testing::Example("northshire.ghp"); }


struct Board {
  policy::OfficerKeyPair alice = policy::GenerateOfficerKey();
  policy::OfficerKeyPair bob = policy::GenerateOfficerKey();
  policy::OfficerKeyPair carol = policy::GenerateOfficerKey();
  // Two of alice, bob and carol must sign.
  Officers Two() const {
    return *MakeOfficers({"keys/alice.pub", "keys/bob.pub", "keys/carol.pub"},
                         {Hex(alice), Hex(bob), Hex(carol)}, 2);
  }
  static std::string Hex(const policy::OfficerKeyPair& k) {
    return absl::BytesToHexString(k.public_key) + "\n";
  }
};

std::string BundleOf(const ApiAnswer& a) {
  std::string bytes;
  EXPECT_TRUE(absl::Base64Unescape(Field(Parsed(a), "bundle").string_value(), &bytes)) << a.json;
  return bytes;
}

ApiAnswer Compile(const Api& api, const std::string& source) {
  return api.Handle("/api/approve/compile",
                    ToJson(Object({{"source", Str(source)}, {"version", Str("2026-12.1")},
                                   {"valid_days", Str("90")}})));
}

ApiAnswer Add(const Api& api, const std::string& collected, const std::string& signed_copy) {
  return api.Handle("/api/approve/add",
                    ToJson(Object({{"bundle", Str(absl::Base64Escape(collected))},
                                   {"signed", Str(absl::Base64Escape(signed_copy))}})));
}

// What an officer does on their own machine: policyc sign.
std::string SignedBy(const std::string& bundle, const policy::OfficerKeyPair& k,
                     const std::string& name) {
  auto s = policy::SignBundle(bundle, k.secret_key, name);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : "";
}

class WorkbenchApprove : public ::testing::Test {
 protected:
  Board board_;
  Api api_ = *Api::Create("", board_.Two());
};

TEST_F(WorkbenchApprove, CompileShowsWhatWillBeSignedAndThatNobodyHasSigned) {
  const ApiAnswer a = Compile(api_, Northshire());
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto r = Parsed(a);
  EXPECT_EQ(Field(r, "version").string_value(), "2026-12.1");
  EXPECT_EQ(Field(r, "required").number_value(), 2);
  EXPECT_EQ(Field(r, "signed").number_value(), 0);
  EXPECT_FALSE(Field(r, "ready").bool_value());
  EXPECT_EQ(Field(r, "digest").string_value().size(), 64u);
  EXPECT_EQ(Field(r, "rules").list_value().values_size(), 7);
  EXPECT_NE(Field(r, "expires").string_value(), "never");
  const auto& officers = Field(r, "officers").list_value();
  ASSERT_EQ(officers.values_size(), 3);
  EXPECT_EQ(Field(officers.values(0).struct_value(), "name").string_value(), "alice");
  // What is signed is what the library reads back: the same digest.
  auto contents = policy::InspectBundle(BundleOf(a));
  ASSERT_TRUE(contents.ok());
  EXPECT_EQ(contents->digest, Field(r, "digest").string_value());
  EXPECT_EQ(contents->payload.required_signatures(), 2u);
}

TEST_F(WorkbenchApprove, TwoOfficersSigningMakeItReadyAndAGatewayEngineLoadsIt) {
  const std::string unsigned_bundle = BundleOf(Compile(api_, Northshire()));
  const ApiAnswer one = Add(api_, unsigned_bundle, SignedBy(unsigned_bundle, board_.alice, "Alice"));
  ASSERT_EQ(one.http_status, 200) << one.json;
  EXPECT_EQ(Field(Parsed(one), "signed").number_value(), 1);
  EXPECT_FALSE(Field(Parsed(one), "ready").bool_value());
  EXPECT_TRUE(absl::StrContains(Field(Parsed(one), "not_ready").string_value(), "2 distinct"));
  // Bob signs the unsigned copy too; his signature is merged in.
  const ApiAnswer two = Add(api_, BundleOf(one), SignedBy(unsigned_bundle, board_.bob, "Bob"));
  ASSERT_EQ(two.http_status, 200) << two.json;
  const auto r = Parsed(two);
  EXPECT_EQ(Field(r, "signed").number_value(), 2);
  EXPECT_TRUE(Field(r, "ready").bool_value()) << two.json;
  EXPECT_EQ(Field(Field(r, "officers").list_value().values(1).struct_value(), "signed_as").string_value(),
            "Bob");
  // The gateway's check: the same officer keys, a floor of two.
  policy::BundleTrust trust;
  trust.officer_keys = {board_.alice.public_key, board_.bob.public_key, board_.carol.public_key};
  trust.min_signatures = 2;
  EXPECT_TRUE(policy::Engine::FromBundle(BundleOf(two), trust).ok());
}

TEST_F(WorkbenchApprove, ASignatureByAnUnknownKeyIsRefusedAndNothingAdded) {
  const std::string b = BundleOf(Compile(api_, Northshire()));
  const policy::OfficerKeyPair mallory = policy::GenerateOfficerKey();
  const ApiAnswer a = Add(api_, b, SignedBy(b, mallory, "alice"));
  EXPECT_EQ(a.http_status, 403) << a.json;
  EXPECT_TRUE(absl::StrContains(a.json, "not by an officer")) << a.json;
  EXPECT_TRUE(absl::StrContains(a.json, "nothing was added")) << a.json;
}

TEST_F(WorkbenchApprove, ASignatureOverAnotherBundleIsRefused) {
  const std::string b = BundleOf(Compile(api_, Northshire()));
  // Another compile of the same text: another issue time, other bytes.
  absl::SleepFor(absl::Milliseconds(2));
  const std::string other = BundleOf(Compile(api_, Northshire()));
  ASSERT_NE(b, other);
  const ApiAnswer a = Add(api_, b, SignedBy(other, board_.alice, "Alice"));
  EXPECT_EQ(a.http_status, 400) << a.json;
  EXPECT_TRUE(absl::StrContains(a.json, "different bundle")) << a.json;
}

TEST_F(WorkbenchApprove, ASignatureAlteredAfterSigningIsRefused) {
  const std::string b = BundleOf(Compile(api_, Northshire()));
  std::string forged = SignedBy(b, board_.alice, "Alice");
  forged[forged.size() - 10] ^= 1;  // inside the signature, before the name
  const ApiAnswer a = Add(api_, b, forged);
  EXPECT_EQ(a.http_status, 403) << a.json;
  EXPECT_TRUE(absl::StrContains(a.json, "does not verify")) << a.json;
}

TEST_F(WorkbenchApprove, TheSameOfficerTwiceIsCountedOnce) {
  const std::string b = BundleOf(Compile(api_, Northshire()));
  const ApiAnswer one = Add(api_, b, SignedBy(b, board_.alice, "Alice"));
  ASSERT_EQ(one.http_status, 200) << one.json;
  // The same file again, and alice signing again under another name.
  const ApiAnswer again = Add(api_, BundleOf(one), SignedBy(b, board_.alice, "Alice"));
  EXPECT_EQ(again.http_status, 409) << again.json;
  EXPECT_TRUE(absl::StrContains(again.json, "alice had already signed; counted once"));
  const ApiAnswer renamed = Add(api_, BundleOf(one), SignedBy(b, board_.alice, "Bob"));
  EXPECT_EQ(renamed.http_status, 409) << renamed.json;
  const ApiAnswer review = api_.Handle(
      "/api/approve/review", ToJson(Object({{"bundle", Str(absl::Base64Escape(BundleOf(one)))}})));
  EXPECT_EQ(Field(Parsed(review), "signed").number_value(), 1);
  EXPECT_FALSE(Field(Parsed(review), "ready").bool_value());
}

TEST_F(WorkbenchApprove, ADraftWithAnErrorIsNotCompiled) {
  const ApiAnswer a = Compile(api_, "policy broken\npermit x when sender sector is nowhere\n");
  EXPECT_EQ(a.http_status, 400) << a.json;
  EXPECT_TRUE(absl::StrContains(a.json, "draft.ghp:")) << a.json;
}

TEST_F(WorkbenchApprove, NotABundleIsRefused) {
  const ApiAnswer a = api_.Handle("/api/approve/review",
                                  ToJson(Object({{"bundle", Str("not base64!")}})));
  EXPECT_EQ(a.http_status, 400) << a.json;
  const ApiAnswer b = api_.Handle("/api/approve/add",
      ToJson(Object({{"bundle", Str(absl::Base64Escape("junk"))},
                     {"signed", Str(absl::Base64Escape("junk"))}})));
  EXPECT_EQ(b.http_status, 400) << b.json;
}

TEST(WorkbenchOfficers, MoreRequiredThanOfficersIsRefused) {
  const Board board;
  auto o = MakeOfficers({"alice.pub"}, {Board::Hex(board.alice)}, 2);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WorkbenchOfficers, TheSameKeyUnderTwoNamesIsRefused) {
  const Board board;
  auto o = MakeOfficers({"alice.pub", "bob.pub"},
                        {Board::Hex(board.alice), Board::Hex(board.alice)}, 1);
  EXPECT_TRUE(absl::StrContains(o.status().message(), "same key as alice")) << o.status();
}

TEST(WorkbenchOfficers, ASecretKeyFileIsNotAPublicKey) {
  const Board board;
  auto o = MakeOfficers({"alice.key"}, {absl::BytesToHexString(board.alice.secret_key)}, 1);
  EXPECT_TRUE(absl::StrContains(o.status().message(), "alice.key is not")) << o.status();
}

}  // namespace
}  // namespace gatehouse::workbench

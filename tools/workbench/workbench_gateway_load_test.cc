// The bundle two officers approve in the workbench is one a gateway loads:
// the gateway's own PolicyHolder reads it from a file, trusting the
// officers' .pub files with the police profile's floor of two signatures,
// and enforces it. A separate binary, so that workbench_test does not link
// the gateway.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gatehouse/v1/config.pb.h"
#include "gateway/policy_holder.h"
#include "gtest/gtest.h"
#include "policy/bundle.h"
#include "tools/workbench/api_test_util.h"
#include "tools/workbench/json_body.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The "bundle" of an API answer, decoded.
std::string BundleOf(const ApiAnswer& a) {
  auto v = FromJson(a.json);
  std::string bytes;
  if (v.ok()) {
    absl::Base64Unescape(v->struct_value().fields().at("bundle").string_value(), &bytes);
  }
  return bytes;
}

TEST(WorkbenchGateway, ABundleTwoOfficersApprovedIsLoadedAndEnforcedByTheGateway) {
  char tmpl[] = "/tmp/workbench-gateway-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const policy::OfficerKeyPair alice = policy::GenerateOfficerKey();
  const policy::OfficerKeyPair bob = policy::GenerateOfficerKey();
  Write(dir + "/alice.pub", absl::BytesToHexString(alice.public_key) + "\n");
  Write(dir + "/bob.pub", absl::BytesToHexString(bob.public_key) + "\n");
  auto officers = MakeOfficers({dir + "/alice.pub", dir + "/bob.pub"},
                               {Read(dir + "/alice.pub"), Read(dir + "/bob.pub")}, 2);
  ASSERT_TRUE(officers.ok()) << officers.status();
  const Api api = *Api::Create("", *officers);

  const std::string source = testing::Example("northshire.ghp");
  const std::string b = BundleOf(api.Handle(
      "/api/approve/compile", ToJson(Object({{"source", Str(source)}, {"version", Str("v1")}}))));
  ASSERT_FALSE(b.empty());
  auto add = [&](const std::string& collected, const policy::OfficerKeyPair& k,
                 const std::string& name) {
    return BundleOf(api.Handle("/api/approve/add",
        ToJson(Object({{"bundle", Str(absl::Base64Escape(collected))},
                       {"signed", Str(absl::Base64Escape(
                                      *policy::SignBundle(b, k.secret_key, name)))}}))));
  };
  const std::string approved = add(add(b, alice, "alice"), bob, "bob");
  Write(dir + "/policy.bundle", approved);

  v1::PolicyConfig config;
  config.set_bundle_file(dir + "/policy.bundle");
  config.add_officer_key_files(dir + "/alice.pub");
  config.add_officer_key_files(dir + "/bob.pub");
  config.set_min_signatures(2);
  auto holder = PolicyHolder::Load(config);
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ((*holder)->live()->version, "v1");
  const absl::string_view caveats[] = {"PERSONAL"};
  policy::Request req;
  req.sender = "nhs-trust-a";
  req.recipient = "council-a";
  req.record_type = "discharge_summary";
  req.classification = "OFFICIAL-SENSITIVE";
  req.purpose = "direct_care";
  req.caveats = caveats;
  EXPECT_TRUE((*holder)->Decide(req).live.allowed);

  // One signature is not enough for this gateway.
  Write(dir + "/policy.bundle", add(b, alice, "alice"));
  EXPECT_EQ(PolicyHolder::Load(config).status().code(), absl::StatusCode::kUnauthenticated);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gatehouse::workbench

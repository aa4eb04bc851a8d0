// Checks every JSON vector under tests/testdata/envelope/ (written by
// tools/envelope_vectors): each input must give exactly the expected status,
// and the valid ones the expected payload or directory. One test per file,
// named after it.
#include <sodium.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "envelope/opener.h"
#include "envelope/signed_directory.h"
#include "envelope/stream.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/envelope/vector_keys.h"

namespace gatehouse::envelope {
namespace {

std::vector<std::string> VectorFiles() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(GATEHOUSE_ENVELOPE_TESTDATA, ec)) {
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Unhex(const std::string& hex) {
  std::string out(hex.size() / 2, '\0');
  size_t len = 0;
  sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(), hex.size(),
                 nullptr, &len, nullptr);
  out.resize(len);
  return out;
}

class VectorTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Field(const std::string& name) const {
    auto it = json_.fields().find(name);
    return it == json_.fields().end() ? "" : it->second.string_value();
  }
  google::protobuf::Struct json_;
};

TEST(VectorFilesTest, AllVectorsArePresent) { EXPECT_GE(VectorFiles().size(), 29u); }

TEST_P(VectorTest, GivesExpectedStatus) {
  std::ifstream in(std::string(GATEHOUSE_ENVELOPE_TESTDATA) + "/" + GetParam() + ".json");
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text.str(), &json_).ok());
  const std::string kind = Field("kind");
  const std::string input = Unhex(Field("input_hex"));
  const std::string expected = Field("expected_status");
  ASSERT_FALSE(input.empty());
  ASSERT_FALSE(Field("description").empty());

  auto health = std::make_shared<Keyset>(*testing::VectorKeyset("nhs-trust-a"));
  auto council = std::make_shared<Keyset>(*testing::VectorKeyset("council-a"));
  const std::string sender = Field("sender_org"), recipient = Field("recipient_org");
  const ExpectedParties parties{sender, recipient};
  absl::Status status;
  std::string output;
  if (kind == "envelope") {
    auto r = (*Opener::Create(council))->Open(input, parties, health->VerifyingKeys());
    status = r.status();
    if (r.ok()) output = r->payload;
  } else if (kind == "stream") {
    StringSource source(input);
    StringSink sink;
    status = (*StreamOpener::Create(council))->Open(&source, parties, health->VerifyingKeys(), &sink).status();
    output = sink.contents();
  } else if (kind == "signed_directory") {
    const Keyset authority = *testing::VectorKeyset(Field("trusted_authority"), false);
    int64_t now_ms = 0;
    ASSERT_TRUE(absl::SimpleAtoi(Field("now_unix_ms"), &now_ms));
    auto d = VerifySignedDirectory(input, authority.VerifyingKeys(), absl::FromUnixMillis(now_ms));
    status = d.status();
    if (d.ok()) output = d->SerializeAsString();
  } else {
    FAIL() << "unknown kind " << kind;
  }
  EXPECT_EQ(absl::StatusCodeToString(status.code()), expected) << status;
  if (expected == "OK") {
    const std::string want = Unhex(Field(kind == "signed_directory" ? "expected_directory_hex" : "expected_payload_hex"));
    EXPECT_EQ(output, want);
  } else {
    EXPECT_EQ(output, "") << "a refused input returned content";
  }
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Vectors, VectorTest, ::testing::ValuesIn(VectorFiles()), TestName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(VectorTest);

}  // namespace
}  // namespace gatehouse::envelope

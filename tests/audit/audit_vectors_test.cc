// Runs the language-neutral proof vectors in tests/testdata/audit/{inclusion,
// consistency}/*.json (written by `auditctl vectors`). Each file names the
// attack it represents, says whether a correct verifier accepts it and, if
// not, which status code it returns.
#include <filesystem>
#include <vector>

#include "absl/status/status.h"
#include "gatehouse/v1/audit.pb.h"
#include "audit/merkle_verifier.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/audit/audit_test_util.h"

namespace gatehouse::audit {
namespace {

std::vector<Hash> Hashes(const google::protobuf::RepeatedPtrField<std::string>& in) {
  std::vector<Hash> out;
  for (const std::string& s : in) {
    Hash h{};
    if (!HashFromBytes(s, &h)) ADD_FAILURE() << "proof hash is not 32 bytes";
    out.push_back(h);
  }
  return out;
}

Hash One(const std::string& s) {
  Hash h{};
  EXPECT_TRUE(HashFromBytes(s, &h)) << "hash is not 32 bytes";
  return h;
}

TEST(AuditVectorsTest, EveryVectorGivesTheExpectedVerdict) {
  int count = 0, invalid = 0;
  for (const char* kind : {"inclusion", "consistency"}) {
    const std::filesystem::path dir = std::filesystem::path(GATEHOUSE_AUDIT_TESTDATA) / kind;
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      if (f.path().extension() != ".json") continue;
      SCOPED_TRACE(f.path().filename().string());
      gatehouse::v1::AuditProofVector v;
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(testing::ReadFile(f.path()), &v).ok());
      EXPECT_FALSE(v.description().empty());
      ASSERT_EQ(v.kind(), kind);
      absl::Status s = v.kind() == "inclusion"
                           ? VerifyInclusion(v.leaf_index(), v.size1(), One(v.leaf_hash()),
                                             Hashes(v.hashes()), One(v.root1()))
                           : VerifyConsistency(v.size1(), v.size2(), One(v.root1()),
                                               One(v.root2()), Hashes(v.hashes()));
      EXPECT_EQ(s.ok(), v.want_valid()) << s;
      if (!v.want_valid()) {
        EXPECT_EQ(absl::StatusCodeToString(s.code()), v.want_error()) << s;
        ++invalid;
      }
      ++count;
    }
  }
  EXPECT_GE(count, 20);
  EXPECT_GE(invalid, 15);
}

}  // namespace
}  // namespace gatehouse::audit

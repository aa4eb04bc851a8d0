#include "gateway/redaction.h"

#include "gtest/gtest.h"

namespace gatehouse {
namespace {

std::string Redact(absl::string_view json, const std::vector<std::string>& fields,
                   int* removed = nullptr) {
  absl::StatusOr<Redacted> r = RedactJson(json, fields);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return "<error>";
  if (removed) *removed = r->removed;
  return r->json;
}

TEST(RedactionTest, RemovesANameAtAnyDepth) {
  int removed = 0;
  EXPECT_EQ(Redact(R"({"a": 1, "address": "x", "b": {"address": [1, 2], "c": 3}})",
                   {"address"}, &removed),
            R"({"a":1,"b":{"c":3}})");
  EXPECT_EQ(removed, 2);
}

TEST(RedactionTest, DottedPathMatchesOnlyFromTheRoot) {
  EXPECT_EQ(Redact(R"({"subject": {"reference": "Patient/1", "display": "J"},
                      "other": {"reference": "keep"}})",
                   {"subject.reference"}),
            R"({"subject":{"display":"J"},"other":{"reference":"keep"}})");
}

TEST(RedactionTest, ArraysAreTransparentInPaths) {
  EXPECT_EQ(Redact(R"({"contact": [{"name": "a", "telecom": 1}, {"telecom": 2}]})",
                   {"contact.telecom"}),
            R"({"contact":[{"name":"a"},{}]})");
}

TEST(RedactionTest, FhirPatientLosesAddressAndTelecom) {
  const char* patient = R"({
    "resourceType": "Patient", "id": "943",
    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
    "name": [{"family": "Smith", "given": ["Jo"]}],
    "telecom": [{"system": "phone", "value": "0113 496 0000"}],
    "address": [{"line": ["1 High St"], "postalCode": "LS1 1AA"}]
  })";
  std::string out = Redact(patient, {"telecom", "address"});
  EXPECT_EQ(out.find("0113"), std::string::npos);
  EXPECT_EQ(out.find("LS1"), std::string::npos);
  EXPECT_NE(out.find("\"resourceType\":\"Patient\""), std::string::npos);
  EXPECT_NE(out.find("9434765919"), std::string::npos);
}

TEST(RedactionTest, NumbersAndStringsAreCopiedExactly) {
  EXPECT_EQ(Redact(R"({"n": 12345678901234567890.000100, "s": "caf\u00e9 \"q\"", "e": -1E+5})",
                   {"zzz"}),
            R"({"n":12345678901234567890.000100,"s":"caf\u00e9 \"q\"","e":-1E+5})");
}

TEST(RedactionTest, EscapedKeyIsMatchedByItsValue) {
  EXPECT_EQ(Redact(R"({"addr\"ess": 1, "a\/b": 2})", {"a/b"}), R"({"addr\"ess":1})");
}

TEST(RedactionTest, NothingToRemoveIsFine) {
  int removed = -1;
  EXPECT_EQ(Redact("[1, 2, {}]", {"x"}, &removed), "[1,2,{}]");
  EXPECT_EQ(removed, 0);
}

TEST(RedactionTest, NotJsonFailsClosed) {
  for (const char* bad : {"", "plain text", "{\"a\": }", "{\"a\" 1}", "[1,]", "{\"a\": 1} x",
                          "\"unterminated", "{\"a\": tru}", "01", "1.", "{\"a\":\"\x01\"}",
                          "{\"a\": \"\\x\"}"}) {
    absl::StatusOr<Redacted> r = RedactJson(bad, {"a"});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << bad;
  }
}

TEST(RedactionTest, DeepNestingFailsClosed) {
  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  EXPECT_EQ(RedactJson(deep, {"a"}).status().code(), absl::StatusCode::kFailedPrecondition);
  std::string ok(kMaxJsonDepth, '[');
  ok += std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(RedactJson(ok, {"a"}).ok());
}

}  // namespace
}  // namespace gatehouse

#include "gateway/record/redaction.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/json_oracle.h"

namespace gatehouse {
namespace {

using ::testing::HasSubstr;

// Every field a policy in policy/examples/*.ghp redacts
// (national-baseline.ghp, northshire.ghp, local-leeds-care.ghp).
const std::vector<std::string> kPolicyFields = {"nhs_number_history", "gp_free_text",
                                                "ward_notes"};

std::string Redact(absl::string_view json, const std::vector<std::string>& fields,
                   int* removed = nullptr) {
  absl::StatusOr<Redacted> r = RedactJson(json, fields);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return "<error>";
  if (removed) *removed = r->removed;
  return r->json;
}

// Redacts `json` and checks the exact output and count, and that the
// reference reader in json_oracle.h agrees on both.
void ExpectRedacted(const std::string& json, const std::vector<std::string>& fields,
                    const std::string& want, int want_removed) {
  SCOPED_TRACE(json);
  int removed = -1;
  EXPECT_EQ(Redact(json, fields, &removed), want);
  EXPECT_EQ(removed, want_removed);
  json_oracle::Parsed in = json_oracle::Parse(json);
  json_oracle::Parsed out = json_oracle::Parse(want);
  ASSERT_TRUE(in.ok) << in.why;
  ASSERT_TRUE(out.ok) << out.why;
  int oracle_removed = 0;
  EXPECT_TRUE(json_oracle::Without(in.value, fields, &oracle_removed) == out.value);
  EXPECT_EQ(oracle_removed, want_removed);
}

// Checks `json` is refused with PermissionDenied, a message naming `problem`
// and the byte offset `at`, and no document.
void ExpectRefused(absl::string_view json, absl::string_view problem, size_t at) {
  SCOPED_TRACE(absl::CHexEscape(json));
  absl::StatusOr<Redacted> r = RedactJson(json, {"a", "gp_free_text"});
  ASSERT_FALSE(r.ok()) << "returned " << r->json;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr(problem));
  EXPECT_THAT(r.status().message(), HasSubstr(absl::StrCat(" at byte ", at)));
  EXPECT_FALSE(json_oracle::Parse(std::string(json)).ok) << "the reference reader accepts it";
}

// `name` with its characters written as \uXXXX escapes: each one alone, all
// of them, in lower- and upper-case hex.
std::vector<std::string> EscapeSpellings(const std::string& name) {
  std::set<std::string> out;
  for (bool upper : {false, true}) {
    auto escape = [upper](char c) {
      return upper ? absl::StrFormat("\\u%04X", static_cast<int>(c))
                   : absl::StrFormat("\\u%04x", static_cast<int>(c));
    };
    std::string all;
    for (size_t i = 0; i < name.size(); ++i) {
      out.insert(name.substr(0, i) + escape(name[i]) + name.substr(i + 1));
      all += escape(name[i]);
    }
    out.insert(all);
  }
  return {out.begin(), out.end()};
}

TEST(RedactionTest, EscapedNameIsRedacted) {
  // $N is where each spelling of the name goes; SECRET must never survive.
  struct Place {
    const char* json;
    const char* want;
    int removed;
  };
  const Place places[] = {
      {R"({"keep": 1, "$N": "SECRET", "z": 2})", R"({"keep": 1, "z": 2})", 1},
      {R"({"$N": "SECRET"})", R"({})", 1},
      {R"({"keep": {"$N": "SECRET"}, "z": [1]})", R"({"keep": {}, "z": [1]})", 1},
      {R"({"list": [{"$N": "SECRET", "k": 1}, {"$N": ["SECRET"]}]})",
       R"({"list": [{"k": 1}, {}]})", 2},
      {R"([{"a": [{"b": {"k": 0, "$N": {"deep": "SECRET"}}}]}])", R"([{"a": [{"b": {"k": 0}}]}])",
       1},
  };
  int cases = 0;
  for (const std::string& field : kPolicyFields) {
    for (const std::string& spelling : EscapeSpellings(field)) {
      for (const Place& place : places) {
        std::string json = absl::StrReplaceAll(place.json, {{"$N", spelling}});
        ExpectRedacted(json, kPolicyFields, place.want, place.removed);
        ++cases;
      }
    }
  }
  EXPECT_GE(cases, 5 * (18 + 12 + 10 + 2));
}

TEST(RedactionTest, FindingExamplesAreRedacted) {
  ExpectRedacted(R"({"id": "1", "gp_free_tex\u0074": "seen for", "nhs_number_histor\u0079": ["x"]})",
                 kPolicyFields, R"({"id": "1"})", 2);
}

TEST(RedactionTest, SurrogatePairSpellingIsRedacted) {
  // U+1F600 as raw UTF-8, and as a surrogate pair in either case of hex.
  const std::vector<std::string> fields = {"note\xF0\x9F\x98\x80"};
  for (const char* name : {"note\xF0\x9F\x98\x80", "note\\ud83d\\ude00", "note\\uD83D\\uDE00",
                           "\\u006eote\\uD83D\\ude00"}) {
    ExpectRedacted(absl::StrCat(R"({"k": [{")", name, R"(": 1}], ")", name, R"(": 2})"), fields,
                   R"({"k": [{}]})", 2);
  }
}

TEST(RedactionTest, ShortEscapeSpellingIsRedacted) {
  ExpectRedacted(R"({"a\/b": 1, "c": 2})", {"a/b"}, R"({"c": 2})", 1);
  ExpectRedacted(R"({"a\u002Fb": 1, "c\\d": 2, "e": 3})", {"a/b", "c\\d"}, R"({"e": 3})", 2);
  ExpectRedacted(R"({"tab\there": 1})", {"tab\there"}, R"({})", 1);
}

TEST(RedactionTest, EscapedDottedPathIsRedacted) {
  ExpectRedacted(R"({"subj\u0065ct": {"r\u0065ference": "Patient/1", "display": "J"}})",
                 {"subject.reference"}, R"({"subj\u0065ct": {"display": "J"}})", 1);
  ExpectRedacted(R"({"subject": [{"\u0072eference": "Patient/1"}, {"reference": "P/2"}]})",
                 {"subject.reference"}, R"({"subject": [{}, {}]})", 2);
}

TEST(RedactionTest, NameContainingADotIsAlsoReadAsAPath) {
  // A reader that treats "subject.reference" as a path sees it; so it goes.
  ExpectRedacted(R"({"subject\u002ereference": "P/1", "id": 1})", {"subject.reference"},
                 R"({"id": 1})", 1);
  ExpectRedacted(R"({"subject": {"reference.id": "P/1", "x": 1}})", {"subject.reference"},
                 R"({"subject": {"x": 1}})", 1);
  ExpectRedacted(R"({"subject.reference.id": 1, "x": 1})", {"subject.reference"}, R"({"x": 1})",
                 1);
  ExpectRedacted(R"({"p": {"x.address": 1, "address.line": 2, "addressx": 3}})", {"address"},
                 R"({"p": {"addressx": 3}})", 2);
  // Dotted paths still match only from the root.
  ExpectRedacted(R"({"p": {"subject.reference": 1}})", {"subject.reference"},
                 R"({"p": {"subject.reference": 1}})", 0);
}

TEST(RedactionTest, RemovesANameAtAnyDepth) {
  ExpectRedacted(R"({"a": 1, "address": "x", "b": {"address": [1, 2], "c": 3}})", {"address"},
                 R"({"a": 1, "b": {"c": 3}})", 2);
}

TEST(RedactionTest, MemberInsideARemovedMemberIsCountedOnce) {
  ExpectRedacted(R"({"address": {"address": 1}, "k": 2})", {"address"}, R"({"k": 2})", 1);
}

TEST(RedactionTest, DottedPathMatchesOnlyFromTheRoot) {
  ExpectRedacted(
      R"({"subject": {"reference": "Patient/1", "display": "J"}, "other": {"reference": "keep"}})",
      {"subject.reference"}, R"({"subject": {"display": "J"}, "other": {"reference": "keep"}})",
      1);
}

TEST(RedactionTest, ArraysAreTransparentInPaths) {
  ExpectRedacted(R"({"contact": [{"name": "a", "telecom": 1}, {"telecom": 2}]})",
                 {"contact.telecom"}, R"({"contact": [{"name": "a"}, {}]})", 2);
}

TEST(RedactionTest, RemovingFirstLastOrOnlyMemberLeavesValidJson) {
  const std::vector<std::string> f = {"x"};
  ExpectRedacted(R"({"x": 1, "k": 2})", f, R"({"k": 2})", 1);
  ExpectRedacted(R"({"k": 1, "x": 2})", f, R"({"k": 1})", 1);
  ExpectRedacted(R"({ "x" : 1 })", f, R"({})", 1);
  ExpectRedacted(R"({"x":1,"x2":{"x":[]},"k":2,"x3":3})", {"x", "x3"},
                 R"({"x2":{},"k":2})", 3);
  ExpectRedacted("{\n  \"k\": 1,\n  \"x\": 2,\n  \"m\": 3\n}", f, "{\n  \"k\": 1,\n  \"m\": 3\n}",
                 1);
  ExpectRedacted("{\n  \"k\": 1,\n  \"x\": 2\n}", f, "{\n  \"k\": 1\n}", 1);
  ExpectRedacted("{\n  \"x\": 1,\n  \"x1\": 2\n}", {"x", "x1"}, "{}", 2);
  ExpectRedacted(R"([{"x":1},{"x":2,"k":3}])", f, R"([{},{"k":3}])", 2);
}

TEST(RedactionTest, NothingRedactedKeepsEveryByte) {
  const std::string doc =
      "{ \"resourceType\" : \"Patient\",\n  \"id\":\"943\", \"name\" : [ {\"family\": \"Smith\"} ],\n"
      "\t\"birthDate\": \"1970-01-01\", \"n\": 1.50E+02, \"s\": \"caf\\u00e9 \\/ \\\"q\\\"\" }\r\n";
  ExpectRedacted(doc, kPolicyFields, doc, 0);
  ExpectRedacted(doc, {}, doc, 0);
}

TEST(RedactionTest, KeptMembersKeepTheirBytesNextToARemovedOne) {
  ExpectRedacted(R"({"n": 12345678901234567890.000100, "s": "caf\u00e9 \"q\"", "e": -1E+5, "x": 0})",
                 {"x"}, R"({"n": 12345678901234567890.000100, "s": "caf\u00e9 \"q\"", "e": -1E+5})",
                 1);
}

TEST(RedactionTest, NumbersAndStringsAreCopiedExactly) {
  const char* doc = R"({"n": 12345678901234567890.000100, "s": "caf\u00e9 \"q\"", "e": -1E+5})";
  ExpectRedacted(doc, {"zzz"}, doc, 0);
}

TEST(RedactionTest, EscapedKeyIsMatchedByItsValue) {
  ExpectRedacted(R"({"addr\"ess": 1, "a\/b": 2})", {"a/b"}, R"({"addr\"ess": 1})", 1);
}

TEST(RedactionTest, NothingToRemoveIsFine) {
  ExpectRedacted("[1, 2, {}]", {"x"}, "[1, 2, {}]", 0);
}

TEST(RedactionTest, FhirPatientLosesAddressAndTelecomEverywhere) {
  const std::string patient = R"({
  "resourceType": "Patient", "id": "943",
  "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
  "name": [{"family": "Smith", "given": ["Jo"]}],
  "telecom": [{"system": "phone", "value": "0113 496 0000"}],
  "address": [{"line": ["1 High St"], "postalCode": "LS1 1AA"}],
  "contact": [
    {"name": {"family": "Smith"}, "telecom": [{"value": "07700 900000"}], "address": {"line": ["2 Low St"]}},
    {"addres\u0073": {"city": "Leeds"}, "gender": "female"}
  ]
})";
  const std::string want = R"({
  "resourceType": "Patient", "id": "943",
  "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
  "name": [{"family": "Smith", "given": ["Jo"]}],
  "contact": [
    {"name": {"family": "Smith"}},
    {"gender": "female"}
  ]
})";
  ExpectRedacted(patient, {"telecom", "address"}, want, 5);
}

TEST(RedactionTest, FhirBundleEntriesAreEachRedacted) {
  const std::string bundle = R"({"resourceType": "Bundle", "type": "collection", "entry": [
  {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "1",
    "gp_free_text": "a", "address": [{"city": "Leeds"}]}},
  {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Patient", "id": "2",
    "gp_free_te\u0078t": "b", "nhs_number_history": ["1", "2"]}},
  {"fullUrl": "urn:uuid:3", "resource": {"resourceType": "Observation", "id": "3",
    "subject": {"reference": "Patient/1"}, "valueString": "ok"}}
]})";
  const std::string want = R"({"resourceType": "Bundle", "type": "collection", "entry": [
  {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "1"}},
  {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Patient", "id": "2"}},
  {"fullUrl": "urn:uuid:3", "resource": {"resourceType": "Observation", "id": "3",
    "subject": {}, "valueString": "ok"}}
]})";
  ExpectRedacted(bundle, {"gp_free_text", "nhs_number_history", "entry.resource.address",
                          "entry.resource.subject.reference"},
                 want, 5);
}

TEST(RedactionTest, FhirDocumentReferenceLosesSubjectAndAttachmentData) {
  const std::string doc = R"({"resourceType": "DocumentReference", "status": "current",
 "subject": {"reference": "Patient/943", "display": "Jo Smith"},
 "content": [{"attachment": {"contentType": "text/plain", "d\u0061ta": "c2VjcmV0", "title": "a"}},
             {"attachment": {"data": "bW9yZQ==", "contentType": "text/plain"}}],
 "context": {"related": [{"reference": "Encounter/1"}]}})";
  const std::string want = R"({"resourceType": "DocumentReference", "status": "current",
 "subject": {"display": "Jo Smith"},
 "content": [{"attachment": {"contentType": "text/plain", "title": "a"}},
             {"attachment": {"contentType": "text/plain"}}],
 "context": {"related": [{"reference": "Encounter/1"}]}})";
  ExpectRedacted(doc, {"subject.reference", "content.attachment.data"}, want, 3);
}

TEST(RedactionTest, DuplicateMemberIsRefused) {
  ExpectRefused(R"({"a":1,"a":2})", "duplicate member name", 7);
  ExpectRefused(R"({"a":1,"\u0061":2})", "duplicate member name", 7);
  ExpectRefused(R"({"gp_free_text":"x","gp_free_tex\u0074":"y"})", "duplicate member name", 20);
  ExpectRefused(R"({"k":[{"b":1,"b":2}]})", "duplicate member name", 13);
  // Inside a member that is removed anyway: still not what a reader would see.
  ExpectRefused(R"({"a":{"b":1,"b":2}})", "duplicate member name", 12);
}

TEST(RedactionTest, RefusalMessageIsTheOneTheHeaderShows) {
  absl::StatusOr<Redacted> r = RedactJson(R"({"a": 1, "a": 2})", {"x"});
  EXPECT_EQ(r.status(),
            absl::PermissionDeniedError("cannot redact: duplicate member name at byte 9"));
}

TEST(RedactionTest, InvalidEscapeIsRefused) {
  ExpectRefused(R"({"k":"\x"})", "invalid escape", 6);
  ExpectRefused(R"({"k":"\u12"})", "invalid \\u escape", 6);
  ExpectRefused(R"({"k":"\uZZZZ"})", "invalid \\u escape", 6);
  ExpectRefused(R"({"\U0061":1})", "invalid escape", 2);
  ExpectRefused("[\"\\", "unterminated string", 2);
}

TEST(RedactionTest, LoneSurrogateIsRefused) {
  ExpectRefused(R"(["\ud83d"])", "lone high surrogate", 2);
  ExpectRefused(R"(["\ud83dx"])", "lone high surrogate", 2);
  ExpectRefused(R"(["\ud83d\n"])", "lone high surrogate", 2);
  ExpectRefused(R"(["\ud83d\ud83d\ude00"])", "lone high surrogate", 2);
  ExpectRefused(R"(["\ude00"])", "lone low surrogate", 2);
  ExpectRefused(R"(["\ud83d\ude00\ude00"])", "lone low surrogate", 14);
  ExpectRefused(R"({"gp_free_text\uDBFF":1})", "lone high surrogate", 14);
}

TEST(RedactionTest, InvalidUtf8IsRefused) {
  struct Case {
    const char* json;
    size_t at;
  };
  const Case cases[] = {
      {"[\"\xFF\"]", 2},             // Never in UTF-8.
      {"[\"\x80\"]", 2},             // A stray continuation byte.
      {"[\"\xC0\xAF\"]", 2},         // Overlong '/'.
      {"[\"\xC1\xBF\"]", 2},         // Overlong.
      {"[\"\xE0\x80\xAF\"]", 2},     // Overlong '/' in three bytes.
      {"[\"\xF0\x80\x80\xAF\"]", 2}, // Overlong '/' in four bytes.
      {"[\"\xED\xA0\x80\"]", 2},     // U+D800 encoded.
      {"[\"\xED\xBF\xBF\"]", 2},     // U+DFFF encoded.
      {"[\"\xF4\x90\x80\x80\"]", 2}, // U+110000.
      {"[\"\xF5\x80\x80\x80\"]", 2}, // Above U+10FFFF.
      {"[\"\xE2\x82\"]", 2},         // Truncated '€'.
      {"[\"\xE2\x82", 2},            // Truncated at the end of input.
      {"{\"gp_free_tex\xC3\"}", 13}, // Truncated in a name.
  };
  for (const Case& c : cases) ExpectRefused(c.json, "invalid UTF-8", c.at);
  ExpectRefused("[1,\xC3\xA9]", "malformed JSON", 3);  // Outside a string.
}

TEST(RedactionTest, ValidUtf8AtEachBoundaryIsKept) {
  const std::string doc =
      "[\"\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\xF0\x90\x80\x80"
      "\xF4\x8F\xBF\xBF\"]";
  ExpectRedacted(doc, {"a"}, doc, 0);
}

TEST(RedactionTest, NulInAMemberNameIsRefused) {
  ExpectRefused(R"({"gp_free_text\u0000x":1})", "U+0000", 1);
  ExpectRedacted(R"({"k":"a\u0000b"})", {"a"}, R"({"k":"a\u0000b"})", 0);
}

TEST(RedactionTest, NumberOverflowingToInfinityIsRefused) {
  ExpectRefused("[1e400]", "overflows to infinity", 1);
  ExpectRefused("{\"k\": -1E+400}", "overflows to infinity", 6);
  ExpectRefused("[1.7976931348623159e308]", "overflows to infinity", 1);
  ExpectRefused("[1e99999999999999999999]", "overflows to infinity", 1);
}

TEST(RedactionTest, NumberUnderflowingToZeroIsRefused) {
  ExpectRefused("[1e-400]", "underflows to zero", 1);
  ExpectRefused("[-2e-324]", "underflows to zero", 1);
  ExpectRefused(absl::StrCat("[0.", std::string(400, '0'), "1]"), "underflows to zero", 1);
}

TEST(RedactionTest, SubnormalNumberIsRefused) {
  ExpectRefused("[1e-310]", "subnormal", 1);
  ExpectRefused("[4.9e-324]", "subnormal", 1);
}

TEST(RedactionTest, NumbersEveryReaderAgreesOnAreKept) {
  const std::string doc =
      "[0, -0, 0.0e-99999, 0E+99999999999999999999, 1.7976931348623157e308, "
      "2.2250738585072014e-308, -12345678901234567890.000100, 1e22]";
  ExpectRedacted(doc, {"a"}, doc, 0);
}

TEST(RedactionTest, ByteOrderMarkIsRefused) {
  ExpectRefused("\xEF\xBB\xBF{\"a\":1}", "byte order mark", 0);
}

TEST(RedactionTest, TrailingDataIsRefused) {
  ExpectRefused("{\"a\": 1} x", "trailing data", 9);
  ExpectRefused("{\"a\": 1}{\"a\": 2}", "trailing data", 8);
  ExpectRefused(std::string("[1]\0", 4), "trailing data", 3);
}

TEST(RedactionTest, NotJsonFailsClosed) {
  for (const char* bad : {"", " ", "plain text", "{\"a\": }", "{\"a\" 1}", "[1,]", "{\"a\":1,}",
                          "\"unterminated", "{\"a\": tru}", "01", "1.", "-", "1e", "+1", ".5",
                          "{\"a\":\"\x01\"}", "{\"a\": \"\\x\"}", "{'a': 1}", "{a: 1}",
                          "[1 2]", "// c\n[]", "[NaN]", "[Infinity]", "{\"a\":1", "[", "\v[]"}) {
    absl::StatusOr<Redacted> r = RedactJson(bad, {"a"});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("cannot redact: ")) << bad;
    EXPECT_FALSE(json_oracle::Parse(bad).ok) << bad;
  }
}

TEST(RedactionTest, DeepNestingFailsClosed) {
  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  ExpectRefused(deep, "nesting deeper than 64", kMaxJsonDepth);
  std::string ok(kMaxJsonDepth, '[');
  ok += std::string(kMaxJsonDepth, ']');
  ExpectRedacted(ok, {"a"}, ok, 0);
  std::string objects;
  for (int i = 0; i <= kMaxJsonDepth; ++i) objects += "{\"k\":";
  ExpectRefused(objects + "1" + std::string(kMaxJsonDepth + 1, '}'), "nesting deeper than", 5 * 64);
}

}  // namespace
}  // namespace gatehouse

// libFuzzer target: RedactJson against the reference reader and rule in
// json_oracle.h. For every input:
//  - RedactJson accepts exactly what the reference reader accepts (anything
//    the reference refuses, a duplicate name included, must be refused, and
//    with PermissionDenied);
//  - what it returns parses, holds no member a field names however the name
//    was spelt, and equals the input's value with those members removed;
//  - it only cuts bytes out of the input (nothing removed: every byte kept),
//    and counts what it removed.
// Any disagreement aborts, printing both sides.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gateway/record/redaction.h"
#include "tests/gateway/json_oracle.h"

namespace {

namespace oracle = gatehouse::json_oracle;

// Short names the fuzzer can reach, names from policy/examples, and dotted
// paths (one of them a path a FHIR DocumentReference has).
const std::vector<std::string>& Fields() {
  static const auto* fields = new std::vector<std::string>{
      "a", "address", "x.y", "gp_free_text", "nhs_number_history", "subject.reference"};
  return *fields;
}

[[noreturn]] void Disagree(const char* what, const std::string& in, const std::string& detail) {
  std::fprintf(stderr, "redaction_fuzz: %s\ninput: %s\n%s\n", what, in.c_str(), detail.c_str());
  std::abort();
}

// Whether `out` is `in` with some bytes left out.
bool IsCutFrom(const std::string& out, const std::string& in) {
  size_t k = 0;
  for (char c : in) {
    if (k < out.size() && out[k] == c) ++k;
  }
  return k == out.size();
}

// True if no member of `v` matches a field (`path` is where `v` is).
bool NothingMatches(const oracle::Value& v, std::vector<std::string>* path) {
  for (const oracle::Value& item : v.items) {
    if (!NothingMatches(item, path)) return false;
  }
  for (const auto& m : v.members) {
    path->push_back(m.first);
    bool clean = !oracle::Matches(*path, Fields()) && NothingMatches(m.second, path);
    path->pop_back();
    if (!clean) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  oracle::Parsed expected = oracle::Parse(in);
  absl::StatusOr<gatehouse::Redacted> r = gatehouse::RedactJson(in, Fields());
  if (!expected.ok) {
    if (r.ok()) Disagree("accepted what the reference refuses", in, expected.why);
    if (r.status().code() != absl::StatusCode::kPermissionDenied) {
      Disagree("refused with the wrong code", in, r.status().ToString());
    }
    return 0;
  }
  if (!r.ok()) Disagree("refused what the reference accepts", in, r.status().ToString());

  oracle::Parsed out = oracle::Parse(r->json);
  if (!out.ok) Disagree("output does not parse", in, r->json + "\n" + out.why);
  std::vector<std::string> path;
  if (!NothingMatches(out.value, &path)) Disagree("a redacted member survived", in, r->json);
  int removed = 0;
  if (!(oracle::Without(expected.value, Fields(), &removed) == out.value)) {
    Disagree("output is not the input without the redacted members", in, r->json);
  }
  if (removed != r->removed) Disagree("wrong count of removed members", in, r->json);
  if (removed == 0 && r->json != in) Disagree("nothing removed but bytes changed", in, r->json);
  if (!IsCutFrom(r->json, in)) Disagree("output has bytes not in the input", in, r->json);
  return 0;
}

#include "policy/case_file.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gatehouse::policy {

Request TestCase::AsRequest() const {
  Request r;
  r.sender = sender;
  r.recipient = recipient;
  r.record_type = record_type;
  r.classification = classification;
  r.purpose = purpose;
  r.originator = originator;
  caveat_views_.assign(caveats.begin(), caveats.end());
  r.caveats = caveat_views_;
  return r;
}

namespace {

// Splits on spaces, keeping double-quoted runs together (quotes removed).
absl::StatusOr<std::vector<std::string>> Words(absl::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, have = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      have = true;
    } else if ((c == ' ' || c == '\t' || c == '\r') && !quoted) {
      if (have) out.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur.push_back(c);
      have = true;
    }
  }
  if (quoted) return absl::InvalidArgumentError("unterminated quote");
  if (have) out.push_back(cur);
  return out;
}

}  // namespace

absl::StatusOr<std::vector<TestCase>> ParseCases(absl::string_view text) {
  std::vector<TestCase> cases;
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++n;
    const size_t hash = line.find('#');
    // '#' starts a comment unless inside quotes; names rarely hold '#'.
    if (hash != absl::string_view::npos && line.substr(0, hash).find('"') ==
                                               absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    auto words = Words(line);
    auto fail = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", n, ": ", why));
    };
    if (!words.ok()) return fail(words.status().message());
    if (words->empty()) continue;
    TestCase c;
    c.line = n;
    if ((*words)[0] == "allow") {
      c.expect_allow = true;
    } else if ((*words)[0] != "deny") {
      return fail("a case starts with 'allow' or 'deny'");
    }
    for (size_t i = 1; i < words->size(); ++i) {
      const std::string& w = (*words)[i];
      const size_t eq = w.find('=');
      if (eq == std::string::npos) return fail(absl::StrCat("expected key=value, got '", w, "'"));
      const std::string key = w.substr(0, eq), value = w.substr(eq + 1);
      if (key == "sender") c.sender = value;
      else if (key == "recipient") c.recipient = value;
      else if (key == "type") c.record_type = value;
      else if (key == "classification") c.classification = value;
      else if (key == "purpose") c.purpose = value;
      else if (key == "originator") c.originator = value;
      else if (key == "by") c.by_rule = value;
      else if (key == "name") c.name = value;
      else if (key == "caveats") {
        for (absl::string_view cv : absl::StrSplit(value, ',', absl::SkipEmpty())) {
          c.caveats.emplace_back(cv);
        }
      } else {
        return fail(absl::StrCat("unknown key '", key, "'"));
      }
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace gatehouse::policy

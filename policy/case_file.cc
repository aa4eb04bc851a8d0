#include "policy/case_file.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "policy/compiler.h"
#include "policy/describe.h"
#include "policy/parser.h"
#include "policy/suggest.h"

namespace gatehouse::policy {

Request TestCase::AsRequest() const {
  Request r;
  r.sender = sender;
  r.recipient = recipient;
  r.record_type = record_type;
  r.classification = classification;
  r.purpose = purpose;
  r.originator = originator;
  r.requester_role = role;
  r.legal_basis = legal_basis;
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
      else if (key == "role") c.role = value;
      else if (key == "basis") c.legal_basis = value;
      else if (key == "by") c.by_rule = value;
      else if (key == "name") c.name = value;
      else if (key == "outcome") {
        c.outcome = ParseOutcome(value);
        if (!c.outcome) {
          return fail(absl::StrCat("outcome '", value, "' is not one of permitted, forbidden, "
                                   "no-permit, write-down, unknown-label, missing-label"));
        }
      } else if (key == "then") {
        auto o = ParseObligations(value);
        if (!o.ok()) return fail(o.status().message());
        c.obligations = *o;
      }
      else if (key == "caveats") {
        for (absl::string_view cv : absl::StrSplit(value, ',', absl::SkipEmpty())) {
          c.caveats.emplace_back(cv);
        }
      } else {
        return fail(absl::StrCat("unknown key '", key, "'"));
      }
    }
    if (c.obligations && !c.expect_allow) return fail("then= is for allow cases");
    if (c.outcome && (*c.outcome == Outcome::kPermitted) != c.expect_allow) {
      return fail(absl::StrCat("outcome=", OutcomeName(*c.outcome), " contradicts ",
                               c.expect_allow ? "allow" : "deny"));
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

namespace {

// Every label of the case that the policy does not declare.
std::vector<std::string> UndeclaredLabels(const Domains& d, const TestCase& c) {
  std::vector<std::string> org_ids;
  for (const Organisation& o : d.organisations) org_ids.push_back(o.id);
  std::vector<std::string> out;
  auto check = [&](const char* what, const std::string& value,
                   const std::vector<std::string>& names) {
    if (value.empty() || std::find(names.begin(), names.end(), value) != names.end()) return;
    std::string msg = absl::StrCat("unknown ", what, " '", value, "'");
    const std::string near = ClosestName(value, names);
    if (!near.empty()) absl::StrAppend(&msg, " (did you mean ", near, "?)");
    out.push_back(std::move(msg));
  };
  check("organisation", c.sender, org_ids);
  check("organisation", c.recipient, org_ids);
  check("organisation", c.originator, org_ids);
  check("record type", c.record_type, d.record_types);
  check("classification", c.classification, d.classifications);
  check("purpose", c.purpose, d.purposes);
  for (const std::string& cv : c.caveats) check("caveat", cv, d.caveats);
  // A policy without roles (legal bases) ignores them; one with them
  // checks them.
  if (!d.roles.empty()) check("role", c.role, d.roles);
  if (!d.legal_bases.empty()) check("legal basis", c.legal_basis, d.legal_bases);
  return out;
}

std::vector<std::string> MissingLabels(const TestCase& c) {
  std::vector<std::string> out;
  if (c.sender.empty()) out.push_back("sender");
  if (c.recipient.empty()) out.push_back("recipient");
  if (c.record_type.empty()) out.push_back("type");
  if (c.classification.empty()) out.push_back("classification");
  if (c.purpose.empty()) out.push_back("purpose");
  return out;
}

const Rule* FindRule(const Model& m, absl::string_view id) {
  for (const Rule& r : m.rules) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

bool Matches(const Engine& engine, const Rule& r, const TestCase& c) {
  ResolvedRequest resolved;
  Decision denial;
  if (!engine.Resolve(c.AsRequest(), &resolved, &denial)) return false;
  const Shape s = engine.model().domains.shape();
  return Covered(s, Region{CellCube(engine.model().domains, resolved)}, r.region);
}

}  // namespace

std::optional<Outcome> ParseOutcome(absl::string_view name) {
  for (Outcome o : {Outcome::kPermitted, Outcome::kForbidden, Outcome::kNoPermit,
                    Outcome::kWriteDown, Outcome::kUnknownLabel, Outcome::kMissingLabel}) {
    if (OutcomeName(o) == name) return o;
  }
  return std::nullopt;
}

absl::StatusOr<Obligations> ParseObligations(absl::string_view text) {
  Obligations none;
  if (text == "none") return none;
  std::vector<Diagnostic> diags;
  PolicyFileAst ast = ParsePolicy(0, absl::StrCat("permit case then ", text), &diags);
  if (HasErrors(diags) || ast.rules.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "then=\"", text, "\" is not a list of obligations as a permit writes them (e.g. ",
        "then=\"encrypt and retain 8 years\"), or none",
        diags.empty() ? "" : absl::StrCat(": ", diags[0].message)));
  }
  return ObligationsFromAst(ast.rules[0].obligations);
}

std::string CheckCase(const Engine& engine, const TestCase& c) {
  const Model& m = engine.model();
  std::vector<std::string> problems;
  const Rule* by = nullptr;
  if (!c.by_rule.empty()) {
    by = FindRule(m, c.by_rule);
    if (!by) {
      std::vector<std::string> ids;
      for (const Rule& r : m.rules) ids.push_back(r.id);
      const std::string near = ClosestName(c.by_rule, ids);
      problems.push_back(absl::StrCat("by=", c.by_rule, " names no rule of the policy",
                                      near.empty() ? "" : absl::StrCat(" (did you mean ", near, "?)")));
    }
  }
  const bool wants_unknown = c.outcome == Outcome::kUnknownLabel;
  const bool wants_missing = c.outcome == Outcome::kMissingLabel;
  const std::vector<std::string> undeclared = UndeclaredLabels(m.domains, c);
  if (!undeclared.empty() && !wants_unknown) {
    problems.push_back(absl::StrCat(absl::StrJoin(undeclared, "; "),
                                    "; if the case means to test an undeclared label, add "
                                    "outcome=unknown-label"));
  }
  const std::vector<std::string> missing = MissingLabels(c);
  if (!missing.empty() && !wants_missing && undeclared.empty()) {
    problems.push_back(absl::StrCat("the case gives no ", absl::StrJoin(missing, ", "),
                                    "; if it means to test a missing label, add "
                                    "outcome=missing-label"));
  }
  if (!problems.empty()) return absl::StrJoin(problems, "; ");

  const Decision d = engine.Evaluate(c.AsRequest());
  auto got = [&] {
    return absl::StrCat(d.allowed ? "allow" : "deny", " (", d.reason, ")");
  };
  if (d.allowed != c.expect_allow) {
    return absl::StrCat("expected ", c.expect_allow ? "allow" : "deny", ", got ", got());
  }
  if (c.outcome && d.outcome != *c.outcome) {
    return absl::StrCat("expected outcome ", OutcomeName(*c.outcome), ", got ",
                        OutcomeName(d.outcome), " (", d.reason, ")");
  }
  if (by) {
    bool found = false;
    for (int i = 0; i < d.recorded_rules(); ++i) found |= d.rule_id(i) == c.by_rule;
    if (!found && by->defensive) {
      // A defensive forbid never decides: it must match the request.
      if (!Matches(engine, *by, c)) {
        return absl::StrCat("expected defensive forbid ", c.by_rule, " to match, but it does not");
      }
      found = true;
    }
    if (!found) {
      return absl::StrCat("expected ", c.expect_allow ? "allow" : "deny", " by ", c.by_rule,
                          ", got ", got());
    }
  }
  if (c.obligations) {
    std::string want = DescribeModelObligations(*c.obligations);
    std::vector<std::string> fields = engine.RedactFields(d.obligations);
    Obligations have;
    have.encrypt = d.obligations.encrypt;
    have.redact_fields = fields;
    have.retain_days = d.obligations.retain_days;
    have.notify_originator = d.obligations.notify_originator;
    have.require_recipient_system = d.obligations.require_recipient_system;
    const std::string got_ob = DescribeModelObligations(have);
    if (want != got_ob) {
      return absl::StrCat("expected obligations: ", want.empty() ? "none" : want,
                          "; got: ", got_ob.empty() ? "none" : got_ob);
    }
  }
  return "";
}

std::vector<std::string> ExercisedRules(const Engine& engine, const TestCase& c) {
  std::vector<std::string> out;
  const Decision d = engine.Evaluate(c.AsRequest());
  for (int i = 0; i < d.recorded_rules(); ++i) out.emplace_back(d.rule_id(i));
  for (const Rule& r : engine.model().rules) {
    if (r.defensive && Matches(engine, r, c)) out.push_back(r.id);
  }
  return out;
}

}  // namespace gatehouse::policy

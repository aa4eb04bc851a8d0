// Officer-written test cases for `policyc test`: one case per line,
//
//   # comment
//   allow sender=trust-01 recipient=council-02 type=discharge_summary
//         classification=OFFICIAL-SENSITIVE purpose=direct_care caveats=PERSONAL
//         by=P04-health-council-care name="discharge to social care"
//         then="encrypt and redact (nhs_number) and retain 8 years"
//   deny  sender=force-01 recipient=trust-01 type=safeguarding_referral
//         classification=SECRET purpose=safeguarding outcome=write-down
//
// (each case on ONE line; wrapped here for width). Keys: sender, recipient,
// type, classification, purpose, originator (optional), caveats (comma
// separated, optional), role and basis (the requester's role and the legal
// basis, optional), by (a rule that must be among the deciding rules;
// for a defensive forbid, one that must match the request), name, then (for
// an allow: exactly the obligations expected, written as after a permit's
// "then", or "none"), outcome (permitted, forbidden, no-permit, write-down,
// unknown-label or missing-label). Values with spaces take double quotes.
//
// A case is checked against the policy too: every label must be declared
// (a misspelt label would make a deny case pass without testing anything)
// unless the case says outcome=unknown-label; every label but the
// originator and caveats must be given unless it says outcome=missing-label;
// and `by` must name a rule of the policy.
//
// Stateless; thread-safe.
#ifndef GATEHOUSE_POLICY_CASE_FILE_H_
#define GATEHOUSE_POLICY_CASE_FILE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/engine.h"

namespace gatehouse::policy {

struct TestCase {
 public:
  int line = 0;
  bool expect_allow = false;
  std::string name;
  std::string by_rule;
  std::string sender, recipient, record_type, classification, purpose,
      originator, role, legal_basis;
  std::vector<std::string> caveats;
  std::optional<Outcome> outcome;            // outcome=
  std::optional<Obligations> obligations;    // then=
  // A Request viewing this case's strings; valid until the case changes.
  // Not thread-safe (rebuilds the caveat views).
  Request AsRequest() const;

 private:
  mutable std::vector<absl::string_view> caveat_views_;
};

// Parses a case file. InvalidArgument naming the line of the first error
// (unknown key, missing expectation, unterminated quote, an obligation or
// outcome that does not parse, then= on a deny).
absl::StatusOr<std::vector<TestCase>> ParseCases(absl::string_view text);

// Runs one case. Returns "" if it passes, else why not, e.g. "expected
// allow, got deny (denied: ...)" or "unknown caveat 'MEDICL' (did you mean
// MEDICAL?); ...".
std::string CheckCase(const Engine& engine, const TestCase& c);

// The rules a case exercises: the deciding rules of its decision, and the
// defensive forbids that match it.
std::vector<std::string> ExercisedRules(const Engine& engine, const TestCase& c);

// "permitted", "write-down", ... (OutcomeName) back to the outcome.
std::optional<Outcome> ParseOutcome(absl::string_view name);

// Obligations as written after a permit's "then" ("encrypt and retain 8
// years"), or "none". InvalidArgument if they do not parse.
absl::StatusOr<Obligations> ParseObligations(absl::string_view text);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_CASE_FILE_H_

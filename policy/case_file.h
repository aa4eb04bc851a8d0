// Officer-written test cases for `policyc test`: one case per line,
//
//   # comment
//   allow sender=trust-01 recipient=council-02 type=discharge_summary
//         classification=OFFICIAL-SENSITIVE purpose=direct_care caveats=PERSONAL
//         by=P04-health-council-care name="discharge to social care"
//   deny  sender=force-01 recipient=trust-01 type=safeguarding_referral
//         classification=SECRET purpose=safeguarding
//
// (each case on ONE line; wrapped here for width). Keys: sender, recipient,
// type, classification, purpose, originator (optional), caveats (comma
// separated, optional), by (optional: a rule that must be among the
// deciding rules), name (optional). Values with spaces take double quotes.
// Stateless; thread-safe.
#ifndef GATEHOUSE_POLICY_CASE_FILE_H_
#define GATEHOUSE_POLICY_CASE_FILE_H_

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
      originator;
  std::vector<std::string> caveats;
  // A Request viewing this case's strings; valid until the case changes.
  // Not thread-safe (rebuilds the caveat views).
  Request AsRequest() const;

 private:
  mutable std::vector<absl::string_view> caveat_views_;
};

// Parses a case file. InvalidArgument naming the line of the first error
// (unknown key, missing expectation, unterminated quote).
absl::StatusOr<std::vector<TestCase>> ParseCases(absl::string_view text);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_CASE_FILE_H_

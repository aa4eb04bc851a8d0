// Prints a parsed policy file in canonical form: fixed order (policy, layer,
// declarations, organisations, rules), one condition and one obligation per
// line, two-space indent. Comments stay with the line they were on or
// before (see Comments in ast.h): a comment on its own line stays on its
// own line before that part, an end-of-line comment at the end of its line
// (or on its own line before it if the line's parts were on several lines
// with several comments), empty lines between comments are kept, and
// comments before the first item and after the last stay first and last.
// Formatting is idempotent: formatting the output again yields the same
// text. Stateless; thread-safe.
#ifndef GATEHOUSE_POLICY_FORMATTER_H_
#define GATEHOUSE_POLICY_FORMATTER_H_

#include <string>

#include "policy/ast.h"

namespace gatehouse::policy {

std::string FormatPolicy(const PolicyFileAst& file);

// One rule in canonical form, ending in a newline; without its comments
// if `comments` is false (to compare two versions of a rule).
std::string FormatRule(const RuleAst& rule, bool comments = true);

// One condition in canonical form, e.g. "sender sector is health".
std::string FormatCondition(const Expr& e);

// A name as it must be written: bare if it is a word that is not a
// keyword, else in double quotes ("TOP SECRET", "and").
std::string QuoteName(absl::string_view name);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_FORMATTER_H_

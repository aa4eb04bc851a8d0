// Prints a parsed policy file in canonical form: fixed order (policy, layer,
// declarations, organisations, rules), one condition per line, two-space
// indent, comments dropped. Formatting is idempotent: formatting the output
// again yields the same text. Stateless; thread-safe.
#ifndef GATEHOUSE_POLICY_FORMATTER_H_
#define GATEHOUSE_POLICY_FORMATTER_H_

#include <string>

#include "policy/ast.h"

namespace gatehouse::policy {

std::string FormatPolicy(const PolicyFileAst& file);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_FORMATTER_H_

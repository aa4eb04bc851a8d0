// Parses one policy source file into a syntax tree (ast.h). The grammar is
// in docs/policy-language.md. Parsing is total: it never crashes or throws
// on any input (a fuzz target checks this); each syntax error becomes a
// Diagnostic with code "syntax" and the parser skips to the next item: a
// declaration or rule keyword first on its line, or a word at column 1. So
// a mistake costs only the item it is in, never its neighbours; a misspelt
// "permit" or "forbid" is reported and its rule read anyway. Stateless;
// thread-safe.
//
// Example:
//   std::vector<Diagnostic> diags;
//   PolicyFileAst ast = ParsePolicy(/*file=*/0, text, &diags);
//   if (HasErrors(diags)) ...
#ifndef GATEHOUSE_POLICY_PARSER_H_
#define GATEHOUSE_POLICY_PARSER_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "policy/ast.h"
#include "policy/diagnostic.h"

namespace gatehouse::policy {

// Longest name (identifier or quoted) and rule description accepted; longer
// ones are a "limit" error.
inline constexpr size_t kMaxNameLength = 128;
inline constexpr size_t kMaxDescriptionLength = 2000;

// Parses `text` (file index `file` in the SourceSet). Appends diagnostics to
// `*diagnostics`; the returned tree holds whatever parsed cleanly.
PolicyFileAst ParsePolicy(int file, absl::string_view text,
                          std::vector<Diagnostic>* diagnostics);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_PARSER_H_

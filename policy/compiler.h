// Compiles policy source files (one baseline, then any local layers) into a
// Model: parses each file, resolves every name against the declared
// domains, type-checks each condition and turns it into a Region.
// Stateless; thread-safe.
//
// Example:
//   std::vector<Diagnostic> diags;
//   Model model = CompilePolicy(sources, &diags);
//   Analyze(model, &diags);                   // analyzer.h
//   if (HasErrors(diags)) { print them; fail }
//
// Diagnostics produced here: syntax, unknown-name, type-error,
// duplicate-id, duplicate-name, layer (misplaced declarations or layers),
// limit (a domain larger than 64 values).
#ifndef GATEHOUSE_POLICY_COMPILER_H_
#define GATEHOUSE_POLICY_COMPILER_H_

#include <vector>

#include "policy/ast.h"
#include "policy/diagnostic.h"
#include "policy/model.h"

namespace gatehouse::policy {

// Compiles `sources`: exactly one must say `layer baseline` (the default
// when a file has no layer line) and declare the domains; the others must
// say `layer local` and hold rules only. Appends diagnostics; when there is
// an error the returned model is incomplete and must not be used.
Model CompilePolicy(const SourceSet& sources,
                    std::vector<Diagnostic>* diagnostics);

// The obligations a permit's "then" states (retention in days: a month is
// 30 days, a year 365).
Obligations ObligationsFromAst(const ObligationsAst& o);

// Gives the rules of a model read from a bundle (FromProto) their canonical
// text, and the "defensive" marking of a defensive forbid (which the
// compiled rules do not carry), from the source the bundle carries, so
// that two versions can be compared rule by rule and `policyc show` says
// which forbids are defensive. Rules it cannot find keep an empty text and
// are not marked.
void AttachRuleTexts(Model* model);

// As above, from already-parsed files (used by policyc fmt and tests).
Model CompileParsed(const SourceSet& sources,
                    const std::vector<PolicyFileAst>& files,
                    std::vector<Diagnostic>* diagnostics);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_COMPILER_H_

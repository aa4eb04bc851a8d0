#include "tools/workbench/draft.h"

#include "absl/strings/str_cat.h"
#include "policy/analyzer.h"
#include "policy/compiler.h"
#include "policy/parser.h"

namespace gatehouse::workbench {

Draft CompileDraft(absl::string_view text, absl::string_view name) {
  Draft d;
  d.sources.push_back(policy::SourceFile{std::string(name), std::string(text)});
  std::vector<policy::PolicyFileAst> asts;
  asts.push_back(policy::ParsePolicy(0, d.sources[0].text, &d.diagnostics));
  d.model = policy::CompileParsed(d.sources, asts, &d.diagnostics);
  policy::AnalyzeOptions options;
  options.overlaps = false;  // as policyc check without --info
  policy::Analyze(d.model, options, &d.diagnostics);
  policy::SortDiagnostics(&d.diagnostics);
  return d;
}

absl::StatusOr<policy::Engine> EngineOf(const Draft& draft) {
  for (const policy::Diagnostic& diag : draft.diagnostics) {
    if (diag.severity != policy::Severity::kError) continue;
    policy::DiagnosticPrinter printer(draft.sources);
    return absl::InvalidArgumentError(absl::StrCat(
        "the policy has errors; fix them first: ", printer.Where(diag.pos), ": ",
        diag.message));
  }
  return policy::Engine::FromModel(draft.model);
}

}  // namespace gatehouse::workbench

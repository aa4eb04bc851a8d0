// A policy the officer is editing, compiled from text in memory: parsed,
// compiled and analysed as `policyc check` does (every rule that compiled
// is analysed, also when others did not), diagnostics sorted by line.
//
// This is policyc's LoadPolicy (tools/policyc/helpers.cc) without the file
// reading; it belongs in the policy library, where both could share it.
//
// Plain values; thread-compatible.
//
// Example:
//   Draft d = CompileDraft(text);
//   if (d.ok()) ASSIGN_OR_RETURN(Engine e, Engine::FromModel(d.model));
#ifndef GATEHOUSE_TOOLS_WORKBENCH_DRAFT_H_
#define GATEHOUSE_TOOLS_WORKBENCH_DRAFT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/diagnostic.h"
#include "policy/engine.h"
#include "policy/model.h"

namespace gatehouse::workbench {

// The name diagnostics give the draft's file.
inline constexpr char kDraftName[] = "draft.ghp";

struct Draft {
  policy::SourceSet sources;  // one file, kDraftName (or the name given)
  policy::Model model;        // must not be used unless ok()
  std::vector<policy::Diagnostic> diagnostics;
  bool ok() const { return !policy::HasErrors(diagnostics); }
};

Draft CompileDraft(absl::string_view text, absl::string_view name = kDraftName);

// The draft's engine. InvalidArgument naming the first error (as
// "draft.ghp:3:7: unknown sector ...") if the draft has errors, so that
// nothing is decided by a policy with a mistake in it.
absl::StatusOr<policy::Engine> EngineOf(const Draft& draft);

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_DRAFT_H_

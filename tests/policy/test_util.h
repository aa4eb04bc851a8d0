// Helpers for policy tests: compile policy text into a model or an engine,
// and find checked-in files. Thread-compatible.
#ifndef GATEHOUSE_TESTS_POLICY_TEST_UTIL_H_
#define GATEHOUSE_TESTS_POLICY_TEST_UTIL_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "policy/analyzer.h"
#include "policy/compiler.h"
#include "policy/engine.h"

namespace gatehouse::policy::testing {

// Path of a file in the source tree, e.g. "policy/examples/interorg.ghp".
inline std::string SourcePath(absl::string_view relative) {
  return std::string(GATEHOUSE_SOURCE_DIR) + "/" + std::string(relative);
}

struct Compiled {
  Model model;
  std::vector<Diagnostic> diagnostics;  // compiler + analyser
  SourceSet sources;
  bool HasCode(absl::string_view code) const {
    for (const Diagnostic& d : diagnostics) {
      if (d.code == code) return true;
    }
    return false;
  }
  std::string Dump() const {
    std::string s;
    for (const Diagnostic& d : diagnostics) s += FormatDiagnostic(sources, d);
    return s;
  }
};

inline Compiled CompileTexts(std::vector<std::string> texts) {
  Compiled c;
  for (size_t i = 0; i < texts.size(); ++i) {
    c.sources.push_back(
        SourceFile{"policy" + std::to_string(i) + ".ghp", std::move(texts[i])});
  }
  c.model = CompilePolicy(c.sources, &c.diagnostics);
  Analyze(c.model, &c.diagnostics);  // as policyc does: also after errors
  return c;
}

inline Compiled CompileText(std::string text) {
  return CompileTexts({std::move(text)});
}

}  // namespace gatehouse::policy::testing

#endif  // GATEHOUSE_TESTS_POLICY_TEST_UTIL_H_

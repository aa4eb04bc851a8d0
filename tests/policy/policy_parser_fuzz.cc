// libFuzzer target for the policy parser, compiler and formatter. For any
// input: parsing and compiling never crash; if the text parses cleanly, its
// canonical form parses cleanly and formats to itself (fmt is idempotent).
// Seed corpus: tests/policy/corpus/ (ctest replays it, label fuzz).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "policy/analyzer.h"
#include "policy/compiler.h"
#include "policy/formatter.h"
#include "policy/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gatehouse::policy;
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<Diagnostic> diags;
  PolicyFileAst ast = ParsePolicy(0, text, &diags);
  if (!HasErrors(diags)) {
    const std::string once = FormatPolicy(ast);
    std::vector<Diagnostic> again;
    const std::string twice = FormatPolicy(ParsePolicy(0, once, &again));
    if (HasErrors(again) || once != twice) {
      std::fprintf(stderr, "fmt is not idempotent for:\n%s\n", text.c_str());
      std::abort();
    }
  }
  if (size <= 8 * 1024) {
    SourceSet sources{{"fuzz.ghp", text}};
    std::vector<Diagnostic> cdiags;
    Model model = CompilePolicy(sources, &cdiags);
    if (model.rules.size() <= 64) Analyze(model, &cdiags);  // also after errors
    DiagnosticPrinter printer(sources);
    for (const Diagnostic& d : cdiags) (void)printer.Format(d);
  }
  return 0;
}

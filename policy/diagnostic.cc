#include "policy/diagnostic.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gatehouse::policy {
namespace {

absl::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "error";
}

absl::string_view LineOf(absl::string_view text, int line) {
  int n = 1;
  for (absl::string_view l : absl::StrSplit(text, '\n')) {
    if (n++ == line) return l;
  }
  return "";
}

}  // namespace

std::string FormatDiagnostic(const SourceSet& sources, const Diagnostic& d) {
  const bool have_file = d.pos.file >= 0 &&
                         d.pos.file < static_cast<int>(sources.size());
  std::string name = have_file ? sources[d.pos.file].name : "<policy>";
  std::string out = absl::StrCat(name, ":", d.pos.line, ":", d.pos.column,
                                 ": ", SeverityName(d.severity), ": ",
                                 d.message, " [", d.code, "]\n");
  if (have_file && d.pos.line > 0) {
    absl::string_view line = LineOf(sources[d.pos.file].text, d.pos.line);
    absl::StrAppend(&out, "  ", line, "\n  ");
    for (int i = 1; i < d.pos.column && i <= static_cast<int>(line.size());
         ++i) {
      out.push_back(line[i - 1] == '\t' ? '\t' : ' ');
    }
    out += "^\n";
  }
  return out;
}

bool HasErrors(const std::vector<Diagnostic>& diagnostics) {
  for (const Diagnostic& d : diagnostics) {
    if (d.severity == Severity::kError) return true;
  }
  return false;
}

}  // namespace gatehouse::policy

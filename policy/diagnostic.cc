#include "policy/diagnostic.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace gatehouse::policy {

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

absl::string_view DiagnosticPrinter::Line(int file, int line) {
  if (file < 0 || file >= static_cast<int>(sources_.size()) || line < 1) return "";
  if (line_starts_.size() < sources_.size()) line_starts_.resize(sources_.size());
  std::vector<size_t>& starts = line_starts_[file];
  const std::string& text = sources_[file].text;
  if (starts.empty()) {
    starts.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts.push_back(i + 1);
    }
  }
  if (line > static_cast<int>(starts.size())) return "";
  const size_t begin = starts[line - 1];
  size_t end = line < static_cast<int>(starts.size()) ? starts[line] - 1 : text.size();
  if (end > begin && text[end - 1] == '\r') --end;
  return absl::string_view(text).substr(begin, end - begin);
}

std::string DiagnosticPrinter::Where(const SourcePos& pos) const {
  const bool have_file = pos.file >= 0 && pos.file < static_cast<int>(sources_.size());
  return absl::StrCat(have_file ? sources_[pos.file].name : "<policy>", ":", pos.line, ":",
                      pos.column);
}

std::string DiagnosticPrinter::Located(const SourcePos& pos, absl::string_view head) {
  std::string out = absl::StrCat(Where(pos), ": ", head, "\n");
  const absl::string_view line = Line(pos.file, pos.line);
  if (pos.line > 0 && pos.file >= 0 && pos.file < static_cast<int>(sources_.size())) {
    absl::StrAppend(&out, "  ", line, "\n  ");
    for (int i = 1; i < pos.column && i <= static_cast<int>(line.size()); ++i) {
      out.push_back(line[i - 1] == '\t' ? '\t' : ' ');
    }
    out += "^\n";
  }
  return out;
}

std::string DiagnosticPrinter::Format(const Diagnostic& d) {
  std::string out = Located(
      d.pos, absl::StrCat(SeverityName(d.severity), ": ", d.message, " [", d.code, "]"));
  for (const DiagnosticNote& n : d.notes) {
    out += Located(n.pos, absl::StrCat("note: ", n.message));
  }
  return out;
}

std::string FormatDiagnostic(const SourceSet& sources, const Diagnostic& d) {
  return DiagnosticPrinter(sources).Format(d);
}

void SortDiagnostics(std::vector<Diagnostic>* diagnostics) {
  std::stable_sort(diagnostics->begin(), diagnostics->end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     if (a.pos.file != b.pos.file) return a.pos.file < b.pos.file;
                     if (a.pos.line != b.pos.line) return a.pos.line < b.pos.line;
                     return a.pos.column < b.pos.column;
                   });
}

bool HasErrors(const std::vector<Diagnostic>& diagnostics) {
  for (const Diagnostic& d : diagnostics) {
    if (d.severity == Severity::kError) return true;
  }
  return false;
}

}  // namespace gatehouse::policy

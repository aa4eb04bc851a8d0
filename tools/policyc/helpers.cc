#include "tools/policyc/helpers.h"

#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "policy/analyzer.h"
#include "policy/compiler.h"
#include "policy/parser.h"

namespace gatehouse::policyc {

int IntFlag(const Args& a, const std::string& name, int fallback) {
  int v = 0;
  return a.Has(name) && absl::SimpleAtoi(a.Get(name), &v) ? v : fallback;
}

int Fail(const absl::Status& s, int code) {
  std::fprintf(stderr, "policyc: %s\n", std::string(s.message()).c_str());
  return code;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status WriteFile(const std::string& path, const std::string& data,
                       bool private_file) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    if (private_file) chmod(tmp.c_str(), 0600);
    out << data;
    if (!out.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<Loaded> LoadPolicy(const std::vector<std::string>& files, bool overlaps) {
  if (files.empty()) return absl::InvalidArgumentError("no policy files given");
  Loaded l;
  for (const std::string& f : files) {
    auto text = ReadFile(f);
    if (!text.ok()) return text.status();
    l.sources.push_back(policy::SourceFile{f, *std::move(text)});
  }
  std::vector<policy::PolicyFileAst> asts;
  for (size_t i = 0; i < l.sources.size(); ++i) {
    asts.push_back(policy::ParsePolicy(static_cast<int>(i), l.sources[i].text, &l.diagnostics));
    l.parsed_rules += asts.back().rules.size();
  }
  l.model = policy::CompileParsed(l.sources, asts, &l.diagnostics);
  // Every rule that compiled is analysed, errors elsewhere or not.
  policy::AnalyzeOptions options;
  options.overlaps = overlaps;
  policy::Analyze(l.model, options, &l.diagnostics);
  policy::SortDiagnostics(&l.diagnostics);
  return l;
}

int PrintDiagnostics(const Loaded& l, const PrintOptions& options) {
  policy::DiagnosticPrinter printer(l.sources);
  int errors = 0, hidden_errors = 0, shown_others = 0, hidden_others = 0;
  const int cap = options.max_shown > 0 ? options.max_shown : INT32_MAX;
  for (const auto& d : l.diagnostics) {
    const bool error = d.severity == policy::Severity::kError;
    if (error) ++errors;
    if (d.severity == policy::Severity::kInfo && !options.show_info) continue;
    if (!error && options.errors_only) continue;
    if (error ? errors > cap : shown_others >= cap) {
      ++(error ? hidden_errors : hidden_others);
      continue;
    }
    if (!error) ++shown_others;
    std::fputs(printer.Format(d).c_str(), stderr);
  }
  if (hidden_errors || hidden_others) {
    std::fprintf(stderr, "... %d more error(s) and %d more warning(s) not shown "
                         "(--max-errors 0 shows all)\n", hidden_errors, hidden_others);
  }
  return errors;
}

policy::Request RequestFlags::AsRequest() {
  views.assign(caveats.begin(), caveats.end());
  policy::Request r;
  r.sender = sender;
  r.recipient = recipient;
  r.record_type = type;
  r.classification = classification;
  r.purpose = purpose;
  r.originator = originator;
  r.requester_role = role;
  r.legal_basis = legal_basis;
  r.caveats = views;
  return r;
}

RequestFlags RequestFromFlags(const Args& a) {
  RequestFlags r;
  r.sender = a.Get("sender");
  r.recipient = a.Get("recipient");
  r.type = a.Get("type");
  r.classification = a.Get("classification");
  r.purpose = a.Get("purpose");
  r.originator = a.Get("originator");
  r.role = a.Get("role");
  r.legal_basis = a.Get("legal-basis");
  for (const std::string& list : a.All("caveats")) {
    for (absl::string_view c : absl::StrSplit(list, ',', absl::SkipEmpty())) {
      r.caveats.emplace_back(c);
    }
  }
  for (const std::string& c : a.All("caveat")) r.caveats.push_back(c);
  return r;
}

}  // namespace gatehouse::policyc

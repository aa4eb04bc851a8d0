#include "tools/policyc/cli.h"

#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "policy/analyzer.h"
#include "policy/analyzer.h"
#include "policy/compiler.h"
#include "policy/parser.h"
#include "policy/suggest.h"

namespace gatehouse::policyc {

std::string Args::Get(const std::string& f, const std::string& def) const {
  auto it = flags.find(f);
  return it == flags.end() || it->second.empty() ? def : it->second.back();
}

absl::StatusOr<int> Args::GetInt(const std::string& f, int def, int min,
                                 int max) const {
  if (!Has(f)) return def;
  int v = 0;
  if (!absl::SimpleAtoi(Get(f), &v) || v < min || v > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        f, " takes a whole number from ", min, " to ", max, ", not '", Get(f), "'"));
  }
  return v;
}

namespace {

const FlagSpec* FindFlag(const CommandSpec& spec, absl::string_view name) {
  for (const FlagSpec& f : spec.flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

absl::Status UnknownFlag(const CommandSpec& spec, const std::string& word) {
  std::vector<std::string> names = {"--help"};
  for (const FlagSpec& f : spec.flags) names.push_back(f.name);
  const std::string near = policy::ClosestName(word, names);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown flag '", word, "' for 'policyc ", spec.name, "'",
      near.empty() ? "" : absl::StrCat("; did you mean '", near, "'?")));
}

}  // namespace

absl::StatusOr<Args> ParseArgs(const CommandSpec& spec, int argc, char** argv,
                               int first) {
  Args a;
  bool flags_done = false;
  for (int i = first; i < argc; ++i) {
    const std::string w = argv[i];
    if (flags_done || w.size() < 2 || w[0] != '-') {
      a.positional.push_back(w);
      continue;
    }
    if (w == "--") {
      flags_done = true;
      continue;
    }
    if (w == "--help" || w == "-h") {
      a.help = true;
      continue;
    }
    std::string name = w, value;
    bool inline_value = false;
    if (const size_t eq = w.find('='); eq != std::string::npos && w.rfind("--", 0) == 0) {
      name = w.substr(0, eq);
      value = w.substr(eq + 1);
      inline_value = true;
    }
    const FlagSpec* f = FindFlag(spec, name);
    if (!f) return UnknownFlag(spec, name);
    const std::string canonical = f->alias_of.empty() ? f->name : f->alias_of;
    if (const FlagSpec* target = FindFlag(spec, canonical)) f = target;
    if (!f->takes_value) {
      if (inline_value) {
        return absl::InvalidArgumentError(absl::StrCat(name, " takes no value"));
      }
      a.flags[canonical].push_back("");
      continue;
    }
    if (!inline_value) {
      // A value that is itself a flag means the value was left out.
      if (i + 1 >= argc || (argv[i + 1][0] == '-' && argv[i + 1][1] == '-')) {
        return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
      }
      value = argv[++i];
    }
    if (a.Has(canonical) && !f->repeatable) {
      return absl::InvalidArgumentError(absl::StrCat(
          canonical, " is given twice ('", a.Get(canonical), "' and '", value,
          "'); give it once"));
    }
    a.flags[canonical].push_back(value);
  }
  if (a.help) return a;
  const int n = static_cast<int>(a.positional.size());
  if (n < spec.min_files) {
    return absl::InvalidArgumentError(
        spec.min_files == 1 ? "a file is missing"
                            : absl::StrCat("expected ", spec.min_files, " files, got ", n));
  }
  if (spec.max_files >= 0 && n > spec.max_files) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument '", a.positional[spec.max_files], "' (policyc ", spec.name,
        " takes ", spec.max_files == 1 ? "one file" : absl::StrCat(spec.max_files, " files"),
        ")"));
  }
  return a;
}

std::string UsageText(const CommandSpec& spec, bool full) {
  std::string out = absl::StrCat("usage: ", spec.usage, "\n");
  if (full && !spec.help.empty()) absl::StrAppend(&out, "\n", spec.help);
  return out;
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
  r.sender = a.Get("--sender");
  r.recipient = a.Get("--recipient");
  r.type = a.Get("--type");
  r.classification = a.Get("--classification");
  r.purpose = a.Get("--purpose");
  r.originator = a.Get("--originator");
  r.role = a.Get("--role");
  r.legal_basis = a.Get("--legal-basis");
  auto it = a.flags.find("--caveats");
  if (it != a.flags.end()) {
    for (const std::string& list : it->second) {
      for (absl::string_view c : absl::StrSplit(list, ',', absl::SkipEmpty())) {
        r.caveats.emplace_back(c);
      }
    }
  }
  it = a.flags.find("--caveat");
  if (it != a.flags.end()) {
    for (const std::string& c : it->second) r.caveats.push_back(c);
  }
  return r;
}

}  // namespace gatehouse::policyc

#include "tools/policyc/cli.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "policy/analyzer.h"
#include "policy/compiler.h"

namespace gatehouse::policyc {

std::string Args::Get(const std::string& f, const std::string& def) const {
  auto it = flags.find(f);
  return it == flags.end() || it->second.empty() ? def : it->second.back();
}

absl::StatusOr<Args> ParseArgs(int argc, char** argv, int first,
                               const std::vector<std::string>& boolean) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string w = argv[i];
    if (w.size() > 1 && w[0] == '-') {
      bool is_bool = false;
      for (const auto& b : boolean) is_bool |= (b == w);
      if (is_bool) {
        a.flags[w].push_back("");
        continue;
      }
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrCat(w, " needs a value"));
      }
      a.flags[w].push_back(argv[++i]);
      continue;
    }
    a.positional.push_back(w);
  }
  return a;
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

absl::StatusOr<Loaded> LoadPolicy(const std::vector<std::string>& files) {
  if (files.empty()) return absl::InvalidArgumentError("no policy files given");
  Loaded l;
  for (const std::string& f : files) {
    auto text = ReadFile(f);
    if (!text.ok()) return text.status();
    l.sources.push_back(policy::SourceFile{f, *std::move(text)});
  }
  l.model = policy::CompilePolicy(l.sources, &l.diagnostics);
  if (!policy::HasErrors(l.diagnostics)) policy::Analyze(l.model, &l.diagnostics);
  return l;
}

int PrintDiagnostics(const Loaded& l, bool show_info, bool errors_only) {
  int errors = 0;
  for (const auto& d : l.diagnostics) {
    if (d.severity == policy::Severity::kError) ++errors;
    if (d.severity == policy::Severity::kInfo && !show_info) continue;
    if (d.severity != policy::Severity::kError && errors_only) continue;
    std::fputs(policy::FormatDiagnostic(l.sources, d).c_str(), stderr);
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
  for (absl::string_view c :
       absl::StrSplit(a.Get("--caveats"), ',', absl::SkipEmpty())) {
    r.caveats.emplace_back(c);
  }
  return r;
}

}  // namespace gatehouse::policyc

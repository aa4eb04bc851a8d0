// check, compile, fmt, explain, test, diff, coverage.
#include <algorithm>
#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "policy/analyzer.h"
#include "policy/bundle.h"
#include "policy/case_file.h"
#include "policy/coverage.h"
#include "policy/describe.h"
#include "policy/diff.h"
#include "policy/diagnostic_report.h"
#include "policy/formatter.h"
#include "policy/parser.h"
#include "tools/policyc/commands.h"

namespace gatehouse::policyc {
namespace {

// Loads and compiles; on errors prints them and returns false.
bool LoadOk(const std::vector<std::string>& files, Loaded* out, int* code,
            bool show_info = false) {
  auto l = LoadPolicy(files);
  if (!l.ok()) {
    *code = Fail(l.status());
    return false;
  }
  *out = *std::move(l);
  PrintOptions options;
  options.show_info = show_info;
  options.errors_only = true;
  if (PrintDiagnostics(*out, options) > 0) {
    *code = kExitFailed;
    return false;
  }
  return true;
}

absl::StatusOr<policy::Engine> EngineFor(const Loaded& l) {
  return policy::Engine::FromModel(l.model);
}

// The expiry from --expires (RFC 3339, e.g. 2027-01-01T00:00:00Z) or
// --valid-for (e.g. 90d, or 36h) counted from `issued`; InfiniteFuture
// with neither (the parser refuses both). InvalidArgument if unreadable or
// not after `issued`.
absl::StatusOr<absl::Time> ExpiryFromFlags(const Args& a, absl::Time issued) {
  absl::Time not_after = absl::InfiniteFuture();
  if (a.Has("expires")) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, a.Get("expires"), &not_after, &err)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--expires '", a.Get("expires"), "' is not a time like 2027-01-01T00:00:00Z"));
    }
  } else if (a.Has("valid-for")) {
    const std::string v = a.Get("valid-for");
    absl::Duration d;
    int days = 0;
    if (!v.empty() && v.back() == 'd' && absl::SimpleAtoi(v.substr(0, v.size() - 1), &days) &&
        days > 0 && days <= 100 * 365) {
      d = absl::Hours(24) * days;
    } else if (!absl::ParseDuration(v, &d) || d <= absl::ZeroDuration() ||
               d == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--valid-for '", v, "' is not a duration like 90d or 36h"));
    }
    not_after = issued + d;
  }
  if (not_after <= issued) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--expires ", policy::FormatBundleTime(not_after), " is already past"));
  }
  return not_after;
}

}  // namespace

int Check(const Args& a) {
  const std::string format = a.Get("format", "text");  // the parser allows text, json, sarif
  auto l = LoadPolicy(a.All("FILE"), /*overlaps=*/a.Has("info"));
  if (!l.ok()) return Fail(l.status());
  int errors = 0, warnings = 0;
  for (const auto& d : l->diagnostics) {
    errors += d.severity == policy::Severity::kError;
    warnings += d.severity == policy::Severity::kWarning;
  }
  if (format == "text") {
    PrintOptions options;
    options.show_info = a.Has("info");
    options.max_shown = IntFlag(a, "max-errors", 50);
    PrintDiagnostics(*l, options);
    const size_t left_out = l->parsed_rules - std::min(l->parsed_rules, l->model.rules.size());
    std::fprintf(stderr, "%d error(s), %d warning(s), %zu rule(s)%s\n", errors, warnings,
                 l->model.rules.size(),
                 left_out ? absl::StrCat("; ", left_out, " rule(s) with errors were not analysed")
                                .c_str()
                          : "");
  } else {
    std::vector<policy::Diagnostic> shown;
    for (const auto& d : l->diagnostics) {
      if (d.severity != policy::Severity::kInfo || a.Has("info")) shown.push_back(d);
    }
    std::fputs((format == "json" ? policy::DiagnosticsToJson(l->sources, shown)
                                 : policy::DiagnosticsToSarif(l->sources, shown))
                   .c_str(),
               stdout);
  }
  if (errors || (a.Has("werror") && warnings)) return kExitFailed;
  return kExitOk;
}

int Compile(const Args& a) {
  const int required = IntFlag(a, "required-signatures", 1);
  const absl::Time issued = absl::Now();
  auto not_after = ExpiryFromFlags(a, issued);
  if (!not_after.ok()) return Fail(not_after.status(), kExitUsage);
  Loaded l;
  int code = 0;
  if (!LoadOk(a.All("FILE"), &l, &code)) return code;
  auto engine = EngineFor(l);
  if (!engine.ok()) return Fail(engine.status());
  auto bundle = policy::MakeBundle(policy::ToProto(l.model), required,
                                   a.Get("version"), issued, *not_after);
  if (!bundle.ok()) return Fail(bundle.status());
  if (auto s = WriteFile(a.Get("o"), *bundle); !s.ok()) return Fail(s);
  std::printf("compiled %zu rules into %s (unsigned; needs %d officer "
              "signature(s); expires %s)\n", l.model.rules.size(), a.Get("o").c_str(),
              required, policy::FormatBundleTime(*not_after).c_str());
  return kExitOk;
}

int Fmt(const Args& a) {
  const std::string file = a.Get("FILE");
  auto text = ReadFile(file);
  if (!text.ok()) return Fail(text.status());
  std::vector<policy::Diagnostic> diags;
  policy::PolicyFileAst ast = policy::ParsePolicy(0, *text, &diags);
  if (policy::HasErrors(diags)) {
    policy::SourceSet src{{file, *text}};
    for (const auto& d : diags) std::fputs(policy::FormatDiagnostic(src, d).c_str(), stderr);
    return kExitFailed;
  }
  const std::string out = policy::FormatPolicy(ast);
  if (a.Has("check")) {
    if (out == *text) return kExitOk;
    std::fprintf(stderr, "%s is not in canonical form (run policyc fmt -w)\n",
                 file.c_str());
    return kExitFailed;
  }
  if (a.Has("w")) {
    if (auto s = WriteFile(file, out); !s.ok()) return Fail(s);
    return kExitOk;
  }
  std::fputs(out.c_str(), stdout);
  return kExitOk;
}

int Explain(const Args& a) {
  Loaded l;
  int code = 0;
  if (!LoadOk(a.All("FILE"), &l, &code)) return code;
  auto engine = EngineFor(l);
  if (!engine.ok()) return Fail(engine.status());
  RequestFlags rf = RequestFromFlags(a);
  const policy::Request req = rf.AsRequest();
  policy::ResolvedRequest resolved;
  policy::Decision d;
  if (!engine->Resolve(req, &resolved, &d)) {
    std::printf("DENY: %s\n", std::string(d.reason).c_str());
    return kExitOk;
  }
  d = engine->EvaluateResolved(resolved);
  std::fputs(policy::ExplainDecision(*engine, resolved, d).c_str(), stdout);
  return kExitOk;
}

int Test(const Args& a) {
  Loaded l;
  int code = 0;
  if (!LoadOk(a.All("FILE"), &l, &code)) return code;
  auto engine = EngineFor(l);
  if (!engine.ok()) return Fail(engine.status());
  const std::string path = a.Get("cases");
  auto text = ReadFile(path);
  if (!text.ok()) return Fail(text.status());
  auto cases = policy::ParseCases(*text);
  if (!cases.ok()) return Fail(absl::InvalidArgumentError(absl::StrCat(path, ": ", cases.status().message())));
  int failed = 0;
  for (const policy::TestCase& c : *cases) {
    const std::string why = policy::CheckCase(*engine, c);
    if (why.empty()) continue;
    ++failed;
    std::printf("FAIL %s:%d %s: %s\n", path.c_str(), c.line, c.name.c_str(), why.c_str());
  }
  std::printf("%zu case(s), %d failed\n", cases->size(), failed);
  return failed ? kExitFailed : kExitOk;
}

int Diff(const Args& a) {
  Loaded before, after;
  int code = 0;
  std::vector<std::string> old_files = absl::StrSplit(a.Get("OLD"), ',', absl::SkipEmpty());
  std::vector<std::string> new_files = absl::StrSplit(a.Get("NEW"), ',', absl::SkipEmpty());
  if (!LoadOk(old_files, &before, &code) || !LoadOk(new_files, &after, &code)) return code;
  auto diff = policy::DiffPolicies(before.model, after.model);
  if (!diff.ok()) return Fail(diff.status());
  std::fputs(policy::DescribeDiff(*diff, static_cast<size_t>(IntFlag(a, "limit", 40))).c_str(), stdout);
  if (a.Has("exit-code") && !diff->Empty()) return kExitFailed;
  return kExitOk;
}

int Coverage(const Args& a) {
  Loaded l;
  int code = 0;
  if (!LoadOk(a.All("FILE"), &l, &code)) return code;
  // Sector pair x record type combinations that no request can pass.
  std::printf("sector -> sector, record type combinations no permit reaches:\n");
  size_t holes = 0;
  for (const policy::UnreachedFlow& f : policy::UnreachedFlows(l.model)) {
    holes += f.record_types.size();
    std::printf("  %s -> %s: %s\n", f.sender_sector.c_str(), f.recipient_sector.c_str(),
                absl::StrJoin(f.record_types, ", ").c_str());
  }
  std::printf("%zu combination(s) never permitted\n", holes);
  if (a.Has("cases")) {
    auto engine = EngineFor(l);
    if (!engine.ok()) return Fail(engine.status());
    auto text = ReadFile(a.Get("cases"));
    if (!text.ok()) return Fail(text.status());
    auto cases = policy::ParseCases(*text);
    if (!cases.ok()) return Fail(cases.status());
    std::vector<std::string> hit;
    for (const auto& c : *cases) {
      for (std::string& id : policy::ExercisedRules(*engine, c)) hit.push_back(std::move(id));
    }
    std::vector<std::string> missed, defensive;
    for (const auto& r : l.model.rules) {
      if (std::find(hit.begin(), hit.end(), r.id) != hit.end()) continue;
      (r.defensive ? defensive : missed).push_back(r.id);
    }
    std::printf("rules no test case exercises (%zu of %zu): %s\n", missed.size(),
                l.model.rules.size(), absl::StrJoin(missed, ", ").c_str());
    if (!defensive.empty()) {
      std::printf("defensive forbids no case matches (meant never to decide; a case with by= "
                  "shows they still match): %s\n", absl::StrJoin(defensive, ", ").c_str());
    }
  }
  return kExitOk;
}

}  // namespace gatehouse::policyc

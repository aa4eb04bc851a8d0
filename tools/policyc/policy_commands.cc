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
#include "policy/describe.h"
#include "policy/formatter.h"
#include "policy/parser.h"
#include "tools/policyc/commands.h"

namespace gatehouse::policyc {
namespace {

using policy::Cube;
using policy::Region;

int Fail(const absl::Status& s, int code = kExitUsage) {
  std::fprintf(stderr, "policyc: %s\n", std::string(s.message()).c_str());
  return code;
}

// Loads and compiles; on errors prints them and returns false.
bool LoadOk(const std::vector<std::string>& files, Loaded* out, int* code,
            bool show_info = false) {
  auto l = LoadPolicy(files);
  if (!l.ok()) {
    *code = Fail(l.status());
    return false;
  }
  *out = *std::move(l);
  if (PrintDiagnostics(*out, show_info, /*errors_only=*/true) > 0) {
    *code = kExitFailed;
    return false;
  }
  return true;
}

absl::StatusOr<policy::Engine> EngineFor(const Loaded& l) {
  return policy::Engine::FromModel(l.model);
}

// Merges cubes that differ in exactly one dimension, for readable output.
void Merge(const policy::Shape& s, Region* r) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i = 0; i < r->size() && !changed; ++i) {
      for (size_t j = i + 1; j < r->size() && !changed; ++j) {
        Cube& a = (*r)[i];
        const Cube& b = (*r)[j];
        int diff = 0, where = -1;
        for (int d = 0; d < policy::kNumValueDims; ++d) {
          if (a.m[d] != b.m[d]) { ++diff; where = d; }
        }
        const bool cav_same = a.absent_ok == b.absent_ok && a.present_ok == b.present_ok;
        if (diff == 1 && cav_same) {
          a.m[where] |= b.m[where];
        } else if (diff == 0 && !cav_same) {
          const uint64_t da = a.absent_ok ^ b.absent_ok, dp = a.present_ok ^ b.present_ok;
          if (__builtin_popcountll(da | dp) != 1) continue;
          a.absent_ok |= b.absent_ok;
          a.present_ok |= b.present_ok;
        } else if (diff == 0) {
          // identical
        } else {
          continue;
        }
        r->erase(r->begin() + j);
        changed = true;
      }
    }
  }
  policy::Simplify(s, r);
}

void PrintRegion(const policy::Domains& d, Region r, const char* label,
                 size_t limit) {
  const policy::Shape s = d.shape();
  r = policy::Disjoint(s, r);
  const double cells = policy::CellCount(s, r);
  Merge(s, &r);
  std::printf("%s: %.0f request cells\n", label, cells);
  if (r.empty()) return;
  // Summary: who, what and why, ignoring originator and caveats the change
  // does not require; then the exact groups.
  Region summary;
  for (const Cube& c : r) {
    Cube x = c;
    x.m[policy::kDimOriginator] = s.Full(policy::kDimOriginator);
    x.present_ok = s.CaveatsFull();
    summary.push_back(x);
  }
  policy::Simplify(s, &summary);
  Merge(s, &summary);
  std::printf(" summary (%zu):\n", summary.size());
  for (size_t i = 0; i < summary.size() && i < limit; ++i) {
    std::printf("  %s: %s\n", policy::DescribeCube(d, summary[i]).c_str(), label);
  }
  std::printf(" exact (%zu groups):\n", r.size());
  for (size_t i = 0; i < r.size() && i < limit; ++i) {
    std::printf("  %s: %s\n", policy::DescribeCube(d, r[i]).c_str(), label);
  }
  if (r.size() > limit) std::printf("  ... %zu more groups (--limit)\n", r.size() - limit);
}

// The expiry from --expires (RFC 3339, e.g. 2027-01-01T00:00:00Z) or
// --valid-for (e.g. 90d, or 36h) counted from `issued`; InfiniteFuture
// with neither. InvalidArgument if both, unreadable, or not after `issued`.
absl::StatusOr<absl::Time> ExpiryFromFlags(const Args& a, absl::Time issued) {
  if (a.Has("--expires") && a.Has("--valid-for")) {
    return absl::InvalidArgumentError("give --expires or --valid-for, not both");
  }
  absl::Time not_after = absl::InfiniteFuture();
  if (a.Has("--expires")) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, a.Get("--expires"), &not_after, &err)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--expires '", a.Get("--expires"), "' is not a time like 2027-01-01T00:00:00Z"));
    }
  } else if (a.Has("--valid-for")) {
    const std::string v = a.Get("--valid-for");
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

bool SameDomains(const policy::Domains& a, const policy::Domains& b) {
  if (a.organisations.size() != b.organisations.size()) return false;
  for (size_t i = 0; i < a.organisations.size(); ++i) {
    const auto &x = a.organisations[i], &y = b.organisations[i];
    if (x.id != y.id || x.sector != y.sector || x.accreditation != y.accreditation) return false;
  }
  return a.classifications == b.classifications && a.caveats == b.caveats &&
         a.sectors == b.sectors && a.record_types == b.record_types &&
         a.purposes == b.purposes;
}

}  // namespace

int Check(const Args& a) {
  auto l = LoadPolicy(a.positional);
  if (!l.ok()) return Fail(l.status());
  const int errors = PrintDiagnostics(*l, a.Has("--info"));
  int warnings = 0;
  for (const auto& d : l->diagnostics) warnings += d.severity == policy::Severity::kWarning;
  std::fprintf(stderr, "%d error(s), %d warning(s), %zu rule(s)\n", errors,
               warnings, l->model.rules.size());
  if (errors || (a.Has("--werror") && warnings)) return kExitFailed;
  return kExitOk;
}

int Compile(const Args& a) {
  if (!a.Has("-o")) {
    std::fprintf(stderr, "usage: policyc compile FILE... -o OUT [--required-signatures N] "
                         "[--version V] [--expires TIME | --valid-for 90d]\n");
    return kExitUsage;
  }
  const absl::Time issued = absl::Now();
  auto not_after = ExpiryFromFlags(a, issued);
  if (!not_after.ok()) return Fail(not_after.status());
  Loaded l;
  int code = 0;
  if (!LoadOk(a.positional, &l, &code)) return code;
  auto engine = EngineFor(l);
  if (!engine.ok()) return Fail(engine.status(), kExitFailed);
  const int required = std::atoi(a.Get("--required-signatures", "1").c_str());
  auto bundle = policy::MakeBundle(policy::ToProto(l.model), required,
                                   a.Get("--version"), issued, *not_after);
  if (!bundle.ok()) return Fail(bundle.status());
  if (auto s = WriteFile(a.Get("-o"), *bundle); !s.ok()) return Fail(s);
  std::printf("compiled %zu rules into %s (unsigned; needs %d officer "
              "signature(s); expires %s)\n", l.model.rules.size(), a.Get("-o").c_str(),
              required, policy::FormatBundleTime(*not_after).c_str());
  return kExitOk;
}

int Fmt(const Args& a) {
  if (a.positional.size() != 1) {
    std::fprintf(stderr, "usage: policyc fmt FILE [--check | -w]\n");
    return kExitUsage;
  }
  auto text = ReadFile(a.positional[0]);
  if (!text.ok()) return Fail(text.status());
  std::vector<policy::Diagnostic> diags;
  policy::PolicyFileAst ast = policy::ParsePolicy(0, *text, &diags);
  if (policy::HasErrors(diags)) {
    policy::SourceSet src{{a.positional[0], *text}};
    for (const auto& d : diags) std::fputs(policy::FormatDiagnostic(src, d).c_str(), stderr);
    return kExitFailed;
  }
  const std::string out = policy::FormatPolicy(ast);
  if (a.Has("--check")) {
    if (out == *text) return kExitOk;
    std::fprintf(stderr, "%s is not in canonical form (run policyc fmt -w)\n",
                 a.positional[0].c_str());
    return kExitFailed;
  }
  if (a.Has("-w")) {
    if (auto s = WriteFile(a.positional[0], out); !s.ok()) return Fail(s);
    return kExitOk;
  }
  std::fputs(out.c_str(), stdout);
  return kExitOk;
}

int Explain(const Args& a) {
  Loaded l;
  int code = 0;
  if (!LoadOk(a.positional, &l, &code)) return code;
  auto engine = EngineFor(l);
  if (!engine.ok()) return Fail(engine.status(), kExitFailed);
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
  if (!a.Has("--cases")) {
    std::fprintf(stderr, "usage: policyc test FILE... --cases CASES\n");
    return kExitUsage;
  }
  Loaded l;
  int code = 0;
  if (!LoadOk(a.positional, &l, &code)) return code;
  auto engine = EngineFor(l);
  if (!engine.ok()) return Fail(engine.status(), kExitFailed);
  const std::string path = a.Get("--cases");
  auto text = ReadFile(path);
  if (!text.ok()) return Fail(text.status());
  auto cases = policy::ParseCases(*text);
  if (!cases.ok()) return Fail(absl::InvalidArgumentError(absl::StrCat(path, ": ", cases.status().message())));
  int failed = 0;
  for (const policy::TestCase& c : *cases) {
    const policy::Decision d = engine->Evaluate(c.AsRequest());
    bool ok = d.allowed == c.expect_allow;
    if (ok && !c.by_rule.empty()) {
      ok = false;
      for (int i = 0; i < d.recorded_rules(); ++i) {
        ok |= d.rule_id(i) == c.by_rule;
      }
    }
    if (ok) continue;
    ++failed;
    std::printf("FAIL %s:%d %s: expected %s%s, got %s (%s)\n", path.c_str(),
                c.line, c.name.c_str(), c.expect_allow ? "allow" : "deny",
                c.by_rule.empty() ? "" : (" by " + c.by_rule).c_str(),
                d.allowed ? "allow" : "deny", std::string(d.reason).c_str());
  }
  std::printf("%zu case(s), %d failed\n", cases->size(), failed);
  return failed ? kExitFailed : kExitOk;
}

int Diff(const Args& a) {
  if (a.positional.size() != 2) {
    std::fprintf(stderr, "usage: policyc diff OLD NEW [--limit N] [--exit-code]\n");
    return kExitUsage;
  }
  Loaded before, after;
  int code = 0;
  std::vector<std::string> old_files = absl::StrSplit(a.positional[0], ',', absl::SkipEmpty());
  std::vector<std::string> new_files = absl::StrSplit(a.positional[1], ',', absl::SkipEmpty());
  if (!LoadOk(old_files, &before, &code) || !LoadOk(new_files, &after, &code)) return code;
  if (!SameDomains(before.model.domains, after.model.domains)) {
    std::fprintf(stderr, "policyc: the two versions declare different domains "
                         "(organisations, levels, caveats, types or purposes); "
                         "diff compares versions with the same declarations\n");
    return kExitUsage;
  }
  const policy::Shape s = before.model.domains.shape();
  const Region old_allow = policy::AllowedRegion(before.model);
  const Region new_allow = policy::AllowedRegion(after.model);
  const Region added = policy::SubtractRegions(s, new_allow, old_allow);
  const Region removed = policy::SubtractRegions(s, old_allow, new_allow);
  const size_t limit = std::atoi(a.Get("--limit", "40").c_str());
  PrintRegion(after.model.domains, added, "newly permitted", limit);
  PrintRegion(after.model.domains, removed, "newly denied", limit);
  if (a.Has("--exit-code") && (!added.empty() || !removed.empty())) return kExitFailed;
  return kExitOk;
}

int Coverage(const Args& a) {
  Loaded l;
  int code = 0;
  if (!LoadOk(a.positional, &l, &code)) return code;
  const policy::Domains& d = l.model.domains;
  const policy::Shape s = d.shape();
  const Region allowed = policy::AllowedRegion(l.model);
  // Sector pair x record type combinations that no request can pass.
  std::printf("sector -> sector, record type combinations no permit reaches:\n");
  int holes = 0;
  for (size_t ss = 0; ss < d.sectors.size(); ++ss) {
    for (size_t rs = 0; rs < d.sectors.size(); ++rs) {
      uint64_t so = 0, ro = 0;
      for (size_t o = 0; o < d.organisations.size(); ++o) {
        if (d.organisations[o].sector == static_cast<int>(ss)) so |= 1ULL << o;
        if (d.organisations[o].sector == static_cast<int>(rs)) ro |= 1ULL << o;
      }
      if (!so || !ro) continue;
      std::vector<std::string> none;
      for (size_t t = 0; t < d.record_types.size(); ++t) {
        Cube c = Cube::Universe(s);
        c.m[policy::kDimSender] = so;
        c.m[policy::kDimRecipient] = ro;
        c.m[policy::kDimRecordType] = 1ULL << t;
        if (policy::IntersectRegions(s, Region{c}, allowed).empty()) {
          none.push_back(d.record_types[t]);
        }
      }
      if (none.empty()) continue;
      holes += none.size();
      std::printf("  %s -> %s: %s\n", d.sectors[ss].c_str(), d.sectors[rs].c_str(),
                  absl::StrJoin(none, ", ").c_str());
    }
  }
  std::printf("%d combination(s) never permitted\n", holes);
  if (a.Has("--cases")) {
    auto engine = EngineFor(l);
    if (!engine.ok()) return Fail(engine.status(), kExitFailed);
    auto text = ReadFile(a.Get("--cases"));
    if (!text.ok()) return Fail(text.status());
    auto cases = policy::ParseCases(*text);
    if (!cases.ok()) return Fail(cases.status());
    std::vector<std::string> hit;
    for (const auto& c : *cases) {
      const policy::Decision dec = engine->Evaluate(c.AsRequest());
      for (int i = 0; i < dec.recorded_rules(); ++i) {
        hit.emplace_back(dec.rule_id(i));
      }
    }
    std::vector<std::string> missed;
    for (const auto& r : l.model.rules) {
      if (std::find(hit.begin(), hit.end(), r.id) == hit.end()) missed.push_back(r.id);
    }
    std::printf("rules no test case exercises (%zu of %zu): %s\n", missed.size(),
                l.model.rules.size(), absl::StrJoin(missed, ", ").c_str());
  }
  return kExitOk;
}

}  // namespace gatehouse::policyc

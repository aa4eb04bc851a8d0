#include "policy/describe.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gatehouse::policy {
namespace {

const std::vector<std::string>& Names(const Domains& d, int dim,
                                      std::vector<std::string>* scratch) {
  *scratch = d.ValueNames(dim);
  return *scratch;
}

std::string ListMask(const std::vector<std::string>& names, const ValueSet& mask) {
  std::vector<std::string> out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (mask.Has(static_cast<int>(i))) out.push_back(names[i]);
  }
  return absl::StrJoin(out, ", ");
}

// Organisations named by whole sectors where possible.
std::string DescribeOrgs(const Domains& d, const ValueSet& mask) {
  const ValueSet full = d.shape().Full(kDimSender);
  if (full.SubsetOf(mask)) return "any organisation";
  std::vector<std::string> parts;
  ValueSet rest = mask;
  const int n = static_cast<int>(d.organisations.size());
  for (size_t s = 0; s < d.sectors.size(); ++s) {
    ValueSet sector(n);
    for (int o = 0; o < n; ++o) {
      if (d.organisations[o].sector == static_cast<int>(s)) sector.Set(o);
    }
    if (!sector.Empty() && sector.SubsetOf(mask)) {
      parts.push_back(absl::StrCat("any ", d.sectors[s]));
      rest.AndNot(sector);
    }
  }
  rest.ForEach([&](int o) {
    if (o < n) parts.push_back(d.organisations[o].id);
  });
  return absl::StrJoin(parts, ", ");
}

std::string DescribeDim(const Domains& d, int dim, const ValueSet& mask) {
  if (dim == kDimSender || dim == kDimRecipient || dim == kDimOriginator) {
    return DescribeOrgs(d, mask);
  }
  std::vector<std::string> scratch;
  if (d.shape().Full(dim).SubsetOf(mask)) return "any";
  return ListMask(Names(d, dim, &scratch), mask);
}

const char* DimName(int dim) {
  switch (dim) {
    case kDimSender: return "sender";
    case kDimRecipient: return "recipient";
    case kDimRecordType: return "record type";
    case kDimClassification: return "classification";
    case kDimPurpose: return "purpose";
    case kDimOriginator: return "originator";
    case kDimRole: return "requester role";
    case kDimLegalBasis: return "legal basis";
  }
  return "?";
}

// Parties: whole sectors by name, then organisation ids; "anyone" for all,
// "anyone but a, b" when only a few are left out.
std::string DescribeParties(const Domains& d, const ValueSet& mask,
                            const ValueSet* context = nullptr) {
  const int n = static_cast<int>(d.organisations.size());
  const ValueSet full = context ? *context : ValueSet::Full(n);
  if (full.SubsetOf(mask)) return "anyone";
  ValueSet missing = full;
  missing.AndNot(mask);
  const int count = mask.Count();
  if (count > 3 && missing.Count() <= 2) {
    std::vector<std::string> ids;
    missing.ForEach([&](int o) { ids.push_back(d.organisations[o].id); });
    return absl::StrCat("anyone but ", absl::StrJoin(ids, ", "));
  }
  std::vector<std::string> parts;
  ValueSet rest = mask;
  for (size_t s = 0; s < d.sectors.size(); ++s) {
    ValueSet sector(n);
    for (int o = 0; o < n; ++o) {
      if (d.organisations[o].sector == static_cast<int>(s)) sector.Set(o);
    }
    if (sector.Count() > 1 && sector.SubsetOf(mask)) {
      parts.push_back(d.sectors[s]);
      rest.AndNot(sector);
    }
  }
  rest.ForEach([&](int o) {
    if (o < n) parts.push_back(d.organisations[o].id);
  });
  return absl::StrJoin(parts, ", ");
}

// Levels: "SECRET", "up to OFFICIAL-SENSITIVE", "SECRET and above",
// "OFFICIAL-SENSITIVE to SECRET", or a list.
std::string DescribeLevels(const Domains& d, const ValueSet& mask) {
  const int n = static_cast<int>(d.classifications.size());
  const int lo = mask.First();
  int hi = lo;
  mask.ForEach([&](int v) { hi = v; });
  if (lo < 0) return "no level";
  if (mask.Count() != hi - lo + 1) return ListMask(d.classifications, mask);
  if (lo == hi) return d.classifications[lo];
  if (lo == 0) return absl::StrCat("up to ", d.classifications[hi]);
  if (hi == n - 1) return absl::StrCat(d.classifications[lo], " and above");
  return absl::StrCat(d.classifications[lo], " to ", d.classifications[hi]);
}

// Roles: "a sergeant or above" for ranks from one up; else a list, with
// "no role given" for value 0.
std::string DescribeRoles(const Domains& d, const ValueSet& mask) {
  const int n = static_cast<int>(d.roles.size()) + 1;
  const int lo = mask.First();
  if (d.roles_ordered && lo > 0 && mask.Count() == n - lo) {
    return absl::StrCat(d.roles[lo - 1], lo == n - 1 ? "" : " or above");
  }
  std::vector<std::string> names;
  mask.ForEach([&](int v) {
    if (v < n) names.push_back(v == 0 ? "no role given" : d.roles[v - 1]);
  });
  return absl::StrJoin(names, ", ");
}

}  // namespace

std::string DescribeRuleKind(const Rule& rule) {
  if (!rule.forbid) return "permit";
  return rule.defensive ? "defensive forbid" : "forbid";
}

std::string DescribeRetention(uint32_t days) {
  if (days && days % 365 == 0) {
    return absl::StrCat(days / 365, days == 365 ? " year" : " years");
  }
  if (days && days % 30 == 0) return absl::StrCat(days / 30, days == 30 ? " month" : " months");
  return absl::StrCat(days, days == 1 ? " day" : " days");
}

std::string DescribeFlow(const Domains& d, const Cube& c, const Cube* context) {
  const Shape s = d.shape();
  auto ctx = [&](int dim) { return context ? &context->m[dim] : nullptr; };
  std::string out = absl::StrCat(DescribeParties(d, c.m[kDimSender], ctx(kDimSender)), " \u2192 ",
                                 DescribeParties(d, c.m[kDimRecipient], ctx(kDimRecipient)), ":");
  std::vector<std::string> parts;
  auto all = [&](int dim) {
    return (context ? context->m[dim] : s.Full(dim)).SubsetOf(c.m[dim]);
  };
  std::string what;
  if (!all(kDimRecordType)) what = ListMask(d.record_types, c.m[kDimRecordType]);
  if (!all(kDimPurpose)) {
    absl::StrAppend(&what, what.empty() ? "" : " ", "for ", ListMask(d.purposes, c.m[kDimPurpose]));
  }
  if (!what.empty()) parts.push_back(what);
  if (!all(kDimClassification)) parts.push_back(DescribeLevels(d, c.m[kDimClassification]));
  if (!all(kDimOriginator)) {
    parts.push_back("originated by " +
                    DescribeParties(d, c.m[kDimOriginator], ctx(kDimOriginator)));
  }
  if (!all(kDimRole)) parts.push_back("requested by " + DescribeRoles(d, c.m[kDimRole]));
  if (!all(kDimLegalBasis)) {
    parts.push_back("under " + ListMask(d.ValueNames(kDimLegalBasis), c.m[kDimLegalBasis]));
  }
  std::vector<std::string> with, without;
  for (int i = 0; i < s.caveats; ++i) {
    const bool a = (c.absent_ok >> i) & 1, p = (c.present_ok >> i) & 1;
    // A caveat the context cannot carry is absent anyway: not worth saying.
    const bool possible = !context || ((context->present_ok >> i) & 1);
    if (p && !a) with.push_back(d.caveats[i]);
    if (a && !p && possible) without.push_back(d.caveats[i]);
  }
  if (!with.empty()) parts.push_back("with " + absl::StrJoin(with, ", "));
  if (!without.empty()) parts.push_back("without " + absl::StrJoin(without, ", "));
  if (parts.empty()) parts.push_back("any record");
  absl::StrAppend(&out, " ", absl::StrJoin(parts, ", "));
  return out;
}

std::string DescribeCube(const Domains& d, const Cube& c) {
  const Shape s = d.shape();
  std::string out = absl::StrCat(DescribeOrgs(d, c.m[kDimSender]), " -> ",
                                 DescribeOrgs(d, c.m[kDimRecipient]));
  auto add = [&](int dim, const char* label) {
    if (s.Full(dim).SubsetOf(c.m[dim])) return;
    absl::StrAppend(&out, ", ", label, DescribeDim(d, dim, c.m[dim]));
  };
  add(kDimRecordType, "");
  add(kDimClassification, "");
  add(kDimPurpose, "for ");
  add(kDimOriginator, "originated by ");
  std::vector<std::string> with, without;
  for (int i = 0; i < s.caveats; ++i) {
    const bool a = (c.absent_ok >> i) & 1, p = (c.present_ok >> i) & 1;
    if (p && !a) with.push_back(d.caveats[i]);
    if (a && !p) without.push_back(d.caveats[i]);
  }
  if (!with.empty()) absl::StrAppend(&out, ", with ", absl::StrJoin(with, "+"));
  if (!without.empty()) {
    absl::StrAppend(&out, ", without ", absl::StrJoin(without, "/"));
  }
  return out;
}

std::string DescribeRequest(const Domains& d, const ResolvedRequest& r) {
  auto org = [&](int i) {
    const Organisation& o = d.organisations[i];
    const std::string sector =
        o.sector >= 0 && o.sector < static_cast<int>(d.sectors.size()) ? d.sectors[o.sector] : "?";
    return absl::StrCat(o.id, " (", sector, ", ", d.classifications[o.accreditation], ")");
  };
  std::string out = absl::StrCat(org(r.sender), " \u2192 ", org(r.recipient), ": ",
                                 d.record_types[r.record_type], ", ",
                                 d.classifications[r.classification], ", for ",
                                 d.purposes[r.purpose]);
  if (r.originator != r.sender) {
    absl::StrAppend(&out, ", originated by ", d.organisations[r.originator].id);
  }
  if (r.requester_role > 0) {
    absl::StrAppend(&out, ", requested by ", d.roles[r.requester_role - 1]);
  } else if (!d.roles.empty()) {
    absl::StrAppend(&out, ", no requester role given");
  }
  if (r.legal_basis > 0) {
    absl::StrAppend(&out, ", under ", d.legal_bases[r.legal_basis - 1]);
  } else if (!d.legal_bases.empty()) {
    absl::StrAppend(&out, ", no legal basis given");
  }
  std::vector<std::string> with;
  for (size_t i = 0; i < d.caveats.size(); ++i) {
    if ((r.caveats >> i) & 1) with.push_back(d.caveats[i]);
  }
  absl::StrAppend(&out, with.empty() ? ", no caveats" : ", with " + absl::StrJoin(with, ", "));
  return out;
}

Cube CellCube(const Domains& d, const ResolvedRequest& r) {
  Cube c;
  const Shape s = d.shape();
  c.m[kDimSender] = s.Single(kDimSender, r.sender);
  c.m[kDimRecipient] = s.Single(kDimRecipient, r.recipient);
  c.m[kDimRecordType] = s.Single(kDimRecordType, r.record_type);
  c.m[kDimClassification] = s.Single(kDimClassification, r.classification);
  c.m[kDimPurpose] = s.Single(kDimPurpose, r.purpose);
  c.m[kDimOriginator] = s.Single(kDimOriginator, r.originator);
  c.m[kDimRole] = s.Single(kDimRole, r.requester_role);
  c.m[kDimLegalBasis] = s.Single(kDimLegalBasis, r.legal_basis);
  c.present_ok = r.caveats;
  c.absent_ok = d.shape().CaveatsFull() & ~r.caveats;
  return c;
}

std::string DescribeModelObligations(const Obligations& o) {
  std::vector<std::string> parts;
  if (o.encrypt) parts.push_back("encrypt");
  std::vector<std::string> fields = o.redact_fields;
  std::sort(fields.begin(), fields.end());
  fields.erase(std::unique(fields.begin(), fields.end()), fields.end());
  for (const std::string& f : fields) parts.push_back("redact " + f);
  if (o.retain_days) parts.push_back("retain " + DescribeRetention(o.retain_days));
  if (o.notify_originator) parts.push_back("notify originator");
  if (o.require_recipient_system) parts.push_back("require recipient system");
  return absl::StrJoin(parts, "; ");
}

std::string DescribeObligations(const Engine& engine, const DecisionObligations& o) {
  Obligations m;
  m.encrypt = o.encrypt;
  m.redact_fields = engine.RedactFields(o);
  m.retain_days = o.retain_days;
  m.notify_originator = o.notify_originator;
  m.require_recipient_system = o.require_recipient_system;
  return DescribeModelObligations(m);
}

std::string ExplainDecision(const Engine& engine, const ResolvedRequest& r,
                            const Decision& decision) {
  const Model& m = engine.model();
  const Domains& d = m.domains;
  const Cube cell = CellCube(d, r);
  std::string out = absl::StrCat(decision.allowed ? "ALLOW" : "DENY", ": ",
                                 DescribeRequest(d, r), "\n  ",
                                 decision.reason, "\n");
  auto source_of = [&](absl::string_view id) -> std::string {
    for (const Rule& rule : m.rules) {
      if (rule.id == id) return rule.source;
    }
    return "";
  };
  if (decision.num_rules > 0) {
    out += decision.allowed ? "  deciding permit rules:\n"
                            : "  deciding forbid rules:\n";
    for (int i = 0; i < decision.recorded_rules(); ++i) {
      absl::StrAppend(&out, "    ", decision.rule_id(i), "  (",
                      source_of(decision.rule_id(i)), ")\n");
    }
  }
  if (decision.allowed) {
    const std::string ob = DescribeObligations(engine, decision.obligations);
    if (!ob.empty()) absl::StrAppend(&out, "  obligations: ", ob, ";\n");
    return out;
  }
  if (decision.outcome == Outcome::kUnknownLabel ||
      decision.outcome == Outcome::kMissingLabel) {
    return out;
  }
  // The permit cube failing the fewest conditions.
  const Shape s = d.shape();
  const Rule* best = nullptr;
  const Cube* best_cube = nullptr;
  int best_fails = 1 << 30;
  for (const Rule& rule : m.rules) {
    if (rule.forbid) continue;
    for (const Cube& c : rule.region) {
      int fails = 0;
      for (int dim = 0; dim < kNumValueDims; ++dim) {
        fails += !c.m[dim].Intersects(cell.m[dim]);
      }
      fails += __builtin_popcountll((cell.present_ok & ~c.present_ok) |
                                    (cell.absent_ok & ~c.absent_ok));
      if (fails < best_fails) {
        best_fails = fails;
        best = &rule;
        best_cube = &c;
      }
    }
  }
  if (!best) {
    out += "  the policy has no permit rules\n";
    return out;
  }
  absl::StrAppend(&out, "  nearest permit: ", best->id, "  (", best->source,
                  ")\n");
  if (best_fails == 0) {
    out += decision.outcome == Outcome::kWriteDown
               ? "    its conditions all hold, but no rule can permit a write-down: the "
                 "recipient is accredited below the record's classification\n"
               : "    its conditions all hold; it is overridden by the rules above\n";
    return out;
  }
  for (int dim = 0; dim < kNumValueDims; ++dim) {
    if (best_cube->m[dim].Intersects(cell.m[dim])) continue;
    absl::StrAppend(&out, "    fails: ", DimName(dim), " must be ",
                    DescribeDim(d, dim, best_cube->m[dim]), " (is ",
                    DescribeDim(d, dim, cell.m[dim]), ")\n");
  }
  for (int i = 0; i < s.caveats; ++i) {
    const uint64_t bit = 1ULL << i;
    if ((cell.present_ok & bit) && !(best_cube->present_ok & bit)) {
      absl::StrAppend(&out, "    fails: caveat ", d.caveats[i],
                      " must be absent (it is present)\n");
    }
    if ((cell.absent_ok & bit) && !(best_cube->absent_ok & bit)) {
      absl::StrAppend(&out, "    fails: caveat ", d.caveats[i],
                      " must be present (it is absent)\n");
    }
  }
  return out;
}

}  // namespace gatehouse::policy

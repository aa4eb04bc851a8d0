#include "policy/describe.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gatehouse::policy {
namespace {

const std::vector<std::string>& Names(const Domains& d, int dim,
                                      std::vector<std::string>* scratch) {
  switch (dim) {
    case kDimRecordType: return d.record_types;
    case kDimClassification: return d.classifications;
    case kDimPurpose: return d.purposes;
    default:
      scratch->clear();
      for (const Organisation& o : d.organisations) scratch->push_back(o.id);
      return *scratch;
  }
}

std::string ListMask(const std::vector<std::string>& names, uint64_t mask) {
  std::vector<std::string> out;
  for (size_t i = 0; i < names.size(); ++i) {
    if ((mask >> i) & 1) out.push_back(names[i]);
  }
  return absl::StrJoin(out, ", ");
}

// Organisations named by whole sectors where possible.
std::string DescribeOrgs(const Domains& d, uint64_t mask) {
  const uint64_t full = d.shape().Full(kDimSender);
  if ((mask & full) == full) return "any organisation";
  std::vector<std::string> parts;
  uint64_t rest = mask;
  for (size_t s = 0; s < d.sectors.size(); ++s) {
    uint64_t sector = 0;
    for (size_t o = 0; o < d.organisations.size(); ++o) {
      if (d.organisations[o].sector == static_cast<int>(s)) sector |= 1ULL << o;
    }
    if (sector && (mask & sector) == sector) {
      parts.push_back(absl::StrCat("any ", d.sectors[s]));
      rest &= ~sector;
    }
  }
  for (size_t o = 0; o < d.organisations.size(); ++o) {
    if ((rest >> o) & 1) parts.push_back(d.organisations[o].id);
  }
  return absl::StrJoin(parts, ", ");
}

std::string DescribeDim(const Domains& d, int dim, uint64_t mask) {
  if (dim == kDimSender || dim == kDimRecipient || dim == kDimOriginator) {
    return DescribeOrgs(d, mask);
  }
  std::vector<std::string> scratch;
  const uint64_t full = d.shape().Full(dim);
  if ((mask & full) == full) return "any";
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
  }
  return "?";
}

}  // namespace

std::string DescribeCube(const Domains& d, const Cube& c) {
  const Shape s = d.shape();
  std::string out = absl::StrCat(DescribeOrgs(d, c.m[kDimSender]), " -> ",
                                 DescribeOrgs(d, c.m[kDimRecipient]));
  auto add = [&](int dim, const char* label) {
    if ((c.m[dim] & s.Full(dim)) == s.Full(dim)) return;
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

Cube CellCube(const Domains& d, const ResolvedRequest& r) {
  Cube c;
  c.m[kDimSender] = 1ULL << r.sender;
  c.m[kDimRecipient] = 1ULL << r.recipient;
  c.m[kDimRecordType] = 1ULL << r.record_type;
  c.m[kDimClassification] = 1ULL << r.classification;
  c.m[kDimPurpose] = 1ULL << r.purpose;
  c.m[kDimOriginator] = 1ULL << r.originator;
  c.present_ok = r.caveats;
  c.absent_ok = d.shape().CaveatsFull() & ~r.caveats;
  return c;
}

std::string DescribeObligations(const Engine& engine, const DecisionObligations& o) {
  std::vector<std::string> parts;
  if (o.encrypt) parts.push_back("encrypt");
  for (const std::string& f : engine.RedactFields(o)) parts.push_back("redact " + f);
  if (o.retain_days) parts.push_back(absl::StrCat("retain ", o.retain_days, " days"));
  if (o.notify_originator) parts.push_back("notify originator");
  if (o.require_recipient_system) parts.push_back("require recipient system");
  return absl::StrJoin(parts, "; ");
}

std::string ExplainDecision(const Engine& engine, const ResolvedRequest& r,
                            const Decision& decision) {
  const Model& m = engine.model();
  const Domains& d = m.domains;
  const Cube cell = CellCube(d, r);
  std::string out = absl::StrCat(decision.allowed ? "ALLOW" : "DENY", ": ",
                                 DescribeCube(d, cell), "\n  ",
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
        fails += (c.m[dim] & cell.m[dim]) == 0;
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
    if (best_cube->m[dim] & cell.m[dim]) continue;
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

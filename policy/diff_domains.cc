// Both versions' declarations matched by name, for DiffPolicies (diff.h).
#include "policy/diff_domains.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gatehouse::policy {
namespace {

// Names of `after` in order, then those only `before` has.
std::vector<std::string> MergeNames(const std::vector<std::string>& before,
                                    const std::vector<std::string>& after) {
  std::vector<std::string> out = after;
  for (const std::string& n : before) {
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

// Levels of `after` in order; a level only `before` has goes right after
// the level that precedes it there (or first).
std::vector<std::string> MergeLevels(const std::vector<std::string>& before,
                                     const std::vector<std::string>& after) {
  std::vector<std::string> out = after;
  for (size_t i = 0; i < before.size(); ++i) {
    if (std::find(out.begin(), out.end(), before[i]) != out.end()) continue;
    auto at = i == 0 ? out.begin() : std::find(out.begin(), out.end(), before[i - 1]);
    out.insert(at == out.end() ? out.end() : (i == 0 ? at : at + 1), before[i]);
  }
  return out;
}

std::vector<int> IndexMap(const std::vector<std::string>& from,
                          const std::vector<std::string>& to) {
  std::vector<int> map;
  for (const std::string& n : from) {
    map.push_back(static_cast<int>(std::find(to.begin(), to.end(), n) - to.begin()));
  }
  return map;
}

void NamesChanged(const char* what, const std::vector<std::string>& before,
                  const std::vector<std::string>& after, std::vector<std::string>* out) {
  for (const std::string& n : after) {
    if (std::find(before.begin(), before.end(), n) == before.end()) {
      out->push_back(absl::StrCat(what, " ", n, " added"));
    }
  }
  for (const std::string& n : before) {
    if (std::find(after.begin(), after.end(), n) == after.end()) {
      out->push_back(absl::StrCat(what, " ", n, " removed"));
    }
  }
}

std::string LevelName(const Domains& d, int level) {
  return level >= 0 && level < static_cast<int>(d.classifications.size())
             ? d.classifications[level]
             : "?";
}
std::string SectorName(const Domains& d, int sector) {
  return sector >= 0 && sector < static_cast<int>(d.sectors.size()) ? d.sectors[sector] : "?";
}

// Organisation changes, each starting "organisation <id>".
std::vector<std::string> OrganisationChanges(const Domains& a, const Domains& b) {
  std::vector<std::string> out;
  for (const Organisation& o : b.organisations) {
    auto it = std::find_if(a.organisations.begin(), a.organisations.end(),
                           [&](const Organisation& x) { return x.id == o.id; });
    if (it == a.organisations.end()) {
      out.push_back(absl::StrCat("organisation ", o.id, " added (sector ", SectorName(b, o.sector),
                                 ", accredited ", LevelName(b, o.accreditation), ")"));
      continue;
    }
    if (SectorName(a, it->sector) != SectorName(b, o.sector)) {
      out.push_back(absl::StrCat("organisation ", o.id, ": now sector ", SectorName(b, o.sector),
                                 " (was ", SectorName(a, it->sector), ")"));
    }
    const std::string was = LevelName(a, it->accreditation), now = LevelName(b, o.accreditation);
    if (was != now) {
      // Higher or lower, by the new version's order.
      const auto& lv = b.classifications;
      const auto pw = std::find(lv.begin(), lv.end(), was);
      const bool lowered = pw != lv.end() && (pw - lv.begin()) > o.accreditation;
      out.push_back(absl::StrCat("organisation ", o.id, ": accreditation ",
                                 lowered ? "lowered" : "raised", " to ", now, " (was ", was, ")"));
    }
  }
  for (const Organisation& o : a.organisations) {
    if (std::none_of(b.organisations.begin(), b.organisations.end(),
                     [&](const Organisation& x) { return x.id == o.id; })) {
      out.push_back(absl::StrCat("organisation ", o.id, " removed"));
    }
  }
  return out;
}

absl::Status CheckSize(const char* what, size_t n, size_t max) {
  if (n <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "the two versions together declare ", n, " ", what, "; at most ", max,
      " are supported"));
}

}  // namespace

DomainRemap::DomainRemap(const Domains& from, const Domains& to) : to_(to.shape()) {
  for (int d = 0; d < kNumValueDims; ++d) {
    dims_[d] = IndexMap(from.ValueNames(d), to.ValueNames(d));
  }
  // A version that declares no roles (legal bases) ignores the label:
  // every value of it is the same to that version.
  ignored_[kDimRole] = from.roles.empty();
  ignored_[kDimLegalBasis] = from.legal_bases.empty();
  caveats_ = IndexMap(from.caveats, to.caveats);
}

Cube DomainRemap::Map(const Cube& c) const {
  Cube out;
  for (int d = 0; d < kNumValueDims; ++d) {
    if (ignored_[d]) {
      out.m[d] = to_.Full(d);
      continue;
    }
    out.m[d] = to_.None(d);
    c.m[d].ForEach([&](int v) {
      if (v < static_cast<int>(dims_[d].size())) out.m[d].Set(dims_[d][v]);
    });
  }
  // A caveat this version does not declare may only be absent.
  out.absent_ok = to_.CaveatsFull();
  out.present_ok = 0;
  for (size_t i = 0; i < caveats_.size(); ++i) {
    const uint64_t bit = uint64_t{1} << caveats_[i];
    if (!((c.absent_ok >> i) & 1)) out.absent_ok &= ~bit;
    if ((c.present_ok >> i) & 1) out.present_ok |= bit;
  }
  return out;
}

Region DomainRemap::Map(const Region& r) const {
  Region out;
  for (const Cube& c : r) out.push_back(Map(c));
  return out;
}

Cube DomainRemap::Known(const Shape& from) const {
  Cube all = Cube::Universe(from);
  return Map(all);
}

absl::Status MergeDomains(const Domains& a, const Domains& b, Domains* merged) {
  Domains& m = *merged;
  m.classifications = MergeLevels(a.classifications, b.classifications);
  m.caveats = MergeNames(a.caveats, b.caveats);
  m.sectors = MergeNames(a.sectors, b.sectors);
  m.record_types = MergeNames(a.record_types, b.record_types);
  m.purposes = MergeNames(a.purposes, b.purposes);
  m.roles = MergeLevels(a.roles, b.roles);
  m.roles_ordered = b.roles.empty() ? a.roles_ordered : b.roles_ordered;
  m.legal_bases = MergeNames(a.legal_bases, b.legal_bases);
  // Organisations as the new version declares them, then the old ones.
  for (const Organisation& o : b.organisations) {
    m.organisations.push_back(Organisation{
        o.id, IndexMap({SectorName(b, o.sector)}, m.sectors)[0],
        IndexMap({LevelName(b, o.accreditation)}, m.classifications)[0]});
  }
  for (const Organisation& o : a.organisations) {
    if (std::any_of(m.organisations.begin(), m.organisations.end(),
                    [&](const Organisation& x) { return x.id == o.id; })) {
      continue;
    }
    m.organisations.push_back(Organisation{
        o.id, IndexMap({SectorName(a, o.sector)}, m.sectors)[0],
        IndexMap({LevelName(a, o.accreditation)}, m.classifications)[0]});
  }
  for (absl::Status s :
       {CheckSize("organisations", m.organisations.size(), kMaxValues),
        CheckSize("classifications", m.classifications.size(), kMaxValues),
        CheckSize("caveats", m.caveats.size(), kMaxCaveats),
        CheckSize("record types", m.record_types.size(), kMaxValues),
        CheckSize("purposes", m.purposes.size(), kMaxValues),
        CheckSize("roles", m.roles.size(), kMaxValues - 1),
        CheckSize("legal bases", m.legal_bases.size(), kMaxValues - 1)}) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

std::vector<std::string> DeclarationChanges(const Domains& a, const Domains& b,
                                            std::vector<std::string>* declarations) {
  const std::vector<std::string> org_changes = OrganisationChanges(a, b);
  if (a.classifications != b.classifications) {
    const size_t before = declarations->size();
    NamesChanged("classification", a.classifications, b.classifications, declarations);
    if (declarations->size() == before) {
      declarations->push_back(absl::StrCat(
          "classifications reordered: ", absl::StrJoin(b.classifications, " < "), " (was ",
          absl::StrJoin(a.classifications, " < "), ")"));
    }
  }
  NamesChanged("caveat", a.caveats, b.caveats, declarations);
  NamesChanged("sector", a.sectors, b.sectors, declarations);
  NamesChanged("record type", a.record_types, b.record_types, declarations);
  NamesChanged("purpose", a.purposes, b.purposes, declarations);
  NamesChanged("role", a.roles, b.roles, declarations);
  if (a.roles != b.roles || a.roles_ordered != b.roles_ordered) {
    if (!a.roles.empty() && !b.roles.empty() &&
        (a.roles_ordered != b.roles_ordered || b.roles_ordered)) {
      const char* sep_a = a.roles_ordered ? " < " : ", ";
      const char* sep_b = b.roles_ordered ? " < " : ", ";
      declarations->push_back(absl::StrCat("roles now ", absl::StrJoin(b.roles, sep_b),
                                           " (were ", absl::StrJoin(a.roles, sep_a), ")"));
    }
  }
  NamesChanged("legal basis", a.legal_bases, b.legal_bases, declarations);
  declarations->insert(declarations->end(), org_changes.begin(), org_changes.end());
  return org_changes;
}

}  // namespace gatehouse::policy

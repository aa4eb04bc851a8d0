#include "policy/compiler.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "policy/formatter.h"
#include "policy/parser.h"
#include "policy/suggest.h"

namespace gatehouse::policy {
namespace {

enum class Kind { kOrg, kSector, kLevel, kRecordType, kPurpose, kCaveat, kRole, kLegalBasis };

absl::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kOrg: return "organisation";
    case Kind::kSector: return "sector";
    case Kind::kLevel: return "classification level";
    case Kind::kRecordType: return "record type";
    case Kind::kPurpose: return "purpose";
    case Kind::kCaveat: return "caveat";
    case Kind::kRole: return "role";
    case Kind::kLegalBasis: return "legal basis";
  }
  return "name";
}

Kind SubjectKind(Subject s) {
  switch (s) {
    case Subject::kSender:
    case Subject::kRecipient:
    case Subject::kOriginator: return Kind::kOrg;
    case Subject::kSenderSector:
    case Subject::kRecipientSector: return Kind::kSector;
    case Subject::kSenderAccreditation:
    case Subject::kRecipientAccreditation:
    case Subject::kClassification: return Kind::kLevel;
    case Subject::kRecordType: return Kind::kRecordType;
    case Subject::kPurpose: return Kind::kPurpose;
    case Subject::kCaveats: return Kind::kCaveat;
    case Subject::kRequesterRole: return Kind::kRole;
    case Subject::kLegalBasis: return Kind::kLegalBasis;
  }
  return Kind::kOrg;
}

// The org dimension an org/sector/accreditation subject ranges over.
int OrgDim(Subject s) {
  switch (s) {
    case Subject::kSender:
    case Subject::kSenderSector:
    case Subject::kSenderAccreditation: return kDimSender;
    case Subject::kRecipient:
    case Subject::kRecipientSector:
    case Subject::kRecipientAccreditation: return kDimRecipient;
    case Subject::kOriginator: return kDimOriginator;
    default: return -1;
  }
}

class Compiler {
 public:
  Compiler(const SourceSet& sources, std::vector<Diagnostic>* diags)
      : sources_(sources), diags_(diags) {}

  // Where a diagnostic about a whole file points: its 'policy' line, or
  // its first line if it has none.
  static SourcePos FilePos(const PolicyFileAst& f) {
    if (f.policy_name.pos.line > 0) return f.policy_name.pos;
    return SourcePos{f.file, 1, 1};
  }

  Model Run(const std::vector<PolicyFileAst>& files) {
    const PolicyFileAst* baseline = nullptr;
    for (const PolicyFileAst& f : files) {
      if (f.local_layer) continue;
      if (baseline) {
        Error("layer", FilePos(f),
              "only one baseline policy may be compiled at once; mark "
              "local agreements with 'layer local'");
        continue;
      }
      baseline = &f;
    }
    if (!baseline) {
      Error("layer", SourcePos{0, 1, 1},
            "no baseline policy: one file must say 'layer baseline' and "
            "declare the domains");
      return model_;
    }
    model_.name = baseline->policy_name.text;
    Declare(*baseline);
    for (const PolicyFileAst& f : files) {
      if (f.local_layer && (!f.decls.empty() || !f.organisations.empty())) {
        SourcePos p = f.decls.empty() ? f.organisations[0].id.pos
                                      : f.decls[0].pos;
        Error("layer", p,
              "a local layer may not declare domains or organisations; "
              "declare them in the baseline");
      }
    }
    shape_ = model_.domains.shape();
    for (const PolicyFileAst& f : files) {
      const std::string layer =
          f.local_layer ? (f.policy_name.text.empty() ? sources_[f.file].name
                                                      : f.policy_name.text)
                        : "baseline";
      for (const RuleAst& r : f.rules) CompileRule(r, layer, f.local_layer);
      model_.canonical_source.push_back(FormatPolicy(f));
    }
    return std::move(model_);
  }

 private:
  void Error(absl::string_view code, SourcePos pos, std::string msg) {
    diags_->push_back(MakeDiagnostic(Severity::kError, std::string(code), pos,
                                 std::move(msg)));
  }

  void AddNames(Kind kind, const std::vector<Name>& names,
                std::vector<std::string>* out) {
    for (const Name& n : names) {
      auto [it, inserted] = names_[kind].emplace(n.text, static_cast<int>(out->size()));
      if (!inserted) {
        Error("duplicate-name", n.pos,
              absl::StrCat(KindName(kind), " '", n.text, "' is declared twice"));
        continue;
      }
      const size_t max = kind == Kind::kCaveat ? kMaxCaveats : kMaxValues;
      if (out->size() >= max) {
        Error("limit", n.pos,
              absl::StrCat("more than ", max, " ", KindName(kind),
                           "s are not supported"));
        names_[kind].erase(it);
        continue;
      }
      out->push_back(n.text);
    }
  }

  void Declare(const PolicyFileAst& f) {
    Domains& d = model_.domains;
    for (const DeclAst& decl : f.decls) {
      switch (decl.kind) {
        case DeclKind::kClassifications:
          if (!d.classifications.empty()) {
            Error("duplicate-name", decl.pos, "classifications declared twice");
            break;
          }
          AddNames(Kind::kLevel, decl.names, &d.classifications);
          break;
        case DeclKind::kCaveats:
          AddNames(Kind::kCaveat, decl.names, &d.caveats);
          break;
        case DeclKind::kSectors:
          AddNames(Kind::kSector, decl.names, &d.sectors);
          break;
        case DeclKind::kRecordTypes:
          AddNames(Kind::kRecordType, decl.names, &d.record_types);
          break;
        case DeclKind::kPurposes:
          AddNames(Kind::kPurpose, decl.names, &d.purposes);
          break;
        case DeclKind::kRoles:
          if (!d.roles.empty() && decl.ordered != d.roles_ordered) {
            Error("type-error", decl.pos,
                  "roles are declared both as ranks ('<') and as a list (','); declare them "
                  "one way");
            break;
          }
          d.roles_ordered = decl.ordered;
          AddNames(Kind::kRole, decl.names, &d.roles);
          break;
        case DeclKind::kLegalBases:
          AddNames(Kind::kLegalBasis, decl.names, &d.legal_bases);
          break;
      }
    }
    if (d.classifications.empty()) {
      Error("unknown-name", FilePos(f),
            "the baseline must declare its classifications, e.g. "
            "'classifications OFFICIAL < OFFICIAL-SENSITIVE < SECRET'");
    }
    std::vector<std::string> ids;
    for (const OrganisationAst& o : f.organisations) {
      std::vector<std::string> one;
      const size_t before = ids.size();
      AddNames(Kind::kOrg, {o.id}, &ids);
      if (ids.size() == before) continue;
      // An organisation whose sector or accreditation is in error stays
      // declared (so that rules naming it are not errors too), in no sector
      // and accredited to the top level (so that analysis, which still runs,
      // blames no write-down on the mistake).
      Organisation org{o.id.text, -1, 0};
      if (auto s = Lookup(Kind::kSector, o.sector)) org.sector = *s;
      if (auto a = Lookup(Kind::kLevel, o.accreditation)) {
        org.accreditation = *a;
      } else {
        org.accreditation = std::max(0, static_cast<int>(d.classifications.size()) - 1);
      }
      d.organisations.push_back(org);
    }
  }

  // Resolves `n` as a `kind`; reports unknown-name or type-error.
  std::optional<int> Lookup(Kind kind, const Name& n) {
    auto it = names_[kind].find(n.text);
    if (it != names_[kind].end()) return it->second;
    for (auto& [other, map] : names_) {
      if (other != kind && map.contains(n.text)) {
        Error("type-error", n.pos,
              absl::StrCat("'", n.text, "' is a ", KindName(other), ", not a ",
                           KindName(kind)));
        return std::nullopt;
      }
    }
    Diagnostic d = MakeDiagnostic(Severity::kError, "unknown-name", n.pos,
                 absl::StrCat("unknown ", KindName(kind), " '", n.text, "'"));
    std::vector<std::string> declared;
    for (const auto& [name, index] : names_[kind]) declared.push_back(name);
    std::sort(declared.begin(), declared.end());
    const std::string near = ClosestName(n.text, declared);
    if (!near.empty()) {
      d.suggestion = QuoteName(near);
      absl::StrAppend(&d.message, "; did you mean ", d.suggestion, "?");
    }
    diags_->push_back(std::move(d));
    return std::nullopt;
  }

  ValueSet OrgsWhere(const std::function<bool(const Organisation&)>& pred) {
    const auto& orgs = model_.domains.organisations;
    ValueSet m(static_cast<int>(orgs.size()));
    for (size_t i = 0; i < orgs.size(); ++i) {
      if (pred(orgs[i])) m.Set(static_cast<int>(i));
    }
    return m;
  }

  Cube With(int dim, ValueSet mask) {
    Cube c = Cube::Universe(shape_);
    c.m[dim] = mask;
    return c;
  }

  static bool Compare(Op op, int a, int b) {
    switch (op) {
      case Op::kIs: return a == b;
      case Op::kIsNot: return a != b;
      case Op::kAtLeast: return a >= b;
      case Op::kAtMost: return a <= b;
      case Op::kBelow: return a < b;
      case Op::kAbove: return a > b;
      default: return false;
    }
  }

  bool Ordered(Op op) {
    return op == Op::kAtLeast || op == Op::kAtMost || op == Op::kBelow ||
           op == Op::kAbove || op == Op::kFromTo;
  }

  std::optional<Region> Relational(const Atom& a) {
    const Kind lk = SubjectKind(a.subject), rk = SubjectKind(a.other);
    auto type_error = [&](absl::string_view why) -> std::optional<Region> {
      Error("type-error", a.other_pos,
            absl::StrCat("cannot compare ", SubjectText(a.subject), " with ",
                         SubjectText(a.other), ": ", why));
      return std::nullopt;
    };
    if (lk != rk) return type_error("they are different kinds of value");
    if (a.subject == a.other) return type_error("it is the same attribute");
    const auto& orgs = model_.domains.organisations;
    Region r;
    if (lk == Kind::kOrg || lk == Kind::kSector) {
      if (a.op != Op::kIs && a.op != Op::kIsNot) {
        return type_error("only 'is' and 'is not' apply");
      }
      const int da = OrgDim(a.subject), db = OrgDim(a.other);
      const bool by_sector = lk == Kind::kSector;
      const int groups = by_sector
                             ? static_cast<int>(model_.domains.sectors.size())
                             : static_cast<int>(orgs.size());
      for (int g = 0; g < groups; ++g) {
        const ValueSet in = by_sector
                                ? OrgsWhere([&](const Organisation& o) { return o.sector == g; })
                                : shape_.Single(da, g);
        Cube c = Cube::Universe(shape_);
        c.m[da] = in;
        if (a.op == Op::kIs) {
          c.m[db] = in;
        } else {
          c.m[db].AndNot(in);
        }
        r.push_back(c);
      }
      Simplify(shape_, &r);
      return r;
    }
    if (lk == Kind::kLevel) {
      if (a.op == Op::kFromTo) return type_error("'from ... to' needs levels");
      // One side is the classification, the other an accreditation.
      const bool left_class = a.subject == Subject::kClassification;
      const bool right_class = a.other == Subject::kClassification;
      if (left_class == right_class) {
        return type_error("compare an accreditation with the classification");
      }
      const int org_dim = OrgDim(left_class ? a.other : a.subject);
      for (size_t k = 0; k < model_.domains.classifications.size(); ++k) {
        const int ki = static_cast<int>(k);
        ValueSet m = OrgsWhere([&](const Organisation& o) {
          return left_class ? Compare(a.op, ki, o.accreditation)
                            : Compare(a.op, o.accreditation, ki);
        });
        if (m.Empty()) continue;
        Cube c = Cube::Universe(shape_);
        c.m[kDimClassification] = shape_.Single(kDimClassification, ki);
        c.m[org_dim] = std::move(m);
        r.push_back(c);
      }
      return r;
    }
    return type_error("only organisations, sectors and levels compare");
  }

  std::optional<Region> AtomRegion(const Atom& a) {
    if (a.has_other) return Relational(a);
    const Kind kind = SubjectKind(a.subject);
    const bool ranks = kind == Kind::kRole && model_.domains.roles_ordered;
    if (Ordered(a.op) && kind != Kind::kLevel && !ranks) {
      Error("type-error", a.pos,
            absl::StrCat(SubjectText(a.subject), " has no order; use 'is' or 'in'",
                         kind == Kind::kRole ? " (or declare the roles as ranks, lowest first: "
                                               "'roles constable < sergeant < inspector')"
                                             : ""));
      return std::nullopt;
    }
    if (a.op == Op::kFromTo && kind != Kind::kLevel && !ranks) {
      Error("type-error", a.pos, "'from ... to' needs levels or ranks");
      return std::nullopt;
    }
    std::vector<int> ids;
    bool ok = true;
    for (const Name& n : a.values) {
      auto id = Lookup(kind, n);
      if (id) ids.push_back(*id); else ok = false;
    }
    if (!ok || ids.empty()) return std::nullopt;
    if (a.op == Op::kFromTo && ids.size() == 2 && ids[0] > ids[1]) {
      // Would match nothing: an 'unless' or a forbid written this way would
      // silently let through what it was meant to stop.
      const std::string low = QuoteName(a.values[1].text), high = QuoteName(a.values[0].text);
      Diagnostic d = MakeDiagnostic(
          Severity::kError, "type-error", a.pos,
          absl::StrCat("'from ", high, " to ", low,
                       "' is empty: the first level is above the second; write 'from ", low,
                       " to ", high, "'"));
      d.suggestion = absl::StrCat("from ", low, " to ", high);
      diags_->push_back(std::move(d));
      return std::nullopt;
    }
    if (kind == Kind::kCaveat) {
      if (a.op != Op::kIncludeAll && a.op != Op::kIncludeAny &&
          a.op != Op::kIncludeNone) {
        Error("type-error", a.pos, "caveats take 'include'");
        return std::nullopt;
      }
      Region r;
      Cube c = Cube::Universe(shape_);
      for (int id : ids) {
        const uint64_t bit = 1ULL << id;
        if (a.op == Op::kIncludeAny) {
          Cube one = Cube::Universe(shape_);
          one.absent_ok &= ~bit;
          r.push_back(one);
        } else if (a.op == Op::kIncludeAll) {
          c.absent_ok &= ~bit;
        } else {
          c.present_ok &= ~bit;
        }
      }
      if (a.op != Op::kIncludeAny) r.push_back(c);
      return r;
    }
    if (a.op == Op::kIncludeAll || a.op == Op::kIncludeAny ||
        a.op == Op::kIncludeNone) {
      Error("type-error", a.pos, "'include' applies only to caveats");
      return std::nullopt;
    }
    // Roles and legal bases: value 0 is "none given", name i is value i + 1.
    // Ordered comparisons never match "none given".
    const bool requester = kind == Kind::kRole || kind == Kind::kLegalBasis;
    if (requester) {
      for (int& id : ids) ++id;
    }
    // The set of values of the subject's own domain that satisfy the atom.
    const int n = requester ? shape_.size[kind == Kind::kRole ? kDimRole : kDimLegalBasis]
                  : kind == Kind::kSector
                      ? static_cast<int>(model_.domains.sectors.size())
                  : kind == Kind::kLevel
                      ? static_cast<int>(model_.domains.classifications.size())
                  : kind == Kind::kOrg
                      ? static_cast<int>(model_.domains.organisations.size())
                  : kind == Kind::kRecordType
                      ? static_cast<int>(model_.domains.record_types.size())
                      : static_cast<int>(model_.domains.purposes.size());
    ValueSet values(n);
    for (int v = 0; v < n; ++v) {
      bool in_list = false;
      for (int id : ids) in_list |= (id == v);
      bool sat = false;
      switch (a.op) {
        case Op::kIs:
        case Op::kIn: sat = in_list; break;
        case Op::kIsNot:
        case Op::kNotIn: sat = !in_list; break;
        case Op::kFromTo:
          sat = ids.size() == 2 && v >= ids[0] && v <= ids[1];
          break;
        default: sat = Compare(a.op, v, ids[0]); break;
      }
      if (requester && v == 0 && Ordered(a.op)) sat = false;
      if (sat) values.Set(v);
    }
    if ((a.op == Op::kIs || a.op == Op::kIsNot) && ids.size() != 1) {
      Error("type-error", a.pos, "'is' takes one value; use 'in (...)'");
      return std::nullopt;
    }
    switch (a.subject) {
      case Subject::kRecordType: return Region{With(kDimRecordType, values)};
      case Subject::kPurpose: return Region{With(kDimPurpose, values)};
      case Subject::kClassification:
        return Region{With(kDimClassification, values)};
      case Subject::kSender:
      case Subject::kRecipient:
      case Subject::kOriginator:
        return Region{With(OrgDim(a.subject), values)};
      case Subject::kSenderSector:
      case Subject::kRecipientSector:
        return Region{With(OrgDim(a.subject), OrgsWhere([&](const Organisation& o) {
                             return o.sector >= 0 && values.Has(o.sector);
                           }))};
      case Subject::kSenderAccreditation:
      case Subject::kRecipientAccreditation:
        return Region{With(OrgDim(a.subject), OrgsWhere([&](const Organisation& o) {
                             return values.Has(o.accreditation);
                           }))};
      case Subject::kRequesterRole: return Region{With(kDimRole, values)};
      case Subject::kLegalBasis: return Region{With(kDimLegalBasis, values)};
      case Subject::kCaveats: break;
    }
    return std::nullopt;
  }

  // A condition's region may grow as the product of its parts' (an 'and'
  // of 'or's); past this many cubes it is refused instead of compiled for
  // minutes (simplifying 2^12 cubes takes 0.15 s, 2^14 4 s, 2^16 35 s).
  static constexpr size_t kMaxCubesPerCondition = size_t{1} << 12;

  std::optional<Region> Bounded(Region r, const Expr& e) {
    if (r.size() <= kMaxCubesPerCondition) return r;
    Error("limit", e.pos,
          absl::StrCat("this condition expands to more than ", kMaxCubesPerCondition,
                       " cases ('and' of many 'or's); split it into several rules"));
    return std::nullopt;
  }

  std::optional<Region> ExprRegion(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kAtom: return AtomRegion(e.atom);
      case Expr::Kind::kNot: {
        auto inner = ExprRegion(*e.children[0]);
        if (!inner) return std::nullopt;
        return Bounded(Complement(shape_, *inner), e);
      }
      case Expr::Kind::kAnd:
      case Expr::Kind::kOr: {
        std::optional<Region> acc;
        bool ok = true;
        for (const auto& c : e.children) {
          auto r = ExprRegion(*c);
          if (!r) { ok = false; continue; }
          if (!acc) { acc = std::move(r); continue; }
          if (e.kind == Expr::Kind::kAnd) {
            acc = Bounded(IntersectRegions(shape_, *acc, *r), e);
          } else {
            acc = Union(*acc, *r);
            Simplify(shape_, &*acc);
            acc = Bounded(*std::move(acc), e);
          }
          if (!acc) return std::nullopt;
        }
        if (!ok) return std::nullopt;
        return acc;
      }
    }
    return std::nullopt;
  }

  void CompileRule(const RuleAst& r, const std::string& layer, bool local) {
    Rule rule;
    rule.id = r.id.text;
    rule.description = r.description;
    rule.forbid = r.forbid;
    rule.defensive = r.defensive;
    rule.pos = r.pos;
    rule.source = absl::StrCat(sources_[r.pos.file].name, ":", r.pos.line, ":",
                               r.pos.column);
    rule.layer = layer;
    rule.local = local;
    rule.text = FormatRule(r, /*comments=*/false);
    auto [it, inserted] = rule_ids_.emplace(r.id.text, r.id.pos);
    if (!inserted) {
      Error("duplicate-id", r.id.pos,
            absl::StrCat("rule id '", r.id.text, "' is already used at ",
                         sources_[it->second.file].name, ":", it->second.line));
    }
    bool ok = true;
    Region region{Cube::Universe(shape_)};
    Region when_region = region;
    if (r.when) {
      auto w = ExprRegion(*r.when);
      if (w) region = std::move(*w); else ok = false;
      when_region = region;
    }
    if (r.unless) {
      auto u = ExprRegion(*r.unless);
      if (u) region = SubtractRegions(shape_, region, *u); else ok = false;
    }
    // Drops empty cubes too (an atom no value satisfies), so that the
    // analyzer sees a rule that can never fire as one.
    Simplify(shape_, &region);
    rule.id_pos = r.id.pos;
    NoteConditions(r, &rule);
    if (ok && region.empty()) {
      Simplify(shape_, &when_region);
      FindConflict(r, when_region.empty(), &rule);
    }
    if (r.has_obligations) {
      if (r.forbid) {
        Error("type-error", r.obligations.pos,
              "obligations ('then ...') apply only to permit rules");
      }
      rule.obligations = ObligationsFromAst(r.obligations);
    }
    if (!ok) return;
    rule.region = std::move(region);
    model_.rules.push_back(std::move(rule));
  }

  // The top-level conditions of `e`: the operands of an 'and', or e.
  static std::vector<const Expr*> Conjuncts(const Expr& e) {
    std::vector<const Expr*> out;
    if (e.kind == Expr::Kind::kAnd) {
      for (const auto& c : e.children) out.push_back(c.get());
    } else {
      out.push_back(&e);
    }
    return out;
  }

  // Where the rule's classification and recipient conditions are, for
  // diagnostics that blame them.
  void NoteConditions(const RuleAst& r, Rule* rule) {
    if (!r.when) return;
    for (const Expr* c : Conjuncts(*r.when)) {
      if (c->kind != Expr::Kind::kAtom) continue;
      const Subject s = c->atom.subject;
      const bool level = s == Subject::kClassification ||
                         (c->atom.has_other && c->atom.other == Subject::kClassification);
      if (level && rule->classification_pos.line == 0) {
        rule->classification_pos = c->pos;
        rule->classification_text = FormatCondition(*c);
      }
      const bool recipient = s == Subject::kRecipient || s == Subject::kRecipientSector ||
                             s == Subject::kRecipientAccreditation;
      if (recipient && rule->recipient_pos.line == 0) {
        rule->recipient_pos = c->pos;
        rule->recipient_text = FormatCondition(*c);
      }
    }
  }

  // For a rule that matches nothing: the fewest of its top-level
  // conditions that cannot hold together (one that no request meets, or a
  // pair, or a triple), or its exception if that covers everything.
  void FindConflict(const RuleAst& r, bool when_empty, Rule* rule) {
    if (!when_empty) {
      if (r.unless) {
        rule->conflict.push_back({r.unless->pos, "unless " + FormatCondition(*r.unless)});
      }
      return;
    }
    if (!r.when) return;
    const std::vector<const Expr*> parts = Conjuncts(*r.when);
    std::vector<Region> regions;
    std::vector<Diagnostic> ignored;
    for (const Expr* e : parts) {
      std::vector<Diagnostic>* saved = diags_;
      diags_ = &ignored;
      auto region = ExprRegion(*e);
      diags_ = saved;
      if (!region) return;
      regions.push_back(std::move(*region));
    }
    auto note = [&](std::initializer_list<size_t> which) {
      for (size_t i : which) rule->conflict.push_back({parts[i]->pos, FormatCondition(*parts[i])});
    };
    const size_t n = parts.size();
    for (size_t i = 0; i < n; ++i) {
      if (IsEmptyRegion(regions[i])) return note({i});
    }
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = i + 1; j < n; ++j) {
        if (IntersectRegions(shape_, regions[i], regions[j]).empty()) return note({i, j});
      }
    }
    for (size_t i = 0; i < n && n <= 12; ++i) {
      for (size_t j = i + 1; j < n; ++j) {
        const Region ij = IntersectRegions(shape_, regions[i], regions[j]);
        for (size_t k = j + 1; k < n; ++k) {
          if (IntersectRegions(shape_, ij, regions[k]).empty()) return note({i, j, k});
        }
      }
    }
  }

  bool IsEmptyRegion(Region r) {
    Simplify(shape_, &r);
    return r.empty();
  }

  const SourceSet& sources_;
  std::vector<Diagnostic>* diags_;
  Model model_;
  Shape shape_;
  absl::flat_hash_map<Kind, absl::flat_hash_map<std::string, int>> names_;
  absl::flat_hash_map<std::string, SourcePos> rule_ids_;
};

}  // namespace

Obligations ObligationsFromAst(const ObligationsAst& o) {
  Obligations out;
  out.encrypt = o.encrypt;
  for (const Name& f : o.redact) out.redact_fields.push_back(f.text);
  const int per = o.retain_unit == "years" ? 365 : o.retain_unit == "months" ? 30 : 1;
  out.retain_days = static_cast<uint32_t>(o.retain_amount) * per;
  out.notify_originator = o.notify_originator;
  out.require_recipient_system = o.require_recipient_system;
  return out;
}

void AttachRuleTexts(Model* model) {
  struct Found {
    std::string text;
    bool defensive = false;
  };
  absl::flat_hash_map<std::string, Found> found;
  for (size_t i = 0; i < model->canonical_source.size(); ++i) {
    std::vector<Diagnostic> ignored;
    const PolicyFileAst ast =
        ParsePolicy(static_cast<int>(i), model->canonical_source[i], &ignored);
    for (const RuleAst& r : ast.rules) {
      found.emplace(r.id.text, Found{FormatRule(r, /*comments=*/false), r.defensive});
    }
  }
  for (Rule& r : model->rules) {
    auto it = found.find(r.id);
    if (it == found.end()) continue;
    r.text = it->second.text;
    r.defensive = r.forbid && it->second.defensive;
  }
}

Model CompileParsed(const SourceSet& sources,
                    const std::vector<PolicyFileAst>& files,
                    std::vector<Diagnostic>* diagnostics) {
  return Compiler(sources, diagnostics).Run(files);
}

Model CompilePolicy(const SourceSet& sources,
                    std::vector<Diagnostic>* diagnostics) {
  std::vector<PolicyFileAst> files;
  for (size_t i = 0; i < sources.size(); ++i) {
    files.push_back(
        ParsePolicy(static_cast<int>(i), sources[i].text, diagnostics));
  }
  return CompileParsed(sources, files, diagnostics);
}

}  // namespace gatehouse::policy

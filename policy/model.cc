#include "policy/model.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace gatehouse::policy {

Shape Domains::shape() const {
  Shape s;
  s.size[kDimSender] = static_cast<int>(organisations.size());
  s.size[kDimRecipient] = static_cast<int>(organisations.size());
  s.size[kDimRecordType] = static_cast<int>(record_types.size());
  s.size[kDimClassification] = static_cast<int>(classifications.size());
  s.size[kDimPurpose] = static_cast<int>(purposes.size());
  s.size[kDimOriginator] = static_cast<int>(organisations.size());
  s.size[kDimRole] = static_cast<int>(roles.size()) + 1;
  s.size[kDimLegalBasis] = static_cast<int>(legal_bases.size()) + 1;
  s.caveats = static_cast<int>(caveats.size());
  return s;
}

std::vector<std::string> Domains::ValueNames(int dim) const {
  std::vector<std::string> out;
  switch (dim) {
    case kDimRecordType: return record_types;
    case kDimClassification: return classifications;
    case kDimPurpose: return purposes;
    case kDimRole:
    case kDimLegalBasis:
      out.push_back("(none)");
      for (const std::string& n : dim == kDimRole ? roles : legal_bases) out.push_back(n);
      return out;
    default:
      for (const Organisation& o : organisations) out.push_back(o.id);
      return out;
  }
}

Region Domains::WriteDownRegion() const {
  const Shape s = shape();
  Region r;
  for (size_t k = 0; k < classifications.size(); ++k) {
    ValueSet below = s.None(kDimRecipient);
    for (size_t o = 0; o < organisations.size(); ++o) {
      if (organisations[o].accreditation < static_cast<int>(k)) below.Set(static_cast<int>(o));
    }
    if (below.Empty()) continue;
    Cube c = Cube::Universe(s);
    c.m[kDimClassification] = s.Single(kDimClassification, static_cast<int>(k));
    c.m[kDimRecipient] = below;
    r.push_back(c);
  }
  return r;
}

bool Domains::Wide() const {
  const Shape s = shape();
  for (int d = 0; d < kNumValueDims; ++d) {
    if (s.size[d] > 64) return true;
  }
  return false;
}

gatehouse::v1::CompiledPolicy ToProto(const Model& model) {
  gatehouse::v1::CompiledPolicy p;
  const Domains& d = model.domains;
  p.set_name(model.name);
  p.set_format_version(kFormatVersion);
  for (const Rule& r : model.rules) {
    if (r.obligations.require_recipient_system) {
      p.set_format_version(kFormatVersionRecipientSystem);
    }
  }
  const bool v3 = d.NeedsFormat3();
  if (v3) p.set_format_version(kFormatVersionWide);
  const int dims = v3 ? kNumValueDims : kNumBaseDims;
  for (const auto& s : d.roles) p.add_roles(s);
  p.set_roles_ordered(d.roles_ordered);
  for (const auto& s : d.legal_bases) p.add_legal_bases(s);
  for (const auto& s : d.classifications) p.add_classifications(s);
  for (const auto& s : d.caveats) p.add_caveats(s);
  for (const auto& s : d.sectors) p.add_sectors(s);
  for (const auto& o : d.organisations) {
    auto* po = p.add_organisations();
    po->set_id(o.id);
    po->set_sector(o.sector);
    po->set_accreditation(o.accreditation);
  }
  for (const auto& s : d.record_types) p.add_record_types(s);
  for (const auto& s : d.purposes) p.add_purposes(s);
  for (const Rule& r : model.rules) {
    auto* pr = p.add_rules();
    pr->set_id(r.id);
    pr->set_description(r.description);
    pr->set_forbid(r.forbid);
    pr->set_source(r.source);
    pr->set_layer(r.layer);
    for (const Cube& c : r.region) {
      auto* pc = pr->add_cubes();
      for (int dim = 0; dim < dims; ++dim) {
        for (int w = 0; w < c.m[dim].words(); ++w) pc->add_masks(c.m[dim].word(w));
      }
      pc->add_masks(c.absent_ok);
      pc->add_masks(c.present_ok);
    }
    if (!r.forbid) {
      auto* ob = pr->mutable_obligations();
      ob->set_encrypt(r.obligations.encrypt);
      for (const auto& f : r.obligations.redact_fields) ob->add_redact_fields(f);
      ob->set_retain_days(r.obligations.retain_days);
      ob->set_notify_originator(r.obligations.notify_originator);
      ob->set_require_recipient_system(r.obligations.require_recipient_system);
    }
  }
  for (const auto& s : model.canonical_source) p.add_canonical_source(s);
  return p;
}

namespace {

absl::Status CheckNames(absl::string_view what,
                        const google::protobuf::RepeatedPtrField<std::string>& names,
                        size_t max, std::vector<std::string>* out) {
  if (names.size() > static_cast<int>(max)) {
    return absl::InvalidArgumentError(
        absl::StrCat("compiled policy has ", names.size(), " ", what,
                     "; at most ", max, " are supported"));
  }
  absl::flat_hash_set<std::string> seen;
  for (const auto& n : names) {
    if (n.empty() || !seen.insert(n).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("compiled policy has an empty or duplicate ", what,
                       " name '", n, "'"));
    }
    out->push_back(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Model> FromProto(const gatehouse::v1::CompiledPolicy& p) {
  if (p.format_version() < kFormatVersion || p.format_version() > kFormatVersionWide) {
    return absl::InvalidArgumentError(absl::StrCat(
        "compiled policy format version ", p.format_version(), " is not supported (expected ",
        kFormatVersion, " to ", kFormatVersionWide, ")"));
  }
  Model m;
  m.name = p.name();
  Domains& d = m.domains;
  absl::Status s = CheckNames("classifications", p.classifications(), kMaxValues,
                              &d.classifications);
  if (s.ok()) s = CheckNames("caveats", p.caveats(), kMaxCaveats, &d.caveats);
  if (s.ok()) s = CheckNames("sectors", p.sectors(), kMaxValues, &d.sectors);
  if (s.ok()) s = CheckNames("record types", p.record_types(), kMaxValues,
                             &d.record_types);
  if (s.ok()) s = CheckNames("purposes", p.purposes(), kMaxValues, &d.purposes);
  if (s.ok()) s = CheckNames("roles", p.roles(), kMaxValues - 1, &d.roles);
  if (s.ok()) s = CheckNames("legal bases", p.legal_bases(), kMaxValues - 1, &d.legal_bases);
  if (!s.ok()) return s;
  d.roles_ordered = p.roles_ordered();
  if (d.classifications.empty()) {
    return absl::InvalidArgumentError("compiled policy has no classifications");
  }
  if (p.organisations_size() > kMaxValues) {
    return absl::InvalidArgumentError(absl::StrCat(
        "compiled policy has more than ", kMaxValues, " organisations"));
  }
  absl::flat_hash_set<std::string> org_ids;
  for (const auto& po : p.organisations()) {
    if (po.id().empty() || !org_ids.insert(po.id()).second ||
        po.sector() >= d.sectors.size() ||
        po.accreditation() >= d.classifications.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "compiled policy has an invalid organisation '", po.id(), "'"));
    }
    d.organisations.push_back(Organisation{
        po.id(), static_cast<int>(po.sector()),
        static_cast<int>(po.accreditation())});
  }
  const Shape shape = d.shape();
  if (d.NeedsFormat3() && p.format_version() < kFormatVersionWide) {
    return absl::InvalidArgumentError(absl::StrCat(
        "compiled policy has a domain of more than 64 values, roles or legal bases, but "
        "format version ", p.format_version()));
  }
  const int dims = p.format_version() >= kFormatVersionWide ? kNumValueDims : kNumBaseDims;
  int mask_words = 2;
  for (int i = 0; i < dims; ++i) mask_words += ValueSet::Words(shape.size[i]);
  absl::flat_hash_set<std::string> rule_ids;
  for (const auto& pr : p.rules()) {
    if (pr.id().empty() || !rule_ids.insert(pr.id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "compiled policy has an empty or duplicate rule id '", pr.id(), "'"));
    }
    Rule r;
    r.id = pr.id();
    r.description = pr.description();
    r.forbid = pr.forbid();
    r.source = pr.source();
    r.layer = pr.layer();
    for (const auto& pc : pr.cubes()) {
      if (pc.masks_size() != mask_words) {
        return absl::InvalidArgumentError(absl::StrCat(
            "rule ", r.id, " has a cube with ", pc.masks_size(),
            " masks (expected ", mask_words, ")"));
      }
      Cube c;
      int k = 0;
      for (int i = 0; i < kNumValueDims; ++i) {
        c.m[i] = shape.Full(i);
        if (i >= dims) continue;  // not carried: unrestricted
        for (int w = 0; w < c.m[i].words(); ++w) c.m[i].word(w) &= pc.masks(k++);
      }
      c.absent_ok = pc.masks(k++) & shape.CaveatsFull();
      c.present_ok = pc.masks(k++) & shape.CaveatsFull();
      if (!c.Empty(shape)) r.region.push_back(c);
    }
    const auto& ob = pr.obligations();
    r.obligations.encrypt = ob.encrypt();
    for (const auto& f : ob.redact_fields()) r.obligations.redact_fields.push_back(f);
    r.obligations.retain_days = ob.retain_days();
    r.obligations.notify_originator = ob.notify_originator();
    r.obligations.require_recipient_system = ob.require_recipient_system();
    m.rules.push_back(std::move(r));
  }
  for (const auto& src : p.canonical_source()) m.canonical_source.push_back(src);
  return m;
}

}  // namespace gatehouse::policy

#include "policy/engine.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gatehouse::policy {
namespace {

// Caveat combinations are tabulated when there are at most this many.
constexpr int kMaxTabulatedCaveats = 10;

constexpr absl::string_view kNoPermitReason =
    "denied: no sharing agreement (permit rule) covers this flow";
constexpr absl::string_view kWriteDownReason =
    "denied: the recipient is accredited below the record's classification "
    "(no write-down; built in, no rule can override it)";

}  // namespace

absl::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPermitted: return "permitted";
    case Outcome::kForbidden: return "forbidden";
    case Outcome::kNoPermit: return "no-permit";
    case Outcome::kWriteDown: return "write-down";
    case Outcome::kUnknownLabel: return "unknown-label";
    case Outcome::kMissingLabel: return "missing-label";
  }
  return "unknown-label";
}

absl::StatusOr<Engine> Engine::FromBundle(absl::string_view bundle_bytes,
                                          const BundleTrust& trust) {
  ASSIGN_OR_RETURN(gatehouse::v1::PolicyBundlePayload payload,
                   VerifyBundle(bundle_bytes, trust));
  gatehouse::v1::CompiledPolicy compiled;
  if (!compiled.ParseFromString(payload.compiled_policy())) {
    return absl::InvalidArgumentError("bundle's compiled policy does not parse");
  }
  return FromCompiled(compiled);
}

absl::StatusOr<Engine> Engine::FromCompiled(
    const gatehouse::v1::CompiledPolicy& compiled) {
  ASSIGN_OR_RETURN(Model model, FromProto(compiled));
  return FromModel(std::move(model));
}

absl::StatusOr<Engine> Engine::FromModel(Model model) {
  const Domains& d = model.domains;
  const size_t kMax = kMaxValues;
  if (d.classifications.empty() || d.organisations.size() > kMax ||
      d.record_types.size() > kMax || d.purposes.size() > kMax ||
      d.roles.size() >= kMax || d.legal_bases.size() >= kMax ||
      d.caveats.size() > kMaxCaveats || d.classifications.size() > kMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy domains must be non-empty and at most ", kMaxValues, " values each (",
        kMaxCaveats, " caveats)"));
  }
  size_t cubes = 0;
  for (const Rule& r : model.rules) cubes += r.region.size();
  if (model.rules.size() > 65535 || cubes > (1u << 22)) {
    return absl::InvalidArgumentError("policy is too large to evaluate");
  }
  Engine e;
  e.model_ = std::move(model);
  for (const Rule& r : e.model_.rules) {
    for (const std::string& f : r.obligations.redact_fields) {
      bool seen = false;
      for (const std::string& g : e.redact_fields_) seen |= (g == f);
      if (!seen) e.redact_fields_.push_back(f);
    }
  }
  if (e.redact_fields_.size() > 64) {
    return absl::InvalidArgumentError(
        "policy names more than 64 distinct fields to redact");
  }
  e.Build();
  return e;
}

void Engine::Build() {
  const Domains& d = model_.domains;
  shape_ = d.shape();
  const Shape& shape = shape_;
  size_t cubes = 0;
  for (const Rule& r : model_.rules) cubes += r.region.size();
  words_ = static_cast<int>((cubes + 63) / 64);
  if (words_ == 0) words_ = 1;
  for (int dim = 0; dim < kNumValueDims; ++dim) {
    value_bits_[dim].assign(static_cast<size_t>(shape.size[dim]) * words_, 0);
  }
  caveat_present_.assign(static_cast<size_t>(shape.caveats) * words_, 0);
  caveat_absent_.assign(static_cast<size_t>(shape.caveats) * words_, 0);
  forbid_words_.assign(words_, 0);
  cube_rule_.clear();
  size_t c = 0;
  for (size_t ri = 0; ri < model_.rules.size(); ++ri) {
    const Rule& r = model_.rules[ri];
    for (const Cube& cube : r.region) {
      const size_t w = c / 64;
      const uint64_t bit = 1ULL << (c % 64);
      for (int dim = 0; dim < kNumValueDims; ++dim) {
        for (int v = 0; v < shape.size[dim]; ++v) {
          if (cube.m[dim].Has(v)) value_bits_[dim][v * words_ + w] |= bit;
        }
      }
      for (int i = 0; i < shape.caveats; ++i) {
        if ((cube.present_ok >> i) & 1) caveat_present_[i * words_ + w] |= bit;
        if ((cube.absent_ok >> i) & 1) caveat_absent_[i * words_ + w] |= bit;
      }
      if (r.forbid) forbid_words_[w] |= bit;
      cube_rule_.push_back(static_cast<uint16_t>(ri));
      ++c;
    }
  }
  caveat_table_.clear();
  if (shape.caveats <= kMaxTabulatedCaveats) {
    const size_t combos = size_t{1} << shape.caveats;
    caveat_table_.assign(combos * words_, ~0ULL);
    for (size_t mask = 0; mask < combos; ++mask) {
      for (int i = 0; i < shape.caveats; ++i) {
        const auto& src = ((mask >> i) & 1) ? caveat_present_ : caveat_absent_;
        for (int w = 0; w < words_; ++w) {
          caveat_table_[mask * words_ + w] &= src[i * words_ + w];
        }
      }
    }
  }
  rule_obligations_.clear();
  rule_reason_.clear();
  rule_ids_.clear();
  for (const Rule& r : model_.rules) {
    DecisionObligations o;
    o.encrypt = r.obligations.encrypt;
    o.notify_originator = r.obligations.notify_originator;
    o.require_recipient_system = r.obligations.require_recipient_system;
    o.retain_days = r.obligations.retain_days;
    for (const std::string& f : r.obligations.redact_fields) {
      for (size_t i = 0; i < redact_fields_.size(); ++i) {
        if (redact_fields_[i] == f) o.redact |= 1ULL << i;
      }
    }
    rule_obligations_.push_back(o);
    std::string reason = absl::StrCat(r.forbid ? "denied: forbidden by rule "
                                               : "allowed: permitted by rule ",
                                      r.id);
    if (!r.description.empty()) absl::StrAppend(&reason, ": ", r.description);
    rule_reason_.push_back(std::move(reason));
    rule_ids_.push_back(r.id);
  }
  accreditation_.clear();
  std::vector<std::string> org_ids;
  for (const Organisation& o : d.organisations) {
    org_ids.push_back(o.id);
    accreditation_.push_back(static_cast<uint16_t>(o.accreditation));
  }
  orgs_.Build(org_ids);
  types_.Build(d.record_types);
  levels_.Build(d.classifications);
  purposes_.Build(d.purposes);
  caveats_.Build(d.caveats);
  roles_.Build(d.roles);
  bases_.Build(d.legal_bases);
}

Decision Engine::Deny(Outcome outcome, absl::string_view reason) const {
  Decision d;
  d.allowed = false;
  d.outcome = outcome;
  d.reason = reason;
  return d;
}

namespace {

// Per label: the denial when it is missing, then when it is unknown.
constexpr absl::string_view kLabelDenials[6][2] = {
    {"denied: the sender organisation is missing",
     "denied: the sender organisation is not known to the policy"},
    {"denied: the recipient organisation is missing",
     "denied: the recipient organisation is not known to the policy"},
    {"denied: the record type label is missing",
     "denied: the record type is not known to the policy"},
    {"denied: the classification label is missing",
     "denied: the classification is not a level the policy declares"},
    {"denied: the purpose label is missing",
     "denied: the purpose is not known to the policy"},
    {"denied: the originator is missing",
     "denied: the originator organisation is not known to the policy"},
};

// 0: found, 1: missing, 2: unknown.
inline int Find(const LabelIndex& index, absl::string_view value,
                uint16_t* dest) {
  if (value.empty()) return 1;
  const int i = index.Find(value);
  if (i < 0) return 2;
  *dest = static_cast<uint16_t>(i);
  return 0;
}

}  // namespace

bool Engine::Resolve(const Request& r, ResolvedRequest* out,
                     Decision* denial) const {
  const absl::string_view originator =
      r.originator.empty() ? r.sender : r.originator;
  int field = 0, result = 0;
  if ((result = Find(orgs_, r.sender, &out->sender)) == 0 &&
      (++field, result = Find(orgs_, r.recipient, &out->recipient)) == 0 &&
      (++field, result = Find(types_, r.record_type, &out->record_type)) == 0 &&
      (++field, result = Find(levels_, r.classification, &out->classification)) == 0 &&
      (++field, result = Find(purposes_, r.purpose, &out->purpose)) == 0 &&
      (++field, result = Find(orgs_, originator, &out->originator)) == 0) {
    out->caveats = 0;
    for (absl::string_view c : r.caveats) {
      const int i = caveats_.Find(c);
      if (i < 0) {
        *denial = Deny(Outcome::kUnknownLabel,
                       "denied: a caveat is not known to the policy");
        return false;
      }
      out->caveats |= 1ULL << i;
    }
    // Requester attributes: none given is value 0; a policy that declares
    // none ignores them.
    out->requester_role = 0;
    out->legal_basis = 0;
    if (!model_.domains.roles.empty() && !r.requester_role.empty()) {
      const int i = roles_.Find(r.requester_role);
      if (i < 0) {
        *denial = Deny(Outcome::kUnknownLabel,
                       "denied: the requester's role is not one the policy declares");
        return false;
      }
      out->requester_role = static_cast<uint16_t>(i + 1);
    }
    if (!model_.domains.legal_bases.empty() && !r.legal_basis.empty()) {
      const int i = bases_.Find(r.legal_basis);
      if (i < 0) {
        *denial = Deny(Outcome::kUnknownLabel,
                       "denied: the legal basis is not one the policy declares");
        return false;
      }
      out->legal_basis = static_cast<uint16_t>(i + 1);
    }
    return true;
  }
  *denial = Deny(result == 1 ? Outcome::kMissingLabel : Outcome::kUnknownLabel,
                 kLabelDenials[field][result - 1]);
  return false;
}

Decision Engine::Evaluate(const Request& request) const {
  ResolvedRequest resolved;
  Decision denial;
  if (!Resolve(request, &resolved, &denial)) return denial;
  return EvaluateResolved(resolved);
}

Decision Engine::EvaluateResolved(const ResolvedRequest& r) const {
  const Shape& shape = shape_;
  if (r.sender >= shape.size[kDimSender] ||
      r.recipient >= shape.size[kDimRecipient] ||
      r.record_type >= shape.size[kDimRecordType] ||
      r.classification >= shape.size[kDimClassification] ||
      r.purpose >= shape.size[kDimPurpose] ||
      r.originator >= shape.size[kDimOriginator] ||
      r.requester_role >= shape.size[kDimRole] ||
      r.legal_basis >= shape.size[kDimLegalBasis] ||
      (r.caveats & ~shape.CaveatsFull()) != 0) {
    return Deny(Outcome::kUnknownLabel,
                "denied: the request was not resolved by this policy");
  }
  if (accreditation_[r.recipient] < r.classification) {
    return Deny(Outcome::kWriteDown, kWriteDownReason);
  }
  const int W = words_;
  const uint64_t* dims[kNumValueDims] = {
      &value_bits_[kDimSender][r.sender * W],
      &value_bits_[kDimRecipient][r.recipient * W],
      &value_bits_[kDimRecordType][r.record_type * W],
      &value_bits_[kDimClassification][r.classification * W],
      &value_bits_[kDimPurpose][r.purpose * W],
      &value_bits_[kDimOriginator][r.originator * W],
      &value_bits_[kDimRole][r.requester_role * W],
      &value_bits_[kDimLegalBasis][r.legal_basis * W]};
  const uint64_t* cav =
      caveat_table_.empty() ? nullptr : &caveat_table_[r.caveats * W];
  Decision d;
  d.rule_ids_ = rule_ids_.data();
  int last_forbid = -1, last_permit = -1;
  int num_forbids = 0, num_permits = 0;
  DecisionObligations obligations;
  for (int w = 0; w < W; ++w) {
    uint64_t word = dims[0][w] & dims[1][w] & dims[2][w] & dims[3][w] &
                    dims[4][w] & dims[5][w] & dims[6][w] & dims[7][w];
    if (cav) {
      word &= cav[w];
    } else {
      for (int i = 0; i < shape.caveats && word; ++i) {
        word &= ((r.caveats >> i) & 1) ? caveat_present_[i * W + w]
                                       : caveat_absent_[i * W + w];
      }
    }
    if (!word) continue;
    uint64_t f = word & forbid_words_[w];
    while (f) {
      const int rule = cube_rule_[w * 64 + __builtin_ctzll(f)];
      f &= f - 1;
      if (rule == last_forbid) continue;
      last_forbid = rule;
      if (num_forbids < kMaxDecidingRules) {
        d.rule_index_[num_forbids] = static_cast<uint16_t>(rule);
      }
      if (num_forbids == 0) d.reason = rule_reason_[rule];
      ++num_forbids;
    }
    if (num_forbids) continue;
    uint64_t p = word & ~forbid_words_[w];
    while (p) {
      const int rule = cube_rule_[w * 64 + __builtin_ctzll(p)];
      p &= p - 1;
      if (rule == last_permit) continue;
      last_permit = rule;
      if (num_permits < kMaxDecidingRules) {
        d.rule_index_[num_permits] = static_cast<uint16_t>(rule);
      }
      if (num_permits == 0) d.reason = rule_reason_[rule];
      ++num_permits;
      const DecisionObligations& o = rule_obligations_[rule];
      obligations.encrypt |= o.encrypt;
      obligations.notify_originator |= o.notify_originator;
      obligations.require_recipient_system |= o.require_recipient_system;
      obligations.redact |= o.redact;
      if (o.retain_days > obligations.retain_days) {
        obligations.retain_days = o.retain_days;
      }
    }
  }
  if (num_forbids) {
    d.allowed = false;
    d.outcome = Outcome::kForbidden;
    d.num_rules = num_forbids;
    return d;
  }
  if (num_permits) {
    d.allowed = true;
    d.outcome = Outcome::kPermitted;
    d.num_rules = num_permits;
    d.obligations = obligations;
    return d;
  }
  return Deny(Outcome::kNoPermit, kNoPermitReason);
}

std::vector<std::string> Engine::RedactFields(
    const DecisionObligations& o) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < redact_fields_.size(); ++i) {
    if ((o.redact >> i) & 1) out.push_back(redact_fields_[i]);
  }
  return out;
}

}  // namespace gatehouse::policy

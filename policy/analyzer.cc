#include "policy/analyzer.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gatehouse::policy {
namespace {

Cube BoundingBox(const Region& r) {
  Cube b;
  for (const Cube& c : r) {
    for (int d = 0; d < kNumValueDims; ++d) b.m[d] |= c.m[d];
    b.absent_ok |= c.absent_ok;
    b.present_ok |= c.present_ok;
  }
  return b;
}

bool RegionsIntersect(const Shape& s, const Region& a, const Region& b) {
  for (const Cube& x : a) {
    for (const Cube& y : b) {
      if (Intersects(s, x, y)) return true;
    }
  }
  return false;
}

// True if every request in `region` gets each of `a`'s obligations from
// the `covering` rules alone. A request gets the obligations of every permit
// that matches it, so each obligation is checked on its own: the rules that
// carry it must together cover the region (not merely some rule somewhere).
bool ObligationsImplied(const Shape& shape, const Obligations& a, const Region& region,
                        const std::vector<const Rule*>& covering) {
  auto covered_by = [&](auto carries) {
    Region with;
    for (const Rule* r : covering) {
      if (carries(r->obligations)) with.insert(with.end(), r->region.begin(), r->region.end());
    }
    return Covered(shape, region, with);
  };
  if (a.encrypt && !covered_by([](const Obligations& o) { return o.encrypt; })) return false;
  if (a.notify_originator &&
      !covered_by([](const Obligations& o) { return o.notify_originator; })) {
    return false;
  }
  if (a.require_recipient_system &&
      !covered_by([](const Obligations& o) { return o.require_recipient_system; })) {
    return false;
  }
  if (a.retain_days > 0 && !covered_by([&](const Obligations& o) {
        return o.retain_days >= a.retain_days;
      })) {
    return false;
  }
  for (const std::string& f : a.redact_fields) {
    if (!covered_by([&](const Obligations& o) {
          return std::find(o.redact_fields.begin(), o.redact_fields.end(), f) !=
                 o.redact_fields.end();
        })) {
      return false;
    }
  }
  return true;
}

std::string Ids(const std::vector<const Rule*>& rules) {
  return absl::StrJoin(rules, ", ", [](std::string* out, const Rule* r) {
    out->append(r->id);
  });
}

class Analyzer {
 public:
  Analyzer(const Model& m, std::vector<Diagnostic>* diags)
      : m_(m), diags_(diags), shape_(m.domains.shape()),
        write_down_(m.domains.WriteDownRegion()) {
    for (const Rule& r : m.rules) {
      if (r.forbid) {
        forbids_.insert(forbids_.end(), r.region.begin(), r.region.end());
        forbid_rules_.push_back(&r);
      }
    }
  }

  void Run() {
    std::vector<Region> effective(m_.rules.size());
    for (size_t i = 0; i < m_.rules.size(); ++i) {
      const Rule& r = m_.rules[i];
      if (r.region.empty()) {
        Add(Severity::kWarning, "never-fires", r,
            absl::StrCat("rule ", r.id,
                         " can never fire: its conditions contradict each "
                         "other"));
        continue;
      }
      if (r.forbid) continue;
      Region no_wd = SubtractRegions(shape_, r.region, write_down_);
      if (no_wd.empty()) {
        Add(Severity::kWarning, "never-fires", r,
            absl::StrCat("permit ", r.id,
                         " can never fire: every flow it covers writes down "
                         "(recipient accredited below the classification)"));
        continue;
      }
      CheckWriteDown(r);
      std::vector<const Rule*> hitting;
      for (const Rule* f : forbid_rules_) {
        if (RegionsIntersect(shape_, no_wd, f->region)) hitting.push_back(f);
      }
      Region hit_region;
      for (const Rule* f : hitting) {
        hit_region.insert(hit_region.end(), f->region.begin(), f->region.end());
      }
      Region eff = SubtractRegions(shape_, no_wd, hit_region);
      Simplify(shape_, &eff);
      if (eff.empty()) {
        for (const Rule* f : hitting) {
          if (Covered(shape_, no_wd, f->region)) {
            hitting = {f};
            break;
          }
        }
        Add(Severity::kWarning, "overridden", r,
            absl::StrCat("permit ", r.id,
                         " is always overridden: forbid rule(s) ", Ids(hitting),
                         " deny every request it would permit"));
        continue;
      }
      if (!hitting.empty()) {
        Add(Severity::kInfo, "overlap", r,
            absl::StrCat("forbid rule(s) ", Ids(hitting),
                         " override part of permit ", r.id));
      }
      effective[i] = std::move(eff);
    }
    CheckRedundant(effective);
    CheckLayers(effective);
  }

 private:
  void Add(Severity s, const char* code, const Rule& r, std::string msg) {
    diags_->push_back(Diagnostic{s, code, r.pos, std::move(msg)});
  }

  void CheckWriteDown(const Rule& r) {
    for (const Cube& c : r.region) {
      if (c.m[kDimClassification] & 1) continue;  // lowest level allowed
      Region wd = IntersectRegions(shape_, Region{c}, write_down_);
      wd = SubtractRegions(shape_, wd, forbids_);
      if (wd.empty()) continue;
      const Cube& x = wd[0];
      const int org = __builtin_ctzll(x.m[kDimRecipient]);
      const int level = __builtin_ctzll(x.m[kDimClassification]);
      const auto& o = m_.domains.organisations[org];
      Add(Severity::kError, "write-down", r,
          absl::StrCat("permit ", r.id, " would send ",
                       m_.domains.classifications[level], " records to ", o.id,
                       ", accredited only to ",
                       m_.domains.classifications[o.accreditation],
                       " (write-down); restrict the recipient or the "
                       "classification"));
      return;
    }
  }

  void CheckRedundant(const std::vector<Region>& effective) {
    const size_t n = m_.rules.size();
    std::vector<bool> active(n, false);
    std::vector<Cube> boxes(n);
    // Candidate permits by sender organisation, so that each permit is
    // compared only with permits that can share a request with it.
    std::vector<std::vector<size_t>> by_sender(64);
    for (size_t i = 0; i < n; ++i) {
      if (m_.rules[i].forbid || effective[i].empty()) continue;
      active[i] = true;
      boxes[i] = BoundingBox(m_.rules[i].region);
      uint64_t senders = boxes[i].m[kDimSender];
      while (senders) {
        by_sender[__builtin_ctzll(senders)].push_back(i);
        senders &= senders - 1;
      }
    }
    std::vector<size_t> seen(n, n);  // seen[j] == k: j already considered for k
    for (size_t k = n; k-- > 0;) {
      if (!active[k]) continue;
      const Cube box = BoundingBox(effective[k]);
      Region others;
      std::vector<const Rule*> covering;
      std::vector<size_t> candidates;
      uint64_t senders = box.m[kDimSender];
      while (senders) {
        for (size_t j : by_sender[__builtin_ctzll(senders)]) {
          if (seen[j] == k) continue;
          seen[j] = k;
          candidates.push_back(j);
        }
        senders &= senders - 1;
      }
      std::sort(candidates.begin(), candidates.end());
      for (size_t j : candidates) {
        if (j == k || !active[j] || !Intersects(shape_, box, boxes[j])) continue;
        if (!RegionsIntersect(shape_, effective[k], m_.rules[j].region)) continue;
        others.insert(others.end(), m_.rules[j].region.begin(),
                      m_.rules[j].region.end());
        covering.push_back(&m_.rules[j]);
      }
      if (covering.empty() || !Covered(shape_, effective[k], others)) continue;
      // A permit that adds obligations still changes what happens.
      if (!ObligationsImplied(shape_, m_.rules[k].obligations, effective[k], covering)) continue;
      active[k] = false;
      Add(Severity::kWarning, "redundant", m_.rules[k],
          absl::StrCat("permit ", m_.rules[k].id,
                       " is redundant: every request it permits is already "
                       "permitted by ", Ids(covering)));
    }
  }

  void CheckLayers(const std::vector<Region>& effective) {
    Region baseline;
    for (const Rule& r : m_.rules) {
      if (!r.local && !r.forbid) {
        baseline.insert(baseline.end(), r.region.begin(), r.region.end());
      }
    }
    for (size_t i = 0; i < m_.rules.size(); ++i) {
      const Rule& r = m_.rules[i];
      if (!r.local || r.forbid || effective[i].empty()) continue;
      Region extra = SubtractRegions(shape_, effective[i], baseline);
      if (extra.empty()) continue;
      Add(Severity::kError, "layer-widens", r,
          absl::StrCat("permit ", r.id, " in local layer '", r.layer,
                       "' allows flows the baseline does not (a local layer "
                       "may only narrow the baseline)"));
    }
  }

  const Model& m_;
  std::vector<Diagnostic>* diags_;
  Shape shape_;
  Region write_down_;
  Region forbids_;
  std::vector<const Rule*> forbid_rules_;
};

}  // namespace

void Analyze(const Model& model, std::vector<Diagnostic>* diagnostics) {
  Analyzer(model, diagnostics).Run();
}

Region AllowedRegion(const Model& model) {
  const Shape shape = model.domains.shape();
  Region permits, forbids = model.domains.WriteDownRegion();
  for (const Rule& r : model.rules) {
    Region& dst = r.forbid ? forbids : permits;
    dst.insert(dst.end(), r.region.begin(), r.region.end());
  }
  Region allowed = SubtractRegions(shape, permits, forbids);
  Simplify(shape, &allowed);
  return allowed;
}

}  // namespace gatehouse::policy

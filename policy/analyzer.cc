#include "policy/analyzer.h"

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/cube_index.h"
#include "policy/describe.h"
#include "policy/partition.h"

namespace gatehouse::policy {
namespace {

std::string Ids(const std::vector<const Rule*>& rules) {
  return absl::StrJoin(rules, ", ", [](std::string* out, const Rule* r) {
    out->append(r->id);
  });
}

constexpr uint32_t kWriteDown = UINT32_MAX;

// Some cubes of other rules (or of the write-down) near one permit, and the
// rule each belongs to.
struct Neighbourhood {
  std::vector<const Cube*> cubes;
  std::vector<uint32_t> rule;  // kWriteDown for the write-down's cubes
};

// Cubes of one kind, indexed: the permits', or the denials' (forbids and
// the write-down).
struct IndexedCubes {
  std::vector<Cube> cubes;
  std::vector<uint32_t> rule;  // rule index, or kWriteDown
  std::unique_ptr<CubeIndex> index;

  void Add(const Cube& c, uint32_t r) {
    cubes.push_back(c);
    rule.push_back(r);
  }
  void Build(const Shape& shape) { index = std::make_unique<CubeIndex>(shape, cubes); }

  // The cubes meeting `region`, but rule `exclude`'s.
  Neighbourhood Near(const Region& region, uint32_t exclude) const {
    std::vector<uint32_t> ids;
    for (const Cube& c : region) {
      for (uint32_t j : index->Meeting(c)) {
        if (rule[j] != exclude) ids.push_back(j);
      }
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    Neighbourhood n;
    for (uint32_t j : ids) {
      n.cubes.push_back(&cubes[j]);
      n.rule.push_back(rule[j]);
    }
    return n;
  }
};

// Walks the boxes of one permit's cubes on which every rule of a
// neighbourhood is all or nothing, and hands `on_leaf` those where no
// denial of the neighbourhood matches, with the other permits that match
// there. Boxes a denial covers are skipped; so, with `settled`, are boxes
// that the permits containing them settle as a whole (settled(those) is
// true). `on_leaf` returns false to stop.
template <typename OnLeaf>
class DecidingBoxes : public BoxVisitor {
 public:
  using Settled = std::function<bool(const std::vector<uint32_t>&)>;
  DecidingBoxes(const Model& m, const Neighbourhood& n, OnLeaf on_leaf, Settled settled)
      : m_(m), n_(n), on_leaf_(std::move(on_leaf)), settled_(std::move(settled)) {}

  bool Enter(const Cube& box, absl::Span<const uint32_t> idx) override {
    containing_.clear();
    for (uint32_t i : idx) {
      const uint32_t r = n_.rule[i];
      if (!Contains(*n_.cubes[i], box)) continue;
      // A write-down or a forbid throughout: no permit decides here.
      if (r == kWriteDown || m_.rules[r].forbid) return false;
      if (settled_ && std::find(containing_.begin(), containing_.end(), r) == containing_.end()) {
        containing_.push_back(r);
      }
    }
    return !(settled_ && !containing_.empty() && settled_(containing_));
  }

  void Leaf(const Cube& box, absl::Span<const uint32_t> idx) override {
    others_.clear();
    for (uint32_t i : idx) {
      const uint32_t r = n_.rule[i];
      if (r == kWriteDown || m_.rules[r].forbid) return;  // (Enter skipped it)
      if (std::find(others_.begin(), others_.end(), r) == others_.end()) others_.push_back(r);
    }
    if (!on_leaf_(box, others_)) done_ = true;
  }

  bool Done() const override { return done_; }

 private:
  const Model& m_;
  const Neighbourhood& n_;
  OnLeaf on_leaf_;
  Settled settled_;
  std::vector<uint32_t> others_, containing_;
  bool done_ = false;
};

// True if a request gets each of `a`'s obligations from some rule in
// `others` (all of which match it: the leaf is uniform).
bool ObligationsGiven(const Obligations& a, const Model& m, const std::vector<uint32_t>& others) {
  auto some = [&](auto carries) {
    for (uint32_t j : others) {
      if (carries(m.rules[j].obligations)) return true;
    }
    return false;
  };
  if (a.encrypt && !some([](const Obligations& o) { return o.encrypt; })) return false;
  if (a.notify_originator && !some([](const Obligations& o) { return o.notify_originator; })) {
    return false;
  }
  if (a.require_recipient_system &&
      !some([](const Obligations& o) { return o.require_recipient_system; })) {
    return false;
  }
  if (a.retain_days > 0 &&
      !some([&](const Obligations& o) { return o.retain_days >= a.retain_days; })) {
    return false;
  }
  for (const std::string& f : a.redact_fields) {
    if (!some([&](const Obligations& o) {
          return std::find(o.redact_fields.begin(), o.redact_fields.end(), f) !=
                 o.redact_fields.end();
        })) {
      return false;
    }
  }
  return true;
}

class Analyzer {
 public:
  Analyzer(const Model& m, const AnalyzeOptions& options, std::vector<Diagnostic>* diags)
      : m_(m), options_(options), diags_(diags), shape_(m.domains.shape()),
        write_down_(m.domains.WriteDownRegion()) {}

  void Run() {
    const size_t n = m_.rules.size();
    for (size_t i = 0; i < n; ++i) {
      for (const Cube& c : m_.rules[i].region) {
        (m_.rules[i].forbid ? denials_ : permits_).Add(c, static_cast<uint32_t>(i));
      }
    }
    for (const Cube& c : write_down_) {
      denials_.Add(c, kWriteDown);
      write_down_only_.Add(c, kWriteDown);
    }
    permits_.Build(shape_);
    denials_.Build(shape_);
    write_down_only_.Build(shape_);
    near_denials_.resize(n);
    near_built_.assign(n, false);
    samples_.resize(n);
    effective_.assign(n, false);
    for (size_t i = 0; i < n; ++i) {
      const Rule& r = m_.rules[i];
      if (r.region.empty()) {
        NeverFires(r);
      } else if (r.forbid) {
        if (r.defensive) CheckDefensive(r);
      } else {
        CheckPermit(i);
      }
    }
    CheckRedundant();
    CheckLayers();
  }

 private:
  // Where permit i decides, write-down errors, and whether forbids
  // override it wholly or in part.
  void CheckPermit(size_t i) {
    const Rule& r = m_.rules[i];
    // Requests where it decides, or proof that forbids cover it: a quick
    // search first; the exact walk only if it settles neither.
    Search found = SearchPermit(i);
    samples_[i] = std::move(found.free);
    std::vector<const Rule*> inside;
    const bool in_one = found.covered;
    for (uint32_t f : found.covering) inside.push_back(&m_.rules[f]);
    Region no_wd;
    if (samples_[i].empty() || options_.overlaps) {
      no_wd = SubtractRegions(shape_, r.region, write_down_);
    }
    if (samples_[i].empty() && no_wd.empty()) {
      Diagnostic d = At(Severity::kWarning, "never-fires", r, r.classification_pos,
                        absl::StrCat("permit ", r.id,
                                     " can never fire: every flow it covers writes down "
                                     "(recipient accredited below the classification)"));
      if (r.recipient_pos.line > 0) {
        d.notes.push_back({r.recipient_pos, "the recipients it allows are accredited below that"});
      }
      diags_->push_back(std::move(d));
      return;
    }
    CheckWriteDown(i);
    if (in_one) {
      Overridden(r, inside);
      return;
    }
    if (samples_[i].empty()) {
      if (EachPartInOneForbid(no_wd, &inside) || CoveredByFewForbids(i, no_wd, &inside)) {
        Overridden(r, inside);
        return;
      }
      Decides(i, Denials(i), [&](const Cube& box, const std::vector<uint32_t>&) {
        samples_[i].push_back(box);
        return samples_[i].size() < kSamples;
      });
    }
    effective_[i] = !samples_[i].empty();
    if (!effective_[i]) {
      std::vector<const Rule*> hitting = Hitting(i, no_wd);
      for (const Rule* f : hitting) {  // name one forbid if it alone covers it
        if (Covered(shape_, no_wd, f->region)) {
          hitting = {f};
          break;
        }
      }
      Overridden(r, hitting);
      return;
    }
    // Forbids overriding it in part (infos): realistic policies have
    // thousands of such pairs, so only if asked.
    if (!options_.overlaps) return;
    const std::vector<const Rule*> hitting = Hitting(i, no_wd);
    if (hitting.empty()) return;
    Diagnostic d = At(Severity::kInfo, "overlap", r, r.id_pos,
                      absl::StrCat("forbid rule(s) ", Ids(hitting), " override part of permit ",
                                   r.id));
    NoteRules(&d, hitting, "overrides part of it");
    diags_->push_back(std::move(d));
  }

  void Overridden(const Rule& r, const std::vector<const Rule*>& forbids) {
    Diagnostic d = At(Severity::kWarning, "overridden", r, r.id_pos,
                      absl::StrCat("permit ", r.id, " is always overridden: forbid rule(s) ",
                                   Ids(forbids), " deny every request it would permit"));
    NoteRules(&d, forbids, "denies what it would permit");
    diags_->push_back(std::move(d));
  }

  // What a search of permit i's cubes found: requests where it decides
  // (no forbid, no write-down matches them), or proof that forbids cover
  // it (and which), or neither.
  struct Search {
    std::vector<Cube> free;           // one-cell cubes, at most kSamples
    bool covered = false;             // every cube proved inside forbids
    std::vector<uint32_t> covering;   // those forbids
  };

  // Searches each cube of permit i from a few starts (the lowest value of
  // each dimension, caveats absent where allowed; then another value of
  // one dimension at a time). While denials match the request: a denial
  // that contains the whole cube proves it covered; one that cuts the cube
  // in a single dimension (or caveat) makes its values there bad, and if a
  // dimension has no good value left, those denials together cover the
  // cube; otherwise the request moves to good values (or, for a denial that
  // cuts in several dimensions, out of it in one). Finding nothing proves
  // nothing; the exact walk decides then.
  Search SearchPermit(size_t i) const {
    Search out;
    bool all_covered = true;
    for (const Cube& c : m_.rules[i].region) {
      Cube first = c;
      for (int d = 0; d < kNumValueDims; ++d) first.m[d] = shape_.Single(d, c.m[d].First());
      first.present_ok &= ~c.absent_ok;
      first.absent_ok &= ~first.present_ok;
      std::vector<uint32_t> covering;
      const bool covered = SearchCube(c, first, &out.free, &covering);
      if (covered) {
        out.covering.insert(out.covering.end(), covering.begin(), covering.end());
        continue;
      }
      all_covered = false;
      for (int d = 0; d < kNumValueDims && out.free.size() < kSamples; ++d) {
        const int lowest = first.m[d].First();
        int other = -1;
        c.m[d].ForEach([&](int v) {
          if (other < 0 && v != lowest) other = v;
        });
        if (other < 0) continue;
        Cube start = first;
        start.m[d] = shape_.Single(d, other);
        std::vector<uint32_t> ignored;
        SearchCube(c, start, &out.free, &ignored);
      }
    }
    // Neither found nor proved: a few more starts at random requests of
    // the permit (a fixed seed, so that findings do not vary by run).
    uint64_t seed = 0x9E3779B97F4A7C15ULL * (i + 1);
    auto next = [&](int n) {
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      return static_cast<int>(seed % static_cast<uint64_t>(n));
    };
    for (int round = 0; round < 8 && out.free.empty() && !all_covered; ++round) {
      const Region& region = m_.rules[i].region;
      const Cube& c = region[next(static_cast<int>(region.size()))];
      Cube start = c;
      for (int d = 0; d < kNumValueDims; ++d) {
        std::vector<int> values;
        c.m[d].ForEach([&](int v) { values.push_back(v); });
        start.m[d] = shape_.Single(d, values[next(static_cast<int>(values.size()))]);
      }
      start.present_ok &= ~c.absent_ok;
      start.absent_ok &= ~start.present_ok;
      std::vector<uint32_t> ignored;
      SearchCube(c, start, &out.free, &ignored);
    }
    out.covered = all_covered && out.free.empty();
    std::sort(out.covering.begin(), out.covering.end());
    out.covering.erase(std::unique(out.covering.begin(), out.covering.end()),
                       out.covering.end());
    return out;
  }

  // One search of cube `c` from `cell` (see SearchPermit). Adds a free
  // request to *free; returns true if it proved `c` inside the forbids in
  // *covering.
  bool SearchCube(const Cube& c, Cube cell, std::vector<Cube>* free,
                  std::vector<uint32_t>* covering) const {
    const uint64_t full = shape_.CaveatsFull();
    std::array<ValueSet, kNumValueDims> bad;
    std::array<std::vector<uint32_t>, kNumValueDims> bad_by;
    for (int d = 0; d < kNumValueDims; ++d) bad[d] = shape_.None(d);
    uint64_t bad_absent = 0, bad_present = 0;  // caveat settings denied outright
    std::array<std::vector<uint32_t>, kMaxCaveats> bad_by_caveat;
    for (int step = 0; step < 16; ++step) {
      const std::vector<uint32_t> blockers = denials_.index->Meeting(cell);
      if (blockers.empty()) {
        if (std::find(free->begin(), free->end(), cell) == free->end()) free->push_back(cell);
        return false;
      }
      for (uint32_t j : blockers) {
        const Cube& f = denials_.cubes[j];
        const uint32_t rule = denials_.rule[j];
        int cut_dim = -1, cuts = 0;
        for (int d = 0; d < kNumValueDims && cuts < 2; ++d) {
          if (!c.m[d].SubsetOf(f.m[d])) {
            cut_dim = d;
            ++cuts;
          }
        }
        const uint64_t cav_cut =
            ((c.absent_ok & ~f.absent_ok) | (c.present_ok & ~f.present_ok)) & full;
        cuts += __builtin_popcountll(cav_cut);
        if (rule == kWriteDown) continue;  // not a forbid: proves nothing
        if (cuts == 0) {
          covering->assign({rule});
          return true;  // the cube lies inside this forbid
        }
        if (cuts != 1) continue;
        if (cut_dim >= 0) {
          bad[cut_dim] |= f.m[cut_dim] & c.m[cut_dim];
          bad_by[cut_dim].push_back(rule);
          ValueSet good = c.m[cut_dim];
          good.AndNot(bad[cut_dim]);
          if (good.Empty()) {
            *covering = bad_by[cut_dim];
            return true;  // every value of this dimension is forbidden
          }
        } else {
          // Cut at one caveat only: the setting of it the forbid matches is
          // forbidden throughout the cube.
          const int bit_index = __builtin_ctzll(cav_cut);
          const uint64_t bit = cav_cut;
          if (f.present_ok & c.present_ok & bit) bad_present |= bit;
          if (f.absent_ok & c.absent_ok & bit) bad_absent |= bit;
          bad_by_caveat[bit_index].push_back(rule);
          const bool absent_free = (c.absent_ok & bit) && !(bad_absent & bit);
          const bool present_free = (c.present_ok & bit) && !(bad_present & bit);
          if (!absent_free && !present_free) {
            *covering = bad_by_caveat[bit_index];
            return true;  // both settings of this caveat are forbidden
          }
        }
      }
      // Move to good values where the request has bad ones.
      bool moved = false;
      for (int d = 0; d < kNumValueDims; ++d) {
        if (!cell.m[d].Intersects(bad[d])) continue;
        ValueSet good = c.m[d];
        good.AndNot(bad[d]);
        cell.m[d] = shape_.Single(d, good.First());
        moved = true;
      }
      const uint64_t flip_to_absent = cell.present_ok & bad_present & c.absent_ok & ~bad_absent;
      const uint64_t flip_to_present = cell.absent_ok & bad_absent & c.present_ok & ~bad_present;
      if (flip_to_absent | flip_to_present) {
        cell.present_ok ^= flip_to_absent | flip_to_present;
        cell.absent_ok ^= flip_to_absent | flip_to_present;
        moved = true;
      }
      if (moved) continue;
      // Every blocker cuts in several dimensions: step out of one of them.
      const Cube& f = denials_.cubes[blockers[step % blockers.size()]];
      for (int k = 0; k < kNumValueDims && !moved; ++k) {
        const int d = (k + step) % kNumValueDims;
        ValueSet escape = c.m[d];
        escape.AndNot(f.m[d]);
        escape.AndNot(bad[d]);
        if (escape.Empty()) continue;
        cell.m[d] = shape_.Single(d, escape.First());
        moved = true;
      }
      const uint64_t flip = c.absent_ok & c.present_ok & full &
                            ((cell.present_ok & ~f.present_ok) | (cell.absent_ok & ~f.absent_ok));
      if (!moved && flip) {
        const uint64_t bit = flip & -flip;
        cell.present_ok ^= bit;
        cell.absent_ok ^= bit;
        moved = true;
      }
      if (!moved) return false;
    }
    return false;
  }

  // True if every cube of `region` lies inside a single forbid; *forbids
  // gets one such forbid a cube (distinct, in rule order).
  bool EachPartInOneForbid(const Region& region, std::vector<const Rule*>* forbids) const {
    std::vector<uint32_t> ids;
    for (const Cube& c : region) {
      bool inside = false;
      for (uint32_t j : denials_.index->Meeting(c)) {
        const uint32_t r = denials_.rule[j];
        if (r != kWriteDown && Contains(denials_.cubes[j], c)) {
          ids.push_back(r);
          inside = true;
          break;
        }
      }
      if (!inside) return false;
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (uint32_t r : ids) forbids->push_back(&m_.rules[r]);
    return true;
  }

  // True if the forbids near permit i cover `region`, found by subtracting
  // from it those that cut it in at most two dimensions (the ones that
  // cover permits in practice), largest overlap first, within a budget of
  // pieces. False proves nothing: the exact walk then decides. *forbids
  // gets the ones that took something away.
  bool CoveredByFewForbids(size_t i, const Region& region, std::vector<const Rule*>* forbids) {
    const Neighbourhood& near = Denials(i);
    struct Part {
      double cells;
      uint32_t rule;
      Cube cube;
    };
    std::vector<Part> parts;
    for (size_t k = 0; k < near.cubes.size(); ++k) {
      if (near.rule[k] == kWriteDown) continue;
      for (const Cube& c : region) {
        if (!Intersects(shape_, c, *near.cubes[k]) || Cuts(*near.cubes[k], c) > 2) continue;
        Cube x = Intersect(c, *near.cubes[k]);
        parts.push_back(Part{CellCount(shape_, {x}), near.rule[k], std::move(x)});
      }
    }
    std::stable_sort(parts.begin(), parts.end(),
                     [](const Part& a, const Part& b) { return a.cells > b.cells; });
    constexpr size_t kBudget = 512;
    Region rest = region;
    std::vector<uint32_t> used;
    for (const Part& p : parts) {
      Region next;
      bool touched = false;
      for (const Cube& c : rest) {
        if (!Intersects(shape_, c, p.cube)) {
          next.push_back(c);
          continue;
        }
        touched = true;
        Subtract(shape_, c, p.cube, &next);
      }
      if (!touched) continue;
      used.push_back(p.rule);
      rest = std::move(next);
      if (rest.empty()) break;
      if (rest.size() > kBudget) return false;
    }
    if (!rest.empty()) return false;
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());
    for (uint32_t r : used) forbids->push_back(&m_.rules[r]);
    return true;
  }

  // In how many dimensions (and caveats) `f` does not contain `c`.
  int Cuts(const Cube& f, const Cube& c) const {
    int n = 0;
    for (int d = 0; d < kNumValueDims; ++d) n += !c.m[d].SubsetOf(f.m[d]);
    const uint64_t full = shape_.CaveatsFull();
    n += __builtin_popcountll(((c.absent_ok & ~f.absent_ok) | (c.present_ok & ~f.present_ok)) &
                              full);
    return n;
  }

  // The forbids and the write-down near permit i (built once, on demand).
  const Neighbourhood& Denials(size_t i) {
    if (!near_built_[i]) {
      near_denials_[i] = denials_.Near(m_.rules[i].region, static_cast<uint32_t>(i));
      near_built_[i] = true;
    }
    return near_denials_[i];
  }

  // The forbids that override part of permit i outside the write-down.
  std::vector<const Rule*> Hitting(size_t i, const Region& no_wd) {
    std::vector<uint32_t> ids;
    const Neighbourhood& n = Denials(i);
    for (size_t k = 0; k < n.cubes.size(); ++k) {
      const uint32_t f = n.rule[k];
      if (f == kWriteDown || (!ids.empty() && ids.back() == f)) continue;
      for (const Cube& c : no_wd) {
        if (Intersects(shape_, c, *n.cubes[k])) {
          ids.push_back(f);
          break;
        }
      }
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::vector<const Rule*> out;
    for (uint32_t f : ids) out.push_back(&m_.rules[f]);
    return out;
  }

  // Walks the boxes of permit i where no denial of `near` matches (see
  // DecidingBoxes); true if `on_leaf` stopped the walk.
  template <typename OnLeaf>
  bool Decides(size_t i, const Neighbourhood& near, OnLeaf on_leaf,
               typename DecidingBoxes<OnLeaf>::Settled settled = nullptr) const {
    DecidingBoxes<OnLeaf> visitor(m_, near, on_leaf, std::move(settled));
    for (const Cube& c : m_.rules[i].region) {
      PartitionSpace(shape_, c, near.cubes, &visitor);
      if (visitor.Done()) return true;
    }
    return false;
  }

  // True if forbids or the write-down deny every request in `box`.
  bool DeniedThroughout(size_t i, const Cube& box) {
    // A request in it that nothing denies answers at once.
    Cube start = box;
    for (int d = 0; d < kNumValueDims; ++d) start.m[d] = shape_.Single(d, box.m[d].First());
    start.present_ok &= ~box.absent_ok;
    start.absent_ok &= ~start.present_ok;
    std::vector<Cube> found;
    std::vector<uint32_t> covering;
    if (SearchCube(box, start, &found, &covering)) return true;  // proved
    if (!found.empty()) return false;
    const Neighbourhood& near = Denials(i);
    struct Free : BoxVisitor {
      explicit Free(const Neighbourhood& n) : n_(n) {}
      bool Enter(const Cube& b, absl::Span<const uint32_t> idx) override {
        for (uint32_t k : idx) {
          if (Contains(*n_.cubes[k], b)) return false;
        }
        return true;
      }
      void Leaf(const Cube&, absl::Span<const uint32_t> idx) override { found = idx.empty(); }
      bool Done() const override { return found; }
      const Neighbourhood& n_;
      bool found = false;
    } free(near);
    PartitionSpace(shape_, box, near.cubes, &free);
    return !free.found;
  }

  // A permit that asks for a level above the lowest and allows a
  // write-down nothing forbids: reported at the lowest such level.
  void CheckWriteDown(size_t i) {
    const Rule& r = m_.rules[i];
    bool above_lowest = false;
    for (const Cube& c : r.region) above_lowest |= !c.m[kDimClassification].Has(0);
    if (!above_lowest) return;
    bool meets = false;
    for (const Cube& w : write_down_) {
      for (const Cube& c : r.region) {
        meets |= !c.m[kDimClassification].Has(0) && Intersects(shape_, c, w);
      }
    }
    if (!meets) return;
    struct Finder : BoxVisitor {
      Finder(const Model& m, const Neighbourhood& n) : m_(m), n_(n) {}
      bool Enter(const Cube& box, absl::Span<const uint32_t> idx) override {
        for (uint32_t k : idx) {
          const uint32_t f = n_.rule[k];
          if (f != kWriteDown && m_.rules[f].forbid && Contains(*n_.cubes[k], box)) return false;
        }
        return true;
      }
      void Leaf(const Cube& box, absl::Span<const uint32_t> idx) override {
        for (uint32_t k : idx) {
          const uint32_t f = n_.rule[k];
          if (f != kWriteDown && m_.rules[f].forbid) return;
        }
        found = box;
      }
      bool Done() const override { return found.has_value(); }
      const Model& m_;
      const Neighbourhood& n_;
      std::optional<Cube> found;
    } finder(m_, Denials(i));
    for (const Cube& w : write_down_) {  // lowest level first
      for (const Cube& c : r.region) {
        if (c.m[kDimClassification].Has(0) || !Intersects(shape_, c, w)) continue;
        PartitionSpace(shape_, Intersect(c, w), Denials(i).cubes, &finder);
        if (finder.found) {
          WriteDown(r, *finder.found);
          return;
        }
      }
    }
  }

  // A diagnostic about `r` at `where` (its id, or its start, if `where` is
  // not known, as for a rule from a bundle).
  static Diagnostic At(Severity s, const char* code, const Rule& r, SourcePos where,
                       std::string msg) {
    if (where.line == 0) where = r.id_pos.line ? r.id_pos : r.pos;
    return MakeDiagnostic(s, code, where, std::move(msg));
  }

  // Notes pointing at the other rules a diagnostic is about (at most five).
  static void NoteRules(Diagnostic* d, const std::vector<const Rule*>& rules,
                        absl::string_view what) {
    for (size_t i = 0; i < rules.size() && i < 5; ++i) {
      const Rule& o = *rules[i];
      const SourcePos p = o.id_pos.line ? o.id_pos : o.pos;
      if (p.line == 0) continue;
      d->notes.push_back({p, absl::StrCat(o.forbid ? "forbid " : "permit ", o.id, " ", what)});
    }
  }

  void NeverFires(const Rule& r) {
    const auto& c = r.conflict;
    std::string why = "its conditions contradict each other";
    SourcePos where = r.id_pos;
    if (c.size() == 1 && absl::StartsWith(c[0].text, "unless ")) {
      why = absl::StrCat("its exception '", c[0].text, "' covers every request it matches");
    } else if (c.size() == 1) {
      why = absl::StrCat("no request meets '", c[0].text, "'");
    } else if (c.size() > 1) {
      std::vector<std::string> quoted;
      for (const auto& x : c) quoted.push_back(absl::StrCat("'", x.text, "'"));
      why = absl::StrCat(absl::StrJoin(quoted, " and "),
                         c.size() == 2 ? " cannot both hold" : " cannot all hold");
    }
    if (!c.empty()) where = c[0].pos;
    Diagnostic d = At(Severity::kWarning, "never-fires", r, where,
                      absl::StrCat("rule ", r.id, " can never fire: ", why));
    for (size_t i = 1; i < c.size(); ++i) d.notes.push_back({c[i].pos, "this condition"});
    diags_->push_back(std::move(d));
  }

  // A defensive forbid backs up the built-in no-write-down: every request
  // it matches must be a write-down, or it can decide some.
  void CheckDefensive(const Rule& r) {
    const Region reachable = SubtractRegions(shape_, r.region, write_down_);
    if (reachable.empty()) return;
    diags_->push_back(At(Severity::kWarning, "defensive-reachable", r, r.id_pos,
                         absl::StrCat("defensive forbid ", r.id,
                                      " decides some requests the built-in no-write-down does "
                                      "not deny, e.g. ",
                                      DescribeFlow(m_.domains, reachable[0]),
                                      "; if it is meant to, drop 'defensive'")));
  }

  void WriteDown(const Rule& r, const Cube& box) {
    const int org = box.m[kDimRecipient].First();
    const int level = box.m[kDimClassification].First();
    const auto& o = m_.domains.organisations[org];
    Diagnostic d = At(Severity::kError, "write-down", r, r.classification_pos,
                      absl::StrCat("permit ", r.id, " would send ",
                                   m_.domains.classifications[level], " records to ", o.id,
                                   ", accredited only to ",
                                   m_.domains.classifications[o.accreditation],
                                   " (write-down); restrict the recipient or the "
                                   "classification"));
    if (r.recipient_pos.line > 0) {
      d.notes.push_back({r.recipient_pos, absl::StrCat("this admits ", o.id)});
    }
    diags_->push_back(std::move(d));
  }

  // A quick test before the exact one: at each sample (where permit k
  // decides), do other active permits match and give its obligations? If
  // not at one, k is not redundant.
  bool SamplesCovered(size_t k, const std::vector<bool>& active) const {
    std::vector<uint32_t> others;
    for (const Cube& box : samples_[k]) {
      Cube cell = box;
      for (int d = 0; d < kNumValueDims; ++d) cell.m[d] = shape_.Single(d, box.m[d].First());
      cell.present_ok &= ~box.absent_ok;  // present only where it must be
      others.clear();
      for (uint32_t j : permits_.index->Meeting(cell)) {
        const uint32_t r = permits_.rule[j];
        if (r != k && active[r]) others.push_back(r);
      }
      if (others.empty() || !ObligationsGiven(m_.rules[k].obligations, m_, others)) return false;
    }
    return true;
  }

  // A permit is redundant if wherever it decides, other permits (not
  // themselves found redundant: latest rules are judged first) decide too
  // and give every obligation it gives. The walk looks at the other
  // permits and the write-down only; where k seems alone, it asks the
  // forbids whether k decides there at all.
  void CheckRedundant() {
    const size_t n = m_.rules.size();
    std::vector<bool> active = effective_;
    std::vector<bool> covers(n, false);
    std::vector<uint32_t> others;
    for (size_t k = n; k-- > 0;) {
      if (!active[k] || !SamplesCovered(k, active)) continue;
      std::vector<uint32_t> covering;
      auto covered_by = [&](const std::vector<uint32_t>& here) {
        others.clear();
        for (uint32_t j : here) {
          if (j != k && active[j]) others.push_back(j);
        }
        if (others.empty() || !ObligationsGiven(m_.rules[k].obligations, m_, others)) {
          return false;
        }
        for (uint32_t j : others) {
          if (!covers[j]) {
            covers[j] = true;
            covering.push_back(j);
          }
        }
        return true;
      };
      const Neighbourhood near = WithWriteDown(permits_.Near(m_.rules[k].region,
                                                             static_cast<uint32_t>(k)),
                                               m_.rules[k].region);
      const bool stopped = Decides(
          k, near,
          [&](const Cube& box, const std::vector<uint32_t>& here) {
            return covered_by(here) || DeniedThroughout(k, box);
          },
          covered_by);
      for (uint32_t j : covering) covers[j] = false;
      if (stopped) continue;
      active[k] = false;
      std::sort(covering.begin(), covering.end());
      std::vector<const Rule*> rules;
      for (uint32_t j : covering) rules.push_back(&m_.rules[j]);
      const Rule& r = m_.rules[k];
      Diagnostic d = At(Severity::kWarning, "redundant", r, r.id_pos,
                        absl::StrCat("permit ", r.id,
                                     " is redundant: every request it permits is already "
                                     "permitted by ", Ids(rules)));
      NoteRules(&d, rules, "already permits it");
      diags_->push_back(std::move(d));
    }
  }

  // `near` and the write-down's cubes meeting `region`.
  Neighbourhood WithWriteDown(Neighbourhood near, const Region& region) const {
    const Neighbourhood wd = write_down_only_.Near(region, UINT32_MAX - 1);
    near.cubes.insert(near.cubes.end(), wd.cubes.begin(), wd.cubes.end());
    near.rule.insert(near.rule.end(), wd.rule.begin(), wd.rule.end());
    return near;
  }

  // A local layer may only narrow: where its permit decides, a baseline
  // permit must match too.
  void CheckLayers() {
    for (size_t i = 0; i < m_.rules.size(); ++i) {
      const Rule& r = m_.rules[i];
      if (!r.local || r.forbid || !effective_[i]) continue;
      const Neighbourhood near =
          WithWriteDown(permits_.Near(r.region, static_cast<uint32_t>(i)), r.region);
      const bool widens = Decides(i, near, [&](const Cube& box, const std::vector<uint32_t>& here) {
        for (uint32_t j : here) {
          if (!m_.rules[j].local) return true;
        }
        return DeniedThroughout(i, box);  // false: it alone decides here
      });
      if (!widens) continue;
      diags_->push_back(At(Severity::kError, "layer-widens", r, r.id_pos,
                           absl::StrCat("permit ", r.id, " in local layer '", r.layer,
                                        "' allows flows the baseline does not (a local layer "
                                        "may only narrow the baseline)")));
    }
  }

  static constexpr size_t kSamples = 4;
  const Model& m_;
  const AnalyzeOptions options_;
  std::vector<Diagnostic>* diags_;
  Shape shape_;
  Region write_down_;
  IndexedCubes permits_, denials_, write_down_only_;
  std::vector<Neighbourhood> near_denials_;  // per permit, built on demand
  std::vector<bool> near_built_;
  std::vector<std::vector<Cube>> samples_;  // per permit: where it decides
  std::vector<bool> effective_;             // the permit decides some request
};

// Collects the boxes where some permit matches and no forbid and no
// write-down does.
class AllowedBoxes : public BoxVisitor {
 public:
  AllowedBoxes(const std::vector<Cube>& cubes, const std::vector<int>& kind)
      : cubes_(cubes), kind_(kind) {}
  bool Enter(const Cube& box, absl::Span<const uint32_t> idx) override {
    bool permit = false;
    for (uint32_t i : idx) {
      if (kind_[i] == 0) permit = true;
      else if (Contains(cubes_[i], box)) return false;  // forbidden or write-down throughout
    }
    return permit;
  }
  void Leaf(const Cube& box, absl::Span<const uint32_t> idx) override {
    for (uint32_t i : idx) {
      if (kind_[i] != 0) return;
    }
    allowed.push_back(box);
  }
  Region allowed;

 private:
  const std::vector<Cube>& cubes_;
  const std::vector<int>& kind_;  // 0 permit, 1 forbid or write-down
};

}  // namespace

void Analyze(const Model& model, std::vector<Diagnostic>* diagnostics) {
  Analyze(model, AnalyzeOptions(), diagnostics);
}

void Analyze(const Model& model, const AnalyzeOptions& options,
             std::vector<Diagnostic>* diagnostics) {
  // Without levels (an error already reported) every rule is empty, and
  // "never fires" would be said of each.
  if (model.domains.classifications.empty()) return;
  Analyzer(model, options, diagnostics).Run();
}

Region AllowedRegion(const Model& model) {
  const Shape shape = model.domains.shape();
  std::vector<Cube> cubes;
  std::vector<int> kind;
  for (const Rule& r : model.rules) {
    for (const Cube& c : r.region) {
      cubes.push_back(c);
      kind.push_back(r.forbid ? 1 : 0);
    }
  }
  for (const Cube& c : model.domains.WriteDownRegion()) {
    cubes.push_back(c);
    kind.push_back(1);
  }
  AllowedBoxes visitor(cubes, kind);
  if (!model.domains.classifications.empty()) {
    PartitionSpace(shape, Cube::Universe(shape), cubes, &visitor);
  }
  return std::move(visitor.allowed);
}

}  // namespace gatehouse::policy

#include "policy/diff.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/cube_index.h"
#include "policy/describe.h"
#include "policy/diff_domains.h"
#include "policy/partition.h"

namespace gatehouse::policy {
namespace {

// ---- Decisions, box by box -----------------------------------------------

struct MergedObligations {
  bool encrypt = false, notify = false, system = false;
  uint32_t retain = 0;
  std::set<std::string> redact;
  bool operator==(const MergedObligations& o) const {
    return std::tie(encrypt, notify, system, retain, redact) ==
           std::tie(o.encrypt, o.notify, o.system, o.retain, o.redact);
  }
  void Add(const Obligations& o) {
    encrypt |= o.encrypt;
    notify |= o.notify_originator;
    system |= o.require_recipient_system;
    retain = std::max(retain, o.retain_days);
    redact.insert(o.redact_fields.begin(), o.redact_fields.end());
  }
  std::string Text() const {
    std::vector<std::string> parts;
    if (encrypt) parts.push_back("encrypt");
    if (!redact.empty()) parts.push_back("redact " + absl::StrJoin(redact, ", "));
    if (retain) parts.push_back("retain " + DescribeRetention(retain));
    if (notify) parts.push_back("notify originator");
    if (system) parts.push_back("require recipient system");
    return absl::StrJoin(parts, "; ");
  }
};

// "no longer encrypt; redact also x; retain 2 years (was 6 years)".
std::string ObligationsDelta(const MergedObligations& a, const MergedObligations& b) {
  std::vector<std::string> parts;
  auto flag = [&](bool was, bool now, const char* what) {
    if (was && !now) parts.push_back(absl::StrCat("no longer ", what));
    if (!was && now) parts.push_back(absl::StrCat("now ", what));
  };
  flag(a.encrypt, b.encrypt, "encrypt");
  std::vector<std::string> gone, added;
  for (const std::string& f : a.redact) {
    if (!b.redact.count(f)) gone.push_back(f);
  }
  for (const std::string& f : b.redact) {
    if (!a.redact.count(f)) added.push_back(f);
  }
  if (!gone.empty()) parts.push_back("no longer redact " + absl::StrJoin(gone, ", "));
  if (!added.empty()) parts.push_back("now redact " + absl::StrJoin(added, ", "));
  if (a.retain != b.retain) {
    parts.push_back(b.retain == 0 ? absl::StrCat("no retention stated (was ",
                                                 DescribeRetention(a.retain), ")")
                                  : absl::StrCat("retain ", DescribeRetention(b.retain), " (was ",
                                                 a.retain ? DescribeRetention(a.retain)
                                                          : std::string("not stated"),
                                                 ")"));
  }
  flag(a.notify, b.notify, "notify originator");
  flag(a.system, b.system, "require recipient system");
  return absl::StrJoin(parts, "; ");
}

bool SameObligations(const Obligations& a, const Obligations& b) {
  return a.encrypt == b.encrypt && a.redact_fields == b.redact_fields &&
         a.retain_days == b.retain_days && a.notify_originator == b.notify_originator &&
         a.require_recipient_system == b.require_recipient_system;
}

enum class Side : uint8_t { kBefore = 1, kAfter = 2, kBoth = 3 };
enum class What : uint8_t { kRule, kWriteDown, kKnown };

struct Tag {
  Side side;
  What what;
  uint32_t rule;  // index into the side's model (for kBoth: `after`'s)
  uint32_t other; // for kBoth: index into `before`'s model
};

struct Decision {
  bool allowed = false;
  std::string text;                 // e.g. "denied by forbid F1"
  MergedObligations obligations;
};

class DiffVisitor : public BoxVisitor {
 public:
  DiffVisitor(const Model& before, const Model& after, const std::vector<Cube>& cubes,
              const std::vector<Tag>& tags, const std::vector<bool>& delta,
              const PolicyDiff& diff, const std::vector<std::string>& org_changes,
              const absl::flat_hash_set<std::string>& changed)
      : models_{&before, &after}, cubes_(cubes), tags_(tags), delta_(delta), diff_(diff),
        org_changes_(org_changes), changed_(changed) {
    // Whether each cube denies, looked up once: Enter asks it of every
    // cube of every box.
    denies_.reserve(tags.size());
    skips_.reserve(tags.size());
    for (const Tag& t : tags) {
      const Model& m = *models_[t.side == Side::kBefore ? 0 : 1];
      denies_.push_back(t.what == What::kWriteDown ||
                        (t.what == What::kRule && m.rules[t.rule].forbid));
      skips_.push_back(denies_.back() && t.side == Side::kBoth);
    }
    for (int side = 0; side < 2; ++side) {
      for (size_t i = 0; i < models_[side]->rules.size(); ++i) {
        ids_[side].emplace(models_[side]->rules[i].id, i);
      }
    }
  }

  bool EnterKnowingWhole(const Cube& box, absl::Span<const uint32_t> cubes,
                         absl::Span<const uint8_t> whole) override {
    (void)box;
    if (checking_ >= 0 && !check_ok_) return false;
    if (BothDenyThroughout(cubes, whole)) return false;  // nothing here can change
    if (checking_ != -1) return true;  // a summary check or probe looks at the rest
    for (size_t k = 0; k < cubes.size() && cubes[k] < focus_; ++k) {
      if (delta_[cubes[k]] && whole[k]) return false;  // counted there
    }
    return true;
  }

  // Both versions deny what a forbid (or write-down) they share covers:
  // nothing there can change.
  absl::Span<const uint8_t> Skips() const override { return skips_; }

  // Boxes inside a changed cube of lower index than `k` are skipped: they
  // were classified when that cube was partitioned.
  void set_focus(uint32_t k) { focus_ = k; }

  void Leaf(const Cube& box, absl::Span<const uint32_t> cubes) override {
    if (checking_ >= 0) {
      Check(box, cubes);
      return;
    }
    if (checking_ == kProbing) {
      FlowChange c;
      if (Classify(box, cubes, &c) && probe_count_++ == 0) probe_ = std::move(c);
      return;
    }
    FlowChange c;
    if (!Classify(box, cubes, &c)) return;
    auto key = std::make_tuple(static_cast<int>(c.kind), c.before, c.after, c.obligations,
                               c.causes);
    auto [it, inserted] = groups_.emplace(key, order_.size());
    if (inserted) order_.push_back(std::move(c));
    order_[it->second].where.push_back(box);
  }

  bool Done() const override { return checking_ == kProbing && probe_count_ >= probe_limit_; }

  // Requests naming, as originator, role, legal basis, record type,
  // purpose, level or caveat, a name only one version declares: the other
  // denies them all, so they change exactly where the declaring version
  // allows them. Listing each such flow would list that version's whole
  // policy once more (most rules do not restrict the originator); instead
  // each piece is one change "where either version allows it", if the
  // declaring version allows anything there, and the partition skips it.
  // Pieces naming a new or removed sender or recipient are listed flow by
  // flow, as what an organisation may now send or receive is what an officer
  // checks, unless they are many (kListLimit). `pieces`: disjoint cubes,
  // each known to one version only.
  // Returns the pieces to be listed flow by flow.
  Region SummariseUndeclared(const Shape& shape, const CubeIndex& index,
                             const Region& pieces) {
    Region listed;
    for (const Cube& piece : pieces) {
      const bool party =
          !known_cube_[0].m[kDimSender].Intersects(piece.m[kDimSender]) ||
          !known_cube_[1].m[kDimSender].Intersects(piece.m[kDimSender]) ||
          !known_cube_[0].m[kDimRecipient].Intersects(piece.m[kDimRecipient]) ||
          !known_cube_[1].m[kDimRecipient].Intersects(piece.m[kDimRecipient]);
      checking_ = kProbing;
      probe_count_ = 0;
      probe_limit_ = party ? kListLimit + 1 : 1;
      probe_ = FlowChange();
      PartitionSpace(shape, piece, cubes_, index.Meeting(piece), this);
      checking_ = -1;
      if (probe_count_ == 0) continue;
      if (party && probe_count_ <= kListLimit) {
        listed.push_back(piece);
        continue;
      }
      FlowChange c = std::move(probe_);
      c.where = {piece};
      c.summary = piece;
      c.has_summary = true;
      c.only_where_allowed = true;
      std::string& allowed = c.kind == FlowChange::Kind::kNewlyPermitted ? c.after : c.before;
      allowed = absl::StrCat("allowed where the ", &allowed == &c.after ? "new" : "old",
                             " version's rules permit it (e.g. ", allowed, ")");
      order_.push_back(std::move(c));
    }
    return listed;
  }

  // Sets `summary` of each change to the smallest box holding all its
  // requests when every other request in that box is denied by both
  // versions (so "these flows, where either version allows them" is
  // exact). Gives up on a box after `budget` parts.
  void Summarise(const Shape& shape, const CubeIndex& index, size_t budget) {
    for (size_t g = 0; g < order_.size(); ++g) {
      FlowChange& c = order_[g];
      if (c.where.size() < 2 || c.only_where_allowed) continue;
      Cube hull = c.where[0];
      for (const Cube& b : c.where) {
        for (int d = 0; d < kNumValueDims; ++d) hull.m[d] |= b.m[d];
        hull.absent_ok |= b.absent_ok;
        hull.present_ok |= b.present_ok;
      }
      checking_ = static_cast<int>(g);
      check_ok_ = true;
      check_budget_ = budget;
      PartitionSpace(shape, hull, cubes_, index.Meeting(hull), this);
      checking_ = -1;
      if (check_ok_) {
        c.summary = hull;
        c.has_summary = true;
      }
    }
  }

 private:
  void Check(const Cube& box, absl::Span<const uint32_t> cubes) {
    if (!check_ok_) return;
    if (check_budget_-- == 0) {
      check_ok_ = false;
      return;
    }
    FlowChange c;
    bool either_allows = false;
    if (!Classify(box, cubes, &c, &either_allows)) {
      if (either_allows) check_ok_ = false;  // allowed alike in both: not "denied by both"
      return;
    }
    const FlowChange& g = order_[checking_];
    if (c.kind != g.kind || c.before != g.before || c.after != g.after ||
        c.obligations != g.obligations || c.causes != g.causes) {
      check_ok_ = false;
    }
  }

  // The change in `box`, if any. *either_allows: some version allows it.
  bool Classify(const Cube& box, absl::Span<const uint32_t> cubes, FlowChange* out,
                bool* either_allows = nullptr) const {
    std::vector<uint32_t> rules[2];
    bool wd[2] = {false, false}, known[2] = {!has_known_, !has_known_};
    for (uint32_t i : cubes) {
      const Tag& t = tags_[i];
      for (int side = 0; side < 2; ++side) {
        if (!(static_cast<uint8_t>(t.side) & (side + 1))) continue;
        switch (t.what) {
          case What::kRule:
            rules[side].push_back(t.side == Side::kBoth && side == 0 ? t.other : t.rule);
            break;
          case What::kWriteDown: wd[side] = true; break;
          case What::kKnown: known[side] = true; break;
        }
      }
    }
    Decision undeclared[2];
    const Decision& a = Decided(0, known[0], wd[0], rules[0], box, &undeclared[0]);
    const Decision& b = Decided(1, known[1], wd[1], rules[1], box, &undeclared[1]);
    if (either_allows) *either_allows = a.allowed || b.allowed;
    if (!a.allowed && b.allowed) {
      out->kind = FlowChange::Kind::kNewlyPermitted;
    } else if (a.allowed && !b.allowed) {
      out->kind = FlowChange::Kind::kNewlyDenied;
    } else if (a.allowed && b.allowed && !(a.obligations == b.obligations)) {
      out->kind = FlowChange::Kind::kObligationsChanged;
      out->obligations = ObligationsDelta(a.obligations, b.obligations);
    } else {
      return false;
    }
    out->before = a.text;
    out->after = b.text;
    out->causes = Causes(box, rules, wd, known, out->kind);
    return true;
  }

 public:
  void set_known(bool has_known, const Cube& before, const Cube& after) {
    has_known_ = has_known;
    known_cube_[0] = before;
    known_cube_[1] = after;
  }
  std::vector<FlowChange> Take() { return std::move(order_); }

 private:
  // True if each version denies every request in `box`: a forbid, the
  // write-down or an undeclared name covers the box, or no permit reaches it.
  // `whole[k]`: cubes[k] contains the box.
  bool BothDenyThroughout(absl::Span<const uint32_t> cubes,
                          absl::Span<const uint8_t> whole) const {
    bool dead[2] = {false, false}, permit[2] = {false, false}, known[2] = {!has_known_, !has_known_};
    for (size_t k = 0; k < cubes.size(); ++k) {
      const uint32_t i = cubes[k];
      const Tag& t = tags_[i];
      for (int side = 0; side < 2; ++side) {
        if (!(static_cast<uint8_t>(t.side) & (side + 1))) continue;
        if (t.what == What::kKnown) {
          known[side] = true;  // meets the box: some of it is known
          continue;
        }
        if (!denies_[i]) {
          permit[side] = true;
        } else if (whole[k]) {
          dead[side] = true;
        }
      }
    }
    for (int side = 0; side < 2; ++side) {
      if (known[side] && permit[side] && !dead[side]) return false;
    }
    return true;
  }

  // The names in `box` that version `side` does not declare, e.g.
  // "organisation york-council".
  std::vector<std::string> Undeclared(const Cube& box, int side) const {
    std::vector<std::string> out;
    const Cube& k = known_cube_[side];
    const Domains& d = diff_.domains;
    static const char* kWhat[kNumValueDims] = {"organisation", "organisation", "record type",
                                                "classification", "purpose", "organisation",
                                                "role", "legal basis"};
    for (int dim = 0; dim < kNumValueDims; ++dim) {
      ValueSet extra = box.m[dim];
      extra.AndNot(k.m[dim]);
      if (extra.SubsetOf(box.m[dim]) && extra == box.m[dim]) {
        // Every value of the box is undeclared in this dimension.
        const std::vector<std::string> names = d.ValueNames(dim);
        extra.ForEach([&](int v) {
          if (v < static_cast<int>(names.size())) {
            out.push_back(absl::StrCat(kWhat[dim], " ", names[v]));
          }
        });
      }
    }
    const uint64_t caveats = box.present_ok & ~box.absent_ok & ~k.present_ok;
    for (size_t i = 0; i < d.caveats.size(); ++i) {
      if ((caveats >> i) & 1) out.push_back(absl::StrCat("caveat ", d.caveats[i]));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    if (out.empty()) out.push_back("a name");
    return out;
  }

  // Decide, once per set of rules: the boxes of one changed rule are many
  // (bilateral agreements and forbids cut a sector-wide permit into
  // thousands), their sets of rules fewer. Where the version cannot name
  // something in the box (the text names it) or denies it as a write-down,
  // decided afresh into *scratch.
  const Decision& Decided(int side, bool known, bool wd, const std::vector<uint32_t>& rules,
                          const Cube& box, Decision* scratch) const {
    if (!known || wd) {
      *scratch = Decide(side, known, wd, rules, box);
      return *scratch;
    }
    auto& memo = decided_[side];
    auto it = memo.find(rules);
    if (it == memo.end()) it = memo.emplace(rules, Decide(side, known, wd, rules, box)).first;
    return it->second;
  }

  Decision Decide(int side, bool known, bool wd, const std::vector<uint32_t>& rules,
                  const Cube& box) const {
    Decision d;
    if (!known) {
      d.text = absl::StrCat("denied: ", absl::StrJoin(Undeclared(box, side), ", "),
                            side == 0 ? " not declared in the old version"
                                      : " not declared in the new version");
      return d;
    }
    if (wd) {
      d.text = "denied: write-down (recipient accredited below the classification)";
      return d;
    }
    const Model& m = *models_[side];
    std::vector<std::string> forbids, permits;
    for (uint32_t r : rules) {
      (m.rules[r].forbid ? forbids : permits).push_back(m.rules[r].id);
    }
    Dedupe(&forbids);
    Dedupe(&permits);
    if (!forbids.empty()) {
      d.text = absl::StrCat("denied by ", absl::StrJoin(forbids, ", "));
      return d;
    }
    if (permits.empty()) {
      d.text = "denied: no permit covers it";
      return d;
    }
    d.allowed = true;
    for (uint32_t r : rules) d.obligations.Add(m.rules[r].obligations);
    const std::string ob = d.obligations.Text();
    d.text = absl::StrCat("allowed by ", absl::StrJoin(permits, ", "),
                          ob.empty() ? "" : absl::StrCat(" (", ob, ")"));
    return d;
  }

  static void Dedupe(std::vector<std::string>* v) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }

  // What explains the difference here, in order: a name only one version
  // declares; else a different write-down (an accreditation changed);
  // else the rules whose part differs (and, for a rule unchanged but
  // reaching other organisations, the declarations that moved them).
  std::vector<std::string> Causes(const Cube& box, const std::vector<uint32_t> (&rules)[2],
                                  const bool (&wd)[2], const bool (&known)[2],
                                  FlowChange::Kind kind) const {
    if (known[0] != known[1] || wd[0] != wd[1]) return DeclarationsTouching(box);
    std::set<std::string> ids[2];
    for (int side = 0; side < 2; ++side) {
      for (uint32_t r : rules[side]) ids[side].insert(models_[side]->rules[r].id);
    }
    std::vector<std::string> out;
    bool reach_changed = false;
    std::set<std::string> all = ids[0];
    all.insert(ids[1].begin(), ids[1].end());
    for (const std::string& id : all) {
      auto old_it = ids_[0].find(id), new_it = ids_[1].find(id);
      const bool in_old = ids[0].count(id), in_new = ids[1].count(id);
      if (old_it == ids_[0].end()) {
        out.push_back(absl::StrCat("rule ", id, " added (", Source(1, new_it->second), ")"));
        continue;
      }
      if (new_it == ids_[1].end()) {
        out.push_back(absl::StrCat("rule ", id, " removed (was ", Source(0, old_it->second), ")"));
        continue;
      }
      const Rule& o = models_[0]->rules[old_it->second];
      const Rule& n = models_[1]->rules[new_it->second];
      if (changed_.contains(id)) {
        // A changed rule explains a change of decision if it reaches here
        // in one version only, or changed between forbid and permit; a
        // change of obligations if its obligations changed.
        const bool matters = in_old != in_new || o.forbid != n.forbid ||
                             (kind == FlowChange::Kind::kObligationsChanged &&
                              !SameObligations(o.obligations, n.obligations));
        if (matters) {
          out.push_back(absl::StrCat("rule ", id, " changed (", Source(1, new_it->second), ")"));
        }
      } else if (in_old != in_new) {
        reach_changed = true;  // same rule, other organisations: a declaration
      }
    }
    if (reach_changed || out.empty()) {
      for (const std::string& c : DeclarationsTouching(box)) out.push_back(c);
    }
    return out;
  }


  std::string Source(int side, size_t rule) const {
    const std::string& s = models_[side]->rules[rule].source;
    return s.empty() ? (side ? "new version" : "old version") : s;
  }

  // Declaration changes about the organisations, levels and other names in
  // the box; all of them if none is specific to it.
  std::vector<std::string> DeclarationsTouching(const Cube& box) const {
    std::vector<std::string> out;
    for (int side = 0; side < 2 && has_known_; ++side) {
      for (const std::string& n : Undeclared(box, side)) {
        const std::string what = absl::StrCat(n, side == 0 ? " added" : " removed");
        for (const std::string& d : diff_.declarations) {
          if (d.size() > what.size() && d.find(what) != std::string::npos) out.push_back(d);
        }
      }
    }
    if (!out.empty()) {
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return out;
    }
    for (const std::string& change : org_changes_) {
      // org_changes_ entries start "organisation <id>".
      const std::string id = change.substr(13, change.find_first_of(" :", 13) - 13);
      for (size_t o = 0; o < diff_.domains.organisations.size(); ++o) {
        if (diff_.domains.organisations[o].id != id) continue;
        const int oi = static_cast<int>(o);
        if (box.m[kDimSender].Has(oi) || box.m[kDimRecipient].Has(oi) ||
            box.m[kDimOriginator].Has(oi)) {
          out.push_back(change);
        }
      }
    }
    if (out.empty()) out = diff_.declarations;
    return out;
  }

  const Model* models_[2];
  const std::vector<Cube>& cubes_;
  const std::vector<Tag>& tags_;
  const std::vector<bool>& delta_;
  const PolicyDiff& diff_;
  const std::vector<std::string>& org_changes_;
  const absl::flat_hash_set<std::string>& changed_;  // ids of rules edited between versions
  absl::flat_hash_map<std::string, size_t> ids_[2];
  std::vector<bool> denies_;  // per cube: a forbid's or the write-down's
  std::vector<uint8_t> skips_;  // per cube: a forbid's or the write-down's in both versions
  // Decide's answers where a version decides by its rules, by side and the
  // rules met (node-based: Classify holds one answer while it adds another).
  mutable absl::node_hash_map<std::vector<uint32_t>, Decision> decided_[2];
  bool has_known_ = false;
  Cube known_cube_[2];
  std::map<std::tuple<int, std::string, std::string, std::string, std::vector<std::string>>,
           size_t>
      groups_;
  std::vector<FlowChange> order_;
  uint32_t focus_ = 0;
  static constexpr int kProbing = -2;
  int checking_ = -1;  // the change whose summary is being checked, or kProbing
  // A new or removed organisation's flows are listed one by one up to this
  // many parts, else summarised like the other undeclared names.
  static constexpr size_t kListLimit = 2000;
  size_t probe_count_ = 0, probe_limit_ = 0;
  FlowChange probe_;
  bool check_ok_ = false;
  size_t check_budget_ = 0;
};

// ---- Both versions' cubes --------------------------------------------------

// Every cube of both versions, tagged; what both share is put in once.
struct TaggedCubes {
  Shape shape;
  std::vector<Cube> cubes;
  std::vector<Tag> tags;
  std::vector<bool> delta;  // differs between the versions

  void Add(const Region& r, Tag t, bool is_delta) {
    for (const Cube& c : r) {
      if (c.Empty(shape)) continue;
      cubes.push_back(c);
      tags.push_back(t);
      delta.push_back(is_delta);
    }
  }
  // A thing both versions have (a rule with the same effect, the
  // write-down, the names declared) whose reach may differ: what both
  // reach is shared, only the difference is a change. So adding one
  // organisation makes a sector-wide rule a change for that organisation
  // alone, not for the whole sector.
  void AddSplit(const Region& ra, const Region& rb, What what, uint32_t j, uint32_t i) {
    if (ra == rb) {
      Add(rb, Tag{Side::kBoth, what, j, i}, false);
      return;
    }
    Add(IntersectRegions(shape, ra, rb), Tag{Side::kBoth, what, j, i}, false);
    Add(SubtractRegions(shape, ra, rb), Tag{Side::kBefore, what, i, 0}, true);
    Add(SubtractRegions(shape, rb, ra), Tag{Side::kAfter, what, j, 0}, true);
  }
};

// Adds both versions' rules to *out; *changed gets the ids of rules
// edited: whose text changed, or without texts (rules from bundles), what
// they match or oblige.
void TagRules(const Model& before, const Model& after, const DomainRemap& from_a,
              const DomainRemap& from_b, TaggedCubes* out,
              absl::flat_hash_set<std::string>* changed) {
  absl::flat_hash_map<std::string, size_t> old_ids;
  for (size_t i = 0; i < before.rules.size(); ++i) old_ids.emplace(before.rules[i].id, i);
  std::vector<bool> old_shared(before.rules.size(), false);
  for (size_t j = 0; j < after.rules.size(); ++j) {
    const Rule& r = after.rules[j];
    Region mapped = from_b.Map(r.region);
    auto it = old_ids.find(r.id);
    if (it != old_ids.end()) {
      const Rule& o = before.rules[it->second];
      const Region old_mapped = from_a.Map(o.region);
      const bool same_effect =
          o.forbid == r.forbid && SameObligations(o.obligations, r.obligations);
      const bool same_meaning = same_effect && old_mapped == mapped;
      const bool have_text = !r.text.empty() && !o.text.empty();
      if (have_text ? r.text != o.text : !same_meaning) changed->insert(r.id);
      if (same_effect) {
        old_shared[it->second] = true;
        out->AddSplit(old_mapped, mapped, What::kRule, static_cast<uint32_t>(j),
                      static_cast<uint32_t>(it->second));
        continue;
      }
    }
    out->Add(mapped, Tag{Side::kAfter, What::kRule, static_cast<uint32_t>(j), 0}, true);
  }
  for (size_t i = 0; i < before.rules.size(); ++i) {
    if (old_shared[i]) continue;
    out->Add(from_a.Map(before.rules[i].region),
             Tag{Side::kBefore, What::kRule, static_cast<uint32_t>(i), 0}, true);
  }
}

}  // namespace

absl::StatusOr<PolicyDiff> DiffPolicies(const Model& before, const Model& after) {
  PolicyDiff diff;
  const Domains &a = before.domains, &b = after.domains;
  if (absl::Status s = MergeDomains(a, b, &diff.domains); !s.ok()) return s;
  const Domains& m = diff.domains;
  const std::vector<std::string> org_changes = DeclarationChanges(a, b, &diff.declarations);

  const Shape shape = m.shape();
  const DomainRemap from_a(a, m), from_b(b, m);
  TaggedCubes tagged;
  tagged.shape = shape;
  absl::flat_hash_set<std::string> changed;
  TagRules(before, after, from_a, from_b, &tagged, &changed);
  const Region wd_a = from_a.Map(a.WriteDownRegion()), wd_b = from_b.Map(b.WriteDownRegion());
  tagged.AddSplit(wd_a, wd_b, What::kWriteDown, 0, 0);
  const Cube known_a = from_a.Known(a.shape()), known_b = from_b.Known(b.shape());
  const bool same_names = known_a == known_b && known_a == Cube::Universe(shape);
  Region undeclared;  // requests one version only can name
  if (!same_names) {
    tagged.AddSplit({known_a}, {known_b}, What::kKnown, 0, 0);
    undeclared = SubtractRegions(shape, {known_a}, {known_b});
    for (Cube& c : SubtractRegions(shape, {known_b}, {known_a})) undeclared.push_back(c);
  }

  const std::vector<Cube>& cubes = tagged.cubes;
  const std::vector<bool>& delta = tagged.delta;
  DiffVisitor visitor(before, after, cubes, tagged.tags, delta, diff, org_changes, changed);
  visitor.set_known(!same_names, known_a, known_b);
  diff.common = Intersect(known_a, known_b);
  // Within what both versions can name, then each piece only one can;
  // within each, only where something changed: box by box inside each
  // changed cube, each box counted in the first changed cube holding it.
  const CubeIndex index(shape, cubes);
  Region scopes = {Cube::Universe(shape)};
  if (!same_names) {
    scopes = visitor.SummariseUndeclared(shape, index, undeclared);
    scopes.insert(scopes.begin(), Intersect(known_a, known_b));
  }
  for (size_t sc = 0; sc < scopes.size(); ++sc) {
    const Cube& scope = scopes[sc];
    if (sc > 0) {
      // One version cannot name anything here: every box either allows is
      // a change, so the piece is partitioned whole.
      visitor.set_focus(0);
      PartitionSpace(shape, scope, cubes, index.Meeting(scope), &visitor);
      continue;
    }
    for (size_t k = 0; k < cubes.size(); ++k) {
      if (!delta[k]) continue;
      const Cube within = Intersect(scope, cubes[k]);
      if (within.Empty(shape)) continue;
      visitor.set_focus(static_cast<uint32_t>(k));
      PartitionSpace(shape, within, cubes, index.Meeting(within), &visitor);
    }
  }
  visitor.Summarise(shape, index, /*budget=*/20000);
  std::vector<FlowChange> changes = visitor.Take();
  for (FlowChange& c : changes) {
    MergeForReading(shape, &c.where);
    // One box is exact as it stands: "where either version allows it"
    // would add nothing (whether the partition found it in one part or
    // several).
    if (c.has_summary && !c.only_where_allowed && c.where.size() == 1 &&
        c.where[0] == c.summary) {
      c.has_summary = false;
    }
  }
  // Permitted, denied, then obligations; the order found within each.
  std::stable_sort(changes.begin(), changes.end(), [](const FlowChange& x, const FlowChange& y) {
    return static_cast<int>(x.kind) < static_cast<int>(y.kind);
  });
  diff.changes = std::move(changes);
  return diff;
}

}  // namespace gatehouse::policy

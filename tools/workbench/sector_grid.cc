#include "tools/workbench/sector_grid.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gatehouse::workbench {
namespace {

using google::protobuf::Struct;

const std::string& Text(const Struct& s, const std::string& key) {
  static const std::string kEmpty;
  auto it = s.fields().find(key);
  return it == s.fields().end() ? kEmpty : it->second.string_value();
}

bool Allowed(const Struct& s) {
  auto it = s.fields().find("allowed");
  return it != s.fields().end() && it->second.bool_value();
}

// Values in order of first appearance, each with how often it appeared.
class Tally {
 public:
  void Add(const std::string& value) {
    auto [it, added] = index_.emplace(value, seen_.size());
    if (added) seen_.emplace_back(value, 0);
    ++seen_[it->second].second;
  }
  const std::vector<std::pair<std::string, int>>& seen() const { return seen_; }

 private:
  absl::flat_hash_map<std::string, size_t> index_;
  std::vector<std::pair<std::string, int>> seen_;
};

// Every organisation's sector name; an organisation whose sector index is
// out of range (a model in error) has none and is left out.
absl::flat_hash_map<std::string, std::string> SectorByOrganisation(const policy::Domains& d) {
  absl::flat_hash_map<std::string, std::string> out;
  for (const policy::Organisation& o : d.organisations) {
    if (o.sector >= 0 && static_cast<size_t>(o.sector) < d.sectors.size()) {
      out.emplace(o.id, d.sectors[static_cast<size_t>(o.sector)]);
    }
  }
  return out;
}

// "2 flows: 1 permitted, 1 forbidden", with "; obligations differ" when the
// permitted flows' obligations are not all the same.
std::string Summary(const Tally& outcomes, const Tally& marks, int flows) {
  if (flows == 0) return "no flows: no two distinct organisations";
  std::vector<std::string> parts;
  for (const auto& [outcome, n] : outcomes.seen()) parts.push_back(absl::StrCat(n, " ", outcome));
  std::string out = absl::StrCat(flows, flows == 1 ? " flow: " : " flows: ",
                                 absl::StrJoin(parts, ", "));
  if (marks.seen().size() > 1) absl::StrAppend(&out, "; obligations differ");
  return out;
}

JsonValue SectorCell(const std::string& from, const std::string& to,
                     const std::vector<const Struct*>& members) {
  Tally outcomes, marks, rules;
  std::vector<JsonValue> member_json;
  int changed = 0;  // members whose "change" (a compared picture) is not ""
  for (const Struct* c : members) {
    if (!Text(*c, "change").empty()) ++changed;
    outcomes.Add(Text(*c, "outcome"));
    // A denial has no obligations: only the permitted flows' marks can differ.
    if (Allowed(*c)) marks.Add(Text(*c, "marks"));
    auto it = c->fields().find("rules");
    if (it != c->fields().end()) {
      for (const JsonValue& r : it->second.list_value().values()) rules.Add(r.string_value());
    }
    member_json.push_back(Object({{"sender", Str(Text(*c, "sender"))},
                                  {"recipient", Str(Text(*c, "recipient"))},
                                  {"outcome", Str(Text(*c, "outcome"))},
                                  {"marks", Str(Text(*c, "marks"))},
                                  {"change", Str(Text(*c, "change"))}}));
  }
  std::vector<JsonValue> counts, rule_json;
  for (const auto& [outcome, n] : outcomes.seen()) {
    counts.push_back(Object({{"outcome", Str(outcome)}, {"count", Num(n)}}));
  }
  for (const auto& [rule, n] : rules.seen()) rule_json.push_back(Str(rule));
  const int flows = static_cast<int>(members.size());
  const size_t kinds = outcomes.seen().size();
  return Object({
      {"sender_sector", Str(from)},
      {"recipient_sector", Str(to)},
      {"outcome", Str(kinds == 0 ? "none" : kinds == 1 ? outcomes.seen()[0].first : "mixed")},
      {"marks", Str(marks.seen().size() == 1 ? marks.seen()[0].first
                    : marks.seen().empty()   ? ""
                                             : "varies")},
      {"rules", List(std::move(rule_json))},
      {"flows", Num(flows)},
      {"counts", List(std::move(counts))},
      {"summary", Str(Summary(outcomes, marks, flows))},
      {"changed", Num(changed)},
      {"members", List(std::move(member_json))},
  });
}

}  // namespace

JsonValue SectorsOf(const policy::Domains& domains) {
  const auto sector_of = SectorByOrganisation(domains);
  std::vector<JsonValue> out;
  for (const std::string& sector : domains.sectors) {
    std::vector<JsonValue> members;
    for (const policy::Organisation& o : domains.organisations) {
      auto it = sector_of.find(o.id);
      if (it != sector_of.end() && it->second == sector) members.push_back(Str(o.id));
    }
    out.push_back(Object({{"sector", Str(sector)}, {"organisations", List(std::move(members))}}));
  }
  return List(std::move(out));
}

JsonValue SectorLayer(const policy::Domains& domains, const JsonValue& organisation_layer) {
  const auto sector_of = SectorByOrganisation(domains);
  const Struct& layer = organisation_layer.struct_value();
  // The organisation cells of each (sender sector, recipient sector).
  absl::flat_hash_map<std::pair<std::string, std::string>, std::vector<const Struct*>> groups;
  auto cells = layer.fields().find("cells");
  if (cells != layer.fields().end()) {
    for (const JsonValue& v : cells->second.list_value().values()) {
      const Struct& c = v.struct_value();
      auto from = sector_of.find(Text(c, "sender"));
      auto to = sector_of.find(Text(c, "recipient"));
      if (from == sector_of.end() || to == sector_of.end()) continue;
      groups[{from->second, to->second}].push_back(&c);
    }
  }
  std::vector<JsonValue> out;
  for (const std::string& from : domains.sectors) {
    for (const std::string& to : domains.sectors) {
      out.push_back(SectorCell(from, to, groups[{from, to}]));
    }
  }
  return Object({{"classification", Str(Text(layer, "classification"))},
                 {"cells", List(std::move(out))}});
}

}  // namespace gatehouse::workbench

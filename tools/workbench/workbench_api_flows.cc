// Api::Flows: the picture of what the draft permits. For each chosen
// classification (a "layer") and each ordered pair of distinct declared
// organisations, the what-if of what_if.h decided as /api/ask decides it;
// and the same layers summed up by sector (sector_grid.h), so that the page
// can put organisations or sectors on the axes without asking again. With
// "compare", each cell is decided by the other version too (the baseline
// /api/compare uses) and says how it changed, so that Compare's changes
// are shown on the same picture.
#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/workbench/draft.h"
#include "tools/workbench/sector_grid.h"
#include "tools/workbench/what_if.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

// Cells in one answer (layers x senders x recipients). Each is a few
// hundred bytes of JSON; a policy with more organisations is asked one
// classification at a time.
constexpr size_t kMaxCells = 20000;

// `given` if declared, the first declared value if `given` is empty;
// InvalidArgument naming the declared values otherwise.
absl::StatusOr<std::string> DeclaredOrFirst(const std::string& given,
                                            const std::vector<std::string>& declared,
                                            absl::string_view what) {
  if (declared.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the policy declares no ", what));
  }
  if (given.empty()) return declared.front();
  if (std::find(declared.begin(), declared.end(), given) != declared.end()) return given;
  return absl::InvalidArgumentError(absl::StrCat("'", given, "' is not one of the ", what,
                                                 " the policy declares: ",
                                                 absl::StrJoin(declared, ", ")));
}

std::vector<JsonValue> Strs(const std::vector<std::string>& values) {
  std::vector<JsonValue> out;
  for (const std::string& v : values) out.push_back(Str(v));
  return out;
}

// How a flow changed from `before` to `after` (DecideWhatIf answers), in
// /api/compare's words; "" if it did not. A denial that becomes another
// denial is no change: the flow was and is refused.
std::string ChangeOf(const JsonValue& before, const JsonValue& after) {
  const auto& b = before.struct_value().fields();
  const auto& a = after.struct_value().fields();
  const bool was = b.at("allowed").bool_value(), is = a.at("allowed").bool_value();
  if (!was && is) return "newly permitted";
  if (was && !is) return "newly denied";
  if (was && b.at("obligations").string_value() != a.at("obligations").string_value()) {
    return "obligations changed";
  }
  return "";
}

// One layer: every sender to every other organisation at `base`'s labels,
// each cell with the decision of `before` too if it is given.
JsonValue Layer(const policy::Engine& engine, const policy::Engine* before, WhatIf base) {
  std::vector<JsonValue> cells;
  for (const policy::Organisation& sender : engine.model().domains.organisations) {
    for (const policy::Organisation& recipient : engine.model().domains.organisations) {
      if (sender.id == recipient.id) continue;
      base.sender = sender.id;
      base.recipient = recipient.id;
      JsonValue cell = DecideWhatIf(engine, base, /*explain=*/false);
      auto& fields = *cell.mutable_struct_value()->mutable_fields();
      fields["sender"] = Str(sender.id);
      fields["recipient"] = Str(recipient.id);
      fields.erase("explanation");
      if (before != nullptr) {
        JsonValue was = DecideWhatIf(*before, base, /*explain=*/false);
        fields["change"] = Str(ChangeOf(was, cell));
        auto& was_fields = *was.mutable_struct_value()->mutable_fields();
        was_fields.erase("explanation");
        was_fields.erase("reason");
        fields["before"] = std::move(was);
      }
      cells.push_back(std::move(cell));
    }
  }
  return Object({{"classification", Str(base.classification)}, {"cells", List(std::move(cells))}});
}

}  // namespace

absl::StatusOr<JsonValue> Api::Flows(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"source", "classification", "record_type", "purpose",
                                     "caveats", "compare", "against"});
  if (!body.ok()) return body.status();
  auto source = body->String("source");
  if (!source.ok()) return source.status();
  auto engine = EngineOf(CompileDraft(*source));
  if (!engine.ok()) return engine.status();
  auto compare = body->OptionalBool("compare");
  if (!compare.ok()) return compare.status();
  if (!*compare && body->Has("against")) {
    return absl::InvalidArgumentError("\"against\" is only used with \"compare\": true");
  }
  std::optional<policy::Engine> before;
  if (*compare) {
    auto baseline = Baseline(*body);
    if (!baseline.ok()) return baseline.status();
    auto e = policy::Engine::FromModel(*baseline);
    if (!e.ok()) return e.status();
    before = *std::move(e);
  }
  const policy::Domains& domains = engine->model().domains;
  WhatIf base;
  const std::pair<const char*, std::string*> labels[] = {
      {"classification", &base.classification}, {"record_type", &base.type},
      {"purpose", &base.purpose}};
  for (const auto& [key, out] : labels) {
    auto v = body->OptionalString(key);
    if (!v.ok()) return v.status();
    *out = *std::move(v);
  }
  auto caveats = body->StringList("caveats");
  if (!caveats.ok()) return caveats.status();
  base.caveats = *std::move(caveats);
  auto type = DeclaredOrFirst(base.type, domains.record_types, "record types");
  if (!type.ok()) return type.status();
  auto purpose = DeclaredOrFirst(base.purpose, domains.purposes, "purposes");
  if (!purpose.ok()) return purpose.status();
  base.type = *type;
  base.purpose = *purpose;
  std::vector<std::string> layers = domains.classifications;  // every layer unless one is chosen
  if (!base.classification.empty()) {
    auto c = DeclaredOrFirst(base.classification, domains.classifications, "classifications");
    if (!c.ok()) return c.status();
    layers = {*c};
  }
  const size_t orgs = domains.organisations.size();
  if (layers.size() * orgs * orgs > kMaxCells) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the picture would have more than ", kMaxCells, " cells (", orgs,
        " organisations); choose one classification"));
  }
  std::vector<JsonValue> layer_json, sector_json;
  for (const std::string& c : layers) {
    base.classification = c;
    layer_json.push_back(Layer(*engine, before ? &*before : nullptr, base));
    sector_json.push_back(SectorLayer(domains, layer_json.back()));
  }
  std::vector<std::string> org_ids;
  for (const policy::Organisation& o : domains.organisations) org_ids.push_back(o.id);
  return Object({{"organisations", List(Strs(org_ids))},
                 {"classifications", List(Strs(domains.classifications))},
                 {"record_type", Str(base.type)},
                 {"purpose", Str(base.purpose)},
                 {"caveats", List(Strs(base.caveats))},
                 {"compared", Bool(*compare)},
                 {"layers", List(std::move(layer_json))},
                 {"sectors", SectorsOf(domains)},
                 {"sector_layers", List(std::move(sector_json))}});
}

}  // namespace gatehouse::workbench

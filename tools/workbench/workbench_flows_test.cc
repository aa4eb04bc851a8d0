// /api/flows on policy/examples/northshire.ghp: the picture's cells are the
// decisions /api/ask gives, layer by layer. (Beside workbench_test.cc, in
// the same test binary, to keep each file short.)
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tools/workbench/api_test_util.h"
#include "tools/workbench/json_body.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

using testing::Field;
using testing::kNewPermit;
using testing::Parsed;

std::string Northshire() { return testing::Example("northshire.ghp"); }


// POSTs {source: northshire, ...extra} to /api/flows.
ApiAnswer Flows(std::vector<std::pair<std::string, JsonValue>> extra) {
  extra.emplace_back("source", Str(Northshire()));
  return Api::Create("")->Handle("/api/flows", ToJson(Object(std::move(extra))));
}

// The cell sender -> recipient of the layer for `classification`; an empty
// Struct (and a test failure) if there is none.
google::protobuf::Struct Cell(const google::protobuf::Struct& flows,
                              const std::string& classification, const std::string& sender,
                              const std::string& recipient) {
  for (const JsonValue& layer : Field(flows, "layers").list_value().values()) {
    if (Field(layer.struct_value(), "classification").string_value() != classification) continue;
    for (const JsonValue& cell : Field(layer.struct_value(), "cells").list_value().values()) {
      const auto& c = cell.struct_value();
      if (Field(c, "sender").string_value() == sender &&
          Field(c, "recipient").string_value() == recipient) {
        return c;
      }
    }
  }
  ADD_FAILURE() << "no cell " << classification << " " << sender << " -> " << recipient;
  return {};
}

std::string Rules(const google::protobuf::Struct& cell) {
  std::string out;
  for (const JsonValue& r : Field(cell, "rules").list_value().values()) {
    out += r.string_value() + " ";
  }
  return out;
}

TEST(WorkbenchFlows, TrustToCouncilIsPermittedWithEncryptionByHealthCouncilCare) {
  const ApiAnswer a = Flows({{"classification", Str("OFFICIAL-SENSITIVE")},
                             {"record_type", Str("discharge_summary")},
                             {"purpose", Str("direct_care")}});
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto flows = Parsed(a);
  ASSERT_EQ(Field(flows, "layers").list_value().values_size(), 1) << a.json;
  const auto cell = Cell(flows, "OFFICIAL-SENSITIVE", "nhs-trust-a", "council-a");
  EXPECT_EQ(Field(cell, "outcome").string_value(), "permitted") << a.json;
  EXPECT_TRUE(Field(cell, "allowed").bool_value());
  EXPECT_EQ(Rules(cell), "health-council-care ");
  EXPECT_TRUE(absl::StrContains(Field(cell, "obligations").string_value(), "encrypt"))
      << Field(cell, "obligations").string_value();
  EXPECT_TRUE(absl::StrContains(Field(cell, "marks").string_value(), "enc"));
  EXPECT_TRUE(absl::StrContains(Field(cell, "marks").string_value(), "redact"));
}

TEST(WorkbenchFlows, APairNoPermitCoversIsNoPermitAndSenderToItselfIsLeftOut) {
  const auto flows = Parsed(Flows({{"classification", Str("OFFICIAL-SENSITIVE")},
                                   {"record_type", Str("discharge_summary")},
                                   {"purpose", Str("direct_care")}}));
  const auto cell = Cell(flows, "OFFICIAL-SENSITIVE", "council-a", "police-a");
  EXPECT_EQ(Field(cell, "outcome").string_value(), "no-permit");
  EXPECT_FALSE(Field(cell, "allowed").bool_value());
  EXPECT_EQ(Field(cell, "marks").string_value(), "");
  // Three organisations: 3 x 2 ordered pairs of distinct ones.
  const auto& layer = Field(flows, "layers").list_value().values(0).struct_value();
  EXPECT_EQ(Field(layer, "cells").list_value().values_size(), 6);
  for (const JsonValue& c : Field(layer, "cells").list_value().values()) {
    EXPECT_NE(Field(c.struct_value(), "sender").string_value(),
              Field(c.struct_value(), "recipient").string_value());
  }
}

TEST(WorkbenchFlows, EveryLayerByDefaultAndTheLayerChangesTheCell) {
  const ApiAnswer a = Flows({{"record_type", Str("discharge_summary")}});
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto flows = Parsed(a);
  EXPECT_EQ(Field(flows, "layers").list_value().values_size(), 4);  // every classification
  EXPECT_EQ(Field(flows, "purpose").string_value(), "direct_care");  // the first declared
  EXPECT_EQ(Field(Cell(flows, "OFFICIAL", "nhs-trust-a", "council-a"), "outcome").string_value(),
            "permitted");
  // council-a is accredited to OFFICIAL-SENSITIVE: SECRET would be written down.
  EXPECT_EQ(Field(Cell(flows, "SECRET", "nhs-trust-a", "council-a"), "outcome").string_value(),
            "write-down");
  const auto top = Cell(flows, "TOP SECRET", "nhs-trust-a", "council-a");
  EXPECT_FALSE(Field(top, "allowed").bool_value());
}

TEST(WorkbenchFlows, CaveatsAreAppliedToEveryCell) {
  const auto flows = Parsed(Flows({{"classification", Str("OFFICIAL")},
                                   {"record_type", Str("discharge_summary")},
                                   {"caveats", Str("MEDICAL")}}));
  const auto cell = Cell(flows, "OFFICIAL", "nhs-trust-a", "council-a");
  EXPECT_EQ(Field(cell, "outcome").string_value(), "forbidden");
  EXPECT_EQ(Rules(cell), "medical-stays-in-health ");
}

TEST(WorkbenchFlows, AnUndeclaredLabelOrAPolicyWithAnErrorIsRefused) {
  const ApiAnswer layer = Flows({{"classification", Str("RESTRICTED")}});
  EXPECT_EQ(layer.http_status, 400);
  EXPECT_TRUE(absl::StrContains(layer.json, "OFFICIAL-SENSITIVE")) << layer.json;
  EXPECT_EQ(Flows({{"purpose", Str("marketing")}}).http_status, 400);
  EXPECT_EQ(Flows({{"sender", Str("nhs-trust-a")}}).http_status, 400);  // not a key of flows
  const ApiAnswer bad = Api::Create("")->Handle(
      "/api/flows", ToJson(Object({{"source", Str("policy \"p\"\npermit x when sender sector "
                                                  "is nowhere\n")}})));
  EXPECT_EQ(bad.http_status, 400);
  EXPECT_TRUE(absl::StrContains(bad.json, "draft.ghp:")) << bad.json;
}

// POSTs a compared picture of `draft` against northshire (a pasted version)
// for crime reports for safeguarding at OFFICIAL-SENSITIVE.
ApiAnswer ComparedFlows(const std::string& draft) {
  return Api::Create("")->Handle(
      "/api/flows", ToJson(Object({{"source", Str(draft)},
                                   {"against", Str(Northshire())},
                                   {"compare", Bool(true)},
                                   {"classification", Str("OFFICIAL-SENSITIVE")},
                                   {"record_type", Str("crime_report")},
                                   {"purpose", Str("safeguarding")}})));
}

TEST(WorkbenchFlows, ComparedTheNewlyPermittedCellSaysWhatItWasAndTheRestNothing) {
  const ApiAnswer a = ComparedFlows(Northshire() + kNewPermit);
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto flows = Parsed(a);
  EXPECT_TRUE(Field(flows, "compared").bool_value());
  const auto changed = Cell(flows, "OFFICIAL-SENSITIVE", "police-a", "council-a");
  EXPECT_EQ(Field(changed, "change").string_value(), "newly permitted");
  EXPECT_EQ(Field(changed, "outcome").string_value(), "permitted");
  EXPECT_EQ(Rules(changed), "police-council-crime ");
  const auto& before = Field(changed, "before").struct_value();
  EXPECT_FALSE(Field(before, "allowed").bool_value());
  EXPECT_EQ(Field(before, "outcome").string_value(), "no-permit");
  // Every other cell is decided as before: no change.
  int changes = 0;
  for (const JsonValue& cell :
       Field(Field(flows, "layers").list_value().values(0).struct_value(), "cells")
           .list_value().values()) {
    if (!Field(cell.struct_value(), "change").string_value().empty()) ++changes;
  }
  EXPECT_EQ(changes, 1) << a.json;
  // The sector picture counts it in police -> council, and only there.
  for (const JsonValue& cell :
       Field(Field(flows, "sector_layers").list_value().values(0).struct_value(), "cells")
           .list_value().values()) {
    const auto& c = cell.struct_value();
    const bool police_to_council = Field(c, "sender_sector").string_value() == "police" &&
                                   Field(c, "recipient_sector").string_value() == "council";
    EXPECT_EQ(Field(c, "changed").number_value(), police_to_council ? 1 : 0) << a.json;
  }
}

TEST(WorkbenchFlows, ComparedADenialAndChangedObligationsAreEachTheirChange) {
  std::string draft = absl::StrReplaceAll(
      Northshire(), {{"    and retain 8 years\n", "    and retain 6 years\n"}});
  draft += "forbid no-sensitive-to-council \"Not yet.\"\n  when sender is nhs-trust-a\n"
           "    and recipient is council-a\n    and classification at least OFFICIAL-SENSITIVE\n";
  const ApiAnswer a = Api::Create("")->Handle(
      "/api/flows", ToJson(Object({{"source", Str(draft)},
                                   {"against", Str(Northshire())},
                                   {"compare", Bool(true)},
                                   {"record_type", Str("discharge_summary")},
                                   {"purpose", Str("direct_care")}})));
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto flows = Parsed(a);
  const auto kept = Cell(flows, "OFFICIAL", "nhs-trust-a", "council-a");
  EXPECT_EQ(Field(kept, "change").string_value(), "obligations changed");
  EXPECT_TRUE(absl::StrContains(
      Field(Field(kept, "before").struct_value(), "obligations").string_value(), "8 years"));
  EXPECT_TRUE(absl::StrContains(Field(kept, "obligations").string_value(), "6 years"));
  const auto denied = Cell(flows, "OFFICIAL-SENSITIVE", "nhs-trust-a", "council-a");
  EXPECT_EQ(Field(denied, "change").string_value(), "newly denied");
  EXPECT_EQ(Field(denied, "outcome").string_value(), "forbidden");
  EXPECT_TRUE(Field(Field(denied, "before").struct_value(), "allowed").bool_value());
  // Refused before and after, for another reason or the same: no change.
  EXPECT_EQ(Field(Cell(flows, "SECRET", "nhs-trust-a", "council-a"), "change").string_value(),
            "");
}

TEST(WorkbenchFlows, ComparingNeedsAVersionToCompareWithAndSaysWhatIsWrong) {
  const ApiAnswer nothing = Flows({{"compare", Bool(true)}});
  EXPECT_EQ(nothing.http_status, 400);
  EXPECT_TRUE(absl::StrContains(nothing.json, "nothing to compare with")) << nothing.json;
  const ApiAnswer stray = Flows({{"against", Str(Northshire())}});
  EXPECT_EQ(stray.http_status, 400);
  EXPECT_TRUE(absl::StrContains(stray.json, "only used with")) << stray.json;
  const ApiAnswer not_bool = Flows({{"compare", Str("yes")}});
  EXPECT_EQ(not_bool.http_status, 400);
  const ApiAnswer broken = Flows({{"compare", Bool(true)}, {"against", Str("policy broken")}});
  EXPECT_EQ(broken.http_status, 400);
  EXPECT_TRUE(absl::StrContains(broken.json, "against.ghp")) << broken.json;
  // Without compare, no cell carries a comparison.
  const auto plain = Parsed(Flows({{"classification", Str("OFFICIAL")}}));
  EXPECT_FALSE(Field(plain, "compared").bool_value());
  EXPECT_EQ(Field(Cell(plain, "OFFICIAL", "nhs-trust-a", "council-a"), "before").kind_case(),
            JsonValue::KIND_NOT_SET);
}

TEST(WorkbenchApi, CompareGivesEachChangeTheLabelsOfOneOfItsFlowsForThePicture) {
  const ApiAnswer a = Api::Create("")->Handle(
      "/api/compare", ToJson(Object({{"source", Str(Northshire() + kNewPermit)},
                                     {"against", Str(Northshire())}})));
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto diff = Parsed(a);
  const auto& change = Field(diff, "changes").list_value().values(0).struct_value();
  const auto& picture = Field(change, "picture").struct_value();
  EXPECT_EQ(Field(picture, "record_type").string_value(), "crime_report");
  EXPECT_EQ(Field(picture, "purpose").string_value(), "safeguarding");
  EXPECT_EQ(Field(picture, "classification").string_value(), "OFFICIAL");  // the lowest
  EXPECT_EQ(Field(picture, "caveats").list_value().values_size(), 0);
}

}  // namespace
}  // namespace gatehouse::workbench

// /api/flows on policy/examples/northshire.ghp: the picture's cells are the
// decisions /api/ask gives, layer by layer. (Beside workbench_test.cc, in
// the same test binary, to keep each file short.)
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tools/workbench/api_test_util.h"
#include "tools/workbench/json_body.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

using testing::Field;
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

}  // namespace
}  // namespace gatehouse::workbench

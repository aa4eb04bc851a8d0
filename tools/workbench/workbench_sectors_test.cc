// /api/flows with sectors on the axes (sector_grid.h): known answers on a
// policy whose sectors hold two, one or no organisations, so that a sector
// cell can be uniform, mixed, uniform with different obligations, or empty.
// Each answer can be checked by hand against the rules below.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tools/workbench/api_test_util.h"
#include "tools/workbench/json_body.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

using google::protobuf::Struct;
using testing::Field;
using testing::Parsed;

constexpr char kSectors[] = R"(policy "sectors"
classifications OFFICIAL < SECRET
sectors health, council, police, education
record types summary
purposes care
organisation trust-a sector health accredited OFFICIAL
organisation trust-b sector health accredited OFFICIAL
organisation council-a sector council accredited OFFICIAL
organisation police-a sector police accredited SECRET
permit health-to-council when sender sector is health and recipient sector is council
forbid trust-b-not-council when sender is trust-b and recipient is council-a
permit within-health when sender sector is health and recipient sector is health
  then encrypt
permit police-to-trust-a when sender is police-a and recipient is trust-a then encrypt
permit police-to-trust-b when sender is police-a and recipient is trust-b
)";

Struct FlowsAt(const std::string& classification, const std::string& source = kSectors) {
  const ApiAnswer a = Api::Create("")->Handle(
      "/api/flows", ToJson(Object({{"source", Str(source)},
                                   {"classification", Str(classification)}})));
  EXPECT_EQ(a.http_status, 200) << a.json;
  return Parsed(a);
}

// The sector cell from -> to of the only layer; empty (and a failure) if none.
Struct SectorCell(const Struct& flows, const std::string& from, const std::string& to) {
  const auto& layers = Field(flows, "sector_layers").list_value();
  if (layers.values_size() != 1) {
    ADD_FAILURE() << "expected one sector layer";
    return {};
  }
  for (const JsonValue& v : Field(layers.values(0).struct_value(), "cells").list_value().values()) {
    const Struct& c = v.struct_value();
    if (Field(c, "sender_sector").string_value() == from &&
        Field(c, "recipient_sector").string_value() == to) {
      return c;
    }
  }
  ADD_FAILURE() << "no sector cell " << from << " -> " << to;
  return {};
}

std::vector<std::string> Strings(const JsonValue& list) {
  std::vector<std::string> out;
  for (const JsonValue& v : list.list_value().values()) out.push_back(v.string_value());
  return out;
}

std::string S(const Struct& s, const std::string& key) { return Field(s, key).string_value(); }

TEST(WorkbenchSectors, EverySectorIsListedWithItsOrganisationsAndEveryPairHasACell) {
  const Struct flows = FlowsAt("OFFICIAL");
  const auto& sectors = Field(flows, "sectors").list_value();
  ASSERT_EQ(sectors.values_size(), 4);
  EXPECT_EQ(S(sectors.values(0).struct_value(), "sector"), "health");
  EXPECT_EQ(Strings(Field(sectors.values(0).struct_value(), "organisations")),
            (std::vector<std::string>{"trust-a", "trust-b"}));
  EXPECT_TRUE(Strings(Field(sectors.values(3).struct_value(), "organisations")).empty());
  const Struct& layer = Field(flows, "sector_layers").list_value().values(0).struct_value();
  EXPECT_EQ(S(layer, "classification"), "OFFICIAL");
  EXPECT_EQ(Field(layer, "cells").list_value().values_size(), 16);  // 4 x 4 sectors
}

// trust-a -> council-a is permitted by health-to-council; trust-b ->
// council-a is forbidden by trust-b-not-council: the sector cell must not
// claim either outcome.
TEST(WorkbenchSectors, OrganisationsThatDifferMakeAMixedCellThatNamesEachFlow) {
  const Struct c = SectorCell(FlowsAt("OFFICIAL"), "health", "council");
  EXPECT_EQ(S(c, "outcome"), "mixed");
  EXPECT_EQ(S(c, "summary"), "2 flows: 1 permitted, 1 forbidden");
  EXPECT_EQ(Field(c, "flows").number_value(), 2);
  EXPECT_EQ(Strings(Field(c, "rules")),
            (std::vector<std::string>{"health-to-council", "trust-b-not-council"}));
  const auto& members = Field(c, "members").list_value();
  ASSERT_EQ(members.values_size(), 2);
  EXPECT_EQ(S(members.values(0).struct_value(), "sender"), "trust-a");
  EXPECT_EQ(S(members.values(0).struct_value(), "outcome"), "permitted");
  EXPECT_EQ(S(members.values(1).struct_value(), "sender"), "trust-b");
  EXPECT_EQ(S(members.values(1).struct_value(), "recipient"), "council-a");
  EXPECT_EQ(S(members.values(1).struct_value(), "outcome"), "forbidden");
  // The permitted flow has no obligations; the forbidden one cannot have any.
  EXPECT_EQ(S(c, "marks"), "");
}

// police-a may send to trust-a (encrypted) only: the marks are the
// permitted flow's, and the summary says it is one of two.
TEST(WorkbenchSectors, AMixedCellCarriesTheMarksOfItsPermittedFlows) {
  const Struct c = SectorCell(
      FlowsAt("OFFICIAL",
              std::string(kSectors) + "forbid not-trust-b when recipient is trust-b\n"),
      "police", "health");
  EXPECT_EQ(S(c, "outcome"), "mixed");
  EXPECT_EQ(S(c, "marks"), "enc");
  EXPECT_EQ(S(c, "summary"), "2 flows: 1 permitted, 1 forbidden");
  const auto& members = Field(c, "members").list_value();
  ASSERT_EQ(members.values_size(), 2);
  EXPECT_EQ(S(members.values(0).struct_value(), "marks"), "enc");
}

// trust-a -> trust-b and back, both by within-health with encryption.
TEST(WorkbenchSectors, ASectorToItselfIsItsOrganisationsToEachOther) {
  const Struct c = SectorCell(FlowsAt("OFFICIAL"), "health", "health");
  EXPECT_EQ(S(c, "outcome"), "permitted");
  EXPECT_EQ(S(c, "marks"), "enc");
  EXPECT_EQ(S(c, "summary"), "2 flows: 2 permitted");
  EXPECT_EQ(Strings(Field(c, "rules")), (std::vector<std::string>{"within-health"}));
}

// police-a -> trust-a must be encrypted, police-a -> trust-b need not be:
// one outcome, but the marks of either would be a lie for the other.
TEST(WorkbenchSectors, OneOutcomeWithDifferentObligationsSaysTheyVary) {
  const Struct c = SectorCell(FlowsAt("OFFICIAL"), "police", "health");
  EXPECT_EQ(S(c, "outcome"), "permitted");
  EXPECT_EQ(S(c, "marks"), "varies");
  EXPECT_EQ(S(c, "summary"), "2 flows: 2 permitted; obligations differ");
}

TEST(WorkbenchSectors, ASectorOfOneOrNoOrganisationHasNoFlowsToItself) {
  const Struct flows = FlowsAt("OFFICIAL");
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"council", "council"}, {"education", "health"}, {"health", "education"}}) {
    const Struct c = SectorCell(flows, from, to);
    EXPECT_EQ(S(c, "outcome"), "none") << from << " -> " << to;
    EXPECT_EQ(Field(c, "flows").number_value(), 0);
    EXPECT_EQ(S(c, "summary"), "no flows: no two distinct organisations");
  }
  const Struct c = SectorCell(flows, "council", "police");
  EXPECT_EQ(S(c, "outcome"), "no-permit");
  EXPECT_EQ(S(c, "summary"), "1 flow: 1 no-permit");
}

// The sector layer follows the organisation layer: at SECRET the trusts
// (accredited OFFICIAL) would be written down to.
TEST(WorkbenchSectors, TheLayerChangesTheSectorCellAsItChangesItsOrganisations) {
  const Struct c = SectorCell(FlowsAt("SECRET"), "police", "health");
  EXPECT_EQ(S(c, "outcome"), "write-down");
  EXPECT_EQ(S(c, "marks"), "");
  EXPECT_EQ(S(c, "summary"), "2 flows: 2 write-down");
}

}  // namespace
}  // namespace gatehouse::workbench

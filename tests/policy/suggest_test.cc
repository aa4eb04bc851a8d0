// "Did you mean ...?" suggests the name an officer most likely meant, and
// nothing when no name is close or two are equally close.
#include "policy/suggest.h"

#include "gtest/gtest.h"

namespace gatehouse::policy {
namespace {

const std::vector<std::string> kLevels = {"OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET",
                                          "TOP SECRET"};

TEST(PolicySuggest, UnderscoreForHyphenSuggestsTheDeclaredLevel) {
  EXPECT_EQ(ClosestName("OFFICIAL_SENSITIVE", kLevels), "OFFICIAL-SENSITIVE");
  EXPECT_EQ(ClosestName("official-sensitive", kLevels), "OFFICIAL-SENSITIVE");
  EXPECT_EQ(ClosestName("TOP_SECRET", kLevels), "TOP SECRET");
}

TEST(PolicySuggest, OneLetterTypoSuggestsTheName) {
  EXPECT_EQ(ClosestName("OFFICAL-SENSITIVE", kLevels), "OFFICIAL-SENSITIVE");
  EXPECT_EQ(ClosestName("SECERT", kLevels), "SECRET");  // swapped letters
  EXPECT_EQ(ClosestName("helth", {"health", "police", "council"}), "health");
}

TEST(PolicySuggest, NothingCloseSuggestsNothing) {
  EXPECT_EQ(ClosestName("RESTRICTED", kLevels), "");
  EXPECT_EQ(ClosestName("x", {"health"}), "");
  EXPECT_EQ(ClosestName("", kLevels), "");
}

TEST(PolicySuggest, TwoEquallyCloseNamesSuggestNothing) {
  EXPECT_EQ(ClosestName("force-0", {"force-01", "force-02"}), "");
}

TEST(PolicySuggest, EditDistanceGivesUpPastTheLimit) {
  EXPECT_EQ(EditDistance("abc", "abc", 2), 0);
  EXPECT_EQ(EditDistance("abc", "acb", 2), 1);
  EXPECT_EQ(EditDistance("abcdef", "uvwxyz", 2), 3);
}

}  // namespace
}  // namespace gatehouse::policy

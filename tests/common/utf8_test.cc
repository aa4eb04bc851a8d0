// common/utf8.h against Unicode's definition of well-formed UTF-8, and
// common/ids.h's id shape. Each case is one the definition names.
#include "common/utf8.h"

#include <string>

#include "common/ids.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

TEST(Utf8Test, WellFormedSequencesOfEveryLengthPass) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9"));                  // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));                  // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x94\x92"));              // U+1F512
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));              // U+10FFFF, the last
}

TEST(Utf8Test, IllFormedSequencesAreRefused) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // a surrogate, U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // a lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xE2\x28\xA1"));      // a bad continuation
  EXPECT_FALSE(IsValidUtf8("ok\xFF"));            // never in UTF-8
}

TEST(Utf8Test, AppendedCodePointsReadBackAsWellFormed) {
  std::string s;
  for (uint32_t cp : {0x41u, 0xE9u, 0x20ACu, 0x1F512u, 0x10FFFFu}) AppendUtf8(cp, &s);
  EXPECT_EQ(s, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x94\x92\xF4\x8F\xBF\xBF");
  EXPECT_TRUE(IsValidUtf8(s));
}

TEST(IdsTest, OnlyLowerCaseLettersDigitsAndHyphensUpTo64) {
  EXPECT_TRUE(IsValidId("nhs-trust-a"));
  EXPECT_TRUE(IsValidId(std::string(64, 'a')));
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidId("NHS"));
  EXPECT_FALSE(IsValidId("a/b"));
  EXPECT_FALSE(IsValidId("care system"));
}

}  // namespace
}  // namespace gatehouse

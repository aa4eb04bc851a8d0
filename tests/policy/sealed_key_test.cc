// Sealed officer keys (policy/sealed_key.h): the right passphrase opens the
// key that was sealed; a wrong one, or a file altered in any line, opens
// nothing; a malformed file is refused naming its line and never quoting
// it; a short passphrase is refused at sealing.
#include "policy/sealed_key.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "policy/bundle.h"

namespace gatehouse::policy {
namespace {

constexpr char kPassphrase[] = "correct horse battery";

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(SealedOfficerKey, TheRightPassphraseOpensTheKeyThatWasSealed) {
  const OfficerKeyPair pair = GenerateOfficerKey();
  auto text = SealOfficerKey(pair.secret_key, kPassphrase);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_TRUE(LooksSealed(*text));
  EXPECT_FALSE(absl::StrContains(*text, absl::BytesToHexString(pair.secret_key.substr(0, 32))));
  auto sealed = ParseSealedOfficerKey(*text, "alice.sealed");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->public_key, pair.public_key);  // readable without the passphrase
  auto opened = OpenSealedOfficerKey(*sealed, kPassphrase);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, pair.secret_key);
  // Two seals of one key differ (fresh salt and nonce).
  EXPECT_NE(*SealOfficerKey(pair.secret_key, kPassphrase), *text);
}

TEST(SealedOfficerKey, AWrongPassphraseOrAnAlteredLineOpensNothing) {
  const OfficerKeyPair pair = GenerateOfficerKey();
  const std::string text = *SealOfficerKey(pair.secret_key, kPassphrase);
  auto sealed = ParseSealedOfficerKey(text, "alice.sealed");
  ASSERT_TRUE(sealed.ok());
  auto wrong = OpenSealedOfficerKey(*sealed, "correct horse battery!");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(wrong.status().message(), "passphrase")) << wrong.status();
  // Each line of the file after the first, altered in one digit but still
  // well-formed (another public key, other limits, salt, nonce, seal).
  const OfficerKeyPair other = GenerateOfficerKey();
  for (size_t line = 1; line < 6; ++line) {
    std::vector<std::string> lines = Lines(text);
    if (line == 1) {
      lines[1] = absl::BytesToHexString(other.public_key);
    } else if (line == 2) {
      lines[2] = "3 " + std::string(Lines(text)[2]).substr(2);  // another ops limit
    } else {
      lines[line][0] = lines[line][0] == 'a' ? 'b' : 'a';
    }
    auto altered = ParseSealedOfficerKey(absl::StrJoin(lines, "\n"), "alice.sealed");
    ASSERT_TRUE(altered.ok()) << "line " << line + 1 << ": " << altered.status();
    auto opened = OpenSealedOfficerKey(*altered, kPassphrase);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied)
        << "line " << line + 1 << ": " << opened.status();
  }
}

TEST(SealedOfficerKey, AMalformedFileIsRefusedByLineWithoutQuotingIt) {
  const std::string text = *SealOfficerKey(GenerateOfficerKey().secret_key, kPassphrase);
  struct Case {
    size_t line;
    std::string value;
    std::string says;
  };
  const std::vector<Case> cases = {
      {1, "zz" + std::string(62, '0'), "line 2"},
      {2, "2 99999999999", "line 3"},  // more memory than a file may ask
      {2, "two 67108864", "line 3"},
      {3, "00", "line 4"},
      {4, std::string(48, 'G'), "line 5"},
      {5, std::string(158, 'a'), "line 6"}};
  for (const Case& c : cases) {
    std::vector<std::string> lines = Lines(text);
    lines[c.line] = c.value;
    auto parsed = ParseSealedOfficerKey(absl::StrJoin(lines, "\n"), "bob.sealed");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.value;
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), "bob.sealed")) << parsed.status();
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), c.says)) << parsed.status();
    EXPECT_FALSE(absl::StrContains(parsed.status().message(), c.value)) << parsed.status();
  }
  // An unsealed key file (policyc keygen without a passphrase) is not one.
  const std::string plain = absl::BytesToHexString(GenerateOfficerKey().secret_key);
  EXPECT_FALSE(LooksSealed(plain));
  auto parsed = ParseSealedOfficerKey(plain, "alice.key");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(absl::StrContains(parsed.status().message(), plain.substr(0, 16)));
}

TEST(SealedOfficerKey, AShortPassphraseOrABadKeyIsNotSealed) {
  const OfficerKeyPair pair = GenerateOfficerKey();
  EXPECT_EQ(SealOfficerKey(pair.secret_key, "elevenchars").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SealOfficerKey(pair.secret_key, "twelve chars").ok());
  EXPECT_EQ(SealOfficerKey(pair.public_key, kPassphrase).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gatehouse::policy

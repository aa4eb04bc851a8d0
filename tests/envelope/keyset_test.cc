#include "envelope/keyset.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace gatehouse::envelope {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/gh-keyset-" + std::to_string(getpid()) + "-" + name;
}

Keyset Fresh() { return *Keyset::Generate("nhs-trust-a", Keyset::Kind::kGateway, absl::Now()); }

TEST(KeysetTest, GenerateHasOnePrimaryPerPurpose) {
  const Keyset ks = Fresh();
  ASSERT_NE(ks.Primary(v1::KEY_PURPOSE_ENCRYPTION), nullptr);
  ASSERT_NE(ks.Primary(v1::KEY_PURPOSE_SIGNING), nullptr);
  EXPECT_EQ(ks.keys().size(), 2u);
}

TEST(KeysetTest, SaveAndLoadRoundTripWithMode0600) {
  const Keyset ks = Fresh();
  const std::string path = TempPath("roundtrip");
  ASSERT_TRUE(ks.SaveToFile(path).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = Keyset::LoadFromFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->ToProto().SerializeAsString(), ks.ToProto().SerializeAsString());
  unlink(path.c_str());
}

TEST(KeysetTest, GroupReadableFileIsRefused) {
  const std::string path = TempPath("group");
  ASSERT_TRUE(Fresh().SaveToFile(path).ok());
  chmod(path.c_str(), 0640);
  EXPECT_EQ(Keyset::LoadFromFile(path).status().code(), absl::StatusCode::kInvalidArgument);
  unlink(path.c_str());
}

TEST(KeysetTest, OtherReadableFileIsRefused) {
  const std::string path = TempPath("other");
  ASSERT_TRUE(Fresh().SaveToFile(path).ok());
  chmod(path.c_str(), 0604);
  EXPECT_EQ(Keyset::LoadFromFile(path).status().code(), absl::StatusCode::kInvalidArgument);
  unlink(path.c_str());
}

TEST(KeysetTest, MissingFileIsNotFound) {
  EXPECT_EQ(Keyset::LoadFromFile(TempPath("absent")).status().code(), absl::StatusCode::kNotFound);
}

TEST(KeysetTest, UnknownJsonFieldIsRefused) {
  const std::string path = TempPath("unknown");
  {
    std::ofstream out(path);
    out << R"({"org_id": "x", "surprise": 1})";
  }
  chmod(path.c_str(), 0600);
  EXPECT_EQ(Keyset::LoadFromFile(path).status().code(), absl::StatusCode::kInvalidArgument);
  unlink(path.c_str());
}

TEST(KeysetTest, KeyIdNotMatchingPublicKeyIsRefused) {
  v1::KeysetFile file = Fresh().ToProto();
  file.mutable_keys(0)->set_key_id("0000000000000000");
  EXPECT_EQ(Keyset::FromProto(file).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeysetTest, PrivateKeyNotMatchingPublicKeyIsRefused) {
  v1::KeysetFile file = Fresh().ToProto();
  (*file.mutable_keys(1)->mutable_private_key())[0] ^= 1;
  EXPECT_EQ(Keyset::FromProto(file).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeysetTest, TwoPrimarySigningKeysAreRefused) {
  Keyset ks = Fresh();
  ASSERT_TRUE(ks.AddSigningKey(absl::Now()).ok());
  v1::KeysetFile file = ks.ToProto();
  for (auto& k : *file.mutable_keys()) k.set_status(v1::KEY_STATUS_PRIMARY);
  EXPECT_EQ(Keyset::FromProto(file).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeysetTest, RotateEncryptionKeepsOldKeyForOpening) {
  Keyset ks = Fresh();
  const KeyId old = ks.Primary(v1::KEY_PURPOSE_ENCRYPTION)->id;
  auto fresh = ks.RotateEncryptionKey(absl::Now());
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(ks.Primary(v1::KEY_PURPOSE_ENCRYPTION)->id, *fresh);
  ASSERT_NE(ks.FindEncryptionKey(old), nullptr);
  EXPECT_EQ(ks.FindEncryptionKey(old)->status, v1::KEY_STATUS_ENABLED);
  EXPECT_TRUE(Keyset::FromProto(ks.ToProto()).ok());
}

TEST(KeysetTest, AddedSigningKeyIsPublishedButDoesNotSignUntilPromoted) {
  Keyset ks = Fresh();
  const KeyId old = ks.Primary(v1::KEY_PURPOSE_SIGNING)->id;
  const KeyId added = *ks.AddSigningKey(absl::Now());
  EXPECT_EQ(ks.Primary(v1::KEY_PURPOSE_SIGNING)->id, old);
  EXPECT_EQ(ks.PublicEntry().verification_keys_size(), 2);
  ASSERT_TRUE(ks.PromoteSigningKey(added).ok());
  EXPECT_EQ(ks.Primary(v1::KEY_PURPOSE_SIGNING)->id, added);
}

TEST(KeysetTest, PrimaryKeyCannotBeRemoved) {
  Keyset ks = Fresh();
  const KeyId primary = ks.Primary(v1::KEY_PURPOSE_SIGNING)->id;
  EXPECT_EQ(ks.RemoveKey(primary).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ks.keys().size(), 2u);
}

TEST(KeysetTest, PublicEntryCarriesNoPrivateKey) {
  const Keyset ks = Fresh();
  const std::string entry = ks.PublicEntry().SerializeAsString();
  const v1::KeysetFile file = ks.ToProto();
  for (const v1::KeysetKey& k : file.keys()) {
    EXPECT_EQ(entry.find(k.private_key()), std::string::npos);
  }
  auto to = RecipientKeyFromDirectory(ks.PublicEntry());
  ASSERT_TRUE(to.ok());
  EXPECT_EQ(to->id, ks.Primary(v1::KEY_PURPOSE_ENCRYPTION)->id);
  auto verifying = VerifyingKeysFromDirectory(ks.PublicEntry());
  ASSERT_TRUE(verifying.ok());
  EXPECT_EQ((*verifying)[0].id, ks.Primary(v1::KEY_PURPOSE_SIGNING)->id);
}

TEST(KeysetTest, KeyIdHexRoundTripsAndRefusesUpperCase) {
  const KeyId id = {0, 1, 0xab, 0xcd, 0xef, 0x10, 0x20, 0xff};
  EXPECT_EQ(KeyIdToHex(id), "0001abcdef1020ff");
  EXPECT_EQ(*KeyIdFromHex("0001abcdef1020ff"), id);
  EXPECT_FALSE(KeyIdFromHex("0001ABCDEF1020FF").ok());
  EXPECT_FALSE(KeyIdFromHex("0001abcdef1020f").ok());
}

}  // namespace
}  // namespace gatehouse::envelope

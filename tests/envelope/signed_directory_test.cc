#include "envelope/signed_directory.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/envelope/test_util.h"

namespace gatehouse::envelope {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1764331200);

class SignedDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    authority_ = *Keyset::Generate("directory-authority", Keyset::Kind::kDirectoryAuthority, kNow);
    trust_ = authority_.VerifyingKeys();
  }

  v1::Directory Directory(uint64_t version) {
    v1::Directory d;
    d.set_version(version);
    *d.add_organisations() = testing::NewKeyset("nhs-trust-a")->PublicEntry();
    d.mutable_organisations(0)->set_gateway_address("127.0.0.1:7101");
    *d.add_organisations() = testing::NewKeyset("council-a")->PublicEntry();
    return d;
  }

  std::string Signed(const v1::Directory& d, absl::Duration life = absl::Hours(24)) {
    return SignDirectory(d, authority_, kNow, kNow + life)->SerializeAsString();
  }

  Keyset authority_ = *Keyset::Generate("x", Keyset::Kind::kDirectoryAuthority, kNow);
  std::vector<VerifyingKey> trust_;
};

TEST_F(SignedDirectoryTest, SignedDirectoryVerifies) {
  const v1::Directory d = Directory(3);
  auto got = VerifySignedDirectory(Signed(d), trust_, kNow + absl::Hours(1));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), d.SerializeAsString());
}

TEST_F(SignedDirectoryTest, UnsignedDirectoryIsRefused) {
  v1::SignedDirectory sd;
  sd.ParseFromString(Signed(Directory(1)));
  sd.clear_signature();
  EXPECT_EQ(VerifySignedDirectory(sd.SerializeAsString(), trust_, kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(SignedDirectoryTest, EveryByteFlippedIsRefused) {
  const std::string good = Signed(Directory(1));
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(VerifySignedDirectory(bad, trust_, kNow).ok()) << i;
  }
}

TEST_F(SignedDirectoryTest, ChangedGatewayAddressIsRefused) {
  v1::SignedDirectory sd;
  sd.ParseFromString(Signed(Directory(1)));
  v1::Directory d;
  d.ParseFromString(sd.directory());
  d.mutable_organisations(0)->set_gateway_address("203.0.113.9:7101");
  sd.set_directory(d.SerializeAsString());
  EXPECT_EQ(VerifySignedDirectory(sd.SerializeAsString(), trust_, kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(SignedDirectoryTest, ExtendedExpiryIsRefused) {
  v1::SignedDirectory sd;
  sd.ParseFromString(Signed(Directory(1)));
  sd.set_not_after_unix_ms(sd.not_after_unix_ms() + 1);
  EXPECT_EQ(VerifySignedDirectory(sd.SerializeAsString(), trust_, kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(SignedDirectoryTest, ExpiredDirectoryIsRefused) {
  const std::string s = Signed(Directory(1), absl::Hours(1));
  EXPECT_EQ(VerifySignedDirectory(s, trust_, kNow + absl::Hours(1)).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(SignedDirectoryTest, UnknownAuthorityIsRefused) {
  Keyset other = *Keyset::Generate("directory-authority", Keyset::Kind::kDirectoryAuthority, kNow);
  const std::string s = SignDirectory(Directory(1), other, kNow, kNow + absl::Hours(1))->SerializeAsString();
  EXPECT_EQ(VerifySignedDirectory(s, trust_, kNow).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(SignedDirectoryTest, DuplicateOrgIsRefusedAtSigning) {
  v1::Directory d = Directory(1);
  *d.add_organisations() = d.organisations(0);
  EXPECT_EQ(SignDirectory(d, authority_, kNow, kNow + absl::Hours(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SignedDirectoryTest, HolderKeepsLastGoodDirectory) {
  DirectoryHolder holder(trust_);
  EXPECT_EQ(holder.current(), nullptr);
  ASSERT_TRUE(holder.Update(Signed(Directory(2)), kNow).ok());
  const auto good = holder.current();
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(good->version(), 2u);

  std::string tampered = Signed(Directory(3));
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_FALSE(holder.Update(tampered, kNow).ok());
  EXPECT_EQ(holder.Update(Signed(Directory(3), absl::Hours(1)), kNow + absl::Hours(2)).code(),
            absl::StatusCode::kUnauthenticated);  // expired
  EXPECT_EQ(holder.Update(Signed(Directory(1)), kNow).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(holder.Update(Signed(Directory(2)), kNow).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(holder.current(), good);

  ASSERT_TRUE(holder.Update(Signed(Directory(4)), kNow).ok());
  EXPECT_EQ(holder.current()->version(), 4u);
}

}  // namespace
}  // namespace gatehouse::envelope

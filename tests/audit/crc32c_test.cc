// Known answers for CRC-32C from RFC 3720 (iSCSI) appendix B.4. Recompute any
// of them with Python:  import crcmod.predefined as c;
//   c.mkCrcFun('crc-32c')(b'123456789')  -> 0xe3069283
#include "audit/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace gatehouse::audit {
namespace {

TEST(Crc32cTest, Rfc3720KnownAnswers) {
  std::string zeros(32, '\0');
  std::string ones(32, '\xff');
  std::string up(32, '\0'), down(32, '\0');
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<char>(i);
    down[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(crc32c::Value(zeros.data(), 32), 0x8a9136aau);
  EXPECT_EQ(crc32c::Value(ones.data(), 32), 0x62a8ab43u);
  EXPECT_EQ(crc32c::Value(up.data(), 32), 0x46dd794eu);
  EXPECT_EQ(crc32c::Value(down.data(), 32), 0x113fdb5cu);
  EXPECT_EQ(crc32c::Value("123456789", 9), 0xe3069283u);
}

TEST(Crc32cTest, HardwareAndPortableAgreeOnEveryLengthAndAlignment) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  for (size_t off = 0; off < 9; ++off) {
    for (size_t n = 0; n + off <= data.size(); n += 13) {
      EXPECT_EQ(crc32c::Value(data.data() + off, n), crc32c::ExtendPortable(0, data.data() + off, n));
    }
  }
}

TEST(Crc32cTest, ExtendEqualsWholeValue) {
  const std::string s = "hello, audit world";
  uint32_t a = crc32c::Value(s.data(), 5);
  EXPECT_EQ(crc32c::Extend(a, s.data() + 5, s.size() - 5), crc32c::Value(s.data(), s.size()));
}

TEST(Crc32cTest, MaskRoundTripsAndDiffers) {
  for (uint32_t v : {0u, 1u, 0xe3069283u, 0xffffffffu}) {
    EXPECT_EQ(crc32c::Unmask(crc32c::Mask(v)), v);
    EXPECT_NE(crc32c::Mask(v), v);
  }
}

}  // namespace
}  // namespace gatehouse::audit

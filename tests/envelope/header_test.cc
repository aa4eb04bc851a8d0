#include "envelope/header.h"

#include "gtest/gtest.h"
#include "tests/envelope/test_util.h"

namespace gatehouse::envelope {
namespace {

EnvelopeHeader SampleHeader() {
  EnvelopeHeader h;
  h.mode = EnvelopeMode::kBatch;
  h.labels = testing::Labels("rec-1");
  h.labels.caveats = {"MEDICAL", "PERSONAL"};  // sorted
  h.sender_key_id = {1, 2, 3, 4, 5, 6, 7, 8};
  h.recipient_key_id = {9, 10, 11, 12, 13, 14, 15, 16};
  h.key_commitment.fill(0xab);
  return h;
}

TEST(HeaderTest, RoundTrips) {
  const EnvelopeHeader h = SampleHeader();
  auto bytes = EncodeHeader(h);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto back = DecodeHeader(*bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);
}

TEST(HeaderTest, CaveatOrderDoesNotChangeBytes) {
  EnvelopeHeader a = SampleHeader();
  EnvelopeHeader b = SampleHeader();
  b.labels.caveats = {"PERSONAL", "MEDICAL"};
  EXPECT_EQ(*EncodeHeader(a), *EncodeHeader(b));
}

TEST(HeaderTest, RepeatedCaveatIsRefused) {
  EnvelopeHeader h = SampleHeader();
  h.labels.caveats = {"MEDICAL", "MEDICAL"};
  std::string out = "unchanged";
  EXPECT_EQ(AppendHeader(h, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out, "unchanged");
}

TEST(HeaderTest, EmptyRequiredFieldIsRefused) {
  for (std::string RecordLabels::*field :
       {&RecordLabels::record_id, &RecordLabels::sender_org, &RecordLabels::recipient_org,
        &RecordLabels::record_type, &RecordLabels::classification}) {
    EnvelopeHeader h = SampleHeader();
    h.labels.*field = "";
    EXPECT_EQ(EncodeHeader(h).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(HeaderTest, OverlongRecordIdIsRefused) {
  EnvelopeHeader h = SampleHeader();
  h.labels.record_id = std::string(kMaxRecordIdBytes + 1, 'x');
  EXPECT_EQ(EncodeHeader(h).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HeaderTest, TrailingByteIsRefused) {
  std::string bytes = *EncodeHeader(SampleHeader());
  bytes.push_back('\0');
  EXPECT_EQ(DecodeHeader(bytes).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HeaderTest, EveryTruncationIsRefused) {
  const std::string bytes = *EncodeHeader(SampleHeader());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeHeader(bytes.substr(0, n)).ok()) << n;
  }
}

TEST(HeaderTest, UnknownVersionIsRefused) {
  std::string bytes = *EncodeHeader(SampleHeader());
  bytes[0] = 2;
  EXPECT_EQ(DecodeHeader(bytes).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HeaderTest, UnknownModeIsRefused) {
  std::string bytes = *EncodeHeader(SampleHeader());
  for (char mode : {0, 4, 255}) {
    bytes[1] = mode;
    EXPECT_EQ(DecodeHeader(bytes).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(HeaderTest, UnsortedCaveatsAreRefused) {
  EnvelopeHeader h = SampleHeader();
  h.labels.caveats = {"AAAA", "BBBB"};
  std::string bytes = *EncodeHeader(h);
  const size_t at = bytes.find("AAAA");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 4, "CCCC");  // now "CCCC", "BBBB": same lengths, wrong order
  EXPECT_EQ(DecodeHeader(bytes).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gatehouse::envelope

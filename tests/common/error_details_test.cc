// The richer error model: what code that refuses attaches to an
// absl::Status, and the google.rpc.Status a caller receives for it.
#include "proto/error_details.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gatehouse {
namespace {

using ::testing::SizeIs;

TEST(ErrorDetailsTest, AFieldErrorNamesTheFieldAndItsReason) {
  absl::Status s = WithMetadata(
      InvalidFieldError("labels.caveats", "'BANANA' is not declared by the policy"),
      "allowedValues", "NHS-ONLY, POLICE-ONLY");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "labels.caveats 'BANANA' is not declared by the policy");
  google::rpc::Status rpc = ToRpcStatus(s);
  EXPECT_EQ(rpc.code(), 3);
  EXPECT_EQ(rpc.message(), s.message());
  ASSERT_THAT(rpc.details(), SizeIs(2));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "INVALID_FIELD");
  EXPECT_EQ(info.domain(), "gatehouse");
  EXPECT_EQ(info.metadata().at("allowedValues"), "NHS-ONLY, POLICE-ONLY");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(rpc.details(1).UnpackTo(&bad));
  ASSERT_THAT(bad.field_violations(), SizeIs(1));
  EXPECT_EQ(bad.field_violations(0).field(), "labels.caveats");
}

TEST(ErrorDetailsTest, EveryRefusalHasAReasonAndUnavailableARetry) {
  // Nothing attached: the reason is the code's name; UNAVAILABLE asks for a
  // retry after the default delay, other codes do not.
  google::rpc::Status rpc = ToRpcStatus(absl::UnavailableError("starting"));
  ASSERT_THAT(rpc.details(), SizeIs(2));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "UNAVAILABLE");
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(rpc.details(1).UnpackTo(&retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 1);

  rpc = ToRpcStatus(absl::PermissionDeniedError("no"));
  ASSERT_THAT(rpc.details(), SizeIs(1));
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "PERMISSION_DENIED");
}

TEST(ErrorDetailsTest, AReasonKeepsMetadataAndARetryDelayIsExact) {
  absl::Status s = WithMetadata(absl::PermissionDeniedError("denied"), "rule", "r-7");
  s = RetryLater(std::move(s), "POLICY_DENIED", absl::Milliseconds(2500));
  EXPECT_EQ(ErrorInfoOf(s)->reason(), "POLICY_DENIED");
  EXPECT_EQ(ErrorInfoOf(s)->metadata().at("rule"), "r-7");
  EXPECT_EQ(RetryInfoOf(s)->retry_delay().seconds(), 2);
  EXPECT_EQ(RetryInfoOf(s)->retry_delay().nanos(), 500000000);
  // Through the wire form and back: the same details.
  absl::Status back = FromRpcStatus(ToRpcStatus(s));
  EXPECT_EQ(back.code(), s.code());
  EXPECT_EQ(back.message(), s.message());
  EXPECT_EQ(ErrorInfoOf(back)->metadata().at("rule"), "r-7");
  EXPECT_EQ(RetryInfoOf(back)->retry_delay().nanos(), 500000000);
}

TEST(ErrorDetailsTest, OkStaysOkWithNothingAttached) {
  absl::Status s = WithReason(absl::OkStatus(), "X");
  EXPECT_TRUE(s.ok());
  EXPECT_FALSE(ErrorInfoOf(s).has_value());
  EXPECT_THAT(ToRpcStatus(s).details(), SizeIs(0));
}

}  // namespace
}  // namespace gatehouse

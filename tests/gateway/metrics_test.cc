#include "gateway/metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountsRecordsByLabel) {
  Metrics m;
  m.CountRecord("outbound", "delivered");
  m.CountRecord("outbound", "delivered");
  m.CountRecord("outbound", "rejected", "PERMISSION_DENIED");
  EXPECT_EQ(m.RecordCount("outbound", "delivered"), 2u);
  EXPECT_EQ(m.RecordCount("outbound", "rejected", "PERMISSION_DENIED"), 1u);
  EXPECT_EQ(m.RecordCount("inbound", "received"), 0u);
  std::string text = m.Render({});
  EXPECT_THAT(text, HasSubstr(
      "gatehouse_records_total{direction=\"outbound\",outcome=\"delivered\",reason=\"\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE gatehouse_records_total counter\n"));
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Metrics m;
  m.submit_seconds().Observe(0.0002);  // <= 0.00025
  m.submit_seconds().Observe(0.003);   // <= 0.005
  m.submit_seconds().Observe(100);     // +Inf only
  std::string text = m.Render({});
  EXPECT_THAT(text, HasSubstr("gatehouse_submit_seconds_bucket{le=\"0.0001\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("gatehouse_submit_seconds_bucket{le=\"0.00025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("gatehouse_submit_seconds_bucket{le=\"0.005\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("gatehouse_submit_seconds_bucket{le=\"10\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("gatehouse_submit_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("gatehouse_submit_seconds_count 3\n"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Metrics m;
  m.CountRefusal("exchange", "a\"b\\c\nd");
  EXPECT_THAT(m.Render({}), HasSubstr("code=\"a\\\"b\\\\c\\nd\""));
}

TEST(MetricsTest, GaugesAreRenderedWithTypeOnce) {
  Metrics m;
  std::string text = m.Render({{"g", "help", 1, "a=\"1\""}, {"g", "help", 2, "a=\"2\""}});
  EXPECT_THAT(text, HasSubstr("# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"2\"} 2\n"));
}

TEST(MetricsTest, CountersHandedInAsGaugesAreTypedCounter) {
  Metrics m;
  std::string text = m.Render({{"c_total", "help", 3, "", true}, {"g", "help", 4, ""}});
  EXPECT_THAT(text, HasSubstr("# TYPE c_total counter\nc_total 3\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE g gauge\ng 4\n"));
}

}  // namespace
}  // namespace gatehouse

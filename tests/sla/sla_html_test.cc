// The HTML report (sla/html_report.h): a latency series of one slice (a
// short period) is drawn as a marker, not as an invisible one-point line;
// a longer one as a line; text from the log is escaped.
#include "sla/html_report.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gatehouse/v1/sla_report.pb.h"
#include "gtest/gtest.h"

namespace gatehouse::sla {
namespace {

constexpr int64_t kHour = int64_t{3600} * 1000 * 1000 * 1000;

v1::ServiceLevelReport WithSlices(int slices) {
  v1::ServiceLevelReport r;
  r.set_format("gatehouse.sla-report/v1");
  r.set_org("nhs-trust-a");
  r.set_from_ns(0);
  r.set_to_ns(slices * kHour);
  v1::SlaPeer* peer = r.add_peers();
  peer->set_peer("council-<a>");
  for (int i = 0; i < slices; ++i) {
    v1::SlaBucket* b = peer->add_buckets();
    b->set_start_ns(i * kHour);
    b->set_end_ns((i + 1) * kHour);
    b->mutable_delivery_latency()->set_count(3);
    b->mutable_delivery_latency()->set_p50_ns(2000000 * (i + 1));
    b->mutable_delivery_latency()->set_p99_ns(9000000 * (i + 1));
    b->mutable_delivery_latency()->set_max_ns(12000000 * (i + 1));
  }
  return r;
}

size_t Count(const std::string& html, const std::string& what) {
  return std::vector<std::string>(absl::StrSplit(html, what)).size() - 1;
}

TEST(SlaHtml, AOneSliceLatencySeriesIsMarkedAndALongerOneIsALine) {
  const std::string one = RenderHtml(WithSlices(1));
  EXPECT_EQ(Count(one, "<circle"), 3u) << "p50, p99 and max each marked";
  const std::string three = RenderHtml(WithSlices(3));
  EXPECT_EQ(Count(three, "<circle"), 0u);
  EXPECT_GE(Count(three, "<polyline"), 3u);
  EXPECT_FALSE(absl::StrContains(one, "council-<a>"));
  EXPECT_TRUE(absl::StrContains(one, "council-&lt;a&gt;"));
}

}  // namespace
}  // namespace gatehouse::sla

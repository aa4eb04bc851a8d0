#include "gateway/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gateway/admin_server.h"
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

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` on a new connection and returns all that comes back.
std::string Exchange(int port, const std::string& request) {
  int fd = Connect(port);
  if (fd < 0) return "";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[256];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  close(fd);
  return answer;
}

// A client that sends its request a byte at a time, each well within the
// per-read timeout, is cut off after the request's whole allowance (2 s),
// not served for as long as it likes; then others are served.
TEST(AdminServerTest, AClientSendingSlowlyIsCutOff) {
  absl::StatusOr<std::unique_ptr<AdminServer>> admin = AdminServer::Start(
      "127.0.0.1:0", [](absl::string_view) { return AdminServer::Response{200, "ok\n"}; });
  ASSERT_TRUE(admin.ok()) << admin.status();
  int slow = Connect((*admin)->port());
  ASSERT_GE(slow, 0);
  const std::string drip = "GET /healthz HTTP/1.1\r\nX: y\r\n";  // never ends the head
  size_t sent = 0;
  bool closed = false;
  for (; sent < drip.size() && !closed; ++sent) {
    if (send(slow, &drip[sent], 1, MSG_NOSIGNAL) != 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    pollfd p{slow, POLLIN, 0};
    char c;
    closed = poll(&p, 1, 0) == 1 && recv(slow, &c, 1, 0) <= 0;
  }
  close(slow);
  EXPECT_LT(sent, drip.size()) << "the server kept reading a request sent over "
                               << drip.size() * 250 << " ms";
  EXPECT_THAT(Exchange((*admin)->port(), "GET /healthz HTTP/1.1\r\n\r\n"), HasSubstr("200"));
}

// While a client trickles its request, others are answered at once.
TEST(AdminServerTest, OthersAreServedWhileAClientTrickles) {
  absl::StatusOr<std::unique_ptr<AdminServer>> admin = AdminServer::Start(
      "127.0.0.1:0", [](absl::string_view path) {
        return AdminServer::Response{200, std::string(path) + "\n"};
      });
  ASSERT_TRUE(admin.ok()) << admin.status();
  int slow = Connect((*admin)->port());
  ASSERT_GE(slow, 0);
  ASSERT_EQ(send(slow, "GET /", 5, MSG_NOSIGNAL), 5);
  const auto start = std::chrono::steady_clock::now();
  const std::string answer = Exchange((*admin)->port(), "GET /readyz?x=1 HTTP/1.1\r\n\r\n");
  const auto took = std::chrono::steady_clock::now() - start;
  close(slow);
  EXPECT_THAT(answer, HasSubstr("HTTP/1.1 200"));
  EXPECT_THAT(answer, HasSubstr("\r\n\r\n/readyz\n"));  // the path, without its query
  EXPECT_THAT(answer, HasSubstr("Connection: close"));
  EXPECT_LT(took, std::chrono::milliseconds(1500));
}

// Refusals: other methods, a body, a malformed or oversized request; the
// handler never sees any of them.
TEST(AdminServerTest, RefusesWhatIsNotAPlainGet) {
  int calls = 0;
  absl::StatusOr<std::unique_ptr<AdminServer>> admin = AdminServer::Start(
      "127.0.0.1:0", [&calls](absl::string_view) {
        ++calls;
        return AdminServer::Response{200, "ok\n"};
      });
  ASSERT_TRUE(admin.ok()) << admin.status();
  const int port = (*admin)->port();
  EXPECT_THAT(Exchange(port, "POST /readyz HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
              HasSubstr("HTTP/1.1 405"));
  EXPECT_THAT(Exchange(port, "DELETE /readyz HTTP/1.1\r\n\r\n"), HasSubstr("HTTP/1.1 405"));
  EXPECT_THAT(Exchange(port, "POST /readyz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
              HasSubstr("HTTP/1.1 413"));
  EXPECT_THAT(Exchange(port, "BREW /pot HTTP/1.1\r\n\r\n"), HasSubstr("HTTP/1.1 400"));
  EXPECT_THAT(Exchange(port, "GET\r\n\r\n"), HasSubstr("HTTP/1.1 400"));
  const std::string huge = "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n";
  EXPECT_THAT(Exchange(port, huge), ::testing::Not(HasSubstr("HTTP/1.1 200")));
  EXPECT_EQ(calls, 0);
  EXPECT_THAT(Exchange(port, "GET /healthz HTTP/1.1\r\n\r\n"), HasSubstr("HTTP/1.1 200"));
  EXPECT_EQ(calls, 1);
}

TEST(AdminServerTest, ListenMustBeAnIpv4HostAndPort) {
  const auto handler = [](absl::string_view) { return AdminServer::Response{}; };
  for (const char* bad : {"localhost:80", "127.0.0.1", "127.0.0.1:99999", "::1:80", ""}) {
    absl::StatusOr<std::unique_ptr<AdminServer>> admin = AdminServer::Start(bad, handler);
    EXPECT_EQ(admin.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  absl::StatusOr<std::unique_ptr<AdminServer>> first = AdminServer::Start("127.0.0.1:0", handler);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<AdminServer>> taken =
      AdminServer::Start(absl::StrCat("127.0.0.1:", (*first)->port()), handler);
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kUnavailable);
  (*first)->Stop();
  (*first)->Stop();  // idempotent
}

}  // namespace
}  // namespace gatehouse

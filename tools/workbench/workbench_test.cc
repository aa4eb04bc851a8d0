// The workbench's API handlers, request guards, bounded runs and HTTP server,
// on the policies of policy/examples. The server tests start the real
// server on a loopback port the kernel picks.
#include <httplib.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "policy/bundle.h"
#include "tools/workbench/api_test_util.h"
#include "tools/workbench/bounded_run.h"
#include "tools/workbench/draft.h"
#include "tools/workbench/json_body.h"
#include "tools/workbench/request_guard.h"
#include "tools/workbench/static_files.h"
#include "tools/workbench/workbench_api.h"
#include "tools/workbench/workbench_server.h"

namespace gatehouse::workbench {
namespace {

using testing::Example;
using testing::Field;
using testing::Parsed;


// {"source": text, ...extra} as JSON.
std::string Body(const std::string& source, std::vector<std::pair<std::string, JsonValue>> extra = {}) {
  extra.emplace_back("source", Str(source));
  return ToJson(Object(std::move(extra)));
}

Api NoBundle() { return *Api::Create(""); }

using testing::kNewPermit;

TEST(WorkbenchApi, CheckReportsAMisspeltSectorAtItsLineWithTheFix) {
  const std::string policy = absl::StrReplaceAll(
      Example("northshire.ghp"),
      {{"  when sender sector is council", "  when sender sector is councel"}});
  const ApiAnswer a = NoBundle().Handle("/api/check", Body(policy));
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto report = Parsed(a);
  EXPECT_EQ(Field(report, "errors").number_value(), 1) << a.json;
  const auto& d = Field(report, "diagnostics").list_value().values(0).struct_value();
  EXPECT_EQ(Field(d, "line").number_value(), 50);
  EXPECT_EQ(Field(d, "column").number_value(), 25);
  EXPECT_EQ(Field(d, "code").string_value(), "unknown-name");
  EXPECT_EQ(Field(d, "suggestion").string_value(), "council");
  EXPECT_EQ(Field(d, "file").string_value(), kDraftName);
}

TEST(WorkbenchApi, CheckOfACleanExampleHasNoErrorsAndCountsItsRules) {
  const auto report = Parsed(NoBundle().Handle("/api/check", Body(Example("northshire.ghp"))));
  EXPECT_EQ(Field(report, "errors").number_value(), 0);
  EXPECT_EQ(Field(report, "rules").number_value(), 7);
}

TEST(WorkbenchApi, FormatKeepsComments) {
  const std::string messy = "# keep me\npolicy \"p\"\nclassifications OFFICIAL\n"
                            "sectors s\nrecord types t\npurposes p\n"
                            "organisation o sector s accredited OFFICIAL\n"
                            "permit a when sender sector is s   # and me\n";
  const ApiAnswer a = NoBundle().Handle("/api/format", Body(messy));
  ASSERT_EQ(a.http_status, 200) << a.json;
  const std::string formatted = Field(Parsed(a), "formatted").string_value();
  EXPECT_TRUE(absl::StrContains(formatted, "# keep me")) << formatted;
  EXPECT_TRUE(absl::StrContains(formatted, "# and me")) << formatted;
  EXPECT_TRUE(absl::StrContains(formatted, "\n  when sender sector is s")) << formatted;
}

TEST(WorkbenchApi, FormatOfAPolicyThatDoesNotParseSaysWhere) {
  const ApiAnswer a = NoBundle().Handle("/api/format", Body("policy \"p\"\npermit (\n"));
  EXPECT_EQ(a.http_status, 400);
  EXPECT_TRUE(absl::StrContains(a.json, "draft.ghp:2:")) << a.json;
}

std::string AskBody(const std::string& policy, const std::string& sender,
                    const std::string& recipient, const std::string& type,
                    const std::string& classification, const std::string& purpose,
                    const std::string& caveats = "") {
  return Body(policy, {{"sender", Str(sender)}, {"recipient", Str(recipient)},
                       {"type", Str(type)}, {"classification", Str(classification)},
                       {"purpose", Str(purpose)}, {"caveats", Str(caveats)}});
}

TEST(WorkbenchApi, AskGivesTheDecisionTheRuleAndTheObligations) {
  const ApiAnswer a = NoBundle().Handle(
      "/api/ask", AskBody(Example("northshire.ghp"), "nhs-trust-a", "council-a",
                          "discharge_summary", "OFFICIAL-SENSITIVE", "direct_care", "PERSONAL"));
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto d = Parsed(a);
  EXPECT_TRUE(Field(d, "allowed").bool_value());
  EXPECT_EQ(Field(d, "outcome").string_value(), "permitted");
  EXPECT_EQ(Field(d, "rules").list_value().values(0).string_value(), "health-council-care");
  EXPECT_TRUE(absl::StrContains(Field(d, "obligations").string_value(), "encrypt"));
}

TEST(WorkbenchApi, AskOfADenialNamesTheForbidAndExplains) {
  const ApiAnswer a = NoBundle().Handle(
      "/api/ask", AskBody(Example("northshire.ghp"), "nhs-trust-a", "council-a",
                          "discharge_summary", "OFFICIAL-SENSITIVE", "direct_care", "MEDICAL"));
  const auto d = Parsed(a);
  EXPECT_FALSE(Field(d, "allowed").bool_value());
  EXPECT_EQ(Field(d, "outcome").string_value(), "forbidden");
  EXPECT_EQ(Field(d, "rules").list_value().values(0).string_value(), "medical-stays-in-health");
  EXPECT_FALSE(Field(d, "explanation").string_value().empty());
}

TEST(WorkbenchApi, AskWithNoPermitExplainsTheNearestPermit) {
  const ApiAnswer a = NoBundle().Handle(
      "/api/ask", AskBody(Example("northshire.ghp"), "nhs-trust-a", "council-a",
                          "discharge_summary", "OFFICIAL-SENSITIVE", "research"));
  const auto d = Parsed(a);
  EXPECT_EQ(Field(d, "outcome").string_value(), "no-permit") << a.json;
  EXPECT_TRUE(absl::StrContains(a.json, "\"rules\":[]")) << a.json;  // a list, never null
  EXPECT_TRUE(absl::StrContains(Field(d, "explanation").string_value(), "health-council-care"))
      << a.json;
}

TEST(WorkbenchApi, AskOfAPolicyWithAnErrorIsRefusedNamingIt) {
  const ApiAnswer a = NoBundle().Handle(
      "/api/ask", AskBody("policy \"p\"\npermit x when sender sector is nowhere\n", "a", "b",
                          "t", "OFFICIAL", "p"));
  EXPECT_EQ(a.http_status, 400);
  EXPECT_TRUE(absl::StrContains(a.json, "draft.ghp:")) << a.json;
}

TEST(WorkbenchApi, CompareShowsANewlyPermittedFlowAndTheRuleResponsible) {
  const std::string before = Example("northshire.ghp");
  const ApiAnswer a = NoBundle().Handle(
      "/api/compare", Body(before + kNewPermit, {{"against", Str(before)}}));
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto diff = Parsed(a);
  ASSERT_EQ(Field(diff, "changes").list_value().values_size(), 1) << a.json;
  const auto& c = Field(diff, "changes").list_value().values(0).struct_value();
  EXPECT_EQ(Field(c, "kind").string_value(), "newly permitted");
  EXPECT_TRUE(absl::StrContains(a.json, "police-council-crime")) << a.json;
}

TEST(WorkbenchApi, CompareWithoutAgainstUsesTheBundleInForce) {
  const Draft in_force = CompileDraft(Example("northshire.ghp"));
  ASSERT_TRUE(in_force.ok());
  auto bundle = policy::MakeBundle(policy::ToProto(in_force.model), 1, "v1");
  ASSERT_TRUE(bundle.ok());
  auto api = Api::Create(*bundle);
  ASSERT_TRUE(api.ok()) << api.status();
  EXPECT_TRUE(absl::StrContains(api->BundleSource(), "northshire-sharing"));
  const ApiAnswer a = api->Handle("/api/compare", Body(Example("northshire.ghp") + kNewPermit));
  EXPECT_TRUE(absl::StrContains(a.json, "newly permitted")) << a.json;
  const ApiAnswer none = NoBundle().Handle("/api/compare", Body(Example("northshire.ghp")));
  EXPECT_EQ(none.http_status, 400);
}

TEST(WorkbenchApi, TestPutsFailingCasesFirstAndShowsCoverage) {
  const std::string cases =
      "allow sender=nhs-trust-a recipient=council-a type=care_plan classification=OFFICIAL "
      "purpose=direct_care by=health-council-care name=\"care plan to council\"\n"
      "allow sender=council-a recipient=nhs-trust-a type=referral classification=OFFICIAL "
      "purpose=direct_care name=\"referral back (no rule allows it)\"\n";
  const ApiAnswer a =
      NoBundle().Handle("/api/test", Body(Example("northshire.ghp"), {{"cases", Str(cases)}}));
  ASSERT_EQ(a.http_status, 200) << a.json;
  const auto t = Parsed(a);
  EXPECT_EQ(Field(t, "failed").number_value(), 1);
  const auto& first = Field(t, "cases").list_value().values(0).struct_value();
  EXPECT_FALSE(Field(first, "passed").bool_value());
  EXPECT_EQ(Field(first, "line").number_value(), 2);
  const auto& coverage = Field(t, "coverage").struct_value();
  EXPECT_EQ(Field(coverage, "exercised").number_value(), 1);
  EXPECT_EQ(Field(coverage, "total").number_value(), 7);
}

TEST(WorkbenchApi, BadCasesAreRefusedNamingTheLine) {
  const ApiAnswer a = NoBundle().Handle(
      "/api/test", Body(Example("northshire.ghp"), {{"cases", Str("allow bogus=1\n")}}));
  EXPECT_EQ(a.http_status, 400);
  EXPECT_TRUE(absl::StrContains(a.json, "line 1")) << a.json;
}

TEST(WorkbenchApi, UnknownFieldNotAnObjectAndUnknownPathAreRefused) {
  EXPECT_EQ(NoBundle().Handle("/api/check", R"({"source":"","sourc":""})").http_status, 400);
  EXPECT_EQ(NoBundle().Handle("/api/check", R"(["source"])").http_status, 400);
  EXPECT_EQ(NoBundle().Handle("/api/check", R"({"source":1})").http_status, 400);
  EXPECT_EQ(NoBundle().Handle("/api/nope", "{}").http_status, 404);
}

RequestHead GoodHead(const std::string& token) {
  RequestHead h;
  h.host = "127.0.0.1:8470";
  h.origin = "http://127.0.0.1:8470";
  h.content_type = "application/json";
  h.token = token;
  h.content_length = "10";
  return h;
}

TEST(WorkbenchGuard, RefusesEveryHeadThatIsNotThePagesOwn) {
  const RequestGuard guard("t0ken", 8470);
  EXPECT_FALSE(guard.CheckHead(GoodHead("t0ken")).has_value());
  auto refused = [&](auto change) {
    RequestHead h = GoodHead("t0ken");
    change(h);
    auto r = guard.CheckHead(h);
    return r ? r->http_status : 0;
  };
  EXPECT_EQ(refused([](RequestHead& h) { h.token = ""; }), 403);
  EXPECT_EQ(refused([](RequestHead& h) { h.token = "t0kem"; }), 403);
  EXPECT_EQ(refused([](RequestHead& h) { h.host = "evil.example:8470"; }), 403);
  EXPECT_EQ(refused([](RequestHead& h) { h.origin = "http://evil.example"; }), 403);
  EXPECT_EQ(refused([](RequestHead& h) { h.origin = "null"; }), 403);
  EXPECT_EQ(refused([](RequestHead& h) { h.content_type = "text/plain"; }), 415);
  EXPECT_EQ(refused([](RequestHead& h) { h.transfer_encoding = "chunked"; }), 411);
  EXPECT_EQ(refused([](RequestHead& h) { h.content_length = "1048577"; }), 413);
  EXPECT_EQ(refused([](RequestHead& h) { h.origin = ""; }), 0);  // curl, scripts
}

TEST(WorkbenchGuard, RefusesABodyThatIsNotUtf8) {
  EXPECT_FALSE(RequestGuard::CheckBody("{\"source\":\"caf\xc3\xa9\"}").has_value());
  EXPECT_EQ(RequestGuard::CheckBody("{\"source\":\"caf\xe9\"}")->http_status, 400);
  EXPECT_EQ(RequestGuard::CheckBody("\xc0\xaf")->http_status, 400);  // overlong '/'
}

TEST(WorkbenchBoundedRun, WorkPastTheDeadlineIsStoppedAndTheNextRunAnswers) {
  BoundedRunOptions options;
  options.deadline = absl::Milliseconds(300);
  BoundedRunner runner(options);
  const absl::Time start = absl::Now();
  auto slow = runner.Run([] {
    for (;;) pause();
    return std::string();
  });
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  auto quick = runner.Run([] { return std::string("answer"); });
  ASSERT_TRUE(quick.ok()) << quick.status();
  EXPECT_EQ(*quick, "answer");
}

TEST(WorkbenchBoundedRun, WorkThatDiesIsReportedNotPassedOn) {
  BoundedRunner runner(BoundedRunOptions{});
  auto died = runner.Run([] {
    std::abort();
    return std::string("never");
  });
  EXPECT_EQ(died.status().code(), absl::StatusCode::kInternal);
}

// The real server on a loopback port, with the page and the API.
class WorkbenchServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto files = StaticFiles::Load(kCodeMirrorDir);
    ASSERT_TRUE(files.ok()) << files.status();
    WorkbenchOptions options;
    options.listen = "127.0.0.1:0";
    options.policy_text = Example("northshire.ghp");
    options.analysis.deadline = absl::Seconds(5);
    auto server = WorkbenchServer::Start(options, NoBundle(), *std::move(files));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(20, 0);
    client_->set_write_timeout(20, 0);
  }
  httplib::Headers Headers() const { return {{kTokenHeader, server_->token()}}; }
  int PostStatus(const std::string& path, const std::string& body,
                 const httplib::Headers& headers) {
    auto res = client_->Post(path.c_str(), headers, body, "application/json");
    return res ? res->status : -1;
  }
  // The server still answers a good request.
  void ExpectStillServing() {
    auto res = client_->Post("/api/check", Headers(), Body(Example("northshire.ghp")),
                             "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_TRUE(absl::StrContains(res->body, "\"errors\":0")) << res->body;
  }
  std::unique_ptr<WorkbenchServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(WorkbenchServerTest, ServesThePageWithItsTokenAndAStrictContentSecurityPolicy) {
  auto res = client_->Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(absl::StrContains(res->body, server_->token()));
  const std::string csp = res->get_header_value("Content-Security-Policy");
  EXPECT_TRUE(absl::StrContains(csp, "script-src 'self'")) << csp;
  EXPECT_FALSE(absl::StrContains(csp, "unsafe")) << csp;
  EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
  auto cm = client_->Get("/cm/codemirror.js");
  ASSERT_TRUE(cm);
  EXPECT_EQ(cm->status, 200);
  EXPECT_EQ(client_->Get("/../../etc/passwd")->status, 404);
}

TEST_F(WorkbenchServerTest, AnswersTheApiOverHttp) { ExpectStillServing(); }

TEST_F(WorkbenchServerTest, MissingTokenIsRefusedAndTheServerStillServes) {
  EXPECT_EQ(PostStatus("/api/check", Body("policy \"p\""), {}), 403);
  EXPECT_EQ(PostStatus("/api/check", Body("policy \"p\""), {{kTokenHeader, "wrong"}}), 403);
  ExpectStillServing();
}

TEST_F(WorkbenchServerTest, AHundredMegabyteBodyGets413AndTheServerStillServes) {
  const std::string huge(100u << 20, 'a');
  EXPECT_EQ(PostStatus("/api/check", huge, Headers()), 413);
  ExpectStillServing();
}

TEST_F(WorkbenchServerTest, InvalidUtf8Gets400AndTheServerStillServes) {
  auto res = client_->Post("/api/check", Headers(), "{\"source\":\"\xff\xfe\"}",
                           "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(absl::StrContains(res->body, "UTF-8")) << res->body;
  ExpectStillServing();
}

TEST_F(WorkbenchServerTest, ForeignOriginAndOtherMethodsAreRefused) {
  httplib::Headers h = Headers();
  h.emplace("Origin", "http://evil.example");
  EXPECT_EQ(PostStatus("/api/check", Body(""), h), 403);
  auto put = client_->Put("/api/check", Headers(), Body(""), "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  ExpectStillServing();
}

TEST(WorkbenchServerDeadline, AnAnalysisPastItsDeadlineIsAnErrorAndTheServerStillServes) {
  auto files = StaticFiles::Load(kCodeMirrorDir);
  ASSERT_TRUE(files.ok()) << files.status();
  WorkbenchOptions options;
  options.listen = "127.0.0.1:0";
  options.analysis.deadline = absl::Milliseconds(1);  // no analysis can finish in time
  auto server = WorkbenchServer::Start(options, NoBundle(), *std::move(files));
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  const httplib::Headers headers{{kTokenHeader, (*server)->token()}};
  for (int i = 0; i < 3; ++i) {
    auto res = client.Post("/api/check", headers, Body(Example("interorg.ghp")),
                           "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503);
    EXPECT_TRUE(absl::StrContains(res->body, "still serving")) << res->body;
  }
  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
}

TEST(WorkbenchListen, NonLoopbackAddressesAreRefused) {
  EXPECT_TRUE(ParseLoopbackListen("127.0.0.1:8470").ok());
  EXPECT_EQ(ParseLoopbackListen("0.0.0.0:8470").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseLoopbackListen("10.1.2.3:80").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseLoopbackListen("localhost").ok());
}

}  // namespace
}  // namespace gatehouse::workbench

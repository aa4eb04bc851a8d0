// Integration tests of the whole record path across three real gateways:
// policy decisions outbound and inbound, obligations, sealing and signing,
// receipts and audit proofs, replays and tampering, reloads of policy and
// directory (good, bad and under load), shadow policy, and gateways
// cosigning each other's audit logs and catching one that was rewritten.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/config.h"
#include "gateway/receipt.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/fault_proxy.h"
#include "tests/gateway/gateway_harness.h"

namespace gatehouse {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

constexpr const char* kAdmin = R"("adminListen": "127.0.0.1:0")";

// Events of `org`'s audit log, in order, as their enum names (gateway stopped).
std::vector<v1::AuditEntry> Entries(Cluster& c, const std::string& org, v1::AuditEvent event) {
  std::vector<v1::AuditEntry> out;
  for (v1::AuditEntry& e : c.AuditEntries(org)) {
    if (e.event() == event) out.push_back(std::move(e));
  }
  return out;
}

class ExchangeIntegrationTest : public ::testing::Test {
 protected:
  bool StartAll(const std::string& extra = "") {
    return cluster_.Start("nhs-trust-a", extra) && cluster_.Start("council-a", extra) &&
           cluster_.Start("police-a", extra);
  }
  Cluster cluster_;
};

TEST_F(ExchangeIntegrationTest, PermittedRecordIsReceiptedAuditedAndItsProofVerifies) {
  ASSERT_TRUE(StartAll());
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitRequest req = SampleSubmit(R"({"note":"home by Friday"})");
  req.mutable_labels()->set_end_user("dr.patel");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, req, &resp).ok());
  const v1::Receipt& r = resp.receipt();
  ASSERT_EQ(r.state(), v1::RECORD_STATE_DELIVERED);
  EXPECT_THAT(r.rule_ids(), ::testing::ElementsAre("health-council-care"));
  EXPECT_EQ(r.delivery().record_id(), r.record_id());
  EXPECT_EQ(r.delivery().receiver_org(), "council-a");
  EXPECT_EQ(r.delivery().envelope_sha256().size(), 32u);
  // The receipt as the council signed it comes with it, and checks against
  // the council's directory keys; altered, it does not.
  EXPECT_EQ(r.signed_delivery().receipt(), r.delivery().SerializeAsString());
  v1::Organisation council;
  const v1::Directory directory = cluster_.MakeDirectory();
  for (const v1::Organisation& o : directory.organisations()) {
    if (o.org_id() == "council-a") council = o;
  }
  absl::StatusOr<v1::DeliveryReceipt> checked = VerifyReceipt(r.signed_delivery(), council);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->record_id(), r.record_id());
  v1::SignedReceipt altered = r.signed_delivery();
  altered.mutable_receipt()->back() ^= 1;
  EXPECT_EQ(VerifyReceipt(altered, council).status().code(), absl::StatusCode::kUnauthenticated);

  // Once a checkpoint covers the council's entry, the proof verifies.
  v1::StatusResponse status;
  EXPECT_TRUE(Eventually([&] {
    v1::StatusRequest sreq;
    sreq.set_record_id(r.record_id());
    sreq.set_with_proof(true);
    return Call(&v1::Exchange::Stub::Status, *ehr, sreq, &status).ok() &&
           status.proof().verified();
  })) << status.proof().detail();
  EXPECT_EQ(status.proof().leaf_index(), r.delivery().audit_index());
  EXPECT_THAT(status.proof().checkpoint(), HasSubstr("gatehouse.test/council-a/audit"));

  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchResponse got = FetchAll(*care);
  ASSERT_EQ(got.records_size(), 1);
  EXPECT_EQ(got.records(0).payload(), R"({"note":"home by Friday"})");
  EXPECT_EQ(got.records(0).labels().end_user(), "dr.patel");
  v1::AckRequest ack;
  ack.add_record_ids(r.record_id());
  v1::AckResponse acked;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Ack, *care, ack, &acked).ok());
  EXPECT_EQ(acked.acked(), 1);
  // The council's mailbox holds the envelope, never the plaintext.
  EXPECT_EQ(cluster_.Count("council-a", "mailbox", "instr(record, 'home by Friday') > 0"), 0);

  cluster_.Stop("nhs-trust-a");
  cluster_.Stop("council-a");
  auto submitted = Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_SUBMITTED);
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].labels().end_user(), "dr.patel");
  EXPECT_EQ(submitted[0].labels().purpose(), "direct_care");
  EXPECT_EQ(submitted[0].payload_sha256().size(), 32u);
  EXPECT_EQ(Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_DELIVERED).size(), 1u);
  EXPECT_EQ(Entries(cluster_, "council-a", v1::AUDIT_EVENT_RECEIVED).size(), 1u);
  EXPECT_EQ(Entries(cluster_, "council-a", v1::AUDIT_EVENT_FETCHED).size(), 1u);
  EXPECT_EQ(Entries(cluster_, "council-a", v1::AUDIT_EVENT_ACKED).size(), 1u);
  // No entry of either log carries the payload.
  for (const char* org : {"nhs-trust-a", "council-a"}) {
    for (const v1::AuditEntry& e : cluster_.AuditEntries(org)) {
      EXPECT_THAT(e.SerializeAsString(), Not(HasSubstr("home by Friday")));
    }
    absl::StatusOr<audit::VerifyReport> v = cluster_.VerifyAuditLog(org);
    ASSERT_TRUE(v.ok()) << org << ": " << v.status();
  }
}

TEST_F(ExchangeIntegrationTest, OutboundDenialNamesTheRuleAndChangesNothingButTheAudit) {
  ASSERT_TRUE(StartAll());
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitRequest req = SampleSubmit();
  req.mutable_labels()->add_caveats("MEDICAL");
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("medical-stays-in-health"));
  EXPECT_THAT(s.error_message(), HasSubstr("MEDICAL detail goes outside health only"));
  // The details name the reason and the deciding rule for a program to read.
  ASSERT_TRUE(ErrorInfoOf(Details(s)).has_value());
  EXPECT_EQ(ErrorInfoOf(Details(s))->reason(), "POLICY_FORBIDDEN");
  EXPECT_EQ(ErrorInfoOf(Details(s))->metadata().at("rule"), "medical-stays-in-health");
  EXPECT_FALSE(RetryInfoOf(Details(s)).has_value());
  // A record type the policy does not declare is the caller's to fix:
  // INVALID_ARGUMENT naming the field and the declared values (still audited).
  req = SampleSubmit();
  req.mutable_labels()->set_record_type("gossip");
  s = Call(&v1::Exchange::Stub::Submit, *ehr, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("labels.record_type 'gossip' is not declared"));
  EXPECT_THAT(s.error_message(), HasSubstr("discharge_summary"));
  ASSERT_TRUE(BadRequestOf(Details(s)).has_value());
  EXPECT_EQ(BadRequestOf(Details(s))->field_violations(0).field(), "labels.record_type");
  EXPECT_THAT(ErrorInfoOf(Details(s))->metadata().at("allowedValues"),
              HasSubstr("discharge_summary"));
  EXPECT_FALSE(resp.has_receipt());
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 0);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
  cluster_.Stop("nhs-trust-a");
  auto denied = Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_DENIED);
  ASSERT_EQ(denied.size(), 2u);
  EXPECT_THAT(denied[0].rule_ids(), ::testing::ElementsAre("medical-stays-in-health"));
  EXPECT_EQ(denied[0].decision(), v1::AUDIT_DECISION_DENY);
  EXPECT_EQ(denied[0].status_code(), "PERMISSION_DENIED");
  EXPECT_EQ(denied[1].status_code(), "INVALID_ARGUMENT");
  EXPECT_TRUE(denied[1].rule_ids().empty());
  EXPECT_TRUE(Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_SUBMITTED).empty());
}

TEST_F(ExchangeIntegrationTest, UndeclaredLabelValuesAreInvalidArgumentAndStoreNothing) {
  ASSERT_TRUE(StartAll());
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  const std::pair<std::function<void(v1::Labels*)>, std::string> cases[] = {
      {[](v1::Labels* l) { l->set_classification("CONFIDENTIAL"); },
       "labels.classification 'CONFIDENTIAL'"},
      {[](v1::Labels* l) { l->add_caveats("BANANA"); }, "labels.caveats 'BANANA'"},
      {[](v1::Labels* l) { l->set_purpose("marketing"); }, "labels.purpose 'marketing'"},
  };
  for (const auto& [mutate, expected] : cases) {
    v1::SubmitRequest req = SampleSubmit();
    mutate(req.mutable_labels());
    v1::SubmitResponse resp;
    grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(expected));
    EXPECT_FALSE(resp.has_receipt());
  }
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 0);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
}

// A request that does not parse is INVALID_ARGUMENT naming the field that
// is not UTF-8 (gRPC alone would answer UNIMPLEMENTED with no message), on
// every unary call, and nothing is stored or audited.
TEST_F(ExchangeIntegrationTest, ARequestThatDoesNotParseIsInvalidArgumentAndChangesNothing) {
  ASSERT_TRUE(StartAll());
  auto channel = cluster_.ClientChannel("nhs-trust-a", "nhs-trust-a/ehr");
  const size_t audited = cluster_.AuditEntries("nhs-trust-a").size();
  // A SubmitRequest whose labels.caveats holds "\xff": Labels is field 1
  // of SubmitRequest, caveats field 5 of Labels (checked below).
  const v1::Labels sample = SampleSubmit().labels();
  std::string labels = sample.SerializeAsString() + std::string("\x2a\x01\xff", 3);
  ASSERT_FALSE(v1::Labels().ParseFromString(labels));
  ASSERT_EQ(v1::Labels::descriptor()->FindFieldByNumber(5)->name(), "caveats");
  ASSERT_EQ(v1::SubmitRequest::descriptor()->FindFieldByNumber(1)->name(), "labels");
  const std::string submit =
      std::string("\x0a") + static_cast<char>(labels.size()) + labels;
  ASSERT_LT(labels.size(), 128u);
  struct Case {
    std::string method, bytes, field;
  };
  const Case cases[] = {
      {"Submit", submit, "labels.caveats"},
      // FetchRequest.page_token (2), AckRequest.record_ids (1),
      // StatusRequest.record_id (1): not UTF-8.
      {"Fetch", std::string("\x12\x02\xc3\x28", 4), "page_token"},
      {"Ack", std::string("\x0a\x01\x80", 3), "record_ids"},
      {"Status", std::string("\x0a\x01\xfe", 3), "record_id"},
      // Not a protobuf at all: a field with wire type 7.
      {"Submit", std::string("\x0f\x01", 2), ""},
  };
  for (const Case& c : cases) {
    std::string response;
    grpc::Status s = RawUnaryCall(channel, "/gatehouse.v1.Exchange/" + c.method, c.bytes, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.method << " " << c.field;
    EXPECT_THAT(s.error_message(), HasSubstr("is not a valid gatehouse.v1." + c.method));
    const absl::Status details = Details(s);
    ASSERT_TRUE(ErrorInfoOf(details).has_value()) << c.method;
    EXPECT_EQ(ErrorInfoOf(details)->reason(), "REQUEST_NOT_PARSED");
    if (c.field.empty()) {
      EXPECT_THAT(s.error_message(), HasSubstr("malformed"));
      EXPECT_FALSE(BadRequestOf(details).has_value());
    } else {
      EXPECT_THAT(s.error_message(), HasSubstr(c.field + " holds bytes that are not UTF-8"));
      ASSERT_TRUE(BadRequestOf(details).has_value()) << c.method;
      EXPECT_EQ(BadRequestOf(details)->field_violations(0).field(), c.field);
    }
    EXPECT_TRUE(response.empty());
  }
  EXPECT_EQ(cluster_.AuditEntries("nhs-trust-a").size(), audited);
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 0);
  // The same call, well formed, still works through the raw method, and
  // its response parses.
  v1::SubmitRequest good = SampleSubmit();
  std::string response;
  ASSERT_TRUE(RawUnaryCall(channel, "/gatehouse.v1.Exchange/Submit", good.SerializeAsString(),
                           &response)
                  .ok());
  v1::SubmitResponse submitted;
  ASSERT_TRUE(submitted.ParseFromString(response));
  EXPECT_EQ(submitted.receipt().record_id().size(), 32u);
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 1);
}

// Record.labels is "the labels as submitted": caveats keep their order,
// although the envelope header seals them sorted.
TEST_F(ExchangeIntegrationTest, CaveatsReachTheRecipientInTheOrderSubmitted) {
  ASSERT_TRUE(StartAll());
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitRequest req = SampleSubmit();
  req.mutable_labels()->clear_caveats();
  req.mutable_labels()->add_caveats("PERSONAL");
  req.mutable_labels()->add_caveats("CHILD");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, req, &resp).ok());
  ASSERT_EQ(resp.receipt().state(), v1::RECORD_STATE_DELIVERED) << resp.receipt().last_error();
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchResponse got = FetchAll(*care);
  ASSERT_EQ(got.records_size(), 1);
  EXPECT_THAT(got.records(0).labels().caveats(), ::testing::ElementsAre("PERSONAL", "CHILD"));
}

// Five pending 1 MiB records are more than gRPC's default 4 MiB receive
// limit: Fetch pages by bytes (at most 3.5 MiB a page), so a client with
// default settings takes every page and misses nothing.
TEST_F(ExchangeIntegrationTest, FetchPagesByBytesSoADefaultClientTakesEveryPage) {
  ASSERT_TRUE(StartAll());
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  std::set<std::string> sent;
  for (int i = 0; i < 5; ++i) {
    v1::SubmitResponse resp;
    grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr,
                          SampleSubmit(std::string(1 << 20, static_cast<char>('a' + i))), &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.receipt().state(), v1::RECORD_STATE_DELIVERED);
    sent.insert(resp.receipt().record_id());
  }
  auto care = cluster_.Client("council-a", "council-a/care");  // default receive limit
  std::set<std::string> got;
  std::vector<int> pages;
  v1::FetchRequest req;
  do {
    v1::FetchResponse resp;
    grpc::Status s = Call(&v1::Exchange::Stub::Fetch, *care, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LE(resp.ByteSizeLong(), (7u << 20) / 2 + 1024);
    pages.push_back(resp.records_size());
    for (const v1::Record& r : resp.records()) {
      EXPECT_EQ(r.payload().size(), 1u << 20);
      EXPECT_TRUE(got.insert(r.record_id()).second) << "fetched twice: " << r.record_id();
    }
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty() && pages.size() < 10);
  EXPECT_EQ(got, sent);
  EXPECT_THAT(pages, ::testing::ElementsAre(3, 2));
}

// The default maxPayloadBytes is the most a default client can Fetch: the
// largest record Submit accepts comes back whole; one byte more is refused
// and stores nothing.
TEST_F(ExchangeIntegrationTest, TheLargestPayloadSubmitAcceptsIsFetchedByADefaultClient) {
  ASSERT_TRUE(StartAll());
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitRequest req = SampleSubmit(std::string(kDefaultMaxPayloadBytes, 'x'));
  req.mutable_labels()->set_end_user(std::string(256, 'u'));  // the longest label
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.receipt().state(), v1::RECORD_STATE_DELIVERED);

  req = SampleSubmit(std::string(kDefaultMaxPayloadBytes + 1, 'y'));
  v1::SubmitResponse refused;
  s = Call(&v1::Exchange::Stub::Submit, *ehr, req, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_FALSE(refused.has_receipt());
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 1);

  auto care = cluster_.Client("council-a", "council-a/care");  // default receive limit
  v1::FetchResponse got;
  s = Call(&v1::Exchange::Stub::Fetch, *care, v1::FetchRequest(), &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(got.records_size(), 1);
  EXPECT_EQ(got.records(0).payload().size(), static_cast<size_t>(kDefaultMaxPayloadBytes));
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 1);
}

TEST_F(ExchangeIntegrationTest, WriteDownIsRefusedBySenderAndByReceiver) {
  ASSERT_TRUE(StartAll());
  auto rms = cluster_.Client("police-a", "police-a/rms");
  v1::SubmitRequest req = SampleSubmit("{}");
  req.mutable_labels()->set_record_type("intelligence_report");
  req.mutable_labels()->set_classification("SECRET");
  req.mutable_labels()->set_purpose("investigation");
  req.mutable_labels()->clear_caveats();
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *rms, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("write-down"));
  // A gateway that seals it anyway is refused by the council's own gateway.
  v1::DeliverRequest deliver;
  deliver.set_envelope(cluster_.SealAs("police-a", "council-a", req.labels(), "{}",
                                       "00000000000000000000000000000001", NowMs(), "rms"));
  auto police_gw = cluster_.PeerClient("council-a", "police-a/gateway");
  v1::DeliverResponse dresp;
  s = Call(&v1::Peer::Stub::Deliver, *police_gw, deliver, &dresp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("write-down"));
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
  EXPECT_EQ(cluster_.Count("police-a", "outbox"), 0);
}

TEST_F(ExchangeIntegrationTest, InboundPolicyRejectsAndTheSenderStopsRetrying) {
  // The council's own policy takes no discharge summaries from health.
  std::string council_policy = kTestPolicy;
  council_policy.replace(council_policy.find("(discharge_summary, care_plan)"),
                         std::string("(discharge_summary, care_plan)").size(), "care_plan");
  cluster_.WritePolicy(council_policy, 1, "council-v1", "council.bundle");
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start(
      "council-a",
      R"("policy": {"bundleFile": "council.bundle", "officerKeyFiles": ["officer0.pub"]})"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_REJECTED);
  EXPECT_THAT(resp.receipt().last_error(), HasSubstr("council-a's inbound policy"));
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox", "state = 3"), 1);
  cluster_.Stop("council-a");
  auto rejected = Entries(cluster_, "council-a", v1::AUDIT_EVENT_REJECTED);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].record_id(), resp.receipt().record_id());
  EXPECT_EQ(rejected[0].policy_version(), "council-v1");
  EXPECT_EQ(rejected[0].decision(), v1::AUDIT_DECISION_DENY);
}

TEST_F(ExchangeIntegrationTest, RedactionObligationIsCarriedOutOrTheRecordIsDenied) {
  std::string policy = kTestPolicy;
  policy.replace(policy.find("    and purpose is direct_care\n  then encrypt"),
                 std::string("    and purpose is direct_care\n  then encrypt").size(),
                 "    and purpose is direct_care\n  then encrypt\n    and redact (gp_free_text)");
  cluster_.WritePolicy(policy);
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr,
                   SampleSubmit(R"({"resourceType":"Composition","gp_free_text":"secret",)"
                                R"("section":[{"gp_free_text":"x","text":"meals"}]})"),
                   &resp)
                  .ok());
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchResponse got = FetchAll(*care);
  ASSERT_EQ(got.records_size(), 1);
  EXPECT_THAT(got.records(0).payload(), Not(HasSubstr("gp_free_text")));
  EXPECT_THAT(got.records(0).payload(), HasSubstr("meals"));
  // A payload that cannot be redacted does not go.
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit("not json"), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("requires redacting gp_free_text"));
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 1);
}

TEST_F(ExchangeIntegrationTest, TamperedEnvelopeIsRefusedAndNothingIsStored) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto nhs = cluster_.PeerClient("council-a", "nhs-trust-a/gateway");
  const std::string good = cluster_.SealAs("nhs-trust-a", "council-a", SampleSubmit().labels(),
                                           "{}", "0123456789abcdef0123456789abcdef", NowMs());
  // A byte flipped anywhere (labels, wrapped key, ciphertext, signature).
  for (size_t at : {size_t{12}, good.size() / 3, good.size() / 2, good.size() - 70,
                    good.size() - 1}) {
    std::string bad = good;
    bad[at] ^= 0x01;
    v1::DeliverRequest req;
    req.set_envelope(bad);
    v1::DeliverResponse resp;
    grpc::Status s = Call(&v1::Peer::Stub::Deliver, *nhs, req, &resp);
    EXPECT_THAT(s.error_code(), ::testing::AnyOf(grpc::StatusCode::UNAUTHENTICATED,
                                                 grpc::StatusCode::INVALID_ARGUMENT))
        << "byte " << at << ": " << s.error_message();
  }
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
  // The untouched envelope is still accepted: the refusals changed nothing.
  v1::DeliverRequest req;
  req.set_envelope(good);
  v1::DeliverResponse resp;
  grpc::Status accepted = Call(&v1::Peer::Stub::Deliver, *nhs, req, &resp);
  ASSERT_TRUE(accepted.ok()) << accepted.error_message();
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 1);
  cluster_.Stop("council-a");
  EXPECT_EQ(Entries(cluster_, "council-a", v1::AUDIT_EVENT_REJECTED).size(), 5u);
}

TEST_F(ExchangeIntegrationTest, BytesFlippedOnTheWireNeverLandAndTheRecordArrivesOnceAfter) {
  std::unique_ptr<FaultProxy> proxy = FaultProxy::Start(cluster_.peer_port("council-a"));
  ASSERT_NE(proxy, nullptr);
  proxy->FlipBytes(200);
  cluster_.SetAddress("council-a", absl::StrCat("127.0.0.1:", proxy->port()));
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(R"({"n":1})"), &resp).ok());
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_QUEUED);
  EXPECT_GT(proxy->flipped(), 0);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
  proxy->Pass();
  EXPECT_TRUE(Eventually([&] { return cluster_.Count("council-a", "mailbox") == 1; }));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 1);
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox", "state = 2"), 1);
}

TEST_F(ExchangeIntegrationTest, PolicyReloadsUnderLoadAndABadBundleIsRefused) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a", kAdmin));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, denied{0}, other{0};
  std::thread load([&] {
    while (!stop) {
      v1::SubmitResponse r;
      grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &r);
      if (s.ok()) {
        ++ok;
      } else if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
        ++denied;
      } else {
        ++other;
        ADD_FAILURE() << s.error_message();
      }
    }
  });
  const int admin = cluster_.AdminPort("nhs-trust-a");
  auto reloads = [&](const std::string& what, const std::string& result) {
    std::string m = HttpGet(admin, "/metrics");
    std::string key = absl::StrCat("gatehouse_reloads_total{what=\"", what, "\",result=\"",
                                   result, "\"} ");
    size_t at = m.find(key);
    return at == std::string::npos ? 0 : std::atoi(m.c_str() + at + key.size());
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // v2 stops discharge summaries to the council; the directory and the
  // certificate are replaced too, all while Submits run.
  std::string v2 = kTestPolicy;
  v2.replace(v2.find("(discharge_summary, care_plan)"),
             std::string("(discharge_summary, care_plan)").size(), "care_plan");
  cluster_.WritePolicy(v2, 1, "v2");
  cluster_.SetAddress("police-a", "127.0.0.1:1");
  std::filesystem::copy_file(cluster_.TlsDir("nhs-trust-a") + "/gateway.crt",
                             cluster_.TlsDir("nhs-trust-a") + "/gateway.crt.new");
  std::filesystem::rename(cluster_.TlsDir("nhs-trust-a") + "/gateway.crt.new",
                          cluster_.TlsDir("nhs-trust-a") + "/gateway.crt");
  EXPECT_TRUE(Eventually([&] {
    return reloads("policy", "ok") == 1 && reloads("directory", "ok") == 1 &&
           reloads("certificate", "ok") == 1;
  }));
  EXPECT_TRUE(Eventually([&] { return denied > 0; }));
  // Bad bundles: unsigned, tampered, signed by an untrusted key.
  const int denied_before = denied;
  cluster_.WriteRawPolicy(cluster_.MakePolicyBundle(kTestPolicy, 0, "unsigned", 1));
  EXPECT_TRUE(Eventually([&] { return reloads("policy", "refused") == 1; }));
  std::string tampered = cluster_.MakePolicyBundle(kTestPolicy, 1, "v3", 1);
  tampered[tampered.size() / 2] ^= 0x01;
  cluster_.WriteRawPolicy(tampered);
  EXPECT_TRUE(Eventually([&] { return reloads("policy", "refused") == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  load.join();
  // v2 is still enforced: discharge summaries kept being denied.
  EXPECT_GT(denied.load(), denied_before);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_THAT(HttpGet(admin, "/readyz"), HasSubstr("enforcing the last good one"));
  cluster_.Stop("nhs-trust-a");
  auto refused = Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_POLICY_REFUSED);
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_THAT(refused[0].reason(), HasSubstr("version v2 stays"));
  EXPECT_EQ(Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_POLICY_LOADED).size(), 2u);
}

TEST_F(ExchangeIntegrationTest, PoliceProfileNeedsTwoOfficersAndAnEndUser) {
  cluster_.WritePolicy(kTestPolicy, 1, "one-officer", "police.bundle");
  ASSERT_FALSE(cluster_.Start(
      "police-a", R"("profile": "police", "policy": {"bundleFile": "police.bundle",
                     "officerKeyFiles": ["officer0.pub", "officer1.pub"]})"));
  EXPECT_THAT(cluster_.Log("police-a"), HasSubstr("police.bundle"));
  cluster_.WritePolicy(kTestPolicy, 2, "two-officers", "police.bundle");
  ASSERT_TRUE(cluster_.Start(
      "police-a", R"("profile": "police", "policy": {"bundleFile": "police.bundle",
                     "officerKeyFiles": ["officer0.pub", "officer1.pub"]})"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto rms = cluster_.Client("police-a", "police-a/rms");
  v1::SubmitRequest req = SampleSubmit("{}");
  req.mutable_labels()->set_record_type("safeguarding_referral");
  req.mutable_labels()->set_purpose("safeguarding");
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *rms, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("end_user is required"));
  req.mutable_labels()->set_end_user("pc.jones");
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *rms, req, &resp).ok());
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_DELIVERED);
  cluster_.Stop("police-a");
  auto submitted = Entries(cluster_, "police-a", v1::AUDIT_EVENT_SUBMITTED);
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].labels().end_user(), "pc.jones");
  EXPECT_EQ(submitted[0].labels().purpose(), "safeguarding");
}

TEST_F(ExchangeIntegrationTest, ShadowPolicyDifferencesAreAuditedNeverEnforced) {
  std::string shadow = kTestPolicy;
  shadow.replace(shadow.find("(discharge_summary, care_plan)"),
                 std::string("(discharge_summary, care_plan)").size(), "care_plan");
  cluster_.WritePolicy(shadow, 1, "candidate", "shadow.bundle");
  ASSERT_TRUE(cluster_.Start(
      "nhs-trust-a",
      R"("policy": {"bundleFile": "policy.bundle", "shadowBundleFile": "shadow.bundle",
                    "officerKeyFiles": ["officer0.pub"]})"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_DELIVERED);
  v1::SubmitRequest plan = SampleSubmit();
  plan.mutable_labels()->set_record_type("care_plan");
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, plan, &resp).ok());
  cluster_.Stop("nhs-trust-a");
  auto differs = Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_SHADOW_DIFFERS);
  ASSERT_EQ(differs.size(), 1u);  // the care plan: both permit it
  EXPECT_EQ(differs[0].decision(), v1::AUDIT_DECISION_DENY);
  EXPECT_EQ(differs[0].policy_version(), "candidate");
  EXPECT_THAT(differs[0].reason(), HasSubstr("live policy v1: permitted"));
  EXPECT_EQ(Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_SUBMITTED).size(), 2u);
}

TEST_F(ExchangeIntegrationTest, GatewaysCosignEachOthersCheckpointsAndCatchARewrittenLog) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a", kAdmin));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  for (int i = 0; i < 3; ++i) {
    v1::SubmitResponse resp;
    ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  }
  const int admin = cluster_.AdminPort("nhs-trust-a");
  EXPECT_TRUE(Eventually([&] {
    return HttpGet(admin, "/metrics")
               .find("gatehouse_peer_checkpoints_total{peer=\"council-a\",result=\"cosigned\"}") !=
           std::string::npos;
  }));
  // The council's log carries the trust's cosignatures, and verifies.
  EXPECT_TRUE(Eventually([&] {
    absl::StatusOr<audit::VerifyReport> v = cluster_.VerifyAuditLog("council-a");
    return v.ok() && v->cosignatures_verified > 0;
  }));

  // Its log alone removed, the council's gateway refuses to start: its
  // store numbered entries the log no longer holds.
  cluster_.Stop("council-a");
  std::filesystem::remove_all(cluster_.AuditDir("council-a"));
  ASSERT_FALSE(cluster_.Restart("council-a"));
  EXPECT_THAT(cluster_.Log("council-a"), HasSubstr("entries are lost"));
  // The council's operator rewrites history: a fresh log and store in
  // place of the old.
  const std::string data_dir = cluster_.AuditDir("council-a") + "/..";
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(data_dir + "/gatehouse.db" + suffix);
  }
  std::filesystem::remove_all(cluster_.AuditDir("council-a"));
  ASSERT_TRUE(cluster_.Restart("council-a"));
  for (int i = 0; i < 5; ++i) {
    v1::SubmitResponse resp;
    ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  }
  EXPECT_TRUE(Eventually([&] {
    return HttpGet(admin, "/readyz").find("council-a's audit log is inconsistent") !=
           std::string::npos;
  }));
  EXPECT_THAT(HttpGet(admin, "/metrics"),
              HasSubstr("gatehouse_peer_checkpoints_total{peer=\"council-a\",result=\"inconsistent\"}"));
  cluster_.Stop("nhs-trust-a");
  // Each finding is alarmed once. The council's new log grows while the
  // trust keeps asking (a round a second), so a later checkpoint of it can
  // be a finding of its own ("shrank from 8 entries to 3", then "the
  // checkpoint at 9 entries does not extend..."): how many depends on how
  // many rounds ran before the trust stopped.
  auto alarms = Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_PEER_LOG_INCONSISTENT);
  ASSERT_GE(alarms.size(), 1u);
  std::set<std::string> findings;
  for (const v1::AuditEntry& alarm : alarms) {
    EXPECT_EQ(alarm.sender_org(), "council-a");
    const std::string finding = alarm.reason().substr(0, alarm.reason().find("; offending"));
    EXPECT_TRUE(findings.insert(finding).second) << "alarmed twice: " << finding;
  }
}

// The sender rotates its signing key and the directory drops the old one:
// records the receiver already holds were verified on arrival against the
// old key, which is kept with them, so they stay readable (they used to
// fail the whole Fetch page with DATA_LOSS).
TEST_F(ExchangeIntegrationTest, HeldRecordsStayReadableAfterTheSenderDropsItsOldKey) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  v1::SubmitResponse sent;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr"),
                   SampleSubmit("{\"held\": true}"), &sent).ok());
  ASSERT_EQ(sent.receipt().state(), v1::RECORD_STATE_DELIVERED);

  absl::StatusOr<envelope::Keyset> rotated =
      envelope::Keyset::Generate("nhs-trust-a", envelope::Keyset::Kind::kGateway, absl::Now());
  ASSERT_TRUE(rotated.ok());
  v1::Directory d = cluster_.MakeDirectory();
  for (v1::Organisation& o : *d.mutable_organisations()) {
    if (o.org_id() != "nhs-trust-a") continue;
    *o.mutable_verification_keys() = rotated->PublicEntry().verification_keys();
  }
  cluster_.WriteSignedDirectory(d);
  ASSERT_TRUE(Eventually([&] {
    return cluster_.Log("council-a").find("\"version\":\"" + std::to_string(d.version())) !=
           std::string::npos;
  }));
  v1::FetchResponse got = FetchAll(*cluster_.Client("council-a", "council-a/care"));
  ASSERT_EQ(got.records_size(), 1);
  EXPECT_EQ(got.records(0).payload(), "{\"held\": true}");
}

// Keys rotate without a restart (issue 17). The trust adds a signing key,
// the directory publishes it, the trust promotes it in its keyset file:
// the running gateway takes the new keyset, signs with the new key, and
// the council (which never restarted either) verifies it. A keyset whose
// primary signing key the directory does not list is refused and audited,
// and the keys in force go on working.
TEST_F(ExchangeIntegrationTest, SigningKeyRotatesWithoutARestart) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse before;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit("{\"n\": 1}"), &before).ok());
  ASSERT_EQ(before.receipt().state(), v1::RECORD_STATE_DELIVERED);

  const std::string keyset_file = cluster_.dir() + "/keys-nhs-trust-a/keyset.json";
  absl::StatusOr<envelope::Keyset> keys = envelope::Keyset::LoadFromFile(keyset_file);
  ASSERT_TRUE(keys.ok()) << keys.status();
  const envelope::KeyId old_id = keys->Primary(v1::KEY_PURPOSE_SIGNING)->id;
  absl::StatusOr<envelope::KeyId> new_id = keys->AddSigningKey(absl::Now());
  ASSERT_TRUE(new_id.ok()) << new_id.status();

  // Promoted before the directory lists the new key: refused, audited, and
  // the old key still signs.
  absl::StatusOr<envelope::Keyset> premature = envelope::Keyset::FromProto(keys->ToProto());
  ASSERT_TRUE(premature.ok()) << premature.status();
  ASSERT_TRUE(premature->PromoteSigningKey(*new_id).ok());
  ASSERT_TRUE(premature->SaveToFile(keyset_file).ok());
  ASSERT_TRUE(Eventually([&] {
    return cluster_.Log("nhs-trust-a").find("keyset refused") != std::string::npos;
  }));
  v1::SubmitResponse during;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit("{\"n\": 2}"), &during).ok());
  EXPECT_EQ(during.receipt().state(), v1::RECORD_STATE_DELIVERED);

  // Published, then promoted: taken without a restart.
  v1::Directory d = cluster_.MakeDirectory();
  for (v1::Organisation& o : *d.mutable_organisations()) {
    if (o.org_id() != "nhs-trust-a") continue;
    *o.mutable_verification_keys() = keys->PublicEntry().verification_keys();
  }
  cluster_.WriteSignedDirectory(d);
  for (const char* org : {"nhs-trust-a", "council-a"}) {
    ASSERT_TRUE(Eventually([&] {
      return cluster_.Log(org).find("\"version\":\"" + std::to_string(d.version())) !=
             std::string::npos;
    })) << org;
  }
  ASSERT_TRUE(keys->PromoteSigningKey(*new_id).ok());
  ASSERT_TRUE(keys->SaveToFile(keyset_file).ok());
  ASSERT_TRUE(Eventually([&] {
    return cluster_.Log("nhs-trust-a").find("keyset reloaded") != std::string::npos;
  }));
  v1::SubmitResponse after;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit("{\"n\": 3}"), &after).ok());
  EXPECT_EQ(after.receipt().state(), v1::RECORD_STATE_DELIVERED);
  v1::FetchResponse got = FetchAll(*cluster_.Client("council-a", "council-a/care"));
  ASSERT_EQ(got.records_size(), 3);

  cluster_.Stop("nhs-trust-a");
  cluster_.Stop("council-a");
  EXPECT_EQ(Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_KEYSET_REFUSED).size(), 1u);
  // The council verified the first two records with the old key and the
  // third with the new one.
  auto received = Entries(cluster_, "council-a", v1::AUDIT_EVENT_RECEIVED);
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0].key_ids(0), envelope::KeyIdToHex(old_id));
  EXPECT_EQ(received[1].key_ids(0), envelope::KeyIdToHex(old_id));
  EXPECT_EQ(received[2].key_ids(0), envelope::KeyIdToHex(*new_id));
}

}  // namespace
}  // namespace gatehouse

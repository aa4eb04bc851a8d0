// Integration tests: real gatehoused processes on loopback, real mutual TLS,
// certificates from certs/gen-dev-pki.sh.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gateway/receipt.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "transport/tls.h"
#include "tests/gateway/gateway_harness.h"

namespace gatehouse {
namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

namespace fs = std::filesystem;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::RecordState StateOf(v1::Exchange::Stub& stub, const std::string& record_id) {
  v1::StatusRequest req;
  req.set_record_id(record_id);
  v1::StatusResponse resp;
  if (!Call(&v1::Exchange::Stub::Status, stub, req, &resp).ok()) {
    return v1::RECORD_STATE_UNSPECIFIED;
  }
  return resp.receipt().state();
}

class GatewayIntegrationTest : public ::testing::Test {
 protected:
  Cluster cluster_;
};

TEST_F(GatewayIntegrationTest, RecordReachesCouncilExactlyOnceIntact) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  std::string payload("{\"resourceType\":\"Composition\"}\0\xff binary", 38);
  v1::SubmitRequest req = SampleSubmit(payload);
  req.mutable_labels()->set_recipient_system("care");
  req.mutable_labels()->set_end_user("dr.jones");
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_DELIVERED);
  EXPECT_EQ(resp.receipt().sender_org(), "nhs-trust-a");
  EXPECT_EQ(resp.receipt().record_id().size(), 32u);

  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchResponse got = FetchAll(*care);
  ASSERT_EQ(got.records_size(), 1);
  const v1::Record& r = got.records(0);
  EXPECT_EQ(r.record_id(), resp.receipt().record_id());
  EXPECT_EQ(r.payload(), payload);
  EXPECT_EQ(r.sender_org(), "nhs-trust-a");
  EXPECT_EQ(r.sender_system(), "ehr");
  EXPECT_EQ(r.labels().SerializeAsString(), req.labels().SerializeAsString());

  // Addressed to the care system: the council's finance system does not see it.
  auto finance = cluster_.Client("council-a", "council-a/finance");
  EXPECT_EQ(FetchAll(*finance).records_size(), 0);

  // Acknowledged, it is gone; acknowledged again, nothing changes.
  v1::AckRequest ack;
  ack.add_record_ids(r.record_id());
  v1::AckResponse acked;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Ack, *care, ack, &acked).ok());
  EXPECT_EQ(acked.acked(), 1);
  EXPECT_EQ(FetchAll(*care).records_size(), 0);
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Ack, *care, ack, &acked).ok());
  EXPECT_EQ(acked.acked(), 0);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 1);
}

TEST_F(GatewayIntegrationTest, SameIdempotencyKeyMakesOneRecord) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitRequest req = SampleSubmit();
  req.set_idempotency_key("discharge-42");
  v1::SubmitResponse first, second;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, req, &first).ok());
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, req, &second).ok());
  EXPECT_EQ(first.receipt().record_id(), second.receipt().record_id());
  EXPECT_FALSE(first.receipt().duplicate());
  EXPECT_TRUE(second.receipt().duplicate());
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 1);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 1);
}

TEST_F(GatewayIntegrationTest, FetchPagesThroughTheMailbox) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  for (int i = 0; i < 3; ++i) {
    v1::SubmitResponse resp;
    ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(std::to_string(i)), &resp).ok());
  }
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchRequest req;
  req.set_max_records(2);
  v1::FetchResponse page1, page2;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Fetch, *care, req, &page1).ok());
  ASSERT_EQ(page1.records_size(), 2);
  EXPECT_EQ(page1.records(0).payload(), "0");
  ASSERT_FALSE(page1.next_page_token().empty());
  req.set_page_token(page1.next_page_token());
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Fetch, *care, req, &page2).ok());
  ASSERT_EQ(page2.records_size(), 1);
  EXPECT_EQ(page2.records(0).payload(), "2");
  EXPECT_TRUE(page2.next_page_token().empty());

  req.set_page_token("not-a-token");
  v1::FetchResponse bad;
  EXPECT_EQ(Call(&v1::Exchange::Stub::Fetch, *care, req, &bad).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Each bad client certificate is refused on every call, before any handler
// runs, with UNAUTHENTICATED and a message that leads with the reason (the
// handshake only proves the caller holds the certificate's key); nothing
// is served and nothing is stored, on the client port and the peer port.
TEST_F(GatewayIntegrationTest, BadClientCertificatesAreRefusedWithTheReason) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  struct Case {
    const char* cert;
    const char* reason;
    const char* says;
  };
  for (const Case& c :
       {Case{"bad/expired", "CERTIFICATE_EXPIRED", "expired at"},
        Case{"bad/notyet", "CERTIFICATE_NOT_YET_VALID", "is not valid until"},
        Case{"bad/revoked", "CERTIFICATE_REVOKED", "is revoked"},
        Case{"bad/untrusted", "CERTIFICATE_UNTRUSTED", "not issued by a trusted authority"},
        Case{"bad/nosan", "IDENTITY_NOT_ACCEPTED", "psn"},
        Case{"bad/twosans", "IDENTITY_NOT_ACCEPTED", "psn"},
        // A gateway certificate on the systems' port.
        Case{"nhs-trust-a/gateway", "IDENTITY_NOT_ACCEPTED", "the client port is for systems"}}) {
    auto stub = cluster_.Client("nhs-trust-a", c.cert);
    v1::SubmitResponse resp;
    grpc::Status s = Call(&v1::Exchange::Stub::Submit, *stub, SampleSubmit(), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << c.cert;
    EXPECT_THAT(s.error_message(), StartsWith(std::string(c.reason) + ": ")) << c.cert;
    EXPECT_THAT(s.error_message(), HasSubstr(c.says)) << c.cert;
    EXPECT_FALSE(resp.has_receipt()) << c.cert;
    v1::FetchResponse fetched;
    s = Call(&v1::Exchange::Stub::Fetch, *stub, v1::FetchRequest(), &fetched);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << c.cert;
    EXPECT_EQ(fetched.records_size(), 0) << c.cert;
  }
  // The same certificates on the peer port: refused, nothing delivered.
  for (const char* cert : {"bad/expired", "bad/revoked", "bad/untrusted"}) {
    auto peer = cluster_.PeerClient("council-a", cert);
    v1::DeliverResponse resp;
    grpc::Status s = Call(&v1::Peer::Stub::Deliver, *peer, v1::DeliverRequest(), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << cert;
  }
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 0);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
}

// A certificate revoked while the gateway runs is refused on its next call
// once the new CRL is in tls.crlDir (OpenSSL alone would not re-read a
// replaced CRL file); the others still get in.
TEST_F(GatewayIntegrationTest, ACertificateRevokedWhileRunningIsRefused) {
  // A second certificate for the EHR system, from the shared CA, revoked
  // only in this cluster's CRL directory.
  const std::string name = cluster_.IssueCertificate("psn://org/nhs-trust-a/system/ehr");
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  v1::StatusResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Status, *cluster_.Client("nhs-trust-a", name),
                   v1::StatusRequest(), &resp).ok());

  cluster_.RevokeFor("nhs-trust-a", name);
  grpc::Status refused;
  EXPECT_TRUE(Eventually([&] {
    refused = Call(&v1::Exchange::Stub::Status, *cluster_.Client("nhs-trust-a", name),
                   v1::StatusRequest(), &resp);
    return refused.error_code() == grpc::StatusCode::UNAUTHENTICATED;
  }));
  EXPECT_THAT(refused.error_message(), StartsWith("CERTIFICATE_REVOKED: "));
  EXPECT_TRUE(Call(&v1::Exchange::Stub::Status, *cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr"),
                   v1::StatusRequest(), &resp)
                  .ok());
}

TEST_F(GatewayIntegrationTest, SystemCannotSubmitAsAnotherOrganisation) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::SubmitRequest req = SampleSubmit();
  req.mutable_labels()->set_recipient_org("police-a");
  req.set_sender_org("nhs-trust-a");
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *care, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("psn://org/council-a/system/care"));

  req.set_sender_org("council-a");
  req.set_sender_system("finance");
  s = Call(&v1::Exchange::Stub::Submit, *care, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(cluster_.Count("council-a", "outbox"), 0);
}

TEST_F(GatewayIntegrationTest, SystemCannotFetchForAnotherOrganisation) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse sent;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &sent).ok());

  // Claiming the council's mailbox through its own gateway.
  v1::FetchRequest req;
  req.set_org_id("council-a");
  req.set_system_id("care");
  v1::FetchResponse resp;
  EXPECT_EQ(Call(&v1::Exchange::Stub::Fetch, *ehr, req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(resp.records_size(), 0);

  // Going to the council's gateway with an NHS certificate.
  auto intruder = cluster_.Client("council-a", "nhs-trust-a/ehr");
  EXPECT_EQ(Call(&v1::Exchange::Stub::Fetch, *intruder, v1::FetchRequest(), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::AckRequest ack;
  ack.add_record_ids(sent.receipt().record_id());
  v1::AckResponse acked;
  EXPECT_EQ(Call(&v1::Exchange::Stub::Ack, *intruder, ack, &acked).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // Another organisation's record is not the caller's to see or acknowledge.
  auto rms = cluster_.Client("police-a", "police-a/rms");
  ASSERT_TRUE(cluster_.Start("police-a"));
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Ack, *rms, ack, &acked).ok());
  EXPECT_EQ(acked.acked(), 0);

  // The record is still waiting, untouched, for the council.
  EXPECT_EQ(cluster_.Count("council-a", "mailbox", "acked_ms IS NULL"), 1);
  auto care = cluster_.Client("council-a", "council-a/care");
  EXPECT_EQ(FetchAll(*care).records_size(), 1);
}

TEST_F(GatewayIntegrationTest, StatusShowsOnlyTheCallersOwnRecords) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse sent;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &sent).ok());
  EXPECT_EQ(StateOf(*ehr, sent.receipt().record_id()), v1::RECORD_STATE_DELIVERED);
  auto pas = cluster_.Client("nhs-trust-a", "nhs-trust-a/pas");
  v1::StatusRequest req;
  req.set_record_id(sent.receipt().record_id());
  v1::StatusResponse resp;
  EXPECT_EQ(Call(&v1::Exchange::Stub::Status, *pas, req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GatewayIntegrationTest, ReceiverDownRecordIsQueuedThenDelivered) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit("queued"), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_QUEUED);
  EXPECT_FALSE(resp.receipt().last_error().empty());
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox", "state = 1"), 1);

  ASSERT_TRUE(cluster_.Start("council-a"));
  const std::string id = resp.receipt().record_id();
  EXPECT_TRUE(Eventually([&] { return StateOf(*ehr, id) == v1::RECORD_STATE_DELIVERED; }));
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchResponse got = FetchAll(*care);
  ASSERT_EQ(got.records_size(), 1);
  EXPECT_EQ(got.records(0).payload(), "queued");
}

TEST_F(GatewayIntegrationTest, SenderKilledAfterSubmitDeliversOnceAfterRestart) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse queued;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit("a"), &queued).ok());
  EXPECT_EQ(queued.receipt().state(), v1::RECORD_STATE_QUEUED);
  cluster_.Kill("nhs-trust-a");

  ASSERT_TRUE(cluster_.Start("council-a"));
  // Delivered already; then killed before anything else could happen.
  ASSERT_TRUE(cluster_.Restart("nhs-trust-a"));
  ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse delivered;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit("b"), &delivered).ok());
  EXPECT_EQ(delivered.receipt().state(), v1::RECORD_STATE_DELIVERED);
  cluster_.Kill("nhs-trust-a");
  ASSERT_TRUE(cluster_.Restart("nhs-trust-a"));

  ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  EXPECT_TRUE(Eventually([&] {
    return StateOf(*ehr, queued.receipt().record_id()) == v1::RECORD_STATE_DELIVERED;
  }));
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchResponse got = FetchAll(*care);
  ASSERT_EQ(got.records_size(), 2);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 2);
}

TEST_F(GatewayIntegrationTest, OversizedPayloadIsResourceExhaustedWithTheLimit) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a", R"("maxPayloadBytes": 1024)"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(std::string(1025, 'x')), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("1024"));
  EXPECT_EQ(ErrorInfoOf(Details(s))->reason(), "PAYLOAD_TOO_LARGE");
  EXPECT_EQ(ErrorInfoOf(Details(s))->metadata().at("maxPayloadBytes"), "1024");
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 0);
  // Exactly at the limit is fine.
  s = Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(std::string(1024, 'x')), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 1);
}

// Each malformed request is refused with the code to act on and the
// richer error model's details: an ErrorInfo reason and, for a field, a
// BadRequest naming it. Nothing is queued.
TEST_F(GatewayIntegrationTest, MalformedLabelsAreInvalidArgument) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  struct Case {
    const char* what;
    std::function<void(v1::SubmitRequest*)> mutate;
    grpc::StatusCode code;
    const char* reason;
    const char* field;  // "" for none
  };
  const grpc::StatusCode kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
  std::vector<Case> cases = {
      {"no recipient", [](v1::SubmitRequest* r) { r->mutable_labels()->clear_recipient_org(); },
       kInvalid, "INVALID_FIELD", "labels.recipient_org"},
      {"no classification",
       [](v1::SubmitRequest* r) { r->mutable_labels()->clear_classification(); }, kInvalid,
       "INVALID_FIELD", "labels.classification"},
      {"unknown classification",
       [](v1::SubmitRequest* r) { r->mutable_labels()->set_classification("CONFIDENTIAL"); },
       kInvalid, "LABEL_NOT_DECLARED", "labels.classification"},
      {"unknown caveat", [](v1::SubmitRequest* r) { r->mutable_labels()->add_caveats("BANANA"); },
       kInvalid, "LABEL_NOT_DECLARED", "labels.caveats"},
      {"unknown recipient",
       [](v1::SubmitRequest* r) { r->mutable_labels()->set_recipient_org("nowhere"); },
       grpc::StatusCode::NOT_FOUND, "NOT_IN_DIRECTORY", ""},
      {"to itself",
       [](v1::SubmitRequest* r) { r->mutable_labels()->set_recipient_org("nhs-trust-a"); },
       kInvalid, "INVALID_FIELD", "labels.recipient_org"},
      {"bad system",
       [](v1::SubmitRequest* r) { r->mutable_labels()->set_recipient_system("Care Team"); },
       kInvalid, "INVALID_FIELD", "labels.recipient_system"},
      {"huge label",
       [](v1::SubmitRequest* r) { r->mutable_labels()->set_purpose(std::string(5000, 'p')); },
       kInvalid, "INVALID_FIELD", "labels.purpose"},
      {"too many caveats",
       [](v1::SubmitRequest* r) {
         for (int i = 0; i < 100; ++i) r->mutable_labels()->add_caveats("X");
       },
       kInvalid, "INVALID_FIELD", "labels.caveats"},
  };
  for (const Case& c : cases) {
    v1::SubmitRequest req = SampleSubmit();
    c.mutate(&req);
    v1::SubmitResponse resp;
    grpc::Status s = Call(&v1::Exchange::Stub::Submit, *ehr, req, &resp);
    EXPECT_EQ(s.error_code(), c.code) << c.what << ": " << s.error_message();
    absl::Status details = Details(s);
    ASSERT_TRUE(ErrorInfoOf(details).has_value()) << c.what;
    EXPECT_EQ(ErrorInfoOf(details)->reason(), c.reason) << c.what;
    EXPECT_EQ(ErrorInfoOf(details)->domain(), "gatehouse") << c.what;
    if (*c.field == '\0') continue;
    ASSERT_TRUE(BadRequestOf(details).has_value()) << c.what;
    EXPECT_EQ(BadRequestOf(details)->field_violations(0).field(), c.field) << c.what;
  }
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 0);
}

TEST_F(GatewayIntegrationTest, MalformedConfigNamesTheField) {
  EXPECT_FALSE(cluster_.Start("nhs-trust-a", R"("maxPayloadByte": 10)"));
  EXPECT_THAT(cluster_.Log("nhs-trust-a"), HasSubstr("maxPayloadByte"));
  EXPECT_FALSE(cluster_.Start("council-a", R"("maxPayloadBytes": "ten")"));
  EXPECT_THAT(cluster_.Log("council-a"), HasSubstr("max_payload_bytes"));
}

TEST_F(GatewayIntegrationTest, WorldReadableKeyIsRefusedAtStart) {
  fs::permissions(cluster_.TlsDir("nhs-trust-a") + "/gateway.key", fs::perms::others_read,
                  fs::perm_options::add);
  EXPECT_FALSE(cluster_.Start("nhs-trust-a"));
  EXPECT_THAT(cluster_.Log("nhs-trust-a"), HasSubstr("readable by other users"));
}

TEST_F(GatewayIntegrationTest, PeerImpersonationIsUnauthenticated) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  v1::DeliverRequest req;
  req.set_envelope(cluster_.SealAs("nhs-trust-a", "council-a", SampleSubmit().labels(), "forged",
                                   "0123456789abcdef0123456789abcdef", NowMs()));
  v1::DeliverResponse resp;

  // The police gateway claims to deliver the NHS trust's record.
  auto police = cluster_.PeerClient("council-a", "police-a/gateway");
  grpc::Status s = Call(&v1::Peer::Stub::Deliver, *police, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("psn://org/police-a/gateway"));
  // A system certificate may not call the peer API at all.
  auto system = cluster_.PeerClient("council-a", "nhs-trust-a/ehr");
  EXPECT_EQ(Call(&v1::Peer::Stub::Deliver, *system, req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A gateway certificate from an untrusted CA is refused, saying so.
  auto rogue = cluster_.PeerClient("council-a", "bad/untrusted-gateway");
  s = Call(&v1::Peer::Stub::Deliver, *rogue, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), StartsWith("CERTIFICATE_UNTRUSTED: "));
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
}

TEST_F(GatewayIntegrationTest, PeerDeliveryIsDeduplicatedAndReplaysRefused) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  const std::string id = "0123456789abcdef0123456789abcdef";
  const v1::Labels labels = SampleSubmit().labels();
  v1::DeliverRequest req;
  req.set_envelope(cluster_.SealAs("nhs-trust-a", "council-a", labels, "once", id, NowMs()));
  auto nhs = cluster_.PeerClient("council-a", "nhs-trust-a/gateway");
  v1::DeliverResponse first, second;
  ASSERT_TRUE(Call(&v1::Peer::Stub::Deliver, *nhs, req, &first).ok());
  // A retry of the same envelope gets the first receipt again.
  ASSERT_TRUE(Call(&v1::Peer::Stub::Deliver, *nhs, req, &second).ok());
  EXPECT_FALSE(first.duplicate());
  EXPECT_TRUE(second.duplicate());
  EXPECT_EQ(first.receipt().SerializeAsString(), second.receipt().SerializeAsString());
  // The same record id with other contents is a replay.
  v1::DeliverRequest replay;
  replay.set_envelope(cluster_.SealAs("nhs-trust-a", "council-a", labels, "twice", id, NowMs()));
  grpc::Status s = Call(&v1::Peer::Stub::Deliver, *nhs, replay, &second);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("replay refused"));
  // So is a record created outside the window (default 7 days).
  replay.set_envelope(cluster_.SealAs("nhs-trust-a", "council-a", labels, "old",
                                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                      NowMs() - int64_t{8} * 24 * 3600 * 1000));
  s = Call(&v1::Peer::Stub::Deliver, *nhs, replay, &second);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("outside this gateway's window"));
  // A record from a sender whose clock is ahead is refused for now, not for
  // good (Unavailable: the sender retries it).
  replay.set_envelope(cluster_.SealAs("nhs-trust-a", "council-a", labels, "early",
                                      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                                      NowMs() + int64_t{10} * 60 * 1000));
  s = Call(&v1::Peer::Stub::Deliver, *nhs, replay, &second);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(), HasSubstr("ahead of this gateway's clock"));
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchResponse got = FetchAll(*care);
  ASSERT_EQ(got.records_size(), 1);
  EXPECT_EQ(got.records(0).payload(), "once");
  EXPECT_EQ(got.records(0).sender_system(), "ehr");

  // Misrouted and malformed deliveries are refused and store nothing.
  req.set_envelope(cluster_.SealAs("nhs-trust-a", "police-a", labels, "x",
                                   "fedcba9876543210fedcba9876543210", NowMs()));
  EXPECT_EQ(Call(&v1::Peer::Stub::Deliver, *nhs, req, &second).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_envelope(cluster_.SealAs("nhs-trust-a", "council-a", labels, "x", "../../etc/passwd",
                                   NowMs()));
  EXPECT_EQ(Call(&v1::Peer::Stub::Deliver, *nhs, req, &second).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_envelope("not an envelope");
  EXPECT_EQ(Call(&v1::Peer::Stub::Deliver, *nhs, req, &second).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 1);
}

// A batch is Deliver envelope by envelope: each is checked, decided and
// stored alone, with an outcome of its own in order, and what a refused one
// would have changed is not changed. The receipts of the records held share
// one signature and each verifies alone; a copy already held answers with
// its first receipt.
TEST_F(GatewayIntegrationTest, ABatchIsDecidedEnvelopeByEnvelopeAndItsReceiptsShareOneSignature) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  const v1::Labels labels = SampleSubmit().labels();
  auto nhs = cluster_.PeerClient("council-a", "nhs-trust-a/gateway");
  // Two records held before: one to be replayed, one to be sent again.
  const std::string replayed_id = "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0";
  v1::DeliverRequest replayed;
  replayed.set_envelope(
      cluster_.SealAs("nhs-trust-a", "council-a", labels, "replayed", replayed_id, NowMs()));
  v1::DeliverResponse first_answer;
  ASSERT_TRUE(Call(&v1::Peer::Stub::Deliver, *nhs, replayed, &first_answer).ok());
  v1::DeliverRequest first;
  first.set_envelope(cluster_.SealAs("nhs-trust-a", "council-a", labels, "held",
                                     "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1", NowMs()));
  ASSERT_TRUE(Call(&v1::Peer::Stub::Deliver, *nhs, first, &first_answer).ok());

  v1::DeliverBatchRequest batch;
  batch.add_envelopes(cluster_.SealAs("nhs-trust-a", "council-a", labels, "one",
                                      "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", NowMs()));
  batch.add_envelopes(cluster_.SealAs("nhs-trust-a", "council-a", labels, "two",
                                      "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2", NowMs()));
  batch.add_envelopes(  // a replay: a held record's id with other contents
      cluster_.SealAs("nhs-trust-a", "council-a", labels, "other", replayed_id, NowMs()));
  batch.add_envelopes(first.envelope());  // a copy of the held record
  batch.add_envelopes(cluster_.SealAs("nhs-trust-a", "police-a", labels, "misrouted",
                                      "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3", NowMs()));
  batch.add_envelopes("not an envelope");
  batch.add_envelopes(cluster_.SealAs("nhs-trust-a", "council-a", labels, "three",
                                      "a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4", NowMs()));
  v1::DeliverBatchResponse answer;
  grpc::Status s = Call(&v1::Peer::Stub::DeliverBatch, *nhs, batch, &answer);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(answer.outcomes_size(), 7);
  const std::vector<int> codes = {grpc::StatusCode::OK, grpc::StatusCode::OK,
                                  grpc::StatusCode::ALREADY_EXISTS, grpc::StatusCode::OK,
                                  grpc::StatusCode::INVALID_ARGUMENT,
                                  grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::OK};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(answer.outcomes(i).code(), codes[i]) << i << ": " << answer.outcomes(i).message();
    EXPECT_EQ(answer.outcomes(i).has_response(), codes[i] == grpc::StatusCode::OK) << i;
  }
  EXPECT_THAT(answer.outcomes(2).message(), HasSubstr("replay refused"));
  // The copy: marked, and answered with the receipt it was first given
  // (signed now, with the batch).
  EXPECT_TRUE(answer.outcomes(3).response().duplicate());
  EXPECT_EQ(answer.outcomes(3).response().receipt().receipt(), first_answer.receipt().receipt());
  // The four receipts: one signature, each receipt verifying alone.
  v1::Organisation council;
  const v1::Directory directory = cluster_.MakeDirectory();
  for (const v1::Organisation& o : directory.organisations()) {
    if (o.org_id() == "council-a") council = o;
  }
  const std::vector<std::string> ids = {
      "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2",
      "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1", "a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4"};
  const std::vector<int> held_at = {0, 1, 3, 6};
  for (size_t k = 0; k < held_at.size(); ++k) {
    const v1::DeliverResponse& r = answer.outcomes(held_at[k]).response();
    EXPECT_EQ(r.duplicate(), held_at[k] == 3);
    EXPECT_EQ(r.receipt().batch_size(), 4u);
    EXPECT_EQ(r.receipt().batch_index(), k);
    EXPECT_EQ(r.receipt().signature(), answer.outcomes(0).response().receipt().signature());
    absl::StatusOr<v1::DeliveryReceipt> checked = VerifyReceipt(r.receipt(), council);
    ASSERT_TRUE(checked.ok()) << checked.status();
    EXPECT_EQ(checked->record_id(), ids[k]);
    EXPECT_EQ(checked->envelope_sha256(), Sha256(batch.envelopes(held_at[k])));
  }
  // A copy of a record the batch held, sent by Deliver: the same receipt,
  // signed alone.
  v1::DeliverRequest again;
  again.set_envelope(batch.envelopes(0));
  v1::DeliverResponse again_answer;
  ASSERT_TRUE(Call(&v1::Peer::Stub::Deliver, *nhs, again, &again_answer).ok());
  EXPECT_TRUE(again_answer.duplicate());
  EXPECT_EQ(again_answer.receipt().receipt(), answer.outcomes(0).response().receipt().receipt());
  EXPECT_EQ(again_answer.receipt().batch_size(), 0u);
  EXPECT_TRUE(VerifyReceipt(again_answer.receipt(), council).ok());
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 5);
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchResponse got = FetchAll(*care);
  std::set<std::string> payloads;
  for (const auto& r : got.records()) payloads.insert(r.payload());
  EXPECT_EQ(payloads, (std::set<std::string>{"replayed", "held", "one", "two", "three"}));
}

TEST_F(GatewayIntegrationTest, ABatchEmptyTooLargeOrNotFromAGatewayIsRefusedWhole) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto nhs = cluster_.PeerClient("council-a", "nhs-trust-a/gateway");
  v1::DeliverBatchRequest batch;
  v1::DeliverBatchResponse answer;
  grpc::Status s = Call(&v1::Peer::Stub::DeliverBatch, *nhs, batch, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const v1::Labels labels = SampleSubmit().labels();
  for (int i = 0; i < 257; ++i) {
    batch.add_envelopes(cluster_.SealAs("nhs-trust-a", "council-a", labels, "x",
                                        absl::StrFormat("%032x", i + 1), NowMs()));
  }
  s = Call(&v1::Peer::Stub::DeliverBatch, *nhs, batch, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("1 to 256"));
  // A system certificate may not call it, nor another organisation's gateway
  // deliver the trust's records by it.
  batch.mutable_envelopes()->DeleteSubrange(1, 256);
  auto system = cluster_.PeerClient("council-a", "nhs-trust-a/ehr");
  EXPECT_EQ(Call(&v1::Peer::Stub::DeliverBatch, *system, batch, &answer).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auto police = cluster_.PeerClient("council-a", "police-a/gateway");
  s = Call(&v1::Peer::Stub::DeliverBatch, *police, batch, &answer);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(answer.outcomes_size(), 1);
  EXPECT_EQ(answer.outcomes(0).code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
}

// A batch of n counts as n deliveries. A peer over its own limit is refused
// before the port's limit, which all peers share, is touched: its refused
// batches take nothing from another peer's.
TEST_F(GatewayIntegrationTest, ABatchCountsAsItsSizeAndAPeerOverItsLimitTakesNothingFromOthers) {
  ASSERT_TRUE(cluster_.Start("council-a", R"("deliverRatePerOrg": 0.01, "deliverBurstPerOrg": 2,
                                             "listenerRate": 0.01, "listenerBurst": 10)"));
  v1::DeliverBatchRequest five;
  for (int i = 0; i < 5; ++i) five.add_envelopes("not an envelope");
  v1::DeliverBatchResponse answer;
  auto nhs = cluster_.PeerClient("council-a", "nhs-trust-a/gateway");
  // A full bucket lets one batch over its burst through (2 of 2 tokens, 3
  // owed): the port's bucket then holds 5 of 10.
  grpc::Status s = Call(&v1::Peer::Stub::DeliverBatch, *nhs, five, &answer);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(answer.outcomes_size(), 5);
  // Over its own limit now, however often it asks.
  for (int i = 0; i < 3; ++i) {
    s = Call(&v1::Peer::Stub::DeliverBatch, *nhs, five, &answer);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(s.error_message(), HasSubstr("organisation nhs-trust-a is over its limit"));
  }
  // The port still has the 5 the trust's refused batches did not take.
  auto police = cluster_.PeerClient("council-a", "police-a/gateway");
  s = Call(&v1::Peer::Stub::DeliverBatch, *police, five, &answer);
  EXPECT_TRUE(s.ok()) << s.error_message();
  // And then it is empty: a third gateway within its own limit is refused
  // by the port's.
  auto third = cluster_.PeerClient("council-a", "council-a/gateway");
  s = Call(&v1::Peer::Stub::DeliverBatch, *third, five, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("peer port is over its limit"));
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
}

// Record ids are one sender's: our systems acknowledge by id, so another
// organisation's record under an id already used is refused, and an Ack of
// the first never takes the second.
TEST_F(GatewayIntegrationTest, ARecordIdAnotherOrganisationUsedIsRefused) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  const std::string id = "ffeeddccbbaa99887766554433221100";
  v1::Labels labels = SampleSubmit().labels();  // a referral any partner may send
  labels.set_record_type("safeguarding_referral");
  labels.set_purpose("safeguarding");
  v1::DeliverRequest first, second;
  first.set_envelope(cluster_.SealAs("nhs-trust-a", "council-a", labels, "from the trust", id, NowMs()));
  second.set_envelope(cluster_.SealAs("police-a", "council-a", labels, "from the police", id, NowMs()));
  v1::DeliverResponse resp;
  auto nhs = cluster_.PeerClient("council-a", "nhs-trust-a/gateway");
  ASSERT_TRUE(Call(&v1::Peer::Stub::Deliver, *nhs, first, &resp).ok());
  auto police = cluster_.PeerClient("council-a", "police-a/gateway");
  grpc::Status s = Call(&v1::Peer::Stub::Deliver, *police, second, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("another organisation"));
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 1);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox", "sender_org = 'police-a'"), 0);
}

// Submits with one idempotency key at once (a client retrying after its
// deadline while the first call is still in progress): one record, sealed
// and audited SUBMITTED once; every call gets its receipt or is told to retry.
TEST_F(GatewayIntegrationTest, SubmitsWithOneIdempotencyKeyAtOnceMakeOneRecord) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  v1::SubmitRequest req = SampleSubmit();
  req.set_idempotency_key("discharge-at-once");
  constexpr int kCopies = 8;
  std::vector<std::unique_ptr<v1::Exchange::Stub>> stubs;
  for (int i = 0; i < kCopies; ++i) stubs.push_back(cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr"));
  std::vector<grpc::Status> status(kCopies);
  std::vector<v1::SubmitResponse> resp(kCopies);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCopies; ++i) {
    threads.emplace_back(
        [&, i] { status[i] = Call(&v1::Exchange::Stub::Submit, *stubs[i], req, &resp[i]); });
  }
  for (std::thread& t : threads) t.join();
  std::set<std::string> ids;
  for (int i = 0; i < kCopies; ++i) {
    if (!status[i].ok()) {
      EXPECT_EQ(status[i].error_code(), grpc::StatusCode::UNAVAILABLE) << status[i].error_message();
      continue;
    }
    ids.insert(resp[i].receipt().record_id());
  }
  EXPECT_EQ(ids.size(), 1u) << "one idempotency key, several records";
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 1);
  cluster_.Stop("nhs-trust-a");
  int submitted = 0;
  for (const v1::AuditEntry& e : cluster_.AuditEntries("nhs-trust-a")) {
    if (e.event() == v1::AUDIT_EVENT_SUBMITTED) ++submitted;
  }
  EXPECT_EQ(submitted, 1) << "SUBMITTED audited for a record that was never kept";
}

// Copies of one envelope delivered at once (a sender retrying after its
// deadline while the first call is still being stored): one is received and
// audited once; every other call gets that receipt, or is told to retry.
TEST_F(GatewayIntegrationTest, CopiesDeliveredAtOnceAreReceivedAndAuditedOnce) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  const std::string id = "00112233445566778899aabbccddeeff";
  v1::DeliverRequest req;
  req.set_envelope(
      cluster_.SealAs("nhs-trust-a", "council-a", SampleSubmit().labels(), "once", id, NowMs()));
  constexpr int kCopies = 8;
  std::vector<std::unique_ptr<v1::Peer::Stub>> stubs;
  for (int i = 0; i < kCopies; ++i) {
    stubs.push_back(cluster_.PeerClient("council-a", "nhs-trust-a/gateway"));
  }
  std::vector<grpc::Status> status(kCopies);
  std::vector<v1::DeliverResponse> resp(kCopies);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCopies; ++i) {
    threads.emplace_back([&, i] { status[i] = Call(&v1::Peer::Stub::Deliver, *stubs[i], req, &resp[i]); });
  }
  for (std::thread& t : threads) t.join();
  int received = 0;
  std::string receipt;
  for (int i = 0; i < kCopies; ++i) {
    if (!status[i].ok()) {
      EXPECT_EQ(status[i].error_code(), grpc::StatusCode::UNAVAILABLE) << status[i].error_message();
      continue;
    }
    if (!resp[i].duplicate()) ++received;
    if (receipt.empty()) receipt = resp[i].receipt().SerializeAsString();
    EXPECT_EQ(resp[i].receipt().SerializeAsString(), receipt) << "two receipts for one record";
  }
  EXPECT_EQ(received, 1);
  // A retry now gets the one receipt.
  v1::DeliverResponse again;
  ASSERT_TRUE(Call(&v1::Peer::Stub::Deliver, *stubs[0], req, &again).ok());
  EXPECT_TRUE(again.duplicate());
  if (!receipt.empty()) {
    EXPECT_EQ(again.receipt().SerializeAsString(), receipt);
  }
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 1);
  cluster_.Stop("council-a");
  int audited = 0;
  for (const v1::AuditEntry& e : cluster_.AuditEntries("council-a")) {
    if (e.event() == v1::AUDIT_EVENT_RECEIVED && e.record_id() == id) ++audited;
  }
  EXPECT_EQ(audited, 1) << "one record, audited RECEIVED more than once";
}

// The sender checks that the gateway it reaches is the recipient's: here the
// directory points the council's address at the police gateway.
TEST_F(GatewayIntegrationTest, SenderRefusesAGatewayThatIsNotTheRecipients) {
  cluster_.SetAddress("council-a", "127.0.0.1:" + std::to_string(cluster_.peer_port("police-a")));
  ASSERT_TRUE(cluster_.Start("police-a"));
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitResponse resp;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &resp).ok());
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_QUEUED);
  EXPECT_EQ(cluster_.Count("police-a", "mailbox"), 0);
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox", "state = 1"), 1);
}

TEST_F(GatewayIntegrationTest, ReplacedCertificateIsServedWithoutRestart) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  const TestPki& other = TestPki::Other();
  auto stranger = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr", other);
  v1::StatusResponse resp;
  EXPECT_EQ(Call(&v1::Exchange::Stub::Status, *stranger, v1::StatusRequest(), &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // Replace the gateway's certificate, key, trust anchor and CRLs on disk.
  const std::string tls = cluster_.TlsDir("nhs-trust-a");
  for (const auto& crl : fs::directory_iterator(other.Path("crl"))) {
    fs::copy_file(crl.path(), tls + "/crl/" + crl.path().filename().string(),
                  fs::copy_options::overwrite_existing);
  }
  for (auto [from, to] : {std::pair<std::string, std::string>{"nhs-trust-a/gateway.key", "gateway.key"},
                          {"nhs-trust-a/gateway.crt", "gateway.crt"},
                          {"ca.crt", "ca.crt"}}) {
    fs::copy_file(other.Path(from), tls + "/" + to + ".new");
    fs::rename(tls + "/" + to + ".new", tls + "/" + to);
  }
  EXPECT_TRUE(Eventually([&] {
    auto fresh = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr", other);
    return Call(&v1::Exchange::Stub::Status, *fresh, v1::StatusRequest(), &resp).ok();
  }));
  EXPECT_EQ(resp.org_id(), "nhs-trust-a");
  // The old trust anchor no longer gets in.
  auto old = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  EXPECT_EQ(Call(&v1::Exchange::Stub::Status, *old, v1::StatusRequest(), &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GatewayIntegrationTest, HealthCheckServesAndSigtermDrainsCleanly) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  absl::StatusOr<std::string> health =
      HealthCheck(cluster_.ClientChannel("nhs-trust-a", "nhs-trust-a/ehr"));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, std::string("\x08\x01", 2));  // status: SERVING

  EXPECT_EQ(cluster_.Stop("nhs-trust-a"), 0);
  EXPECT_THAT(cluster_.Log("nhs-trust-a"), HasSubstr("gateway stopped"));
}

// SIGTERM while Submits are in flight (their first delivery attempt stuck on
// a peer that accepts TCP and never answers): every one completes, queued
// and durable, and the gateway exits 0.
TEST_F(GatewayIntegrationTest, SigtermDrainsSubmitsInFlight) {
  int blackhole = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(blackhole, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(blackhole, 16), 0);
  socklen_t len = sizeof(addr);
  getsockname(blackhole, reinterpret_cast<sockaddr*>(&addr), &len);
  cluster_.SetAddress("council-a", "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));

  constexpr int kCalls = 4;
  std::vector<std::thread> callers;
  std::vector<grpc::Status> results(kCalls);
  std::vector<v1::SubmitResponse> responses(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
      results[i] = Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(), &responses[i]);
    });
  }
  // Let the calls reach the gateway and start their delivery attempts.
  EXPECT_TRUE(Eventually([&] { return cluster_.Count("nhs-trust-a", "outbox") == kCalls; }));
  EXPECT_EQ(cluster_.Stop("nhs-trust-a"), 0);
  for (auto& t : callers) t.join();
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(results[i].ok()) << results[i].error_message();
    EXPECT_EQ(responses[i].receipt().state(), v1::RECORD_STATE_QUEUED);
  }
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox", "state = 1"), kCalls);
  close(blackhole);
}

// Server reflection answers list_services (a hand-encoded
// ServerReflectionRequest: field 7 list_services = "*") with our services.
TEST_F(GatewayIntegrationTest, ServerReflectionListsTheExchangeService) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  absl::StatusOr<std::string> services =
      ListServices(cluster_.ClientChannel("nhs-trust-a", "nhs-trust-a/ehr"));
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, HasSubstr("gatehouse.v1.Exchange"));
}

}  // namespace
}  // namespace gatehouse

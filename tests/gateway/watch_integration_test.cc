// Exchange.Watch against real gateways: a receiving system learns of its
// records as they arrive, a sending system of its records' states, both
// resume from a cursor without a miss or a repeat, and the caller's
// certificate is checked again before every event.
#include <chrono>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/gateway_harness.h"

namespace gatehouse {
namespace {

using ::testing::HasSubstr;

// One open Watch call.
class Watcher {
 public:
  Watcher(v1::Exchange::Stub& stub, const std::string& cursor) {
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::WatchRequest req;
    req.set_cursor(cursor);
    reader_ = stub.Watch(&ctx_, req);
  }
  ~Watcher() {
    ctx_.TryCancel();
    Finish();
  }
  // The next event; false once the call ended (then Finish()).
  bool Next(v1::WatchEvent* e) { return reader_->Read(e); }
  // Events up to and including the next caught_up (at most `most`).
  std::vector<v1::WatchEvent> UntilCaughtUp(int most = 100) {
    std::vector<v1::WatchEvent> out;
    v1::WatchEvent e;
    while (static_cast<int>(out.size()) < most && Next(&e)) {
      out.push_back(e);
      if (e.has_caught_up()) break;
    }
    return out;
  }
  // How the call ended (once it has: after Next returned false, or
  // cancelled). Finish of gRPC's may be called once only.
  grpc::Status Finish() {
    if (!finished_) {
      status_ = reader_->Finish();
      finished_ = true;
    }
    return status_;
  }

 private:
  bool finished_ = false;
  grpc::Status status_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader_;
};

std::string Submit(v1::Exchange::Stub& ehr, const std::string& note) {
  v1::SubmitResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Submit, ehr, SampleSubmit(note), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.receipt().record_id();
}

class WatchIntegrationTest : public ::testing::Test {
 protected:
  Cluster cluster_;
};

TEST_F(WatchIntegrationTest, ARecipientLearnsOfArrivalsAndResumesWithoutAMissOrARepeat) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  auto care = cluster_.Client("council-a", "council-a/care");

  std::string cursor;
  {
    Watcher watch(*care, "");
    std::vector<v1::WatchEvent> backlog = watch.UntilCaughtUp();
    ASSERT_EQ(backlog.size(), 1u);  // nothing held: caught up at once
    ASSERT_TRUE(backlog[0].caught_up());
    const std::string first = Submit(*ehr, "{\"n\":1}");
    v1::WatchEvent e;
    ASSERT_TRUE(watch.Next(&e));
    ASSERT_TRUE(e.has_arrived());
    EXPECT_EQ(e.arrived().record_id(), first);
    EXPECT_EQ(e.arrived().sender_org(), "nhs-trust-a");
    EXPECT_TRUE(e.arrived().payload().empty());  // announced, not opened
    EXPECT_FALSE(e.arrived().streamed());
    cursor = e.cursor();
  }
  // While no one watches, two more arrive.
  const std::string second = Submit(*ehr, "{\"n\":2}");
  const std::string third = Submit(*ehr, "{\"n\":3}");
  {
    Watcher watch(*care, cursor);
    std::vector<v1::WatchEvent> backlog = watch.UntilCaughtUp();
    ASSERT_EQ(backlog.size(), 3u);
    EXPECT_EQ(backlog[0].arrived().record_id(), second);
    EXPECT_EQ(backlog[1].arrived().record_id(), third);
    EXPECT_TRUE(backlog[2].caught_up());
    // Resuming after the second sends the third only.
    Watcher again(*care, backlog[0].cursor());
    std::vector<v1::WatchEvent> rest = again.UntilCaughtUp();
    ASSERT_EQ(rest.size(), 2u);
    EXPECT_EQ(rest[0].arrived().record_id(), third);
  }
  // Fetch takes what was announced; an acknowledged record is not
  // announced again from the start.
  v1::FetchResponse held = FetchAll(*care);
  ASSERT_EQ(held.records_size(), 3);
  v1::AckRequest ack;
  ack.add_record_ids(held.records(0).record_id());
  v1::AckResponse acked;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Ack, *care, ack, &acked).ok());
  Watcher fresh(*care, "");
  EXPECT_EQ(fresh.UntilCaughtUp().size(), 3u);  // two held, then caught up
}

TEST_F(WatchIntegrationTest, ASenderFollowsItsRecordsFromQueuedToDeliveredWithTheSignedReceipt) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  Watcher watch(*ehr, "");
  ASSERT_TRUE(watch.UntilCaughtUp().back().caught_up());
  // The council's gateway is down: the record is queued.
  const std::string id = Submit(*ehr, "{\"n\":1}");
  v1::WatchEvent queued;
  ASSERT_TRUE(watch.Next(&queued));
  ASSERT_TRUE(queued.has_changed());
  EXPECT_EQ(queued.changed().record_id(), id);
  EXPECT_EQ(queued.changed().state(), v1::RECORD_STATE_QUEUED);
  // It comes up; the outbox delivers; the watch hears of it.
  ASSERT_TRUE(cluster_.Start("council-a"));
  v1::WatchEvent delivered;
  ASSERT_TRUE(watch.Next(&delivered));
  EXPECT_EQ(delivered.changed().record_id(), id);
  EXPECT_EQ(delivered.changed().state(), v1::RECORD_STATE_DELIVERED);
  EXPECT_FALSE(delivered.changed().signed_delivery().signature().empty());
  EXPECT_EQ(delivered.changed().delivery().record_id(), id);
  // Another system of the organisation sees none of it.
  auto pas = cluster_.Client("nhs-trust-a", "nhs-trust-a/pas");
  Watcher other(*pas, "");
  std::vector<v1::WatchEvent> seen = other.UntilCaughtUp();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].caught_up());
  // From the queued event's cursor, only the delivery is left.
  Watcher resumed(*ehr, queued.cursor());
  std::vector<v1::WatchEvent> rest = resumed.UntilCaughtUp();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].changed().state(), v1::RECORD_STATE_DELIVERED);
}

// The sender learns that the recipient's systems fetched, then took its
// record: the recipient's gateway is asked (Peer.GetAcknowledged) and the
// record turns FETCHED, then ACKNOWLEDGED, in Watch and in Status.
TEST_F(WatchIntegrationTest, ASenderLearnsThatTheRecipientAcknowledgedItsRecord) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a", R"("acknowledgementPollMs": 200)"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  auto care = cluster_.Client("council-a", "council-a/care");
  Watcher watch(*ehr, "");
  ASSERT_TRUE(watch.UntilCaughtUp().back().caught_up());
  const std::string id = Submit(*ehr, "{\"n\":1}");
  // QUEUED then DELIVERED, or DELIVERED alone if both changes were made
  // before the watch looked (a row is listed as it is now).
  v1::WatchEvent delivered;
  do {
    ASSERT_TRUE(watch.Next(&delivered));
  } while (delivered.changed().state() == v1::RECORD_STATE_QUEUED);
  ASSERT_EQ(delivered.changed().state(), v1::RECORD_STATE_DELIVERED);
  // Fetched: the sender learns it (FETCHED, with when), not yet
  // acknowledged.
  ASSERT_EQ(FetchAll(*care).records_size(), 1);
  v1::WatchEvent fetched;
  ASSERT_TRUE(watch.Next(&fetched));
  EXPECT_EQ(fetched.changed().record_id(), id);
  EXPECT_EQ(fetched.changed().state(), v1::RECORD_STATE_FETCHED);
  EXPECT_GT(fetched.changed().fetched_unix_ms(), 0);
  EXPECT_EQ(fetched.changed().acknowledged_unix_ms(), 0);
  v1::StatusRequest ask;
  ask.set_record_id(id);
  v1::StatusResponse status;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Status, *ehr, ask, &status).ok());
  EXPECT_EQ(status.receipt().state(), v1::RECORD_STATE_FETCHED);
  // Fetched again: nothing new to learn, no event.
  ASSERT_EQ(FetchAll(*care).records_size(), 1);

  v1::AckRequest ack;
  ack.add_record_ids(id);
  v1::AckResponse acked;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Ack, *care, ack, &acked).ok());
  v1::WatchEvent taken;
  ASSERT_TRUE(watch.Next(&taken));
  EXPECT_EQ(taken.changed().record_id(), id);
  EXPECT_EQ(taken.changed().state(), v1::RECORD_STATE_ACKNOWLEDGED);
  EXPECT_GT(taken.changed().acknowledged_unix_ms(), 0);
  EXPECT_EQ(taken.changed().fetched_unix_ms(), fetched.changed().fetched_unix_ms());
  EXPECT_FALSE(taken.changed().signed_delivery().signature().empty());
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Status, *ehr, ask, &status).ok());
  EXPECT_EQ(status.receipt().state(), v1::RECORD_STATE_ACKNOWLEDGED);

  // Another organisation's gateway asking about the record learns nothing;
  // the sender's own gateway learns it; too many ids are refused.
  v1::GetAcknowledgedRequest probe;
  probe.add_record_ids(id);
  v1::GetAcknowledgedResponse answer;
  ASSERT_TRUE(Call(&v1::Peer::Stub::GetAcknowledged,
                   *cluster_.PeerClient("council-a", "police-a/gateway"), probe, &answer)
                  .ok());
  EXPECT_EQ(answer.records_size(), 0);
  ASSERT_TRUE(Call(&v1::Peer::Stub::GetAcknowledged,
                   *cluster_.PeerClient("council-a", "nhs-trust-a/gateway"), probe, &answer)
                  .ok());
  ASSERT_EQ(answer.records_size(), 1);
  EXPECT_EQ(answer.records(0).acknowledged_unix_ms(), taken.changed().acknowledged_unix_ms());
  EXPECT_EQ(answer.records(0).fetched_unix_ms(), fetched.changed().fetched_unix_ms());
  for (int i = 0; i < 300; ++i) probe.add_record_ids(std::to_string(i));
  EXPECT_EQ(Call(&v1::Peer::Stub::GetAcknowledged,
                 *cluster_.PeerClient("council-a", "nhs-trust-a/gateway"), probe, &answer)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(WatchIntegrationTest, AWatchRequestThatDoesNotParseIsInvalidArgument) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  auto channel = cluster_.ClientChannel("nhs-trust-a", "nhs-trust-a/ehr");
  // WatchRequest.cursor (1) holding bytes that are not UTF-8.
  std::vector<std::string> events;
  grpc::Status s = RawStreamCall(channel, "/gatehouse.v1.Exchange/Watch",
                                 {std::string("\x0a\x02w\xff", 4)}, &events);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(ErrorInfoOf(Details(s))->reason(), "REQUEST_NOT_PARSED");
  EXPECT_EQ(BadRequestOf(Details(s))->field_violations(0).field(), "cursor");
  EXPECT_TRUE(events.empty());
  // Well formed through the same path: caught up at once, as its first event.
  s = RawStreamCall(channel, "/gatehouse.v1.Exchange/Watch", {std::string("\x0a\x00", 2)},
                    &events, /*max_responses=*/1);
  ASSERT_EQ(events.size(), 1u) << s.error_message();
  v1::WatchEvent first;
  ASSERT_TRUE(first.ParseFromString(events[0]));
  EXPECT_TRUE(first.caught_up());
}

TEST_F(WatchIntegrationTest, ACursorTheGatewayDidNotIssueIsInvalidArgument) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  for (const char* bad : {"nonsense", "w1.1", "w1.-1.0", "w2.1.1"}) {
    Watcher watch(*ehr, bad);
    v1::WatchEvent e;
    EXPECT_FALSE(watch.Next(&e)) << bad;
    grpc::Status s = watch.Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(s.error_message(), HasSubstr("cursor")) << bad;
    EXPECT_EQ(BadRequestOf(Details(s))->field_violations(0).field(), "cursor") << bad;
  }
}

// A watch outlives its caller's certificate: revoked while the watch is
// open, the next event is not sent; the call ends UNAUTHENTICATED.
TEST_F(WatchIntegrationTest, ACertificateRevokedDuringAWatchGetsNoFurtherEvent) {
  const std::string cert = cluster_.IssueCertificate("psn://org/council-a/system/care");
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  auto care = cluster_.Client("council-a", cert);
  Watcher watch(*care, "");
  ASSERT_TRUE(watch.UntilCaughtUp().back().caught_up());

  cluster_.RevokeFor("council-a", cert);
  v1::StatusResponse status;
  ASSERT_TRUE(Eventually([&] {
    return Call(&v1::Exchange::Stub::Status, *cluster_.Client("council-a", cert),
                v1::StatusRequest(), &status)
               .error_code() == grpc::StatusCode::UNAUTHENTICATED;
  }));
  Submit(*ehr, "{\"n\":1}");
  v1::WatchEvent e;
  EXPECT_FALSE(watch.Next(&e)) << e.DebugString();
  grpc::Status s = watch.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("revoked"));
}

}  // namespace
}  // namespace gatehouse
